"""Invariants of every attack (hypothesis): results are images in [0, 1] within the
budget, inputs are never modified, the model's train/eval state is restored; and bad
input gets a clear error."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from advinterp_lib.attacks import deepfool, fgsm, least_likely, pgd, random_targets


@pytest.fixture
def tiny_model(make_toy_cnn) -> Callable[[], nn.Module]:
    """Builds the shared toy CNN (a BatchNorm, a Dropout) for 8x8 images and 5 classes, in eval mode."""
    return lambda: make_toy_cnn(size=8, num_classes=5).eval()


def draw_batch(seed: int, n: int, saturate: bool) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 8, 8, generator=g)
    if saturate:  # many pixels exactly at 0 or 1, like Fashion-MNIST's background
        x = ((x - 0.3) * 2.5).clamp(0, 1)
    return x, torch.randint(0, 5, (n,), generator=g)


# the fixture tiny_model only builds models, so sharing it between examples is safe
FIXTURE_OK = [HealthCheck.function_scoped_fixture]
PROPS = settings(max_examples=25, deadline=None, suppress_health_check=FIXTURE_OK)
eps_st = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@PROPS
@given(seed=st.integers(0, 10**6), n=st.integers(1, 6), eps=eps_st, saturate=st.booleans(), targeted=st.booleans())
def test_fgsm_stays_in_the_box_and_the_ball(
    tiny_model, seed: int, n: int, eps: float, saturate: bool, targeted: bool
) -> None:
    model, (x, y) = tiny_model(), draw_batch(seed, n, saturate)
    x0 = x.clone()
    x_adv = fgsm(model, x, y, eps=eps, targeted=targeted)
    assert torch.equal(x, x0)
    assert x_adv.shape == x.shape and x_adv.dtype == x.dtype
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert (x_adv - x).abs().max() <= eps + 1e-6


@PROPS
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(1, 6),
    eps=eps_st,
    frac=st.floats(0.01, 1.0),
    steps=st.integers(1, 4),
    random_start=st.booleans(),
    saturate=st.booleans(),
    targeted=st.booleans(),
)
def test_pgd_linf_stays_in_the_box_and_the_ball(
    tiny_model, seed, n, eps, frac, steps, random_start, saturate, targeted
) -> None:
    model, (x, y) = tiny_model(), draw_batch(seed, n, saturate)
    x0 = x.clone()
    x_adv = pgd(
        model,
        x,
        y,
        eps=eps,
        step_size=eps * frac,
        steps=steps,
        random_start=random_start,
        targeted=targeted,
        generator=torch.Generator().manual_seed(seed),
    )
    assert torch.equal(x, x0)
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert (x_adv - x).abs().max() <= eps + 1e-6


@PROPS
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(1, 6),
    eps=st.floats(0.0, 8.0),
    frac=st.floats(0.01, 2.0),
    steps=st.integers(1, 4),
    random_start=st.booleans(),
    saturate=st.booleans(),
)
def test_pgd_l2_stays_in_the_box_and_the_ball(tiny_model, seed, n, eps, frac, steps, random_start, saturate) -> None:
    model, (x, y) = tiny_model(), draw_batch(seed, n, saturate)
    x0 = x.clone()
    x_adv = pgd(
        model,
        x,
        y,
        eps=eps,
        step_size=eps * frac,
        steps=steps,
        norm="l2",
        random_start=random_start,
        generator=torch.Generator().manual_seed(seed),
    )
    assert torch.equal(x, x0)
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert ((x_adv - x).flatten(1).norm(dim=1) <= eps * (1 + 1e-5) + 1e-6).all()


@settings(max_examples=15, deadline=None, suppress_health_check=FIXTURE_OK)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 6), saturate=st.booleans(), overshoot=st.floats(0.0, 0.1))
def test_deepfool_stays_in_the_box_and_reports_consistently(tiny_model, seed, n, saturate, overshoot) -> None:
    model, (x, _) = tiny_model(), draw_batch(seed, n, saturate)
    x0 = x.clone()
    res = deepfool(model, x, overshoot=overshoot, max_iter=20)
    assert torch.equal(x, x0)
    assert res.x_adv.min() >= 0 and res.x_adv.max() <= 1
    assert torch.allclose(res.perturbation, res.x_adv - x)
    with torch.no_grad():
        assert torch.equal(model(x).argmax(1), res.label)
        assert torch.equal(model(res.x_adv).argmax(1), res.adversarial_label)
    assert torch.equal(res.success, res.label != res.adversarial_label)
    assert ((res.iterations >= 0) & (res.iterations <= 20)).all()


@PROPS
@given(seed=st.integers(0, 10**6), n=st.integers(1, 30), num_classes=st.integers(2, 12), data=st.data())
def test_random_targets_are_distinct_and_never_the_label(seed, n, num_classes, data) -> None:
    k = data.draw(st.integers(1, num_classes - 1))
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, num_classes, (n,), generator=g)
    t = random_targets(y, num_classes, k, generator=g)
    assert t.shape == (n, k) and t.dtype == torch.int64
    assert ((t >= 0) & (t < num_classes)).all() and (t != y[:, None]).all()
    assert all(len(set(row)) == k for row in t.tolist())


@PROPS
@given(seed=st.integers(0, 10**6), n=st.integers(1, 8), num_classes=st.integers(2, 10), data=st.data())
def test_least_likely_matches_a_brute_force_ranking(seed, n, num_classes, data) -> None:
    k = data.draw(st.integers(1, num_classes - 1))
    scores = torch.randn(n, num_classes, generator=torch.Generator().manual_seed(seed))
    t = least_likely(scores, k=k)
    for row, s in zip(t.tolist(), scores.tolist(), strict=True):
        assert row == sorted(range(num_classes), key=lambda c: (s[c], c))[:k]


def test_train_mode_model_is_attacked_in_eval_mode_and_restored(tiny_model) -> None:
    model, (x, y) = tiny_model(), draw_batch(0, 4, False)
    reference = fgsm(model, x, y, eps=0.1)  # eval mode: dropout off
    model.train()
    model.classifier[1].eval()  # a mixed state must come back exactly as it was
    for attack in (lambda: fgsm(model, x, y, eps=0.1), lambda: pgd(model, x, y, eps=0.1, step_size=0.1, steps=1)):
        assert torch.equal(attack(), reference)  # dropout would make it random
        assert model.training and not model.classifier[1].training and model.features[0].training
    deepfool(model, x)
    least_likely(model, x=x)
    assert model.training and not model.classifier[1].training
    # restored after an exception too
    with pytest.raises(ValueError):
        fgsm(model, x, y + 10, eps=0.1)
    assert model.training and not model.classifier[1].training


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda m, x, y: fgsm(m, x, y, eps=-0.1), ValueError, "eps must be a finite number >= 0"),
        (lambda m, x, y: fgsm(m, x, y, eps=2.0), ValueError, "eps must be <= 1"),
        (lambda m, x, y: fgsm(m, x, y, eps=float("nan")), ValueError, "eps"),
        (lambda m, x, y: fgsm(m, x, y, eps="0.1"), TypeError, "eps must be a number"),
        (lambda m, x, y: fgsm(m, x, y + 5, eps=0.1), ValueError, r"y must be class indices in \[0, 5\)"),
        (lambda m, x, y: fgsm(m, x, y + 5, eps=0.1, targeted=True), ValueError, r"targets must be class indices"),
        (lambda m, x, y: fgsm(m, x, y.float(), eps=0.1), TypeError, "integer class indices"),
        (lambda m, x, y: fgsm(m, x, y[:2], eps=0.1), ValueError, "one label per image"),
        (lambda m, x, y: fgsm(m, x * float("nan"), y, eps=0.1), ValueError, "NaN"),
        (lambda m, x, y: fgsm(m, x * 255, y, eps=0.1), ValueError, "divide by 255"),
        (lambda m, x, y: fgsm(m, x[0], y, eps=0.1), ValueError, r"\[N, C, H, W\]"),
        (lambda m, x, y: pgd(m, x, y, eps=0.1, step_size=0.01, steps=0), ValueError, "steps must be >= 1"),
        (lambda m, x, y: pgd(m, x, y, eps=0.1, step_size=0.01, steps=2, norm="l1"), ValueError, "norm must be"),
        (lambda m, x, y: pgd(m, x, y, eps=9.0, step_size=0.01, steps=2, norm="l2"), ValueError, "sqrt"),
        (lambda m, x, y: pgd(m, x, y, eps=-1.0, step_size=0.01, steps=2, norm="l2"), ValueError, "eps"),
        (lambda m, x, y: deepfool(m, x * float("nan")), ValueError, "NaN"),
        (lambda m, x, y: deepfool(m, x, num_candidates=1), ValueError, "num_candidates must be >= 2"),
        (lambda m, x, y: deepfool(m, x, overshoot=-0.1), ValueError, "overshoot"),
        (lambda m, x, y: random_targets(y, 5, 5), ValueError, "k must be <= num_classes - 1"),
        (lambda m, x, y: random_targets(y + 5, 5), ValueError, "class indices"),
    ],
)
def test_bad_input_gets_a_clear_error(tiny_model, call, error, match) -> None:
    model, (x, y) = tiny_model(), draw_batch(0, 4, False)
    with pytest.raises(error, match=match):
        call(model, x, y)
