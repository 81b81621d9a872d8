"""Chapter 12's ablation: the summary's arithmetic on synthetic measurements (the term's
effect is consistent-AT minus targeted-AT, and its verdict can come out every way),
one model measured for real, and merging an architecture into a results file."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from advinterp_lib.artifacts import ArtifactCache, adversarial_variant
from advinterp_lib.attacks.advset import AdversarialSetRecipe
from advinterp_lib.data import AdversarialSet
from advinterp_lib.runs.ablation import (
    ACCURACY_KINDS,
    CHAPTER_12,
    ablation_finetunes,
    measure_model,
    record_ablation,
    summarize_ablation,
    term_verdict,
)
from advinterp_lib.runs.profiles import ADV_TRAINING, chapter_parameters

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


def test_the_sentence_across_architectures_groups_them_by_verdict() -> None:
    from advinterp_lib.runs.ablation import describe_across_architectures

    up, down, flat = study(0.9)["resnet"], study(0.1)["resnet"], study(0.5)["resnet"]
    assert describe_across_architectures({"resnet": up}) == ""  # one architecture: the bullet says it
    text = describe_across_architectures({"alexnet": up, "vgg": flat, "resnet": down})
    assert text.startswith("Across the 3 architectures, the feature term's effect on consis_adv: ")
    consis = text.split("consis_adv: ", 1)[1].split("; on strong", 1)[0]
    assert consis == "raises for alexnet; no detectable effect for vgg; lowers for resnet"
    assert "on consis_adv: raises for alexnet, vgg, resnet." in text  # targeted-AT beats the standard model
    assert describe_across_architectures({"vgg": up, "resnet": up}).count("raises for vgg, resnet") >= 1


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


# ------------------------------------------------ chapter 12's single-seed comparison


def test_intervals_json_and_robustness_json() -> None:
    from advinterp_lib.runs.consistent_loss import intervals_json, robustness_json
    from advinterp_lib.stats import basic_interval

    b = basic_interval(0.1, torch.tensor([0.0, 0.2], dtype=torch.float64), 0.95)
    got = intervals_json({"a": {"r": {"consis": b}}, "n": 3})
    assert got == {"a": {"r": {"consis": {"mean": b.mean, "low": b.low, "high": b.high}}}, "n": 3}
    assert robustness_json({"real": {"top1": torch.tensor(0.5)}}) == {"real": {"top1": 0.5}}


def _table3(std_fgsm, adv_fgsm, std_paper, adv_paper):
    def row(real, fgsm, paper, strong):
        return {"real": {"top1": real, "top3": 0.99}, "fgsm": {"top1": fgsm, "top3": 0.9},
                "fgsm_paper_eps": {"top1": paper, "top3": 0.9}, "strong": {"top1": strong}}  # fmt: skip

    return {"standard": row(0.9, std_fgsm, std_paper, 0.0), "consistent-AT": row(0.85, adv_fgsm, adv_paper, 0.3)}


def test_table3_table_and_budget_prose() -> None:
    from advinterp_lib.runs.consistent_loss import describe_table3_budgets, table3_table

    t = _table3(0.1, 0.6, 0.8, 0.7)
    table = table3_table(t, "vgg", fgsm_eps=0.1, paper_fgsm_eps_255=1, strong_images=50)
    assert table.splitlines()[2] == "| vgg | 90.0% | 99.0% | 10.0% | 90.0% | 80.0% | 0.0% |"
    assert "| vgg-Adv (consistent-AT) |" in table and "strong ε=0.1 top-1 (50 images)" in table
    text = describe_table3_budgets({"vgg": t}, fgsm_eps=0.1, paper_fgsm_eps_255=1)
    assert "-10.0 points" in text and "+50.0 points under FGSM at ε = 0.1" in text and "reverses" in text
    assert "reverses" not in describe_table3_budgets({"vgg": _table3(0.1, 0.6, 0.7, 0.8)}, fgsm_eps=0.1,
                                                     paper_fgsm_eps_255=1)  # fmt: skip


def test_variant_spec_table_lists_objectives_and_passes() -> None:
    from advinterp_lib.runs.consistent_loss import variant_spec_table

    table = variant_spec_table(["FGSM-AT", "consistent-AT"], eps=0.1, pgd_train_steps=3, pgd_train_step=0.04,
                               consistent_steps=5)  # fmt: skip
    lines = table.splitlines()
    assert lines[2] == "| FGSM-AT | `fgsm` | eps=0.1, alpha=0.5 | 3 + 2 |"
    assert lines[3].startswith("| consistent-AT | `consistent` | eps_step=0.02, steps=5,") and lines[3].endswith(
        "9 + 6 |"
    )
    with pytest.raises(ValueError, match="unknown variant"):
        variant_spec_table(["nope"], eps=0.1, pgd_train_steps=3, pgd_train_step=0.04, consistent_steps=5)


def test_gain_whitebox_and_ablation_tables_and_prose() -> None:
    from advinterp_lib.consistency.evaluation import ModelConsistency
    from advinterp_lib.consistency.metric import summarize_consistency
    from advinterp_lib.runs.ablation import ablation_table
    from advinterp_lib.runs.consistent_loss import describe_consistent_at, gain_table, whitebox_table
    from advinterp_lib.stats import basic_interval

    up = basic_interval(0.2, torch.tensor([0.15, 0.25], dtype=torch.float64), 0.95)
    flat = basic_interval(0.0, torch.tensor([-0.1, 0.1], dtype=torch.float64), 0.95)
    gain = {"vgg": {"consistent-AT": {"consis": flat, "consis_adv": up}}}
    table = gain_table(gain, {"vgg": _table3(0.1, 0.6, 0.8, 0.7)})
    assert table.splitlines()[2].endswith("| 60.0% | +50.0% |") and "+0.200 [" in table
    s = summarize_consistency(torch.zeros(4, 5, dtype=torch.long), torch.zeros(4, 8, dtype=torch.long), A,
                              num_samples=20)  # fmt: skip
    wb = {"vgg": {r: ModelConsistency(activations=None, summary=s) for r in ("standard", "consistent-AT")}}
    fooled = {"vgg": {"standard": 0.9, "consistent-AT": 0.4}}
    table = whitebox_table(wb, fooled, {"vgg": {"consistent-AT": flat}}, n_images=100)
    assert table.splitlines()[2] == "| vgg | standard | 100 | 90% | 1.000 [1.000, 1.000] | 1.000 |  |"
    text = describe_consistent_at(gain, {"vgg": {"consistent-AT": flat}}, fooled, fooled)
    assert text.startswith("- **vgg-Adv**: consis_adv rises on the shared set (+0.200) and does not change")
    rows = study(0.9)["resnet"]["rows"]
    table = ablation_table({"resnet": {"rows": rows}})
    assert len(table.splitlines()) == 2 + len(rows) and "| resnet | standard | 1 |  |  |" in table


def test_describe_single_seed_reads_the_committed_layout() -> None:
    from advinterp_lib.runs.consistent_loss import describe_single_seed

    d = {"mean": 0.1, "low": 0.05, "high": 0.15}
    record = {"device": "cpu", "numbers": {
        "archs": ["vgg"], "table3": {"vgg": _table3(0.1, 0.6, 0.8, 0.7)}, "table3_settings": {"fgsm_eps": 0.1},
        "gain_vs_standard": {"vgg": {"consistent-AT": {"consis_adv": d}}},
        "gain_vs_standard_whitebox": {"vgg": {"consistent-AT": {"consis_adv": d}}}}}  # fmt: skip
    text = describe_single_seed(record)
    assert text.startswith("Full profile (cpu):\n\n- **vgg**, Table 3 at ε = 0.1: FGSM top-1 10% (standard) → 60%")
    assert "consistent-AT +0.10 [+0.05, +0.15]" in text
    assert "Strong attack: top-1 0.0% (standard) → 30.0% (consistent-AT)." in text  # the run's own column


def test_describe_single_seed_takes_an_older_runs_strong_column_from_chapter_9() -> None:
    from advinterp_lib.runs.consistent_loss import describe_single_seed

    d = {"mean": 0.1, "low": 0.05, "high": 0.15}
    table3 = {row: {k: v for k, v in r.items() if k != "strong"} for row, r in _table3(0.1, 0.6, 0.8, 0.7).items()}
    record = {"device": "cpu", "numbers": {
        "archs": ["vgg", "resnet"], "table3": {"vgg": table3, "resnet": table3}, "table3_settings": {"fgsm_eps": 0.1},
        "gain_vs_standard": {a: {"consistent-AT": {"consis_adv": d}} for a in ("vgg", "resnet")},
        "gain_vs_standard_whitebox": {a: {"consistent-AT": {"consis_adv": d}} for a in ("vgg", "resnet")}}}  # fmt: skip
    chapter9 = {"numbers": {"strong_settings": {"images": 1000}, "strong": {"vgg": {
        "standard": {"clean": 0.9, "pgd": 0.0, "apgd-ce": 0.0, "apgd-t": 0.0},
        "consistent-AT": {"clean": 0.88, "pgd": 0.21, "apgd-ce": 0.16, "apgd-t": 0.157}}}}}  # fmt: skip
    vgg, resnet = describe_single_seed(record, chapter9).split("\n")[2:]
    assert "chapter 9's full run, the same recipe, the first 1,000 test images): top-1 0.0% (standard) → 15.7%" in vgg
    assert "No strong-attack column" in resnet  # chapter 9 has no such model
    assert "No strong-attack column" in describe_single_seed(record).split("\n")[2]  # no chapter-9 run at all


class _Tiny(nn.Module):
    """A classifier on 1 x 8 x 8 images with a conv layer (its last)."""

    last_conv = "conv"

    def __init__(self, classes: int = 3) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.head = nn.Linear(4, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(x).relu().amax((2, 3)))


def test_table3_accuracies_are_the_notebooks_calls() -> None:
    from advinterp_lib.attacks import fgsm, strong_attack
    from advinterp_lib.runs.consistent_loss import table3_accuracies
    from advinterp_lib.training import evaluate

    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(20, 1, 8, 8, generator=g), torch.randint(0, 5, (20,), generator=g)
    m = _Tiny(classes=5).eval()  # APGD-T's DLR loss needs 4 classes or more
    strong = {"pgd_steps": 3, "pgd_restarts": 1, "apgd_steps": 3, "n_targets": 2, "seed": 0}
    got = table3_accuracies({"standard": m}, x, y, eps=0.1, paper_eps=1 / 255, strong_images=8, strong=strong)
    want_fgsm = evaluate(m, fgsm(m, x, y, eps=0.1), y, topk=(1, 3))
    assert got["standard"]["fgsm"] == want_fgsm and got["standard"]["real"] == evaluate(m, x, y, topk=(1, 3))
    assert got["standard"]["strong"]["top1"] == strong_attack(m, x[:8], y[:8], eps=0.1, **strong).accuracy()["apgd-t"]
    with pytest.raises(ValueError, match="strong_images"):
        table3_accuracies({"standard": m}, x, y, eps=0.1, paper_eps=0.0, strong_images=0, strong=strong)


def test_whitebox_consistency_attacks_each_model_itself(tmp_path) -> None:
    from advinterp_lib.artifacts.advsets import whitebox_adversarial_set
    from advinterp_lib.artifacts.cache import ArtifactCache
    from advinterp_lib.consistency.evaluation import measure_consistency
    from advinterp_lib.runs.consistent_loss import whitebox_consistency
    from advinterp_lib.training import predict

    g = torch.Generator().manual_seed(2)
    x, y = torch.rand(30, 1, 8, 8, generator=g), torch.randint(0, 3, (30,), generator=g)
    cache = ArtifactCache(tmp_path)
    a = torch.eye(3, dtype=torch.float64)
    recipe = AdversarialSetRecipe(k=2, step_size=0.02, steps=3, eps=0.1)
    got, fooled = whitebox_consistency({"m": _Tiny().eval()}, x, y, a, n_sources=10, recipe=recipe, fraction=0.1,
                                       num_samples=20, cache=cache)  # fmt: skip
    wb = whitebox_adversarial_set(_Tiny().eval(), x[:10], y[:10], recipe, seed=0, cache=cache, progress=False)
    want = measure_consistency(_Tiny().eval(), x, y, wb.images, wb.labels, a, fraction=0.1, num_samples=20)
    assert torch.equal(got["m"].summary.consis_adv, want.summary.consis_adv)
    assert fooled["m"] == float((predict(_Tiny().eval(), wb.images).argmax(1) != wb.labels).float().mean())
    with pytest.raises(ValueError, match="n_sources"):
        whitebox_consistency({"m": _Tiny()}, x, y, a, n_sources=31, recipe=recipe, cache=cache)


def test_ablation_finetunes_caches_every_model_and_a_reverse_walk_finds_them(tmp_path) -> None:
    tiny = {"train_size": 64, "train_epochs": 1, "finetune_size": 16, "consistent_steps": 2}
    params = chapter_parameters("quick", "12") | tiny | {"ablation_variants": ["consistent-AT", "FGSM-AT"]}
    params["ablation_seeds"] = [0, 1]
    cache = ArtifactCache(tmp_path)
    walked = ablation_finetunes(params, archs=["resnet"], cache=cache)
    assert walked == [("resnet", v, s) for v in ("consistent-AT", "FGSM-AT") for s in (0, 1)]
    entries = sorted(p.name for p in (tmp_path / "adversarial_model").iterdir() if not p.name.startswith("."))
    assert len(entries) == 4  # one fine-tune per variant and seed
    assert ablation_finetunes(params, archs=["resnet"], cache=cache, reverse=True) == walked[::-1]
    zoo = {k: params[k] for k in ("train_size", "train_epochs", "seed")}
    adv = {k: params[k] for k in ADV_TRAINING["quick"]}
    adversarial_variant("resnet", "FGSM-AT", **zoo, **adv, finetune_seed=1, cache=cache)  # what ablation_study asks
    assert sorted(p.name for p in (tmp_path / "adversarial_model").iterdir() if not p.name.startswith(".")) == entries
    with pytest.raises(ValueError, match="unknown architectures or variants"):
        ablation_finetunes(params | {"ablation_variants": ["TRADES"]}, archs=["resnet"], cache=cache)


def test_measurements_walked_from_the_other_end_are_the_same_models_in_the_same_layout(tmp_path) -> None:
    from advinterp_lib.data import load
    from advinterp_lib.runs.ablation import ablation_measurements

    tiny = {"train_size": 64, "train_epochs": 1, "finetune_size": 16, "consistent_steps": 2}
    params = chapter_parameters("quick", "12") | tiny
    zoo = {k: params[k] for k in ("train_size", "train_epochs", "seed")}
    adv = {k: params[k] for k in ADV_TRAINING["quick"]}
    real = load("fashion-mnist", "test").subset(30, seed=0)
    idx = torch.arange(30).repeat_interleave(2)
    shard = {"images": (real.images[idx].flip(-1) * 255).to(torch.uint8), "source_index": idx,
             "label": real.labels[idx], "target": (real.labels[idx] + 1) % 10}  # fmt: skip
    measure = {"real_images": real.images, "real_concepts": real.labels,
               "advset": AdversarialSet([shard], k=2, num_sources=30), "num_concepts": 10, "fraction": 0.1,
               "eval_images": real.images[:10], "eval_labels": real.labels[:10], "eps": 0.1, "paper_eps": 1 / 255,
               "pgd_steps": 2, "strong_images": 4,
               "strong": {"pgd_steps": 2, "pgd_restarts": 1, "apgd_steps": 2, "n_targets": 3}}  # fmt: skip
    kw = {"zoo": zoo, "adv": adv, "data_config": {"set": "test"}, "measure": measure, "cache": ArtifactCache(tmp_path)}
    backward = ablation_measurements(["resnet"], ["consistent-AT", "FGSM-AT"], [0, 1], reverse=True, **kw)
    n_entries = len(list((tmp_path / "ablation_measurement").iterdir()))
    forward = ablation_measurements(["resnet"], ["consistent-AT", "FGSM-AT"], [0, 1], **kw)
    assert len(list((tmp_path / "ablation_measurement").iterdir())) == n_entries  # found, not measured again
    assert {v: len(ms) for v, ms in forward["resnet"].items()} == {"standard": 1, "consistent-AT": 2, "FGSM-AT": 2}
    assert list(backward["resnet"]) == list(forward["resnet"])
    for v, ms in forward["resnet"].items():
        for a, b in zip(ms, backward["resnet"][v], strict=True):
            assert torch.equal(a["adversarial_concepts"], b["adversarial_concepts"])
            assert torch.equal(a["correct"]["strong:apgd-t"], b["correct"]["strong:apgd-t"])
    # the seeds differ: seed 1 is another fine-tune of the same standard model
    seed0, seed1 = forward["resnet"]["consistent-AT"]
    assert not torch.equal(seed0["real_concepts"], seed1["real_concepts"])


def test_the_full_profile_leaves_the_ablation_to_the_command_which_runs_every_zoo_model() -> None:
    from advinterp_lib.models import ZOO
    from advinterp_lib.runs.ablation import command_archs

    full, quick = chapter_parameters("full", "12"), chapter_parameters("quick", "12")
    assert full["ablation_archs"] == [] and command_archs(full) == list(ZOO)
    assert quick["ablation_archs"] and command_archs(quick) == quick["ablation_archs"]


def test_a_chapter_run_without_ablation_archs_shows_and_keeps_the_recorded_ablation(tmp_path) -> None:
    from advinterp_lib.runs.ablation import ablation_provenance, chapter_ablation, recorded_ablation
    from advinterp_lib.runs.results import write_results

    params = chapter_parameters("full", "12")
    empty = chapter_ablation(params, profile="full", root=tmp_path)  # nothing recorded yet
    assert empty["archs"] == {} and "`python -m advinterp_lib ablation" in ablation_provenance(empty)
    record_ablation("full", {"archs": {"resnet": {"rows": {"standard": {}}}}, "settings": {"seeds": [0, 1, 2]}},
                    wall_time_s=12.5, root=tmp_path)  # fmt: skip
    shown = chapter_ablation(params, profile="full", root=tmp_path)
    assert list(shown["archs"]) == ["resnet"] and shown["settings"] == {"seeds": [0, 1, 2]}
    assert shown["runs"]["resnet"]["wall_time_s"] == 12.5
    assert "resnet: recorded by `python -m advinterp_lib ablation --profile full --arch resnet`" in (
        ablation_provenance(shown)
    )
    # the chapter writes it back as its own ablation_over_seeds: the record, runs included, survives
    write_results(CHAPTER_12, "full", {"ablation_over_seeds": shown, "table1": {}}, seed=0, wall_time_s=60.0,
                  root=tmp_path)  # fmt: skip
    assert recorded_ablation("full", tmp_path) == shown
    # an architecture that a chapter run measured itself carries that run's device and date
    path = tmp_path / "full" / f"{CHAPTER_12}.json"
    record = json.loads(path.read_text())
    del record["numbers"]["ablation_over_seeds"]["runs"]
    path.write_text(json.dumps(record))
    run = recorded_ablation("full", tmp_path)["runs"]["resnet"]
    assert run["device"] == record["device"] and run["command"] == "python -m advinterp_lib run 12 --profile full"
    assert ablation_provenance({"archs": {"vgg": {}}}) == "vgg: measured by this run."
    with pytest.raises(ValueError, match="not a results record of profile 'quick'"):
        (tmp_path / "quick").mkdir()
        (tmp_path / "quick" / f"{CHAPTER_12}.json").write_text(path.read_text())
        recorded_ablation("quick", tmp_path)
    with pytest.raises(ValueError, match="unknown architectures or variants"):
        chapter_ablation(params | {"ablation_variants": ["TRADES"]}, profile="full", root=tmp_path)


def test_chapter12_single_seed_helpers_are_the_notebooks_former_code(tmp_path) -> None:
    from advinterp_lib.consistency.evaluation import interval_difference, measure_consistency
    from advinterp_lib.data import load
    from advinterp_lib.runs.ablation import describe_committed_ablation
    from advinterp_lib.runs.consistent_loss import (
        feature_gap,
        shared_set_consistency,
        shared_set_table,
        table1_json,
        whitebox_gains,
    )
    from advinterp_lib.training import predict
    from advinterp_lib.training.objectives import feature_distance

    m = _Tiny(classes=10).eval()
    x = torch.rand(12, 1, 8, 8, generator=torch.Generator().manual_seed(4))
    noisy = (x + 0.1).clamp(0, 1)
    table, gap = feature_gap(m, x, {"noise": noisy, "same": x}, eps=0.1)
    want = feature_distance(m, x, noisy).detach()
    phi = m.conv(x).flatten(1).norm(dim=1).detach()  # φ: the output of the module last_conv names
    assert gap == {"noise": pytest.approx(float(want.mean())), "same": 0.0}
    assert table.splitlines()[2] == f"| noise | {want.mean():.2f} | {(want / phi).mean():.2f} |"
    assert "L-inf ≤ ε = 0.1" in table.splitlines()[0]
    # Table 1 on the shared set: a real source set and an adversarial set in the stored format
    source = load("fashion-mnist", "test").subset(40, seed=0)
    small = torch.nn.functional.interpolate(source.images, size=8)
    from advinterp_lib.data import ImageSet

    source = ImageSet(small, source.labels, source.class_names, source.synsets, source.name, source.split)
    idx = torch.arange(40).repeat_interleave(2)
    shard = {"images": (small[idx].flip(-1) * 255).round().to(torch.uint8), "source_index": idx,
             "label": source.labels[idx], "target": (source.labels[idx] + 1) % 10}  # fmt: skip
    advset = AdversarialSet([shard], k=2, num_sources=40)
    a = torch.eye(10, dtype=torch.float64)
    models = {"tiny": {"standard": m, "consistent-AT": _Tiny(classes=10).eval()}}
    models["tiny"]["consistent-AT"].conv.weight.data.mul_(-1)
    consistency, fooled = shared_set_consistency(models, source, advset, a, fraction=0.1, num_samples=20, seed=0)
    direct = measure_consistency(m, source.images, source.labels, advset.images, advset.labels, a, fraction=0.1,
                                 num_samples=20, seed=0)  # fmt: skip
    assert torch.equal(consistency["tiny"]["standard"].summary.consis_adv, direct.summary.consis_adv)
    assert fooled["tiny"]["standard"] == float((predict(m, advset.images).argmax(1) != advset.labels).float().mean())
    text = shared_set_table("tiny", consistency["tiny"], fooled["tiny"], n_adversarial=len(advset))
    assert text.startswith("**tiny** — shared adversarial set (80 images), last conv layer `conv`")
    assert f"{fooled['tiny']['standard']:.0%}" in text
    record = table1_json(consistency, fooled, "misclassified")
    assert record["tiny"]["standard"] == {
        **consistency["tiny"]["standard"].row(),
        "misclassified": fooled["tiny"]["standard"],
    }
    gains = whitebox_gains(consistency)
    assert list(gains["tiny"]) == ["consistent-AT"]
    want_gain = interval_difference(consistency["tiny"]["consistent-AT"].summary.adversarial_interval,
                                    consistency["tiny"]["standard"].summary.adversarial_interval)  # fmt: skip
    got_gain = gains["tiny"]["consistent-AT"]
    assert (got_gain.mean, got_gain.low, got_gain.high) == (want_gain.mean, want_gain.low, want_gain.high)
    assert torch.equal(got_gain.samples, want_gain.samples)
    # the committed ablation in words, or the note that there is none
    assert describe_committed_ablation(None).startswith("The `full` profile has not been run for this chapter yet")
    assert "runs one architecture" in describe_committed_ablation({"numbers": {"ablation_over_seeds": {"archs": {}}}})
    s = study(0.9)
    record12 = {"numbers": {"ablation_over_seeds": {"archs": s, "settings": {"variants": ["consistent-AT"]}}}}
    from advinterp_lib.runs.ablation import describe_ablation, describe_across_architectures

    assert describe_committed_ablation(record12) == "\n".join(describe_ablation(s, ["consistent-AT"]))
    two = {"vgg": s["resnet"], "resnet": s["resnet"]}
    record12["numbers"]["ablation_over_seeds"]["archs"] = two
    assert describe_committed_ablation(record12).endswith("\n\n" + describe_across_architectures(two))
