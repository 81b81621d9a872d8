"""The claim specs of chapters 13 and 14, and the list-indexing paths they read."""

import re
from pathlib import Path

import nbformat
import pytest

from advinterp_lib.report import build_report
from advinterp_lib.report.claims import CLAIMS, Claim, build_claims
from advinterp_lib.report.rules import NO_RESULT, NOT_REPRODUCED, REPRODUCED, At, Ordered, lookup
from advinterp_lib.runs import write_results


def _report(tmp_path, chapter, numbers):
    write_results(chapter, "quick", numbers, seed=0, wall_time_s=1.0, device="cpu", root=tmp_path)
    return build_report(tmp_path, profiles=["quick"])


def _verdict(report, key):
    (f,) = [f for f in report.findings if f.claim.key == key]
    return f


def test_lookup_indexes_lists_with_integer_keys():
    numbers = {"curve": {"random order": [7.5, 6.0, 5.5]}, "nested": [{"a": 1.0}, {"a": 2.0}]}
    assert lookup(numbers, "curve.random order.0") == 7.5
    assert lookup(numbers, "curve.random order.-1") == 5.5
    assert lookup(numbers, "nested.1.a") == 2.0
    assert lookup(numbers, "curve.random order.3") is None  # out of range: absent, not an error
    assert lookup(numbers, "curve.random order.-4") is None
    with pytest.raises(ValueError, match="numbers.curve.random order should be a dict holding 'last'"):
        lookup(numbers, "curve.random order.last")  # not an integer: a malformed path or file, not "no result"
    assert lookup(numbers, "curve.0") is None  # a mapping is not indexed by position
    assert At("curve.random order.-1").get(numbers, "x.json") == 5.5


def test_every_claim_key_is_unique_and_every_chapter_is_a_book_chapter():
    keys = [c.key for c in CLAIMS]
    assert len(keys) == len(set(keys))
    assert {c.chapter for c in CLAIMS} <= {f"{n:02d}" for n in range(1, 16)}
    assert {"13", "14"} <= {c.chapter for c in CLAIMS}
    assert build_claims() == CLAIMS  # built from data only: the same every time
    assert all(isinstance(c, Claim) and c.statement and c.source for c in CLAIMS)


def _ch13(pd_last, random_last, flipped_pd, flipped_random):
    return {
        "ablation_curve": {
            "prediction difference": [7.7, 5.0, pd_last],
            "gradient × activation": [7.7, 5.1, pd_last],
            "random order": [7.7, 7.4, random_last],
        },
        "flipped_share": {
            "prediction difference": [0.0, 0.1, flipped_pd],
            "gradient × activation": [0.0, 0.1, 0.2],
            "random order": [0.0, 0.0, flipped_random],
        },
    }


@pytest.mark.parametrize(
    "numbers, expected",
    [(_ch13(2.0, 5.8, 0.23, 0.01), REPRODUCED), (_ch13(6.0, 5.8, 0.01, 0.23), NOT_REPRODUCED)],
)
def test_chapter_13_tracing_claims_follow_the_ablation_curves(tmp_path, numbers, expected):
    report = _report(tmp_path, "13_tracing_predictions_to_neurons", numbers)
    for key in ("ch13.ablation_curve", "ch13.flipped_share"):
        f = _verdict(report, key)
        assert f.verdict == expected, (key, f.detail)
        assert "point estimates" in f.detail  # the curves carry no interval, and the finding says so
    f = _verdict(report, "ch13.ablation_curve")
    assert f.values == {
        "ablation_curve.prediction difference.-1": numbers["ablation_curve"]["prediction difference"][-1],
        "ablation_curve.random order.-1": numbers["ablation_curve"]["random order"][-1],
    }


def _interval(mean, half):
    return {"mean": mean, "low": mean - half, "high": mean + half, "confidence": 0.95, "n": 128}


def _ch14(unrelated, pgd, ensemble, phase=0.97, amplitude=0.15):
    cam = {
        "another image": {"fraction": 0.1, "spearman": _interval(unrelated, 0.05)},
        "PGD, true class": {"fraction": 0.1, "spearman": _interval(pgd, 0.05)},
        "ensemble, true class": {"fraction": 0.1, "spearman": _interval(ensemble, 0.05)},
    }
    return {
        "agreement": {"resnet": {"Grad-CAM": cam}},
        "perturbation_phase_vs_amplitude": {"resnet": {"PGD": {"phase": phase, "amplitude": amplitude}}},
    }


