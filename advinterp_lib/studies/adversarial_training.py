"""Chapter 9 -- adversarial training: the bookkeeping around its comparison of
training objectives, and the markdown it shows.

The chapter fine-tunes each zoo architecture with several objectives (FGSM-AT, PGD-AT,
ensemble-AT, consistent-AT), evaluates every model with FGSM, PGD and the strong cascade
(:func:`~advinterp_lib.attacks.strong_attack`), and looks for gradient masking
(:mod:`advinterp_lib.training.gradient_masking`). The attacks, the training objectives
and the evaluation are called by the chapter itself; this module holds what is around
them:

- :func:`group_by_arch` and :func:`training_seconds`: the grid of models
  (``{(arch, variant): model}``, as ``artifacts.variant_models`` returns it) regrouped per
  architecture, and the time each fine-tune took;
- :func:`objective_lines` and :func:`objectives_record`: the objectives' names and
  parameters, printed and recorded;
- :func:`strong_ranking`: the models ranked by the strong attack, and where PGD
  overstates robust accuracy most;
- the ``*_table`` functions and :func:`full_profile_note`: markdown laid out with
  :func:`~advinterp_lib.tables.markdown_table`.

Nested results are keyed ``{arch: {variant: ...}}`` throughout; the accuracy records
are those of :func:`~advinterp_lib.training.evaluate_robustness` (``{"clean" | "fgsm" |
"pgd": {"top1": ..., "top3": ...}}``) and of
:meth:`~advinterp_lib.attacks.strong.StrongAttackResult.accuracy` (one per
:data:`~advinterp_lib.attacks.strong.STAGES`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from torch import nn

from ..attacks.strong import STAGES
from ..tables import markdown_table

__all__ = [
    "SURFACE_POINTS",
    "full_profile_note",
    "objective_lines",
    "objectives_record",
    "group_by_arch",
    "training_seconds",
    "training_time_table",
    "accuracy_table",
    "strong_table",
    "strong_ranking",
    "gap_table",
    "surface_table",
]

T = TypeVar("T")

Accuracies = Mapping[str, Mapping[str, float]]  # {"clean" | "fgsm" | "pgd": {"top1": ..., ...}}
ObjectiveSpecs = Mapping[str, tuple[str, Mapping[str, Any]]]  # {row: (objective name, parameters)}

#: The four corners of :func:`~advinterp_lib.training.gradient_masking.surface_corners`,
#: in the order of :func:`surface_table`'s columns.
SURFACE_POINTS: tuple[str, ...] = ("loss_at_x", "loss_at_half_g", "loss_along_g", "loss_along_g_perp")


def _require(record: Mapping[str, Any], keys: tuple[str, ...], name: str) -> None:
    missing = [k for k in keys if k not in record]
    if missing:
        raise ValueError(f"{name}: missing {', '.join(map(repr, missing))} (got keys {', '.join(map(repr, record))})")


def _nonempty(nested: Mapping[str, Mapping[str, Any]], name: str) -> list[str]:
    """The inner keys of the first entry of ``nested`` (the table's columns)."""
    if not nested or not next(iter(nested.values())):
        raise ValueError(f"{name}: expected at least one architecture with one model, got {dict(nested)!r}")
    return list(next(iter(nested.values())))


def full_profile_note(full: Mapping[str, Any]) -> str:
    """One markdown sentence: what the chapter's ``full`` profile trains and evaluates.

    Args:
        full: the chapter's ``full`` parameters (``runs.profiles.chapter_parameters("full",
            "09")``); reads ``archs``, ``finetune_epochs``, ``finetune_size``, ``n_eval``,
            ``pgd_eval_steps`` and ``strong_images``.

    Raises:
        ValueError: a parameter is missing.
    """
    _require(full, ("archs", "finetune_epochs", "finetune_size", "n_eval", "pgd_eval_steps", "strong_images"), "full")
    return (
        f"`python -m advinterp_lib run 09 --profile full` fine-tunes {', '.join(full['archs'])} for "
        f"{full['finetune_epochs']} epoch(s) on {full['finetune_size']:,} training images per objective and "
        f"evaluates on {full['n_eval']:,} test images (PGD-{full['pgd_eval_steps']}; the strong attack on the "
        f"first {full['strong_images']:,}). Trained models are cached: only the first run of the chapter "
        "trains them."
    )


def objective_lines(specs: ObjectiveSpecs) -> str:
    """The objectives as aligned text, one line each: row name, objective, parameters.

    Args:
        specs: ``{row: (objective, parameters)}`` (each value from
            ``artifacts.adversarial_variant_spec``).

    Raises:
        ValueError: no objectives.
    """
    if not specs:
        raise ValueError("specs: expected at least one objective")
    return "\n".join(f"{row:14s} {objective:11s} {params}" for row, (objective, params) in specs.items())


def objectives_record(specs: ObjectiveSpecs) -> dict[str, dict[str, Any]]:
    """The objectives for a results file: ``{row: {"name": objective, **parameters}}``.

    Raises:
        ValueError: a parameter called ``name`` (it would be overwritten).
    """
    for row, (_, params) in specs.items():
        if "name" in params:
            raise ValueError(f"specs[{row!r}]: a parameter may not be called 'name' (it holds the objective)")
    return {row: {"name": objective, **params} for row, (objective, params) in specs.items()}


def group_by_arch(grid: Mapping[tuple[str, str], T]) -> dict[str, dict[str, T]]:
    """``{(arch, variant): value}`` regrouped as ``{arch: {variant: value}}``.

    Architectures keep the order of their first appearance, variants their order
    within each architecture.

    Raises:
        ValueError: a key that is not an ``(arch, variant)`` pair.
    """
    grouped: dict[str, dict[str, T]] = {}
    for key, value in grid.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"grid: expected (arch, variant) keys, got {key!r}")
        arch, variant = key
        grouped.setdefault(arch, {})[variant] = value
    return grouped


