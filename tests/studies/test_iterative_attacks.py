"""Chapter 7's bookkeeping (``studies.iterative_attacks``): each function gives what the
chapter's cells computed inline before, checked against an independent computation (a
from-scratch I-FGSM, predictions taken directly, closed forms on hand-made matrices), on
real Fashion-MNIST test images and small CNNs trained for a few steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advinterp_lib.attacks.advset import AdversarialSetRecipe
from advinterp_lib.attacks.ensemble import ensemble_attack_result
from advinterp_lib.attacks.transfer import TransferMatrix, leave_one_out_sources
from advinterp_lib.data import AdversarialSet, load
from advinterp_lib.studies import iterative_attacks as study


@pytest.fixture(scope="module")
def setting():
    """60 real test images and three ToyCNNs for 10 classes (seeds 0, 1, 2), each trained
    25 steps on 60 others, so each is right on many of the 60 and wrong on some."""
    from tests.conftest import trained_toy_cnn

    data = load("fashion-mnist", "test").subset(120, seed=5)
    train_x, train_y = data.images[:60], data.labels[:60]
    models = [trained_toy_cnn(train_x, train_y, steps=25, seed=seed) for seed in range(3)]
    return data.images[60:], data.labels[60:], models


def _error(model, x, y) -> float:
    with torch.no_grad():
        return (model(x).argmax(1) != y).float().mean().item()


def _ifgsm_from_scratch(model, x, y, eps, steps):
    """The chapter's five-line I-FGSM."""
    alpha, x_adv = 2.5 * eps / steps, x.clone()
    for _ in range(steps):
        x_adv.requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(model(x_adv), y, reduction="sum")
        (g,) = torch.autograd.grad(loss, x_adv)
        x_adv = (x + (x_adv.detach() + alpha * g.sign() - x).clamp(-eps, eps)).clamp(0, 1)
    return x_adv


def test_error_rate_is_one_minus_top1(setting) -> None:
    x, y, models = setting
    for model in models:
        got = study.error_rate(model, x, y)
        assert got == pytest.approx(_error(model, x, y), abs=1e-6)  # float32 means; one image is 1/60
        assert 0 < got < 0.9  # trained: neither all right nor at chance


def test_ifgsm_errors_match_a_from_scratch_ifgsm(setting) -> None:
    x, y, models = setting
    model, eps_values = models[0], [0.01, 0.05, 0.2]
    got = study.ifgsm_errors(model, x, y, eps_values=eps_values, steps=3)
    want = [_error(model, _ifgsm_from_scratch(model, x, y, eps, 3), y) for eps in eps_values]
    assert got == pytest.approx(want, abs=1e-6)  # float32 means; one image is 1/60
    assert got[-1] > study.error_rate(model, x, y)  # the attack does something
    assert got == sorted(got)  # a larger ball fools at least as many here
    with pytest.raises(ValueError, match="eps_values"):
        study.ifgsm_errors(model, x, y, eps_values=[], steps=3)
    with pytest.raises(ValueError, match="steps"):
        study.ifgsm_errors(model, x, y, eps_values=[0.1], steps=0)


def test_step_curves_label_one_and_many_steps() -> None:
    fgsm, ifgsm = {"a": [0.1, 0.2], "b": [0.3, 0.4]}, {"a": [0.5, 0.6], "b": [0.7, 0.8]}
    assert study.step_curves(fgsm, ifgsm, steps=5) == {
        "a": {"FGSM (1 step)": [0.1, 0.2], "I-FGSM (5 steps)": [0.5, 0.6]},
        "b": {"FGSM (1 step)": [0.3, 0.4], "I-FGSM (5 steps)": [0.7, 0.8]},
    }
    with pytest.raises(ValueError, match="same models"):
        study.step_curves(fgsm, {"a": [0.5, 0.6]}, steps=5)


def test_describe_paper_setting_reads_the_result(setting) -> None:
    x, _, models = setting
    target = torch.arange(len(x)) % 10
    result = ensemble_attack_result(models, x, target, step_size=5 / 255, steps=4)
    with torch.no_grad():
        mean_probs = torch.stack([m(result.x_adv).softmax(1) for m in models]).mean(0)
    rate = (mean_probs.argmax(1) == target).float().mean().item()
    linf = (result.x_adv - x).flatten(1).abs().amax(1).mean()  # a float32 tensor, as the result holds
    want = (
        f"paper's setting: {rate:.0%} of the images reach their least-likely class on the ensemble "
        f"(mean L-inf {linf:.3f} = {255 * linf:.0f}/255)"
    )
    assert study.describe_paper_setting(result) == want


def test_target_rate_table() -> None:
    table = study.target_rate_table({"alexnet": 0.5, "vgg": 0.125, "ensemble": 1.0})
    assert table.splitlines() == [
        "| predicts the target | alexnet | vgg | ensemble |",
        "|---|---|---|---|",
        "| fraction of adversarial images | 50.0% | 12.5% | 100.0% |",
    ]
    with pytest.raises(ValueError, match="at least one"):
        study.target_rate_table({})


