"""The adversarial-set recipe and the rows it makes (the shard store is tested in
tests/artifacts/test_store.py)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advinterp_lib.attacks.advset import AdversarialSetRecipe, least_likely_rows
from advinterp_lib.attacks.ensemble import average_logit_loss, ensemble_attack_result, least_likely_targets


def _models():
    torch.manual_seed(0)
    return [nn.Sequential(nn.Flatten(), nn.Linear(64, 5)), nn.Sequential(nn.Flatten(), nn.Linear(64, 5))]


def test_the_recipe_is_in_pixel_units_and_checked_when_made():
    recipe = AdversarialSetRecipe(k=2, step_size=5 / 255, steps=10, eps=0.2)
    assert (recipe.k, recipe.steps, recipe.eps) == (2, 10, 0.2)
    assert recipe.step_size == pytest.approx(0.0196, abs=1e-4) and recipe.loss_name == "average_cross_entropy_loss"
    assert AdversarialSetRecipe(k=1, step_size=1, steps=1, eps=1).eps == 1.0  # numbers become floats
    assert repr(recipe) == (
        "AdversarialSetRecipe(k=2, step_size=0.01961 (= 5/255), steps=10, eps=0.2, loss=average_cross_entropy_loss)"
    )
    for bad, error, match in (
        (dict(step_size=5), ValueError, "step_size must be <= 1.*8/255 is 0.031"),  # the 0..255 scale, refused
        (dict(step_size=0), ValueError, "step_size must be > 0"),
        (dict(k=0), ValueError, "k"),
        (dict(steps=2.5), TypeError, "steps"),
        (dict(eps=-0.1), ValueError, "eps"),
        (dict(random_start=True), ValueError, "random_start=True needs an eps"),
        (dict(loss="ce"), TypeError, "loss must be a callable"),
    ):
        with pytest.raises(error, match=match):
            AdversarialSetRecipe(**(dict(k=2, step_size=0.02, steps=3) | bad))


def test_rows_attack_each_image_toward_each_of_its_least_likely_classes_in_order():
    models = _models()
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(7, 1, 8, 8, generator=g), torch.randint(0, 5, (7,), generator=g)
    recipe = AdversarialSetRecipe(k=3, step_size=0.05, steps=4, eps=0.1, loss=average_logit_loss)
    rows = least_likely_rows(models, x, y, recipe, batch_size=4)
    targets = least_likely_targets(models, x, 3, exclude=y).reshape(-1)
    assert torch.equal(rows["source_index"], torch.arange(7).repeat_interleave(3))
    assert torch.equal(rows["label"], y.repeat_interleave(3)) and torch.equal(rows["target"], targets)
    expected = ensemble_attack_result(models, x.repeat_interleave(3, 0), targets, step_size=0.05, steps=4, eps=0.1,
                                      loss=average_logit_loss).x_adv  # fmt: skip
    assert rows["images"].dtype == torch.uint8
    assert torch.equal(rows["images"], (expected * 255).round().to(torch.uint8))
