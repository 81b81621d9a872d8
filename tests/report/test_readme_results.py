"""The README's result figures are the committed full runs' numbers.

The chapters render every measured number from their results (``tests/test_prose_numbers.py``);
the README states a few of them by hand, where it tells the story of the full runs. Each
figure below is rebuilt from ``results/full`` and must appear in the README as written
(whitespace aside), so a rerun that changes a number fails here until the README follows.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from advinterp_lib.report.claims import FINDING, REPRODUCTION
from advinterp_lib.report.report import build_report
from advinterp_lib.report.rules import NO_RESULT, NOT_COMPARABLE, NOT_REPRODUCED, REPRODUCED

ROOT = Path(__file__).resolve().parents[2]
FULL = ROOT / "results" / "full"


@functools.cache
def _numbers(chapter: str) -> dict[str, Any]:
    (path,) = FULL.glob(f"{chapter}_*.json")
    return json.loads(path.read_text(encoding="utf-8"))["numbers"]


def _readme() -> str:
    return re.sub(r"\s+", " ", (ROOT / "README.md").read_text(encoding="utf-8"))


def _ci(d: dict[str, float]) -> str:
    return f"{d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"


@functools.cache
def _full_report():
    return build_report(ROOT / "results", profiles=["full"])


def _counts() -> list[str]:
    report = _full_report()
    r, f = report.counts("full", REPRODUCTION), report.counts("full", FINDING)
    waits = "; none waits" if f[NO_RESULT] == 0 else f" and {f[NO_RESULT]} wait"
    return [
        f"{r[REPRODUCED]} reproduced, {r[NOT_REPRODUCED]} not reproduced and {r[NOT_COMPARABLE]} not comparable",
        f"Of our own findings {f[REPRODUCED]} hold and {f[NOT_REPRODUCED]} do not{waits}",
    ]


def _ablation() -> list[str]:
    archs = _numbers("12")["ablation_over_seeds"]["archs"]
    term = {a: archs[a]["term_effect"] for a in ("resnet", "vgg", "alexnet")}
    control = ", ".join(f"{archs[a]['rows']['targeted-AT']['gain_consis_adv']['mean']:+.3f}" for a in term)
    strong = {a: {k: 100 * v for k, v in t["strong:apgd-t"].items()} for a, t in term.items()}
    return [
        f"(ResNet {_ci(term['resnet']['consis_adv'])}, VGG {_ci(term['vgg']['consis_adv'])}, "
        f"AlexNet {_ci(term['alexnet']['consis_adv'])})",
        f"(ResNet, VGG, AlexNet: {control} against the standard model)",
        f"the ResNet ({strong['resnet']['mean']:+.1f} points) and the VGG ({strong['vgg']['mean']:+.1f}) but costs "
        f"the AlexNet {-strong['alexnet']['mean']:.1f} points [{strong['alexnet']['low']:.1f}, "
        f"{strong['alexnet']['high']:.1f}]",
        f"the ResNet's consis is {archs['resnet']['rows']['standard']['consis']['mean']:.3f} in the ablation and "
        f"{_numbers('11')['table1']['resnet']['consis']:.3f} in chapter 11's file",
    ]


def _other_runs() -> list[str]:
    ch11, ch12 = _numbers("11")["table1"], _numbers("12")["table1"]
    ratio = {k: v["mean"] for k, v in _numbers("14")["explanation_attack"]["resnet"].items() if "shift" in k}
    return [
        f"VGG's did not ({ch11['vgg']['consis']:.3f}, first run {ch12['vgg']['standard']['consis']:.3f})",
        f"({100 * _numbers('02')['gradient_rf_vs_geometry']['alexnet']['coverage']:.0f} % covered with 32 random",
        f"{100 * _numbers('07')['transfer']['held_out_misclassified_single']['alexnet']:.0f} % at full scale",
        f"moves the map {ratio['shift'] / ratio['noise_shift']:.1f} times as far as noise",
        f"the AlexNet's {_numbers('12')['ablation_over_seeds']['runs']['alexnet']['wall_time_s']:.0f} s is",
    ]


def _chapter14_findings() -> list[str]:
    report = _full_report()
    found = [f for f in report.findings_for("full")
             if f.claim.key.endswith(("fgsm_low_frequency", "explanation_attack_twice_noise"))]  # fmt: skip
    failed = sum(f.verdict == NOT_REPRODUCED for f in found)
    return [f"{failed} of the {len(found)} not reproduced"]


@pytest.mark.parametrize(
    "figures", [_counts, _ablation, _other_runs, _chapter14_findings], ids=lambda f: f.__name__.strip("_")
)
def test_the_readme_states_the_committed_numbers(figures):
    readme = _readme()
    assert [f for f in figures() if f not in readme] == []


def test_the_same_models_claims_hold_in_the_files():
    """What the README infers from the files: chapter 11 (second run) and chapter 12 (first
    run) give AlexNet and ResNet the same consis to every digit, not VGG; chapters 9 and 12
    give the AlexNet and ResNet rows the same clean and FGSM accuracy on 10,000 images; and
    consistent-AT moves the VGG's consis up from chapter 12's base, down from the ablation's."""
    ch9, ch11, ch12 = _numbers("09"), _numbers("11")["table1"], _numbers("12")
    assert [a for a in ch11 if ch11[a]["consis"] == ch12["table1"][a]["standard"]["consis"]] == ["alexnet", "resnet"]
    for arch in ("alexnet", "resnet"):
        for row, t3 in ch12["table3"][arch].items():
            if row in ch9["accuracy"][arch]:
                assert t3["real"]["top1"] == ch9["accuracy"][arch][row]["clean"]["top1"]
                assert t3["fgsm"]["top1"] == ch9["accuracy"][arch][row]["fgsm"]["top1"]
    # the VGG's consis moves under consistent-AT with opposite signs from the two bases
    vgg, ablation = ch12["table1"]["vgg"], ch12["ablation_over_seeds"]["archs"]["vgg"]["rows"]
    assert vgg["consistent-AT"]["consis"] > vgg["standard"]["consis"]
    assert ablation["consistent-AT"]["relative_change_consis"]["high"] < 0


def test_a_readme_figure_that_drifts_is_caught():
    """The check can fail: a README that counts one finding more than the report does."""
    counts = _counts()
    held = counts[1]
    stale = _readme().replace(held, held.replace(" hold", "1 hold", 1))
    assert [f for f in counts if f not in stale] == [held]