def test_describe_perturbation_and_the_record() -> None:
    linf = torch.tensor([0.1, 0.3])  # mean 0.2, 51/255
    l2 = torch.tensor([1.0, 2.5])  # mean 1.75
    assert study.describe_perturbation(linf, l2) == "2 adversarial images; mean L-inf 0.200 (51/255), mean L2 1.75"
    recipe = AdversarialSetRecipe(k=2, step_size=10 / 255, steps=20)
    hit = {"alexnet": 0.5, "ensemble": 1.0}
    record = study.ensemble_attack_record(recipe, hit, linf, l2)
    assert record == {
        "images": 2,
        "targeted_success": hit,
        "mean_linf": pytest.approx(0.2),
        "mean_l2": pytest.approx(1.75),
        "step_size": pytest.approx(10 / 255),
        "steps": 20,
        "k_targets": 2,
    }
    assert list(record) == ["images", "targeted_success", "mean_linf", "mean_l2", "step_size", "steps", "k_targets"]
    for bad in [(linf, l2[:1]), (linf[:0], l2[:0]), (linf[None], l2[None])]:
        with pytest.raises(ValueError, match="linf and l2"):
            study.describe_perturbation(*bad)
        with pytest.raises(ValueError, match="linf and l2"):
            study.ensemble_attack_record(recipe, hit, *bad)


def _advset(source_index: list[int], num_sources: int) -> AdversarialSet:
    m = len(source_index)
    shard = {
        "images": torch.zeros(m, 1, 2, 2, dtype=torch.uint8),
        "source_index": torch.tensor(source_index, dtype=torch.int64),
        "label": torch.zeros(m, dtype=torch.int64),
        "target": torch.arange(m, dtype=torch.int64) % 10,
    }
    return AdversarialSet([shard], k=2, num_sources=num_sources)


def test_first_target_rows() -> None:
    # source-major, as the book's sets are stored: the rows 0, k, 2k, ...
    assert torch.equal(study.first_target_rows(_advset([0, 0, 1, 1, 2, 2], 3)), torch.arange(3) * 2)
    assert torch.equal(study.first_target_rows(_advset([1, 0, 1, 0], 2)), torch.tensor([1, 0]))
    with pytest.raises(ValueError, match=r"source images \[1\] have no adversarial image"):
        study.first_target_rows(_advset([0, 0, 2, 2], 3))
    with pytest.raises(ValueError, match="outside"):
        study.first_target_rows(_advset([0, 3], 3))


@pytest.fixture
def transfer() -> TransferMatrix:
    """Rows: a, b, c, "b + c", "a + c", "a + b", "all three"; entry (i, j) = (10 i + j) / 100."""
    names = ["a", "b", "c"]
    sources = [*leave_one_out_sources(names), "all three"]
    targeted = np.add.outer(10 * np.arange(7), np.arange(3)) / 100
    return TransferMatrix(sources, names, targeted, 1 - targeted)


def test_held_out_transfer_closed_form(transfer) -> None:
    t = transfer.targeted
    held = study.held_out_transfer(transfer)
    assert list(held) == list(study.HELD_OUT_KEYS)
    # on "a": from b alone (row 1) and c alone (row 2), and from "b + c" (row 3)
    assert held["held_out_targeted_single"] == pytest.approx(
        {"a": (t[1, 0] + t[2, 0]) / 2, "b": (t[0, 1] + t[2, 1]) / 2, "c": (t[0, 2] + t[1, 2]) / 2}
    )
    assert held["held_out_targeted_pair"] == pytest.approx({"a": t[3, 0], "b": t[4, 1], "c": t[5, 2]})
    assert held["held_out_misclassified_single"] == pytest.approx(
        {k: 1 - v for k, v in held["held_out_targeted_single"].items()}
    )
    assert held["held_out_misclassified_pair"] == pytest.approx({"a": 1 - t[3, 0], "b": 1 - t[4, 1], "c": 1 - t[5, 2]})
    missing = TransferMatrix(transfer.sources[:4], ["a", "b", "c"], t[:4], 1 - t[:4])
    with pytest.raises(ValueError, match="missing the rows"):
        study.held_out_transfer(missing)


def test_held_out_table(transfer) -> None:
    lines = study.held_out_table(study.held_out_transfer(transfer)).splitlines()
    assert lines[0] == (
        "| held-out model | targeted, from one other model | targeted, from the other two | "
        "misclassified, from one | misclassified, from two |"
    )
    # on "a": single (0.10 + 0.20) / 2 = 15%, pair 30%; misclassified 85%, 70%
    assert lines[2] == "| a | 15.0% | 30.0% | 85.0% | 70.0% |"
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| a", "| b", "| c"]
    with pytest.raises(ValueError, match="missing"):
        study.held_out_table({"held_out_targeted_single": {"a": 0.1}})


def test_transfer_record(transfer) -> None:
    held = study.held_out_transfer(transfer)
    record = study.transfer_record(transfer, held)
    assert list(record) == ["sources", "evaluated_on", "targeted", "misclassified", *study.HELD_OUT_KEYS]
    assert record["sources"] == transfer.sources and record["evaluated_on"] == ["a", "b", "c"]
    assert record["targeted"] == transfer.targeted.tolist()
    assert record["misclassified"] == transfer.misclassified.tolist()
    assert all(record[k] == held[k] for k in study.HELD_OUT_KEYS)
    with pytest.raises(ValueError, match="missing"):
        study.transfer_record(transfer, {})
