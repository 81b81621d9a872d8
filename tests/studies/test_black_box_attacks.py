"""Chapter 8's steps around the black-box attack (``studies.black_box_attacks``): each
function gives what the chapter's cells computed inline before, checked against closed
forms and an FGSM written out by hand, on real Fashion-MNIST test images and two small
CNNs trained for a few steps on them."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from advinterp_lib.attacks.blackbox import BlackBoxRound
from advinterp_lib.attacks.transfer import random_sign_noise
from advinterp_lib.data import load
from advinterp_lib.studies import black_box_attacks as study


@pytest.fixture(scope="module")
def test_set():
    return load("fashion-mnist", "test").subset(200, seed=5)


@pytest.fixture(scope="module")
def models(test_set):
    """An oracle and a reference: two ToyCNNs (different seeds, different step counts)
    trained on the first 120 images, right on many of the 80 others and wrong on some."""
    from tests.conftest import trained_toy_cnn

    x, y = test_set.images[:120], test_set.labels[:120]
    return trained_toy_cnn(x, y, steps=30, seed=0), trained_toy_cnn(x, y, steps=20, seed=1)


def test_seed_and_eval_sets_are_one_permutation_cut_in_two(test_set) -> None:
    seed_set, eval_set = study.seed_and_eval_sets(test_set, n_seed=15, n_eval=40, seed=3)
    order = torch.randperm(200, generator=torch.Generator().manual_seed(3))
    assert torch.equal(seed_set.images, test_set.images[order[:15]])
    assert torch.equal(seed_set.labels, test_set.labels[order[:15]])
    assert torch.equal(eval_set.images, test_set.images[order[15:55]])
    assert torch.equal(eval_set.labels, test_set.labels[order[15:55]])
    assert len(set(order[:15].tolist()) & set(order[15:55].tolist())) == 0
    assert eval_set.class_names == test_set.class_names
    other, _ = study.seed_and_eval_sets(test_set, n_seed=15, n_eval=40, seed=4)
    assert not torch.equal(other.images, seed_set.images)  # the seed draws the split
    whole_seed, whole_eval = study.seed_and_eval_sets(test_set, n_seed=150, n_eval=50, seed=0)
    assert len(whole_seed) + len(whole_eval) == 200


def test_seed_and_eval_sets_refuse_bad_counts(test_set) -> None:
    with pytest.raises(ValueError, match=r"n_seed \+ n_eval must be <= 200"):
        study.seed_and_eval_sets(test_set, n_seed=150, n_eval=51, seed=0)
    with pytest.raises(ValueError, match="n_seed must be >= 1"):
        study.seed_and_eval_sets(test_set, n_seed=0, n_eval=10, seed=0)
    with pytest.raises(ValueError, match="n_eval must be >= 1"):
        study.seed_and_eval_sets(test_set, n_seed=10, n_eval=-1, seed=0)
    with pytest.raises(TypeError, match="n_seed must be an int"):
        study.seed_and_eval_sets(test_set, n_seed=10.0, n_eval=10, seed=0)  # type: ignore[arg-type]


def _round(r: int, agreement: float, accuracy: float, success: float) -> BlackBoxRound:
    return BlackBoxRound(round=r, training_size=150 * 2**r, new_queries=150 * 2 ** max(r - 1, 0),
                         queries=150 * 2**r, step=0.1, agreement=agreement, surrogate_accuracy=accuracy,
                         oracle_accuracy=0.87, oracle_adv_accuracy=0.5, surrogate_success=0.9,
                         transfer_success=success)  # fmt: skip


def test_rounds_table_is_the_chapters_table() -> None:
    table = study.rounds_table([_round(0, 0.465, 0.438, 0.126), _round(1, 0.56, 0.54, 0.17)])
    assert table == (
        "| round | training images | queries (total) | agreement with oracle | surrogate accuracy"
        " | transfer success |\n"
        "|---|---|---|---|---|---|\n"
        "| 0 | 150 | 150 | 46.5% | 43.8% | 12.6% |\n"
        "| 1 | 300 | 300 | 56.0% | 54.0% | 17.0% |"
    )
    with pytest.raises(ValueError, match="at least one round"):
        study.rounds_table([])


def test_reference_architecture_is_the_first_other_zoo_network() -> None:
    assert study.reference_architecture("resnet") == "alexnet"
    assert study.reference_architecture("vgg") == "alexnet"
    assert study.reference_architecture("alexnet") == "vgg"
    with pytest.raises(ValueError, match="oracle_arch: expected one of alexnet, vgg, resnet, got 'lenet'"):
        study.reference_architecture("lenet")


def _fgsm_by_hand(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y), x)
    return (x + eps * grad.sign()).clamp(0, 1).detach()


def _error_among(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, ok: torch.Tensor) -> float:
    with torch.no_grad():
        wrong = model(x).argmax(1) != y
    return wrong[ok].float().mean().item()


def test_black_box_baselines_match_the_rates_computed_by_hand(test_set, models) -> None:
    oracle, reference = models
    x, y = test_set.images[120:], test_set.labels[120:]
    got = study.black_box_baselines(oracle, reference, x, y, eps=0.1, seed=7)
    with torch.no_grad():
        ok = oracle(x).argmax(1) == y
    assert 0 < int(ok.sum()) < len(y)  # some right, some wrong: the mask matters
    noise = random_sign_noise(x, 0.1, generator=torch.Generator().manual_seed(7))
    assert got.random_noise == pytest.approx(_error_among(oracle, noise, y, ok), abs=1e-7)
    assert got.white_box == pytest.approx(_error_among(oracle, _fgsm_by_hand(oracle, x, y, 0.1), y, ok), abs=1e-7)
    assert got.reference_transfer == pytest.approx(
        _error_among(oracle, _fgsm_by_hand(reference, x, y, 0.1), y, ok), abs=1e-7
    )
    assert got.white_box > got.random_noise  # the gradient helps: the rates are not all alike
    with torch.no_grad():
        all_wrong = (oracle(x).argmax(1) + 1) % 10
    with pytest.raises(ValueError, match="selects no image"):
        study.black_box_baselines(oracle, reference, x, all_wrong, eps=0.1, seed=7)
    with pytest.raises(ValueError, match="eps must be <= 1"):
        study.black_box_baselines(oracle, reference, x, y, eps=2.0, seed=7)


def test_reference_lines_name_each_baseline_in_the_figures_order() -> None:
    baselines = study.BlackBoxBaselines(random_noise=0.1, white_box=0.9, reference_transfer=0.3)
    lines = study.reference_lines(baselines, reference_arch="alexnet", train_size=60000)
    assert list(lines.items()) == [
        ("white-box FGSM on the oracle", 0.9),
        ("transfer from alexnet (60000 labelled images)", 0.3),
        ("random ±ε noise", 0.1),
    ]
