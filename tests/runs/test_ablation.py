"""Chapter 12's ablation: the summary's arithmetic on synthetic measurements (the term's
effect is consistent-AT minus targeted-AT, and its verdict can come out every way),
one model measured for real, and merging an architecture into a results file."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from advinterp_lib.attacks.advset import AdversarialSet
from advinterp_lib.runs.ablation import (
    ACCURACY_KINDS,
    CHAPTER_12,
    measure_model,
    record_ablation,
    summarize_ablation,
    term_verdict,
)

K, C, KA = 10, 16, 40
A = torch.eye(K, dtype=torch.float64)


def fake_model_measurement(purity: float, accuracy: float, seed: int) -> dict:
    """Top concepts whose own-concept share is ``purity``; ``accuracy`` of 200 images correct."""
    g = torch.Generator().manual_seed(seed)
    own = (torch.arange(C)[:, None] % K).expand(C, KA)
    adv = torch.where(torch.rand(C, KA, generator=g) < purity, own, torch.randint(0, K, (C, KA), generator=g))
    correct = {kind: torch.rand(200, generator=g) < accuracy for kind in ACCURACY_KINDS}
    return {
        "real_concepts": own.clone(),
        "adversarial_concepts": adv,
        "adversarial_clusters": torch.arange(C * KA).reshape(C, KA),
        "correct": correct,
    }


def study(term_purity: float) -> dict:
    rows = {
        "standard": [fake_model_measurement(0.2, 0.1, 0)],
        "consistent-AT": [fake_model_measurement(term_purity, 0.5, s) for s in (1, 2, 3)],
        "targeted-AT": [fake_model_measurement(0.5, 0.5, s) for s in (4, 5, 6)],
    }
    return summarize_ablation({"resnet": rows}, A, num_samples=300)


@pytest.mark.parametrize("term_purity, verdict", [(0.9, "raises"), (0.1, "lowers"), (0.5, "no detectable effect")])
def test_the_terms_effect_can_come_out_every_way(term_purity: float, verdict: str) -> None:
    s = study(term_purity)["resnet"]
    effect = s["term_effect"]["consis_adv"]
    rows = s["rows"]
    assert effect["mean"] == pytest.approx(
        rows["consistent-AT"]["consis_adv"]["mean"] - rows["targeted-AT"]["consis_adv"]["mean"]
    )
    assert term_verdict(effect) == verdict


def test_gains_are_against_the_standard_model_and_seeds_are_kept() -> None:
    rows = study(0.9)["resnet"]["rows"]
    c, std = rows["consistent-AT"], rows["standard"]
    assert c["seeds"] == 3 and std["seeds"] == 1 and len(c["per_seed"]) == 3
    assert c["gain_consis_adv"]["mean"] == pytest.approx(c["consis_adv"]["mean"] - std["consis_adv"]["mean"])
    assert c["gain_consis_adv"]["low"] > 0
    assert c["clean"]["mean"] == pytest.approx(sum(p["clean"] for p in c["per_seed"]) / 3)
    # the real concepts are identical in every model: consis does not move at all
    assert c["gain_consis"]["mean"] == 0 and c["relative_change_consis"]["mean"] == 0
    json.dumps(rows)  # JSON-ready


class TinyCNN(nn.Module):
    last_conv = "conv"

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 6, 3)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.fc = nn.Linear(6, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.relu(self.conv(x))).flatten(1))


def test_measure_model_on_a_real_model() -> None:
    model = TinyCNN().eval()
    g = torch.Generator().manual_seed(1)
    real = torch.rand(100, 1, 8, 8, generator=g)
    labels = torch.arange(100) % 10
    adv_images = (torch.rand(200, 1, 8, 8, generator=g) * 255).to(torch.uint8)
    source_index = torch.arange(100).repeat_interleave(2)
    advset = AdversarialSet(
        [
            {
                "images": adv_images,
                "source_index": source_index,
                "label": labels[source_index],
                "target": (labels[source_index] + 1) % 10,
            }
        ],
        k=2,
        num_sources=100,
    )
    m = measure_model(
        model,
        real_images=real,
        real_concepts=labels,
        advset=advset,
        num_concepts=10,
        fraction=0.1,
        eval_images=real[:40],
        eval_labels=labels[:40],
        eps=0.05,
        paper_eps=1 / 255,
        pgd_steps=3,
        strong_images=20,
        strong={"pgd_steps": 2, "pgd_restarts": 1, "apgd_steps": 3, "n_targets": 3},
    )
    assert m["real_concepts"].shape == (6, 10) and m["adversarial_concepts"].shape == (6, 20)
    # each top adversarial image's cluster is its source, whose concept it carries
    assert torch.equal(labels[m["adversarial_clusters"]], m["adversarial_concepts"])
    with torch.no_grad():
        assert torch.equal(m["correct"]["clean"], model(real[:40]).argmax(1) == labels[:40])
    assert set(m["correct"]) == set(ACCURACY_KINDS) and len(m["correct"]["strong:apgd-t"]) == 20
    # attacks only remove correct answers
    for kind in ("fgsm", "pgd"):
        assert not (m["correct"][kind] & ~m["correct"]["clean"]).any()


def test_record_ablation_merges_one_architecture_at_a_time(tmp_path) -> None:
    first = {"archs": {"resnet": {"rows": {}}}, "settings": {"seeds": [0, 1, 2]}}
    path = record_ablation("full", first, wall_time_s=10, root=tmp_path)
    assert path == tmp_path / "full" / f"{CHAPTER_12}.json"
    record = json.loads(path.read_text())
    record["numbers"]["table1"] = {"kept": 1}  # the chapter's own numbers
    path.write_text(json.dumps(record))
    record_ablation(
        "full", {"archs": {"vgg": {"rows": {}}}, "settings": {"seeds": [0, 1, 2]}}, wall_time_s=5, root=tmp_path
    )
    numbers = json.loads(path.read_text())["numbers"]
    assert set(numbers["ablation_over_seeds"]["archs"]) == {"resnet", "vgg"}
    assert numbers["table1"] == {"kept": 1}
    assert numbers["ablation_over_seeds"]["runs"]["vgg"]["wall_time_s"] == 5
    with pytest.raises(ValueError):
        record_ablation("../x", first, wall_time_s=1, root=tmp_path)


def test_describe_ablation_reads_every_number_from_the_summary() -> None:
    from advinterp_lib.runs.ablation import describe_ablation

    s = study(0.9)
    (line,) = describe_ablation(s, ["consistent-AT", "targeted-AT"])
    te = s["resnet"]["term_effect"]["consis_adv"]
    assert "consis_adv: raises" in line and f"{te['mean']:+.3f}" in line
    assert line.startswith("- **resnet** (3 seeds)")
    (line,) = describe_ablation(study(0.1), ["consistent-AT", "targeted-AT"])
    assert "consis_adv: lowers" in line
    assert "by the rise of consis_adv: targeted-AT" in line


def test_differences_are_paired_a_copy_of_the_standard_gains_exactly_nothing() -> None:
    std = fake_model_measurement(0.4, 0.5, 0)
    s = summarize_ablation(
        {"resnet": {"standard": [std], "consistent-AT": [std, std], "targeted-AT": [std]}}, A, num_samples=200
    )["resnet"]
    gain = s["rows"]["consistent-AT"]["gain_consis_adv"]
    assert gain == {"mean": 0.0, "low": 0.0, "high": 0.0}
    assert s["term_effect"]["clean"] == {"mean": 0.0, "low": 0.0, "high": 0.0}
    # while the row's own interval is not degenerate
    row = s["rows"]["consistent-AT"]["consis_adv"]
    assert row["high"] - row["low"] > 0.01