def test_chapter_14_grad_cam_claims_need_separated_intervals(tmp_path):
    # robust maps: both attacked maps far above an unrelated image's
    report = _report(tmp_path / "a", "14_explanations_under_attack", _ch14(0.33, 0.85, 0.80))
    assert _verdict(report, "ch14.resnet.grad_cam_survives_pgd").verdict == REPRODUCED
    assert _verdict(report, "ch14.resnet.grad_cam_survives_ensemble").verdict == REPRODUCED
    assert _verdict(report, "ch14.resnet.phase_carries_pgd").verdict == REPRODUCED
    # chapter 14's quick numbers: PGD's map is no closer than an unrelated one (intervals overlap)
    report = _report(tmp_path / "b", "14_explanations_under_attack", _ch14(0.33, 0.34, 0.16, phase=0.1, amplitude=0.2))
    f = _verdict(report, "ch14.resnet.grad_cam_survives_pgd")
    assert f.verdict == NOT_REPRODUCED and "intervals overlap" in f.detail
    assert _verdict(report, "ch14.resnet.grad_cam_survives_ensemble").verdict == NOT_REPRODUCED
    assert _verdict(report, "ch14.resnet.phase_carries_pgd").verdict == NOT_REPRODUCED
    assert f.intervals["agreement.resnet.Grad-CAM.PGD, true class.spearman.mean"] == pytest.approx((0.29, 0.39))


def _ch14_models(shift, noise_shift, fgsm, noise):
    numbers = _ch14(0.33, 0.85, 0.80)
    numbers["explanation_attack"] = {
        "vgg": {"shift": _interval(shift, 0.01), "noise_shift": _interval(noise_shift, 0.01)}
    }
    numbers["low_frequency_share"] = {"vgg": {"FGSM": _interval(fgsm, 0.005), "noise": _interval(noise, 0.005)}}
    return numbers


def test_chapter_14_findings_on_the_explanation_attack_and_fgsm_spectrum(tmp_path):
    report = _report(tmp_path / "a", "14_explanations_under_attack", _ch14_models(0.80, 0.37, 0.30, 0.235))
    assert _verdict(report, "ch14.vgg.explanation_attack_twice_noise").verdict == REPRODUCED
    assert _verdict(report, "ch14.vgg.fgsm_low_frequency").verdict == REPRODUCED
    # chapter 14's full run: the ResNet's 2.0x (intervals not 2x apart), AlexNet's FGSM below noise
    report = _report(tmp_path / "b", "14_explanations_under_attack", _ch14_models(0.62, 0.30, 0.227, 0.235))
    f = _verdict(report, "ch14.vgg.explanation_attack_twice_noise")
    assert f.verdict == NOT_REPRODUCED and "2 × upper bound" in f.detail
    assert _verdict(report, "ch14.vgg.fgsm_low_frequency").verdict == NOT_REPRODUCED
    # models the run did not include have no result
    assert _verdict(report, "ch14.alexnet.fgsm_low_frequency").verdict == NO_RESULT


def test_claims_of_a_chapter_without_results_wait_for_it(tmp_path):
    report = _report(tmp_path, "13_tracing_predictions_to_neurons", _ch13(2.0, 5.8, 0.2, 0.0))
    for key in ("ch14.resnet.grad_cam_survives_pgd", "ch14.resnet.phase_carries_pgd"):
        f = _verdict(report, key)
        assert f.verdict == NO_RESULT and "run 14 --profile quick" in f.detail


def test_a_claim_on_a_path_the_results_lack_has_no_result(tmp_path):
    claim = Claim(
        "x",
        "13",
        "Tracing",
        "s",
        "src",
        Ordered(At("ablation_curve.random order.9"), At("ablation_curve.prediction difference.0")),
        "p",
    )
    write_results(
        "13_tracing_predictions_to_neurons",
        "quick",
        _ch13(2.0, 5.8, 0.2, 0.0),
        seed=0,
        wall_time_s=1.0,
        device="cpu",
        root=tmp_path,
    )
    (f,) = build_report(tmp_path, profiles=["quick"], claims=[claim]).findings
    assert f.verdict == NO_RESULT and "ablation_curve.random order.9" in f.detail


def test_chapter_15_shows_every_group_of_claims():
    """A group added to the claims must also get a place in the report chapter."""
    (page,) = Path(__file__).resolve().parents[2].glob("book/*/15_*.ipynb")
    code = "\n".join(c.source for c in nbformat.read(page, as_version=4).cells if c.cell_type == "code")
    shown = {
        g for call in re.findall(r"report\.markdown\(p, \[([^\]]*)\]\)", code) for g in re.findall(r'"([^"]+)"', call)
    }
    assert {c.group for c in CLAIMS} - shown == set()