def training_seconds(grid: Mapping[tuple[str, str], nn.Module]) -> dict[str, dict[str, float]]:
    """How long each model of a grid took to train: the sum of the ``seconds`` of its
    ``training_history`` records (attached by ``artifacts`` when the model was built).

    Args:
        grid: ``{(arch, variant): model}`` (as ``artifacts.variant_models`` returns it).

    Returns:
        ``{arch: {variant: seconds}}``, measured when the model was first trained.

    Raises:
        ValueError: a model without a ``training_history`` of records with ``seconds``.
    """
    seconds: dict[tuple[str, str], float] = {}
    for key, model in grid.items():
        history = getattr(model, "training_history", None)
        if not isinstance(history, list) or not all(isinstance(r, Mapping) and "seconds" in r for r in history):
            raise ValueError(f"grid[{key!r}]: expected a model with a training_history of records with 'seconds'")
        seconds[key] = sum(r["seconds"] for r in history)
    return group_by_arch(seconds)


def training_time_table(
    train_seconds: Mapping[str, Mapping[str, float]], *, finetune_size: int, finetune_epochs: int
) -> str:
    """Markdown: the fine-tuning time of each objective (columns) per architecture (rows),
    with a title that states the training set's size.

    Args:
        train_seconds: ``{arch: {objective: seconds}}`` (:func:`training_seconds`).
        finetune_size, finetune_epochs: the fine-tuning's images and epochs (for the title).

    Raises:
        ValueError: no architectures or objectives.
    """
    objectives = _nonempty(train_seconds, "train_seconds")
    rows = [[arch] + [f"{per[r]:.0f} s" for r in objectives] for arch, per in train_seconds.items()]
    return (
        "Fine-tuning time per objective (measured when the model was first trained; "
        f"{finetune_size} images × {finetune_epochs} epoch(s))\n\n" + markdown_table(["model", *objectives], rows)
    )


def accuracy_table(arch: str, results: Mapping[str, Accuracies], *, eps: float, n_images: int, pgd_steps: int) -> str:
    """Markdown: one architecture's top-1 accuracy (top-3 in brackets) of each model,
    clean, under FGSM and under PGD.

    Args:
        arch: the architecture (the title).
        results: ``{model: evaluate_robustness record}`` with ``top1`` and ``top3``.
        eps, n_images, pgd_steps: the attacks' budget, the test images and PGD's steps
            (title and header).

    Raises:
        ValueError: no models, or a record without the clean/FGSM/PGD top-1 and top-3.
    """
    if not results:
        raise ValueError(f"results: expected at least one model for {arch!r}")
    rows = []
    for row, r in results.items():
        for kind in ("clean", "fgsm", "pgd"):
            _require(r.get(kind, {}), ("top1", "top3"), f"results[{row!r}][{kind!r}]")
        rows.append([row] + [f"{r[k]['top1']:.1%} ({r[k]['top3']:.0%})" for k in ("clean", "fgsm", "pgd")])
    return f"**{arch}** — top-1 accuracy (top-3 in brackets), ε = {eps}, {n_images} test images\n\n" + markdown_table(
        ["training", "clean", "FGSM", f"PGD-{pgd_steps}"], rows
    )


