"""Chapter 9's bookkeeping and tables (studies.adversarial_training).

The records come from the library's own evaluations of a tiny real CNN (FGSM/PGD
accuracies, the strong cascade, the loss surfaces), and each function is checked
against an independent computation (the clean accuracy and the loss at ``x`` by hand,
a training history's own total) and against the chapter's notebook code as it was
before it moved into the library (the twins below): the chapter's printed text and
tables must not change. Plus each ValueError.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from advinterp_lib.artifacts import adversarial_variant_spec
from advinterp_lib.attacks import strong_attack
from advinterp_lib.attacks.strong import STAGES
from advinterp_lib.runs.profiles import chapter_parameters
from advinterp_lib.studies import adversarial_training as study
from advinterp_lib.tables import markdown_table
from advinterp_lib.training import evaluate_robustness
from advinterp_lib.training.gradient_masking import fgsm_pgd_gap, masking_surfaces, surface_corners
from advinterp_lib.training.loop import EpochRecord, TrainHistory

ROWS = ("FGSM-AT", "PGD-AT", "ensemble-AT", "consistent-AT")
EPS, PGD_STEPS, N = 0.1, 3, 24


@pytest.fixture
def specs():
    return {
        row: adversarial_variant_spec(row, eps=EPS, pgd_train_steps=3, pgd_train_step=0.04, consistent_steps=5)
        for row in ROWS
    }


@pytest.fixture
def setup(make_toy_cnn):
    """Two eval-mode ToyCNNs with clear logit margins ("a", "b"), images and labels."""
    models = {}
    for name, seed in (("a", 3), ("b", 5)):
        model = make_toy_cnn(seed=seed).eval()
        with torch.no_grad():
            model.classifier[2].weight.mul_(10)
        models[name] = model
    g = torch.Generator().manual_seed(1)
    x = torch.rand(N, 1, 12, 12, generator=g)
    y = torch.randint(0, 4, (N,), generator=g)
    return models, x, y


@pytest.fixture
def results(setup):
    """``{arch: {model: evaluate_robustness record}}`` for one 'arch' of two models."""
    models, x, y = setup
    return {
        "toy": {
            name: evaluate_robustness(m, x, y, fgsm_eps=EPS, pgd_eps=EPS, pgd_steps=PGD_STEPS, topk=(1, 3), seed=0)
            for name, m in models.items()
        }
    }


@pytest.fixture
def strong(setup):
    models, x, y = setup
    settings = dict(eps=EPS, pgd_steps=2, pgd_restarts=1, apgd_steps=2, n_targets=2, seed=0)
    return {"toy": {name: strong_attack(m, x[:12], y[:12], **settings).accuracy() for name, m in models.items()}}


# --- the notebook's code before the move (twins) ---------------------------------------


def _old_accuracy_table(arch, results, eps, n, pgd_steps):
    rows = [[row] + [f"{r[k]['top1']:.1%} ({r[k]['top3']:.0%})" for k in ("clean", "fgsm", "pgd")]
            for row, r in results[arch].items()]  # fmt: skip
    return f"**{arch}** — top-1 accuracy (top-3 in brackets), ε = {eps}, {n} test images\n\n" + markdown_table(
        ["training", "clean", "FGSM", f"PGD-{pgd_steps}"], rows
    )


def _old_strong_table(arch, results, strong, eps, n, n_strong, pgd_steps):
    rows = [[row, f"{results[arch][row]['pgd']['top1']:.1%}"] + [f"{acc[s]:.1%}" for s in STAGES]
            for row, acc in strong[arch].items()]  # fmt: skip
    return (
        f"**{arch}** — top-1 accuracy after each stage, ε = {eps}, first {n_strong} test images\n\n"
        + markdown_table(["training", f"PGD-{pgd_steps} ({n} images)", *STAGES], rows)
    )


def _old_ranking(results, strong, archs, pgd_steps):
    lines = []
    for arch in archs:
        ranked = sorted(strong[arch], key=lambda r: -strong[arch][r]["apgd-t"])
        ranking = " > ".join(f"{r} ({strong[arch][r]['apgd-t']:.0%})" for r in ranked)
        over = {r: results[arch][r]["pgd"]["top1"] - strong[arch][r]["apgd-t"] for r in strong[arch]}
        worst = max(over, key=over.get)
        lines.append(f"- **{arch}**: ranked by the strong attack, {ranking}. PGD-{pgd_steps} overstates robust "
                     f"accuracy most for {worst} ({100 * over[worst]:+.1f} points).")  # fmt: skip
    return "\n".join(lines)


# --- the full profile's sentence -------------------------------------------------------


def test_full_profile_note_states_the_parameters():
    full = {"archs": ["a", "b"], "finetune_epochs": 2, "finetune_size": 12345, "n_eval": 1000, "pgd_eval_steps": 7,
            "strong_images": 1500}  # fmt: skip
    assert study.full_profile_note(full) == (
        "`python -m advinterp_lib run 09 --profile full` fine-tunes a, b for 2 epoch(s) on 12,345 training images "
        "per objective and evaluates on 1,000 test images (PGD-7; the strong attack on the first 1,500). "
        "Trained models are cached: only the first run of the chapter trains them."
    )


def test_full_profile_note_reads_the_chapters_full_profile():
    full = chapter_parameters("full", "09")
    note = study.full_profile_note(full)
    assert f"on {full['finetune_size']:,} training images" in note
    assert f"(PGD-{full['pgd_eval_steps']};" in note
    assert ", ".join(full["archs"]) in note


def test_full_profile_note_rejects_a_missing_parameter():
    full = dict(chapter_parameters("full", "09"))
    del full["strong_images"]
    with pytest.raises(ValueError, match="strong_images"):
        study.full_profile_note(full)


# --- the objectives --------------------------------------------------------------------


def test_objective_lines_align_name_objective_and_parameters(specs):
    lines = study.objective_lines(specs).split("\n")
    assert lines[0] == "FGSM-AT        fgsm        {'eps': 0.1, 'alpha': 0.5}"
    assert lines[1] == "PGD-AT         pgd         {'eps': 0.1, 'step_size': 0.04, 'steps': 3}"
    assert [line[:15].strip() for line in lines] == list(ROWS)
    assert [line[15:27].strip() for line in lines] == ["fgsm", "pgd", "ensemble", "consistent"]


def test_objective_lines_rejects_no_objectives():
    with pytest.raises(ValueError, match="at least one objective"):
        study.objective_lines({})


def test_objectives_record_names_each_objective_beside_its_parameters(specs):
    record = study.objectives_record(specs)
    assert list(record) == list(ROWS)
    assert record["PGD-AT"] == {"name": "pgd", "eps": 0.1, "step_size": 0.04, "steps": 3}
    assert record["consistent-AT"]["name"] == "consistent"
    assert record["consistent-AT"]["eps_step"] == pytest.approx(0.02)


def test_objectives_record_rejects_a_parameter_called_name():
    with pytest.raises(ValueError, match="'name'"):
        study.objectives_record({"X": ("fgsm", {"name": "other"})})


# --- the grid of models ----------------------------------------------------------------


def test_group_by_arch_keeps_the_order_of_architectures_and_variants():
    grid = {("a", "standard"): 1, ("b", "standard"): 2, ("a", "FGSM-AT"): 3, ("b", "FGSM-AT"): 4}
    grouped = study.group_by_arch(grid)
    assert grouped == {"a": {"standard": 1, "FGSM-AT": 3}, "b": {"standard": 2, "FGSM-AT": 4}}
    assert list(grouped) == ["a", "b"]
    assert list(grouped["a"]) == ["standard", "FGSM-AT"]


def test_group_by_arch_rejects_keys_that_are_not_pairs():
    with pytest.raises(ValueError, match="arch, variant"):
        study.group_by_arch({"a": 1})


def test_training_seconds_is_each_models_history_total(make_toy_cnn):
    history = TrainHistory([EpochRecord(1, 0.5, 0.8, 2.25, 100.0), EpochRecord(2, 0.4, 0.9, 3.5, 90.0)])
    a, b = make_toy_cnn(seed=0), make_toy_cnn(seed=1)
    a.training_history = history.to_dict()["records"]
    b.training_history = history.to_dict()["records"][:1]
    seconds = study.training_seconds({("toy", "FGSM-AT"): a, ("toy", "PGD-AT"): b})
    assert seconds == {"toy": {"FGSM-AT": pytest.approx(history.seconds), "PGD-AT": pytest.approx(2.25)}}


def test_training_seconds_rejects_a_model_without_history(make_toy_cnn):
    with pytest.raises(ValueError, match="training_history"):
        study.training_seconds({("toy", "FGSM-AT"): make_toy_cnn()})
    model = make_toy_cnn()
    model.training_history = [{"epoch": 1}]
    with pytest.raises(ValueError, match="seconds"):
        study.training_seconds({("toy", "FGSM-AT"): model})


def test_training_time_table_rounds_to_seconds():
    table = study.training_time_table({"a": {"X": 7.4, "Y": 26.6}, "b": {"X": 0.2, "Y": 1.5}}, finetune_size=4000,
                                      finetune_epochs=1)  # fmt: skip
    title, body = table.split("\n\n")
    assert (
        title == "Fine-tuning time per objective (measured when the model was first trained; 4000 images × 1 epoch(s))"
    )
    assert body == markdown_table(["model", "X", "Y"], [["a", "7 s", "27 s"], ["b", "0 s", "2 s"]])


def test_training_time_table_rejects_no_models():
    with pytest.raises(ValueError, match="at least one"):
        study.training_time_table({}, finetune_size=1, finetune_epochs=1)
    with pytest.raises(ValueError, match="at least one"):
        study.training_time_table({"a": {}}, finetune_size=1, finetune_epochs=1)


# --- accuracy tables -------------------------------------------------------------------


def test_accuracy_table_shows_the_clean_accuracy_computed_by_hand(setup, results):
    models, x, y = setup
    table = study.accuracy_table("toy", results["toy"], eps=EPS, n_images=len(x), pgd_steps=PGD_STEPS)
    with torch.no_grad():
        clean = (models["a"](x).argmax(1) == y).float().mean().item()
    row_a = next(line for line in table.splitlines() if line.startswith("| a |"))
    assert row_a.split(" | ")[1].startswith(f"{clean:.1%} (")
    assert table == _old_accuracy_table("toy", results, EPS, len(x), PGD_STEPS)


def test_accuracy_table_rejects_records_without_top3(results):
    record = {k: {"top1": v["top1"]} for k, v in results["toy"]["a"].items()}
    with pytest.raises(ValueError, match="top3"):
        study.accuracy_table("toy", {"a": record}, eps=EPS, n_images=N, pgd_steps=PGD_STEPS)
    with pytest.raises(ValueError, match="at least one model"):
        study.accuracy_table("toy", {}, eps=EPS, n_images=N, pgd_steps=PGD_STEPS)


def test_strong_table_matches_the_chapters_old_table(results, strong):
    table = study.strong_table("toy", results["toy"], strong["toy"], eps=EPS, n_images=N, n_strong=12,
                               pgd_steps=PGD_STEPS)  # fmt: skip
    assert table == _old_strong_table("toy", results, strong, EPS, N, 12, PGD_STEPS)
    row_b = next(line for line in table.splitlines() if line.startswith("| b |")).strip("| ").split(" | ")
    assert row_b[1] == f"{results['toy']['b']['pgd']['top1']:.1%}"
    assert row_b[2:] == [f"{strong['toy']['b'][s]:.1%}" for s in STAGES]


def test_strong_table_rejects_a_missing_stage_or_model(results, strong):
    partial = {"a": {k: v for k, v in strong["toy"]["a"].items() if k != "apgd-ce"}}
    with pytest.raises(ValueError, match="apgd-ce"):
        study.strong_table("toy", results["toy"], partial, eps=EPS, n_images=N, n_strong=12, pgd_steps=PGD_STEPS)
    with pytest.raises(ValueError, match="'c'"):
        study.strong_table("toy", results["toy"], {"c": strong["toy"]["a"]}, eps=EPS, n_images=N, n_strong=12,
                           pgd_steps=PGD_STEPS)  # fmt: skip
    with pytest.raises(ValueError, match="at least one model"):
        study.strong_table("toy", results["toy"], {}, eps=EPS, n_images=N, n_strong=12, pgd_steps=PGD_STEPS)


# --- ranking by the strong attack ------------------------------------------------------


def _pgd(top1):
    return {"pgd": {"top1": top1}}


def test_strong_ranking_orders_by_the_last_stage_and_names_the_largest_overstatement():
    results = {"r": {"standard": _pgd(0.0), "FGSM-AT": _pgd(0.18), "PGD-AT": _pgd(0.276)}}
    strong = {"r": {"standard": {"apgd-t": 0.0}, "FGSM-AT": {"apgd-t": 0.10}, "PGD-AT": {"apgd-t": 0.175}}}
    assert study.strong_ranking(results, strong, pgd_steps=10) == (
        "- **r**: ranked by the strong attack, PGD-AT (18%) > FGSM-AT (10%) > standard (0%). PGD-10 overstates "
        "robust accuracy most for PGD-AT (+10.1 points)."
    )


def test_strong_ranking_keeps_the_order_of_ties():
    results = {"r": {"x": _pgd(0.5), "y": _pgd(0.5)}}
    strong = {"r": {"x": {"apgd-t": 0.25}, "y": {"apgd-t": 0.25}}}
    text = study.strong_ranking(results, strong, pgd_steps=3)
    assert "x (25%) > y (25%)" in text and "most for x (+25.0 points)" in text


def test_strong_ranking_matches_the_chapters_old_prose(results, strong):
    two = {"toy": results["toy"], "toy2": {k: results["toy"][k] for k in ("b", "a")}}
    two_strong = {"toy": strong["toy"], "toy2": {k: strong["toy"][k] for k in ("b", "a")}}
    assert study.strong_ranking(two, two_strong, pgd_steps=PGD_STEPS) == _old_ranking(
        two, two_strong, ["toy", "toy2"], PGD_STEPS
    )


def test_strong_ranking_rejects_incomplete_records():
    with pytest.raises(ValueError, match="at least one"):
        study.strong_ranking({}, {}, pgd_steps=3)
    with pytest.raises(ValueError, match="apgd-t"):
        study.strong_ranking({"r": {"x": _pgd(0.5)}}, {"r": {"x": {"pgd": 0.5}}}, pgd_steps=3)
    with pytest.raises(ValueError, match="PGD top-1"):
        study.strong_ranking({"r": {}}, {"r": {"x": {"apgd-t": 0.5}}}, pgd_steps=3)


# --- gradient masking ------------------------------------------------------------------


def test_gap_table_shows_fgsm_minus_pgd(results):
    gaps = {arch: {row: fgsm_pgd_gap(r) for row, r in per.items()} for arch, per in results.items()}
    table = study.gap_table(gaps)
    expected = [f"{results['toy'][m]['fgsm']['top1'] - results['toy'][m]['pgd']['top1']:+.1%}" for m in ("a", "b")]
    assert table.splitlines()[-1] == f"| toy | {expected[0]} | {expected[1]} |"
    assert table.startswith("FGSM accuracy minus PGD accuracy (large for a masked gradient)\n\n| model | a | b |")


def test_gap_table_signs_and_rejects_no_models():
    assert study.gap_table({"r": {"s": 0.058, "f": -0.01}}).splitlines()[-1] == "| r | +5.8% | -1.0% |"
    with pytest.raises(ValueError, match="at least one"):
        study.gap_table({})


def test_surface_table_starts_at_the_loss_at_x(setup):
    models, x, y = setup
    grid = torch.linspace(0, 0.2, 5)
    surfaces = masking_surfaces({"a": models["a"]}, models["b"], x, y, grid)
    corners = {name: surface_corners(s) for name, s in surfaces.items()}
    table = study.surface_table(corners, surface_range=0.2)
    with torch.no_grad():
        at_x = F.cross_entropy(models["a"](x), y).item()
    assert corners["a"]["loss_at_x"] == pytest.approx(at_x, abs=1e-5)
    cells = table.splitlines()[-1].strip("| ").split(" | ")
    assert cells == ["a"] + [f"{corners['a'][k]:.3f}" for k in study.SURFACE_POINTS]
    assert table.startswith("Mean loss on the slice, r = 0.2\n\n| model | loss at x | at x + (r/2)·g |")


def test_surface_table_rejects_a_missing_point():
    with pytest.raises(ValueError, match="loss_along_g_perp"):
        study.surface_table({"a": {"loss_at_x": 1.0, "loss_at_half_g": 1.0, "loss_along_g": 1.0}}, surface_range=0.2)
    with pytest.raises(ValueError, match="at least one model"):
        study.surface_table({}, surface_range=0.2)
