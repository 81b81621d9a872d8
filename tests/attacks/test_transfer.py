"""attacks.transfer: success rates against hand-counted predictions, the transfer matrix
and its held-out summary against the chapter's loops, the random baseline, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from advinterp_lib.attacks.transfer import (
    classified_correctly,
    held_out_rates,
    leave_one_out_sources,
    misclassification_rate,
    perturbation_norms,
    random_sign_noise,
    target_rate,
    target_rates,
    transfer_matrix,
)


class FixedLabels(nn.Module):
    """Predicts class ``labels[i]`` for the image whose first pixel is i / 100."""

    def __init__(self, labels: list[int], classes: int = 4) -> None:
        super().__init__()
        self.labels = torch.tensor(labels)
        self.classes = classes
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        index = (x[:, 0, 0, 0] * 100).round().long()
        return nn.functional.one_hot(self.labels[index], self.classes).float() + 0 * self.dummy


def indexed_images(n: int) -> torch.Tensor:
    x = torch.zeros(n, 1, 2, 2)
    x[:, 0, 0, 0] = torch.arange(n) / 100
    return x


def test_rates_count_the_predictions() -> None:
    x, y = indexed_images(4), torch.tensor([0, 1, 2, 3])
    model = FixedLabels([0, 2, 2, 1])  # right on images 0 and 2
    assert classified_correctly(model, x, y).tolist() == [True, False, True, False]
    assert misclassification_rate(model, x, y) == 0.5
    among = torch.tensor([True, True, False, False])
    assert misclassification_rate(model, x, y, among=among) == 0.5
    assert misclassification_rate(model, x, y, among=torch.tensor([True, False, True, False])) == 0.0
    assert target_rate(model, x, torch.tensor([0, 2, 0, 0])) == 0.5
    both = classified_correctly([model, FixedLabels([0, 1, 3, 3])], x, y)
    assert both.tolist() == [True, False, False, False]


def test_rates_restore_the_mode(toy_cnn) -> None:
    toy_cnn.train()
    x = torch.rand(5, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    rate = misclassification_rate(toy_cnn, x, torch.zeros(5, dtype=torch.long))
    assert toy_cnn.training and 0 <= rate <= 1


def test_target_rates_add_the_ensemble_of_summed_probabilities() -> None:
    p = {"a": torch.tensor([[0.6, 0.4], [0.6, 0.4]]), "b": torch.tensor([[0.1, 0.9], [0.45, 0.55]])}
    hit = target_rates(p, torch.tensor([1, 1]))
    assert list(hit) == ["a", "b", "ensemble"]
    assert hit == {"a": 0.0, "b": 1.0, "ensemble": 0.5}  # sums: [0.7, 1.3] -> 1; [1.05, 0.95] -> 0


def test_leave_one_out_sources() -> None:
    assert leave_one_out_sources(["a", "b", "c"]) == {
        "a": ["a"], "b": ["b"], "c": ["c"], "b + c": ["b", "c"], "a + c": ["a", "c"], "a + b": ["a", "b"],
    }  # fmt: skip


def test_transfer_matrix_and_held_out_rates_equal_the_chapters_loops() -> None:
    archs = ["a", "b", "c"]
    x, y, target = indexed_images(4), torch.tensor([0, 1, 2, 3]), torch.tensor([1, 1, 1, 1])
    models = {"a": FixedLabels([1, 1, 2, 3]), "b": FixedLabels([1, 0, 0, 0]), "c": FixedLabels([0, 1, 1, 1])}
    sources = leave_one_out_sources(archs)
    crafted = {name: x for name in sources}
    crafted["all three"] = x
    m = transfer_matrix(models, crafted, y, target)
    assert m.sources == [*sources, "all three"] and m.evaluated_on == archs
    # the chapter's loop, written out
    targeted, fooled = np.zeros((7, 3)), np.zeros((7, 3))
    for i, x_adv in enumerate(crafted.values()):
        for j, arch in enumerate(archs):
            pred = models[arch](x_adv).argmax(1)
            targeted[i, j] = (pred == target).float().mean().item()
            fooled[i, j] = (pred != y).float().mean().item()
    np.testing.assert_array_equal(m.targeted, targeted)
    np.testing.assert_array_equal(m.misclassified, fooled)
    single, pair = held_out_rates(m.targeted, m.sources, archs)
    for j, a in enumerate(archs):
        others = [m.sources.index(b) for b in archs if b != a]
        assert single[a] == float(np.mean([targeted[i, j] for i in others]))
        assert pair[a] == targeted[m.sources.index(" + ".join(b for b in archs if b != a)), j]


def test_perturbation_norms_and_random_noise() -> None:
    x = torch.full((3, 1, 4, 4), 0.5)
    noisy = random_sign_noise(x, 0.1, generator=torch.Generator().manual_seed(0))
    linf, l2 = perturbation_norms(noisy, x)
    assert torch.allclose(linf, torch.full((3,), 0.1)) and torch.allclose(l2, torch.full((3,), 0.4))
    again = random_sign_noise(x, 0.1, generator=torch.Generator().manual_seed(0))
    assert torch.equal(noisy, again)
    edge = random_sign_noise(torch.ones(2, 1, 3, 3), 0.2, generator=torch.Generator().manual_seed(1))
    assert edge.max() <= 1 and edge.min() >= 0.8  # clipped to the pixel range


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda m, x: misclassification_rate(m, x, torch.zeros(3, dtype=torch.long)), ValueError),
        (lambda m, x: misclassification_rate(m, x, torch.zeros(2), among=None), ValueError),
        (
            lambda m, x: misclassification_rate(m, x, torch.zeros(2, dtype=torch.long), among=torch.zeros(2).bool()),
            ValueError,
        ),
        (lambda m, x: target_rate("model", x, torch.zeros(2, dtype=torch.long)), TypeError),
        (lambda m, x: classified_correctly([], x, torch.zeros(2, dtype=torch.long)), ValueError),
        (lambda m, x: target_rates({"ensemble": torch.rand(2, 3)}, torch.zeros(2, dtype=torch.long)), ValueError),
        (lambda m, x: target_rates({"a": torch.rand(2, 3), "b": torch.rand(3, 3)}, torch.zeros(2).long()), ValueError),
        (lambda m, x: leave_one_out_sources(["a", "b"]), ValueError),
        (lambda m, x: leave_one_out_sources(["a", "b", "a"]), ValueError),
        (lambda m, x: held_out_rates(np.zeros((2, 3)), ["a", "b"], ["a", "b", "c"]), ValueError),
        (lambda m, x: held_out_rates(np.zeros((4, 3)), ["a", "b", "c", "x"], ["a", "b", "c"]), ValueError),
        (lambda m, x: perturbation_norms(x, x[:1]), ValueError),
        (lambda m, x: random_sign_noise(x, 2.0), ValueError),
        (lambda m, x: random_sign_noise(x + 2, 0.1), ValueError),
    ],
)
def test_bad_input(call, error) -> None:
    with pytest.raises(error):
        call(FixedLabels([0, 1]), indexed_images(2))