def strong_table(
    arch: str,
    results: Mapping[str, Accuracies],
    strong: Mapping[str, Mapping[str, float]],
    *,
    eps: float,
    n_images: int,
    n_strong: int,
    pgd_steps: int,
) -> str:
    """Markdown: one architecture's top-1 accuracy after each stage of the strong attack,
    beside its PGD accuracy.

    Args:
        arch: the architecture (the title).
        results: ``{model: evaluate_robustness record}`` (the PGD column).
        strong: ``{model: {stage: accuracy}}`` for every stage of
            :data:`~advinterp_lib.attacks.strong.STAGES`.
        eps: the budget; n_images: PGD's test images; n_strong: the strong attack's (the
            first ``n_strong`` of them); pgd_steps: PGD's steps.

    Raises:
        ValueError: no models, a model of ``strong`` missing from ``results``, or a stage
            missing.
    """
    if not strong:
        raise ValueError(f"strong: expected at least one model for {arch!r}")
    rows = []
    for row, acc in strong.items():
        if row not in results or "top1" not in results[row].get("pgd", {}):
            raise ValueError(f"results: no PGD top-1 accuracy for {row!r}")
        _require(acc, STAGES, f"strong[{row!r}]")
        rows.append([row, f"{results[row]['pgd']['top1']:.1%}"] + [f"{acc[s]:.1%}" for s in STAGES])
    title = f"**{arch}** — top-1 accuracy after each stage, ε = {eps}, first {n_strong} test images"
    return title + "\n\n" + markdown_table(["training", f"PGD-{pgd_steps} ({n_images} images)", *STAGES], rows)


def strong_ranking(
    results: Mapping[str, Mapping[str, Accuracies]],
    strong: Mapping[str, Mapping[str, Mapping[str, float]]],
    *,
    pgd_steps: int,
) -> str:
    """Markdown bullets, one per architecture: the models ranked by their accuracy under
    the strong attack (the last stage, ``apgd-t``; ties keep their order), and the model
    whose PGD accuracy overstates it most (the first of equals).

    Args:
        results: ``{arch: {model: evaluate_robustness record}}``.
        strong: ``{arch: {model: {stage: accuracy}}}``.
        pgd_steps: PGD's steps (the text).

    Raises:
        ValueError: no architectures, an architecture without models, or a model without
            its PGD or strong accuracy.
    """
    _nonempty(strong, "strong")
    lines = []
    for arch, acc in strong.items():
        if not acc:
            raise ValueError(f"strong[{arch!r}]: expected at least one model")
        for r in acc:
            _require(acc[r], ("apgd-t",), f"strong[{arch!r}][{r!r}]")
            if "top1" not in results.get(arch, {}).get(r, {}).get("pgd", {}):
                raise ValueError(f"results: no PGD top-1 accuracy for {arch!r}, {r!r}")
        ranked = sorted(acc, key=lambda r: -acc[r]["apgd-t"])
        ranking = " > ".join(f"{r} ({acc[r]['apgd-t']:.0%})" for r in ranked)
        over = {r: results[arch][r]["pgd"]["top1"] - acc[r]["apgd-t"] for r in acc}
        worst = max(over, key=lambda r: over[r])
        lines.append(
            f"- **{arch}**: ranked by the strong attack, {ranking}. PGD-{pgd_steps} overstates robust "
            f"accuracy most for {worst} ({100 * over[worst]:+.1f} points)."
        )
    return "\n".join(lines)


def gap_table(gaps: Mapping[str, Mapping[str, float]]) -> str:
    """Markdown: FGSM minus PGD accuracy of each model (columns, those of the first
    architecture) per architecture (rows), with its title.

    Args:
        gaps: ``{arch: {model: gap}}`` (each from
            :func:`~advinterp_lib.training.gradient_masking.fgsm_pgd_gap`).

    Raises:
        ValueError: no architectures or models.
    """
    models = _nonempty(gaps, "gaps")
    rows = [[arch] + [f"{g:+.1%}" for g in per.values()] for arch, per in gaps.items()]
    return "FGSM accuracy minus PGD accuracy (large for a masked gradient)\n\n" + markdown_table(
        ["model", *models], rows
    )


def surface_table(corners: Mapping[str, Mapping[str, float]], *, surface_range: float) -> str:
    """Markdown: each model's mean loss at the four points of its loss surface.

    Args:
        corners: ``{model: surface_corners(...)}`` (from
            :func:`~advinterp_lib.training.gradient_masking.surface_corners`).
        surface_range: ``r``, the far end of the grid (the title).

    Raises:
        ValueError: no models, or a model without one of the four points.
    """
    if not corners:
        raise ValueError("corners: expected at least one model")
    for name, n in corners.items():
        _require(n, SURFACE_POINTS, f"corners[{name!r}]")
    rows = [[name] + [f"{n[k]:.3f}" for k in SURFACE_POINTS] for name, n in corners.items()]
    return f"Mean loss on the slice, r = {surface_range}\n\n" + markdown_table(
        ["model", "loss at x", "at x + (r/2)·g", "at x + r·g", "at x + r·g⊥"], rows
    )
