"""Chapter 12's ablation of the consistent term, over fine-tuning seeds.

Does the paper's feature term cause the rise of consis_adv, or does adversarial
training alone? The clean comparison fine-tunes the same standard model with the same
budget and clean term (alpha = 0.5) and changes one thing at a time:

- ``consistent-AT``: the paper's loss (targeted least-likely I-FGSM x*, beta = 0.1);
- ``targeted-AT``: the same x* and alpha, beta = 0 (the term removed, nothing else);
- ``mixed-PGD-AT``: untargeted PGD examples with the same clean term;
- ``FGSM-AT`` and ``feature-consistent-AT`` (the term on the distance-maximising x').

Each variant is fine-tuned with several seeds (``finetune_seed``: batch order, subset
and the objective's draws; the base model is one). :func:`measure_model` stores, per
model, what a seed-level interval needs: each neuron's top real and adversarial
concepts (with the adversarial images' sources, the bootstrap's clusters) and, per
evaluation image, whether the model classifies it correctly on clean, FGSM (training
budget and the paper's 1/255), PGD and the strong cascade
(:func:`~advinterp_lib.attacks.strong.strong_attack`). It is cached per model, so a
killed study resumes model by model. :func:`summarize_ablation` turns the measurements
into means over seeds with hierarchical bootstrap intervals
(:mod:`~advinterp_lib.consistency.hierarchical`), gains against the standard model and
the effect of the term (consistent-AT minus targeted-AT).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from ..artifacts import (
    MODEL_PARAMETERS,
    ArtifactCache,
    adversarial_set,
    adversarial_variant,
    adversarial_variant_spec,
    whitebox_adversarial_set,
)
from ..atomic import atomic_write_text
from ..attacks.advset import AdversarialSetRecipe
from ..attacks.fgsm import fgsm
from ..attacks.pgd import pgd
from ..attacks.strong import STAGES, strong_attack
from ..consistency import class_synsets, correlation_matrix, distance_matrix
from ..consistency.activations import concept_top_activations
from ..consistency.evaluation import (
    ModelConsistency,
    consistency_row,
    consistency_table,
    interval_difference,
    measure_consistency,
)
from ..consistency.hierarchical import SeedTopConcepts, hierarchical_bootstrap, hierarchical_mean
from ..consistency.metric import concept_distribution, consistency_scores
from ..data import load
from ..models import ZOO
from ..models.layers import capture_activations, last_conv_layer
from ..models.state import predicted_labels
from ..stats import BootstrapInterval
from ..tables import markdown_table
from ..training import evaluate, predict
from ..training.objectives import feature_distance
from .profiles import ADV_TRAINING, adversarial_set_recipe
from .prose import change_verdict, format_change, not_run_note
from .results import device_description, results_path, write_results

__all__ = [
    "ABLATION_VARIANTS",
    "ACCURACY_KINDS",
    "measure_model",
    "ablation_measurements",
    "summarize_ablation",
    "term_verdict",
    "ablation_finetunes",
    "ablation_study",
    "record_ablation",
    "describe_ablation",
    "intervals_json",
    "robustness_json",
    "table3_accuracies",
    "table3_table",
    "describe_table3_budgets",
    "variant_spec_table",
    "feature_gap",
    "shared_set_consistency",
    "shared_set_table",
    "table1_json",
    "whitebox_consistency",
    "whitebox_gains",
    "whitebox_table",
    "describe_consistent_at",
    "gain_table",
    "ablation_table",
    "describe_single_seed",
    "describe_committed_ablation",
    "chapter_ablation",
    "recorded_ablation",
    "ablation_provenance",
    "command_archs",
]

#: The variants of the ablation, the paper's first.
ABLATION_VARIANTS: tuple[str, ...] = (
    "consistent-AT",
    "targeted-AT",
    "mixed-PGD-AT",
    "FGSM-AT",
    "feature-consistent-AT",
)
#: Per-image correctness kept per model: clean, FGSM at the training eps and at the
#: paper's 1/255, PGD, and the strong cascade's stages (``strong:<stage>``).
ACCURACY_KINDS: tuple[str, ...] = ("clean", "fgsm", "fgsm_paper_eps", "pgd", *(f"strong:{s}" for s in STAGES[1:]))


def _correct(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return predicted_labels(model, x) == y


def _batched(attack, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    return torch.cat([attack(x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def measure_model(
    model: nn.Module,
    *,
    real_images: torch.Tensor,
    real_concepts: torch.Tensor,
    advset,
    num_concepts: int,
    fraction: float,
    eval_images: torch.Tensor,
    eval_labels: torch.Tensor,
    eps: float,
    paper_eps: float,
    pgd_steps: int,
    strong_images: int,
    strong: Mapping[str, int],
    seed: int = 0,
) -> dict[str, Any]:
    """Everything the ablation needs from one trained model (tensors, cacheable).

    Args:
        model: the classifier (eval mode is used and its state restored by every call).
        real_images, real_concepts: the real images whose top 1% give consis(n).
        advset: an :class:`~advinterp_lib.data.AdversarialSet` (its
            ``labels`` are the sources' concepts, ``source_index`` the clusters).
        num_concepts: K; fraction: the top share (paper: 0.01).
        eval_images, eval_labels: test images for the accuracies.
        eps: the training budget (FGSM, PGD and the strong cascade); paper_eps: 1/255.
        pgd_steps: PGD iterations (step ``2.5 eps / steps``, no random start).
        strong_images: the first that many evaluation images get the strong cascade.
        strong: keyword arguments of :func:`~advinterp_lib.attacks.strong.strong_attack`.
        seed: seeds the strong cascade's random starts.

    Returns:
        ``{"real_concepts": int [C, k], "adversarial_concepts": int [C, k_adv],
        "adversarial_clusters": int [C, k_adv], "correct": {kind: bool [N or n_strong]}}``
        with ``kind`` in :data:`ACCURACY_KINDS`.
    """
    acts = concept_top_activations(
        model, real_images, real_concepts, advset.images, advset.labels, num_concepts=num_concepts, fraction=fraction
    )
    clusters = advset.source_index[acts.adversarial_positions()]
    x, y = eval_images, eval_labels
    step = min(1.0, 2.5 * eps / pgd_steps)
    correct = {
        "clean": _correct(model, x, y),
        "fgsm": _correct(model, _batched(lambda a, b: fgsm(model, a, b, eps=eps), x, y), y),
        "fgsm_paper_eps": _correct(model, _batched(lambda a, b: fgsm(model, a, b, eps=paper_eps), x, y), y),
        "pgd": _correct(
            model, _batched(lambda a, b: pgd(model, a, b, eps=eps, step_size=step, steps=pgd_steps), x, y), y
        ),
    }
    result = strong_attack(model, x[:strong_images], y[:strong_images], eps=eps, seed=seed, **dict(strong))
    for stage in STAGES[1:]:
        correct[f"strong:{stage}"] = result.robust_after[stage]
    return {
        "real_concepts": acts.real_concepts,
        "adversarial_concepts": acts.adversarial_concepts,
        "adversarial_clusters": clusters,
        "correct": correct,
    }


def _finetune_seed(seed: int) -> int | None:
    """Seed 0 is the fine-tune every chapter shares (``finetune_seed=None``); others repeat it."""
    return None if seed == 0 else int(seed)


def ablation_measurements(
    archs: Sequence[str],
    variants: Sequence[str],
    seeds: Sequence[int],
    *,
    zoo: Mapping[str, Any],
    adv: Mapping[str, Any],
    data_config: Mapping[str, Any],
    measure: Mapping[str, Any],
    cache: ArtifactCache | None = None,
    reverse: bool = False,
    progress: bool = False,
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """:func:`measure_model` for the standard model and every (variant, seed) of every
    architecture, each cached (a killed study resumes model by model).

    Args:
        archs, variants, seeds: what to fine-tune; seed 0 is the model every chapter
            shares (``finetune_seed=None``), others repeat its fine-tune.
        zoo, adv: the profile's ``ZOO_TRAINING`` / ``ADV_TRAINING`` entries
            (:func:`~advinterp_lib.artifacts.adversarial_variant`'s keywords).
        data_config: identifies the data in the cache key, as JSON: the adversarial
            set (its ``n``, ``k``, step, steps, eps, archs) and the evaluation images
            (their number and subset seed).
        measure: the other keyword arguments of :func:`measure_model` (tensors among
            them are the images; everything else goes into the cache key).
        reverse: walk the models from the last: a second process beside a first that
            walks them forward, each waiting for (or using) the other's cache entries.
        progress: a bar over the models (and the fine-tunes' own bars).

    Returns:
        ``{arch: {"standard": [m], variant: [m per seed]}}`` (in that order either way).
    """
    cache = cache or ArtifactCache()
    plain = {k: v for k, v in measure.items() if not isinstance(v, torch.Tensor) and k != "advset"}
    tensors = {k: list(v.shape) for k, v in measure.items() if isinstance(v, torch.Tensor)}
    models = [
        (a, v, int(s)) for a in archs for v in ("standard", *variants) for s in (seeds if v != "standard" else [0])
    ]
    measured: dict[tuple[str, str, int], dict[str, Any]] = {}
    for arch, variant, s in tqdm(models[::-1] if reverse else models, desc="ablation models", unit="model",
                                 disable=not progress):  # fmt: skip
        finetune_seed = _finetune_seed(s)
        config = {
            "arch": arch,
            "variant": variant,
            "finetune_seed": finetune_seed,
            "zoo": dict(zoo),
            "adv": dict(adv),
            "data": dict(data_config),
            "measure": plain,
            "shapes": tensors,
        }

        def build(work_dir, arch=arch, variant=variant, finetune_seed=finetune_seed):
            model = adversarial_variant(
                arch, variant, **zoo, **adv, finetune_seed=finetune_seed, cache=cache, progress=progress
            )
            return measure_model(model, **measure)

        measured[arch, variant, s] = cache.get_or_build("ablation_measurement", config, build)
    out: dict[str, dict[str, list[dict[str, Any]]]] = {arch: {} for arch in archs}
    for arch, variant, s in models:  # the same layout whichever end was walked first
        out[arch].setdefault(variant, []).append(measured[arch, variant, s])
    return out


def _layer_average(concepts: torch.Tensor, correlation: torch.Tensor) -> float:
    k = int(correlation.shape[0])
    return float(consistency_scores(concept_distribution(concepts, k), correlation.to(torch.float64)).mean())


def _ci(b) -> dict[str, float]:
    return {"mean": b.mean, "low": b.low, "high": b.high}


def summarize_ablation(
    measurements: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]],
    correlation: torch.Tensor,
    *,
    num_samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Means over seeds with hierarchical bootstrap intervals, per architecture.

    For every row (``"standard"`` and each variant): ``consis``, ``consis_adv`` and each
    accuracy of :data:`ACCURACY_KINDS` as ``{mean, low, high}``, with the per-seed
    values; for every variant the gains against the standard model (``gain_consis``,
    ``gain_consis_adv``, ``gain_<accuracy>``) and ``relative_change_consis`` (the gain
    over the standard's consis); and ``term_effect``: consistent-AT minus targeted-AT on
    consis_adv, consis and every accuracy (the effect of the feature term alone), where
    both variants were run. Within an architecture every row is bootstrapped with the
    same random numbers (the same neurons, evaluation images and seed positions drawn),
    so a difference's interval, :func:`interval_difference` of two, is a paired one: a
    variant identical to the standard model gains exactly 0, with an interval of width 0.

    Returns:
        JSON-ready ``{arch: {"rows": {...}, "term_effect": {...}, "seeds": [...]}}``.
    """
    summary: dict[str, Any] = {}
    for a_i, (arch, rows) in enumerate(measurements.items()):
        intervals: dict[str, dict[str, Any]] = {}
        table: dict[str, Any] = {}
        for row, models in rows.items():
            # The same random numbers for every row of an architecture: the rows share the
            # standard model's neurons (every variant is fine-tuned from it) and the same
            # evaluation images, so differences between rows are paired bootstraps.
            base = seed + 1000 * a_i
            iv = {
                "consis": hierarchical_bootstrap(
                    [SeedTopConcepts(m["real_concepts"]) for m in models],
                    correlation,
                    num_samples=num_samples,
                    confidence=confidence,
                    seed=base,
                ),
                "consis_adv": hierarchical_bootstrap(
                    [SeedTopConcepts(m["adversarial_concepts"], m["adversarial_clusters"]) for m in models],
                    correlation,
                    num_samples=num_samples,
                    confidence=confidence,
                    seed=base + 1,
                ),
            }
            for j, kind in enumerate(ACCURACY_KINDS):
                iv[kind] = hierarchical_mean(
                    torch.stack([m["correct"][kind] for m in models]).float(),
                    num_samples=num_samples,
                    confidence=confidence,
                    seed=base + 2 + j,
                )
            intervals[row] = iv
            per_seed = [
                {
                    "consis": _layer_average(m["real_concepts"], correlation),
                    "consis_adv": _layer_average(m["adversarial_concepts"], correlation),
                    **{kind: float(m["correct"][kind].float().mean()) for kind in ACCURACY_KINDS},
                }
                for m in models
            ]
            table[row] = {name: _ci(b) for name, b in iv.items()} | {"per_seed": per_seed, "seeds": len(models)}
        for row in rows:
            if row == "standard":
                continue
            for name in ("consis", "consis_adv", *ACCURACY_KINDS):
                table[row][f"gain_{name}"] = _ci(interval_difference(intervals[row][name], intervals["standard"][name]))
            table[row]["relative_change_consis"] = {
                k: v / intervals["standard"]["consis"].mean for k, v in table[row]["gain_consis"].items()
            }
        entry: dict[str, Any] = {"rows": table}
        if "consistent-AT" in rows and "targeted-AT" in rows:
            entry["term_effect"] = {
                name: _ci(interval_difference(intervals["consistent-AT"][name], intervals["targeted-AT"][name]))
                for name in ("consis", "consis_adv", *ACCURACY_KINDS)
            }
        summary[arch] = entry
    return summary


def term_verdict(effect: Mapping[str, float]) -> str:
    """``"raises"`` / ``"lowers"`` / ``"no detectable effect"`` from an interval
    ``{mean, low, high}`` of consistent-AT minus targeted-AT."""
    if effect["low"] > 0:
        return "raises"
    if effect["high"] < 0:
        return "lowers"
    return "no detectable effect"


# ------------------------------------------------------------- chapter 12's study

#: The chapter-12 parameters the study reads (see ``runs.profiles.ABLATION``).
STUDY_PARAMETERS: tuple[str, ...] = (
    *MODEL_PARAMETERS,  # the models' share (artifacts.MODEL_PARAMETERS)
    "ensemble_archs",
    "n_images",
    "k_targets",
    "adam_step_255",
    "adam_steps",
    "advset_eps",
    "top_fraction",
    "sigma",
    "n_bootstrap",
    "n_eval",
    "fgsm_eps",
    "paper_fgsm_eps_255",
    "ablation_archs",
    "ablation_seeds",
    "ablation_variants",
    "pgd_eval_steps",
    "ablation_eval_images",
    "strong_images",
    "strong_pgd_steps",
    "strong_pgd_restarts",
    "strong_apgd_steps",
    "strong_targets",
)


def _checked_study(params: Mapping[str, Any], archs: Sequence[str] | None) -> tuple[dict[str, Any], list[str]]:
    missing = [k for k in STUDY_PARAMETERS if k not in params]
    if missing:
        raise ValueError(f"params: missing {missing} (chapter 12's parameters; see runs.profiles.ABLATION)")
    p = dict(params)
    archs = list(archs if archs is not None else p["ablation_archs"])
    unknown = [a for a in archs if a not in ZOO] + [v for v in p["ablation_variants"] if v not in ABLATION_VARIANTS]
    if unknown:
        raise ValueError(
            f"unknown architectures or variants {unknown}; the zoo has {list(ZOO)}, "
            f"the ablation {list(ABLATION_VARIANTS)}"
        )
    return p, archs


def _training(p: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The standard models' and the fine-tunes' keyword arguments (the same keys in every profile)."""
    zoo = {"train_size": p["train_size"], "train_epochs": p["train_epochs"], "seed": p["seed"]}
    return zoo, {k: p[k] for k in ADV_TRAINING["quick"]}


def ablation_finetunes(
    params: Mapping[str, Any],
    *,
    archs: Sequence[str] | None = None,
    reverse: bool = False,
    cache: ArtifactCache | None = None,
    progress: bool = False,
) -> list[tuple[str, str, int]]:
    """Fine-tune and cache every model of the ablation without measuring it.

    The fine-tunes need the standard zoo models but not the shared adversarial set, so on
    two cores a second process can run them while :func:`ablation_study` builds the set
    (``python -m advinterp_lib ablation --arch vgg --finetune-only --reverse``);
    ``reverse`` walks the models from the other end, so the two processes meet in the
    middle instead of queueing on one model's lock. :func:`ablation_study` then finds
    every fine-tune in the cache.

    Returns:
        ``(arch, variant, seed)`` of every model, in the order walked.

    Raises:
        ValueError: as :func:`ablation_study` (a missing parameter, an unknown
            architecture or variant).
    """
    p, archs = _checked_study(params, archs)
    zoo, adv = _training(p)
    models = [(a, v, int(s)) for a in archs for v in p["ablation_variants"] for s in p["ablation_seeds"]]
    if reverse:
        models.reverse()
    for arch, variant, s in tqdm(models, desc="ablation fine-tunes", unit="model", disable=not progress):
        finetune_seed = _finetune_seed(s)
        adversarial_variant(arch, variant, **zoo, **adv, finetune_seed=finetune_seed, cache=cache, progress=progress)
    return models


def ablation_study(
    params: Mapping[str, Any],
    *,
    archs: Sequence[str] | None = None,
    source=None,
    advset=None,
    correlation: torch.Tensor | None = None,
    cache: ArtifactCache | None = None,
    reverse: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Chapter 12's ablation from its parameters (a profile's entry, or the notebook's
    variables): fine-tunes (cached), measures (cached) and summarises every variant of
    ``params["ablation_variants"]`` over ``params["ablation_seeds"]`` for ``archs``
    (default ``params["ablation_archs"]``). ``source``, ``advset`` and ``correlation``
    are the chapter's shared set and A; built from ``params`` when not given.
    ``reverse`` measures the models from the last (:func:`ablation_measurements`), for a
    second process beside a first; both then write the same summary.

    Returns:
        :func:`summarize_ablation`'s dict plus ``"settings"`` (what was measured how).

    Raises:
        ValueError: a parameter missing from ``params``; an architecture or variant
            unknown to the zoo or to :data:`ABLATION_VARIANTS`.
    """
    p, archs = _checked_study(params, archs)
    zoo, adv = _training(p)
    recipe = adversarial_set_recipe(p)
    advset_config = {
        "archs": list(p["ensemble_archs"]),
        "n": p["n_images"],
        "k": recipe.k,
        "step_size": recipe.step_size,
        "steps": recipe.steps,
        "eps": recipe.eps,
    }
    if source is None or advset is None:
        source, advset = adversarial_set(
            p["ensemble_archs"], recipe, n=p["n_images"], **zoo, cache=cache, progress=progress
        )
    if correlation is None:
        correlation = correlation_matrix(distance_matrix(class_synsets(source.synsets)), p["sigma"])
    test = load("fashion-mnist", "test").subset(p["n_eval"], seed=p["seed"])
    n_acc = min(int(p["ablation_eval_images"]), len(test))  # the first of Table 3's evaluation images
    strong = {
        "pgd_steps": p["strong_pgd_steps"],
        "pgd_restarts": p["strong_pgd_restarts"],
        "apgd_steps": p["strong_apgd_steps"],
        "n_targets": p["strong_targets"],
    }
    measure = {
        "real_images": source.images,
        "real_concepts": source.labels,
        "advset": advset,
        "num_concepts": int(correlation.shape[0]),
        "fraction": p["top_fraction"],
        "eval_images": test.images[:n_acc],
        "eval_labels": test.labels[:n_acc],
        "eps": p["fgsm_eps"],
        "paper_eps": p["paper_fgsm_eps_255"] / 255,
        "pgd_steps": p["pgd_eval_steps"],
        "strong_images": p["strong_images"],
        "strong": strong,
        "seed": p["seed"],
    }
    data_config = {"advset": advset_config, "n_eval": p["n_eval"], "eval_seed": p["seed"], "eval_images": n_acc}
    measurements = ablation_measurements(
        archs,
        p["ablation_variants"],
        p["ablation_seeds"],
        zoo=zoo,
        adv=adv,
        data_config=data_config,
        measure=measure,
        cache=cache,
        reverse=reverse,
        progress=progress,
    )
    summary = summarize_ablation(measurements, correlation, num_samples=p["n_bootstrap"], seed=p["seed"])
    settings = {
        "variants": list(p["ablation_variants"]),
        "seeds": list(p["ablation_seeds"]),
        "n_eval": n_acc,
        "eps": float(p["fgsm_eps"]),
        "paper_eps": p["paper_fgsm_eps_255"] / 255,
        "pgd_eval_steps": int(p["pgd_eval_steps"]),
        "strong_images": int(p["strong_images"]),
        "strong": strong,
        "n_real": len(source),
        "n_adversarial": len(advset),
        "top_fraction": float(p["top_fraction"]),
        "n_bootstrap": int(p["n_bootstrap"]),
    }
    return {"archs": summary, "settings": settings}


CHAPTER_12 = "12_adversarial_training_with_a_consistent_loss"


def record_ablation(
    profile: str, study: Mapping[str, Any], *, wall_time_s: float, root: str | Path | None = None
) -> Path:
    """Merge a study's architectures into ``results/<profile>/12_...json`` under
    ``numbers["ablation_over_seeds"]`` (other architectures and the chapter's other
    numbers stay as they are; the file's own run fields describe the chapter's run, so
    each architecture carries its own ``run``: device, date, wall time). Creates the
    file when the chapter has not run under ``profile``. Written atomically.

    Raises:
        ValueError: unknown profile; an existing file that is not a results record.
    """
    path = results_path(profile, CHAPTER_12, root)
    run = {
        "device": device_description(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": round(float(wall_time_s), 2),
        "command": f"python -m advinterp_lib ablation --profile {profile} --arch " + ",".join(study["archs"]),
    }
    if not path.is_file():
        entry = {
            "archs": dict(study["archs"]),
            "settings": dict(study["settings"]),
            "runs": {a: run for a in study["archs"]},
        }
        return write_results(
            CHAPTER_12, profile, {"ablation_over_seeds": entry}, seed=None, wall_time_s=wall_time_s, root=root
        )
    record = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(record, dict) or not isinstance(record.get("numbers"), dict) or record.get("profile") != profile:
        raise ValueError(f"{path} is not a results record of profile {profile!r}; not merging into it")
    entry = record["numbers"].setdefault("ablation_over_seeds", {})
    entry.setdefault("archs", {}).update(study["archs"])
    entry["settings"] = dict(study["settings"])
    entry.setdefault("runs", {}).update({a: run for a in study["archs"]})
    atomic_write_text(json.dumps(record, indent=2) + "\n", path)
    return path


def recorded_ablation(profile: str, root: str | Path | None = None) -> dict[str, Any]:
    """The ablation recorded under ``profile`` in ``results/<profile>/12_...json``
    (by :func:`record_ablation`, or by a chapter run that measured it itself):
    ``{"archs", "settings", "runs"}``, with empty ``archs`` when there is none. Every
    architecture has a ``runs`` entry (device, date, wall time, command); one measured by
    the chapter's own run gets that run's fields.

    Raises:
        ValueError: unknown profile; a file that is not a results record of ``profile``.
    """
    path = results_path(profile, CHAPTER_12, root)
    if not path.is_file():
        return {"archs": {}, "settings": {}, "runs": {}}
    record = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(record, dict) or not isinstance(record.get("numbers"), dict) or record.get("profile") != profile:
        raise ValueError(f"{path} is not a results record of profile {profile!r}")
    entry = record["numbers"].get("ablation_over_seeds") or {}
    archs = dict(entry.get("archs") or {})
    chapter_run = {k: record.get(k) for k in ("device", "date", "wall_time_s")}
    chapter_run["command"] = f"python -m advinterp_lib run 12 --profile {profile}"
    runs = {a: dict((entry.get("runs") or {}).get(a) or chapter_run) for a in archs}
    return {"archs": archs, "settings": dict(entry.get("settings") or {}), "runs": runs}


def chapter_ablation(
    params: Mapping[str, Any],
    *,
    profile: str,
    source=None,
    advset=None,
    correlation: torch.Tensor | None = None,
    cache: ArtifactCache | None = None,
    root: str | Path | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Chapter 12's ablation section: :func:`ablation_study` of the architectures in
    ``params["ablation_archs"]`` when it lists any (the quick profile: measured by the
    chapter's own run), else what ``python -m advinterp_lib ablation`` recorded under
    ``profile`` (:func:`recorded_ablation`; the full profile, whose 45 fine-tunes run one
    architecture at a time). The chapter writes the result back under
    ``ablation_over_seeds``, so a recorded ablation, with its ``runs``, survives the
    chapter's own run.

    Raises:
        ValueError: as :func:`ablation_study` and :func:`recorded_ablation`.
    """
    if params.get("ablation_archs"):
        return ablation_study(
            params, source=source, advset=advset, correlation=correlation, cache=cache, progress=progress
        )
    _checked_study(params, [])
    return recorded_ablation(profile, root)


def command_archs(params: Mapping[str, Any]) -> list[str]:
    """The architectures ``python -m advinterp_lib ablation`` runs when not told
    (``--arch``): the profile's ``ablation_archs``, or every zoo architecture where the
    profile leaves the ablation to the command (the full profile lists none)."""
    return list(params["ablation_archs"]) or list(ZOO)


def ablation_provenance(ablation: Mapping[str, Any]) -> str:
    """One sentence on where :func:`chapter_ablation`'s architectures come from: measured
    by this run, or recorded by an earlier run (its command, device and date)."""
    archs = ablation["archs"]
    if not archs:
        return ("No architecture of the ablation is measured by this run or recorded for its profile: "
                "`python -m advinterp_lib ablation --profile <profile> --arch <arch>` runs one.")  # fmt: skip
    runs = ablation.get("runs") or {}
    parts = [
        f"{a}: recorded by `{runs[a]['command']}` on {runs[a]['device']}, {runs[a]['date']}"
        if a in runs
        else f"{a}: measured by this run"
        for a in archs
    ]
    return "; ".join(parts) + "."


def _pp(d: Mapping[str, float]) -> str:
    """An accuracy difference in percentage points with its interval."""
    return f"{100 * d['mean']:+.1f} points [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]"


def _ci_text(d: Mapping[str, float]) -> str:
    return f"{d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"


def describe_ablation(summary: Mapping[str, Any], variants: Sequence[str]) -> list[str]:
    """One markdown bullet per architecture of a :func:`summarize_ablation` result: the
    feature term's effect (consistent-AT minus targeted-AT) on consis_adv and on robust
    accuracy under the strong attack, how far consis moves, and the variants ranked by
    strong robust accuracy and by the rise of consis_adv. Every number is read from
    ``summary``."""
    lines = []
    for arch, entry in summary.items():
        rows = entry["rows"]
        parts = []
        if "term_effect" in entry:
            te = entry["term_effect"]
            parts.append(
                f"the feature term (consistent-AT minus targeted-AT) — consis_adv: "
                f"{term_verdict(te['consis_adv'])} ({_ci_text(te['consis_adv'])}); strong robust accuracy: "
                f"{term_verdict(te['strong:apgd-t'])} ({_pp(te['strong:apgd-t'])})"
            )
        if "consistent-AT" in rows:
            rel = rows["consistent-AT"]["relative_change_consis"]
            parts.append(
                f"consistent-AT moves consis by {100 * rel['mean']:+.1f}% "
                f"[{100 * rel['low']:+.1f}, {100 * rel['high']:+.1f}] of the standard model's"
            )
        present = [v for v in variants if v in rows]
        by_strong = sorted(present, key=lambda v: -rows[v]["strong:apgd-t"]["mean"])
        by_gain = sorted(present, key=lambda v: -rows[v]["gain_consis_adv"]["mean"])
        parts.append(
            "ranked by strong robust accuracy: "
            + " > ".join(f"{v} ({100 * rows[v]['strong:apgd-t']['mean']:.1f}%)" for v in by_strong)
        )
        parts.append(
            "by the rise of consis_adv: "
            + " > ".join(f"{v} ({rows[v]['gain_consis_adv']['mean']:+.3f})" for v in by_gain)
        )
        seeds = max(rows[v]["seeds"] for v in present) if present else 0
        lines.append(f"- **{arch}** ({seeds} seeds): " + "; ".join(parts) + ".")
    return lines


# ------------------------------------------------ chapter 12's single-seed comparison


def intervals_json(value: Any) -> Any:
    """``value`` with every :class:`~advinterp_lib.stats.BootstrapInterval` (at any depth
    of dicts) replaced by ``{"mean", "low", "high"}``; other leaves stay as they are."""
    if isinstance(value, BootstrapInterval):
        return {"mean": value.mean, "low": value.low, "high": value.high}
    if isinstance(value, Mapping):
        return {k: intervals_json(v) for k, v in value.items()}
    return value


def robustness_json(accuracies: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """``{kind: {measure: accuracy}}`` (e.g. one row of :func:`table3_accuracies`) with
    every accuracy a plain float, for a results file."""
    return {kind: {name: float(v) for name, v in acc.items()} for kind, acc in accuracies.items()}


def table3_accuracies(
    models: Mapping[str, nn.Module],
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    eps: float,
    paper_eps: float,
    strong_images: int,
    strong: Mapping[str, Any],
) -> dict[str, dict[str, dict[str, float]]]:
    """The paper's Table 3 for the models of one architecture: top-1 and top-3 accuracy
    on the evaluation images (``"real"``), on FGSM images at the training budget
    ``eps`` (``"fgsm"``) and at the paper's ``paper_eps`` (``"fgsm_paper_eps"``, both
    crafted against each model itself), and top-1 under the strong cascade on the first
    ``strong_images`` (``"strong"``, its last stage's accuracy).

    Args:
        models: ``{row: model}`` (e.g. ``"standard"`` and the variants).
        images: float [N, C, H, W] in [0, 1]; labels: int [N].
        eps, paper_eps: FGSM budgets (L-inf, [0, 1] pixels); the strong attack uses ``eps``.
        strong_images: images the strong attack sees; strong: its keyword arguments
            (:func:`~advinterp_lib.attacks.strong.strong_attack`: steps, restarts, targets, seed).

    Returns:
        ``{row: {"real": {"top1", "top3"}, "fgsm": ..., "fgsm_paper_eps": ..., "strong": {"top1"}}}``.

    Raises:
        ValueError: no models; ``strong_images < 1``.
    """
    if not models:
        raise ValueError("models: expected at least one model, got none")
    if strong_images < 1:
        raise ValueError(f"strong_images must be >= 1, got {strong_images}")
    out = {}
    for row, m in models.items():
        out[row] = {
            "real": evaluate(m, images, labels, topk=(1, 3)),
            "fgsm": evaluate(m, fgsm(m, images, labels, eps=eps), labels, topk=(1, 3)),
            "fgsm_paper_eps": evaluate(m, fgsm(m, images, labels, eps=paper_eps), labels, topk=(1, 3)),
            "strong": {"top1": strong_attack(m, images[:strong_images], labels[:strong_images], eps=eps,
                                             **strong).accuracy()["apgd-t"]},
        }  # fmt: skip
    return out


def table3_table(
    table3: Mapping[str, Mapping[str, Any]],
    arch: str,
    *,
    fgsm_eps: float,
    paper_fgsm_eps_255: float,
    strong_images: int,
) -> str:
    """One architecture's Table 3 (:func:`table3_accuracies`) as markdown; the standard
    model is named ``arch`` and the consistent-AT one ``<arch>-Adv``."""
    headers = [
        "model",
        "real top-1",
        "real top-3",
        f"FGSM ε={fgsm_eps:g} top-1",
        f"FGSM ε={fgsm_eps:g} top-3",
        f"FGSM ε={paper_fgsm_eps_255}/255 top-1",
        f"strong ε={fgsm_eps:g} top-1 ({strong_images} images)",
    ]
    rows = [
        [{"standard": arch, "consistent-AT": f"{arch}-Adv (consistent-AT)"}.get(row, row),
         *(f"{v:.1%}" for v in (r["real"]["top1"], r["real"]["top3"], r["fgsm"]["top1"], r["fgsm"]["top3"],
                                 r["fgsm_paper_eps"]["top1"], r["strong"]["top1"]))]
        for row, r in table3.items()
    ]  # fmt: skip
    return markdown_table(headers, rows)


def _points(d: float) -> str:
    return f"{100 * d:+.1f} points"


def describe_table3_budgets(
    table3: Mapping[str, Mapping[str, Any]], *, fgsm_eps: float, paper_fgsm_eps_255: float
) -> str:
    """One bullet per architecture of ``{arch: table3_accuracies(...)}``: what FGSM at
    the paper's budget does to the standard model, and how the -Adv model's top-1
    differs from the standard one's under FGSM at both budgets and the strong attack
    (flagging a direction that reverses at the paper's budget)."""
    lines = []
    for arch, t in table3.items():
        drop = t["standard"]["fgsm_paper_eps"]["top1"] - t["standard"]["real"]["top1"]
        at_paper = t["consistent-AT"]["fgsm_paper_eps"]["top1"] - t["standard"]["fgsm_paper_eps"]["top1"]
        at_train = t["consistent-AT"]["fgsm"]["top1"] - t["standard"]["fgsm"]["top1"]
        at_strong = t["consistent-AT"]["strong"]["top1"] - t["standard"]["strong"]["top1"]
        reverses = " — at the paper's budget the direction **reverses**" if at_paper < 0 < at_train else ""
        lines.append(
            f"- **{arch}**: FGSM at {paper_fgsm_eps_255}/255 changes the standard model's top-1 by {_points(drop)}. "
            f"Against the standard model, the -Adv model's top-1 changes by {_points(at_paper)} under FGSM at "
            f"{paper_fgsm_eps_255}/255, by {_points(at_train)} under FGSM at ε = {fgsm_eps:g} and by "
            f"{_points(at_strong)} under the strong attack{reverses}."
        )
    return "\n".join(lines)


def variant_spec_table(
    variants: Sequence[str], *, eps: float, pgd_train_steps: int, pgd_train_step: float, consistent_steps: int
) -> str:
    """The training variants as markdown: each one's objective, its parameters
    (:func:`~advinterp_lib.artifacts.adversarial_variant_spec`) and the forward +
    backward passes a training batch costs (feature-consistent-AT: 3 PGD steps on the
    feature distance, the library's default).

    Raises:
        ValueError: an unknown variant.
    """
    t, f_steps = consistent_steps, 3
    passes = {
        "FGSM-AT": "3 + 2",
        "PGD-AT": f"{pgd_train_steps + 1} + {pgd_train_steps + 1}",
        "consistent-AT": f"{t + 4} + {t + 1}",
        "feature-consistent-AT": f"{t + f_steps + 5} + {t + f_steps + 1}",
    }
    rows = []
    for row in variants:
        name, params = adversarial_variant_spec(
            row,
            eps=eps,
            pgd_train_steps=pgd_train_steps,
            pgd_train_step=pgd_train_step,
            consistent_steps=consistent_steps,
        )
        shown = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
        rows.append([row, f"`{name}`", shown, passes.get(row, "")])
    return markdown_table(["variant", "objective", "parameters", "passes per batch (forward + backward)"], rows)


def whitebox_consistency(
    models: Mapping[str, nn.Module],
    source_images: torch.Tensor,
    source_labels: torch.Tensor,
    correlation: torch.Tensor,
    *,
    n_sources: int,
    recipe: AdversarialSetRecipe,
    fraction: float = 0.01,
    num_samples: int = 1000,
    seed: int = 0,
    cache: ArtifactCache | None = None,
) -> tuple[dict[str, ModelConsistency], dict[str, float]]:
    """consis and consis_adv of each model on its own white-box set: the paper's attack
    (:func:`~advinterp_lib.artifacts.advsets.whitebox_adversarial_set`, cached) aimed at the
    model itself from the first ``n_sources`` source images; consis on all of them.

    Args:
        models: ``{row: model}``.
        source_images: float [N, C, H, W] in [0, 1]; source_labels: int [N] (the concepts).
        correlation: A, [K, K].
        n_sources: sources attacked; recipe: the attack
            (:class:`~advinterp_lib.attacks.advset.AdversarialSetRecipe`).
        fraction, num_samples, seed: as :func:`~advinterp_lib.consistency.evaluation.measure_consistency`
            (``seed`` also seeds the attack).
        cache: where the white-box sets are kept (default: under ``roots.cache_root()``).

    Returns:
        ``({row: ModelConsistency}, {row: share of its white-box set the model misclassifies})``.

    Raises:
        ValueError: ``n_sources`` outside [1, N].
    """
    if not 1 <= n_sources <= len(source_images):
        raise ValueError(f"n_sources must be in [1, {len(source_images)}], got {n_sources}")
    measured, fooled = {}, {}
    for row, m in models.items():
        wb = whitebox_adversarial_set(
            m,
            source_images[:n_sources],
            source_labels[:n_sources],
            recipe,
            seed=seed,
            cache=cache,
            progress=False,
        )
        measured[row] = measure_consistency(m, source_images, source_labels, wb.images, wb.labels, correlation,
                                            fraction=fraction, num_samples=num_samples, seed=seed)  # fmt: skip
        fooled[row] = float((predict(m, wb.images).argmax(1) != wb.labels).float().mean())
    return measured, fooled


def feature_gap(
    model: nn.Module, x: torch.Tensor, examples: Mapping[str, torch.Tensor], *, eps: float
) -> tuple[str, dict[str, float]]:
    """How far each perturbed batch moves the last conv layer's features from those of
    ``x`` (:func:`~advinterp_lib.training.objectives.feature_distance`), absolute and
    relative to ``‖φ(x)‖₂``.

    Args:
        model: a zoo model (``model.last_conv`` names φ's layer).
        x: float [N, C, H, W] in [0, 1]; examples: ``{name: float [N, C, H, W]}``, each
            a perturbed copy of ``x`` within ``eps`` (for the table's header).

    Returns:
        ``(markdown table, {name: mean distance})``.
    """
    with torch.no_grad():
        gap = {name: feature_distance(model, x, x2) for name, x2 in examples.items()}
        layer = last_conv_layer(model)
        with capture_activations(model, layer) as acts:
            model(x)
        phi_norm = acts[layer].flatten(1).norm(dim=1)
    table = markdown_table(
        [f"example (L-inf ≤ ε = {eps:g})", "mean ‖φ(x) − φ(·)‖₂", "relative to ‖φ(x)‖₂"],
        [[k, f"{v.mean():.2f}", f"{(v / phi_norm).mean():.2f}"] for k, v in gap.items()],
    )
    return table, {k: float(v.mean()) for k, v in gap.items()}


def shared_set_consistency(
    models: Mapping[str, Mapping[str, nn.Module]],
    source,
    advset,
    correlation: torch.Tensor,
    *,
    fraction: float,
    num_samples: int,
    seed: int,
) -> tuple[dict[str, dict[str, ModelConsistency]], dict[str, dict[str, float]]]:
    """Table 1 of every model on the shared adversarial set: ``({arch: {row:
    ModelConsistency}}, {arch: {row: share of the set the model misclassifies}})``
    (:func:`~advinterp_lib.consistency.evaluation.measure_consistency` on the source
    images and the set; ``models`` is ``{arch: {row: model}}``)."""
    consistency: dict[str, dict[str, ModelConsistency]] = {arch: {} for arch in models}
    fooled: dict[str, dict[str, float]] = {arch: {} for arch in models}
    for arch, rows in models.items():
        for row, m in rows.items():
            consistency[arch][row] = measure_consistency(m, source.images, source.labels, advset.images, advset.labels,
                                                         correlation, fraction=fraction, num_samples=num_samples,
                                                         seed=seed)  # fmt: skip
            fooled[arch][row] = float((predict(m, advset.images).argmax(1) != advset.labels).float().mean())
    return consistency, fooled


def shared_set_table(
    arch: str, consistency: Mapping[str, ModelConsistency], fooled: Mapping[str, float], *, n_adversarial: int
) -> str:
    """Markdown: one architecture's rows of :func:`shared_set_consistency`, with the share
    of the set each model misclassifies."""
    table = consistency_table(
        {row: c.summary for row, c in consistency.items()},
        extra={"shared set fooled": {row: f"{f:.0%}" for row, f in fooled.items()}},
    )
    layer = next(iter(consistency.values())).activations.layer
    return f"**{arch}** — shared adversarial set ({n_adversarial} images), last conv layer `{layer}`\n\n" + table


def table1_json(
    consistency: Mapping[str, Mapping[str, ModelConsistency]], fooled: Mapping[str, Mapping[str, float]], key: str
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{arch: {row: consistency_row + {key: share fooled}}}`` for the results JSON."""
    return {
        arch: {row: {**c.row(), key: fooled[arch][row]} for row, c in rows.items()}
        for arch, rows in consistency.items()
    }


def whitebox_gains(
    whitebox: Mapping[str, Mapping[str, ModelConsistency]],
) -> dict[str, dict[str, BootstrapInterval]]:
    """Per architecture, each variant's consis_adv on its own white-box set minus the
    standard model's on its own (:func:`~advinterp_lib.consistency.evaluation.interval_difference`)."""
    return {
        arch: {
            row: interval_difference(m.summary.adversarial_interval, rows["standard"].summary.adversarial_interval)
            for row, m in rows.items()
            if row != "standard"
        }
        for arch, rows in whitebox.items()
    }


def whitebox_table(
    whitebox: Mapping[str, Mapping[str, ModelConsistency]],
    fooled: Mapping[str, Mapping[str, float]],
    gain: Mapping[str, Mapping[str, BootstrapInterval]],
    *,
    n_images: int,
) -> str:
    """The white-box sets as markdown: per architecture and row, the set's size, the
    share fooled, consis_adv with its interval, bias-corrected, and its change against
    the standard model (``gain``, absent for the standard row)."""
    rows = []
    for arch, by_row in whitebox.items():
        for row, c in by_row.items():
            r = consistency_row(c.summary)
            ci = r["consis_adv_ci"]
            rows.append([arch, row, n_images, f"{fooled[arch][row]:.0%}",
                         f"{r['consis_adv']:.3f} [{ci['low']:.3f}, {ci['high']:.3f}]",
                         f"{r['consis_adv_bias_corrected']:.3f}",
                         format_change(gain[arch][row]) if row in gain[arch] else ""])  # fmt: skip
    return markdown_table(["model", "variant", "white-box images", "fooled", "consis_adv(n) [95% CI]",
                           "bias-corrected", "Δ consis_adv vs standard"], rows)  # fmt: skip


def gain_table(
    gain: Mapping[str, Mapping[str, Mapping[str, BootstrapInterval]]], table3: Mapping[str, Mapping[str, Any]]
) -> str:
    """The changes of consis and consis_adv against the standard model (``gain``:
    ``{arch: {row: {"consis", "consis_adv"}}}``) beside each row's FGSM top-1 and its
    change (``table3``: ``{arch: table3_accuracies(...)}``), as markdown."""
    rows = []
    for arch, by_row in gain.items():
        for row, g in by_row.items():
            f1, f0 = table3[arch][row]["fgsm"]["top1"], table3[arch]["standard"]["fgsm"]["top1"]
            rows.append([arch, row, format_change(g["consis"]), format_change(g["consis_adv"]), f"{f1:.1%}",
                         f"{f1 - f0:+.1%}"])  # fmt: skip
    return markdown_table(["model", "variant", "Δ consis", "Δ consis_adv", "FGSM top-1", "Δ FGSM top-1"], rows)


def describe_consistent_at(
    gain: Mapping[str, Mapping[str, Mapping[str, BootstrapInterval]]],
    whitebox_gain: Mapping[str, Mapping[str, BootstrapInterval]],
    fooled: Mapping[str, Mapping[str, float]],
    whitebox_fooled: Mapping[str, Mapping[str, float]],
) -> str:
    """One bullet per architecture whose consistent-AT model has a white-box set: how
    consis_adv moves (:func:`~advinterp_lib.runs.prose.change_verdict`) on the shared and
    on the white-box set, and the share of each the model misclassifies."""
    return "\n".join(
        f"- **{arch}-Adv**: consis_adv {change_verdict(gain[arch]['consistent-AT']['consis_adv'])} on the shared set "
        f"({gain[arch]['consistent-AT']['consis_adv'].mean:+.3f}) and "
        f"{change_verdict(whitebox_gain[arch]['consistent-AT'])} on its white-box set "
        f"({whitebox_gain[arch]['consistent-AT'].mean:+.3f}); it misclassifies {fooled[arch]['consistent-AT']:.0%} "
        f"of the shared set and {whitebox_fooled[arch]['consistent-AT']:.0%} of its white-box set"
        for arch in gain
        if "consistent-AT" in whitebox_gain[arch]
    )


def ablation_table(summary: Mapping[str, Any]) -> str:
    """A :func:`summarize_ablation` result as markdown: per architecture and row, the
    seeds, the changes of consis and consis_adv against the standard model, and clean,
    FGSM, PGD and strong top-1, each a mean over seeds with its interval."""
    rows = []
    for arch, entry in summary.items():
        for v, row in entry["rows"].items():
            gains = (format_change(row["gain_consis"]), format_change(row["gain_consis_adv"])) \
                if v != "standard" else ("", "")  # fmt: skip
            rows.append(
                [
                    arch,
                    v,
                    row["seeds"],
                    *gains,
                    *(format_change(row[k], percent=True) for k in ("clean", "fgsm", "pgd", "strong:apgd-t")),
                ]
            )
    return markdown_table(["model", "variant", "seeds", "Δ consis", "Δ consis_adv", "clean top-1", "FGSM top-1",
                           "PGD top-1", "strong top-1"], rows)  # fmt: skip


def describe_committed_ablation(record: Mapping[str, Any] | None) -> str:
    """Markdown: :func:`describe_ablation` of the ablation recorded in a committed
    chapter-12 record (``committed_results``), or the note that there is none."""
    entry = ((record or {}).get("numbers", {}).get("ablation_over_seeds")) or {}
    if record is None or not entry.get("archs"):
        return not_run_note(CHAPTER_12) + (
            " (`python -m advinterp_lib ablation --profile full --arch resnet` runs one architecture)."
        )
    return "\n".join(describe_ablation(entry["archs"], entry["settings"]["variants"]))


def describe_single_seed(record: Mapping[str, Any]) -> str:
    """What a committed chapter-12 run (``committed_results``) says of its single-seed
    comparison: per architecture, Table 3's FGSM and clean top-1 of the standard and
    every variant, and the changes of consis_adv on the shared and white-box sets."""
    n = record["numbers"]
    out = []
    for arch in n["archs"]:
        t3, g, wb = n["table3"][arch], n["gain_vs_standard"][arch], n["gain_vs_standard_whitebox"][arch]

        def fg(row: str, t3: Mapping[str, Any] = t3) -> str:
            return f"{t3[row]['fgsm']['top1']:.0%}"

        out.append(f"- **{arch}**, Table 3 at ε = {n['table3_settings']['fgsm_eps']:g}: FGSM top-1 "
                   f"{fg('standard')} (standard) → {fg('consistent-AT')} (consistent-AT), "
                   + ", ".join(f"{fg(r)} ({r})" for r in t3 if r not in ("standard", "consistent-AT"))
                   + f"; clean top-1 {t3['standard']['real']['top1']:.0%} → {t3['consistent-AT']['real']['top1']:.0%}. "
                   "Shared set, Δ consis_adv: " + ", ".join(f"{r} {g[r]['consis_adv']['mean']:+.2f}" for r in g)
                   + ". White-box sets, Δ consis_adv: "
                   + ", ".join(f"{r} {wb[r]['consis_adv']['mean']:+.2f} [{wb[r]['consis_adv']['low']:+.2f}, "
                               f"{wb[r]['consis_adv']['high']:+.2f}]" for r in wb) + ".")  # fmt: skip
    return f"Full profile ({record['device']}):\n\n" + "\n".join(out)
