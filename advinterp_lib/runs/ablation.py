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
)
from ..atomic import atomic_write_text
from ..attacks.fgsm import fgsm
from ..attacks.pgd import pgd
from ..attacks.strong import STAGES, strong_attack
from ..consistency import class_synsets, correlation_matrix, distance_matrix
from ..consistency.activations import concept_top_activations
from ..consistency.evaluation import (
    interval_difference,
)
from ..consistency.hierarchical import SeedTopConcepts, hierarchical_bootstrap, hierarchical_mean
from ..consistency.metric import concept_distribution, consistency_scores
from ..data import load
from ..models import ZOO
from ..models.state import predicted_labels
from ..tables import markdown_table
from .profiles import ADV_TRAINING, adversarial_set_recipe
from .prose import format_change, not_run_note
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
    "describe_across_architectures",
    "ablation_table",
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
    record = _chapter12_record(path, profile)
    entry = record["numbers"].setdefault("ablation_over_seeds", {})
    entry.setdefault("archs", {}).update(study["archs"])
    entry["settings"] = dict(study["settings"])
    entry.setdefault("runs", {}).update({a: run for a in study["archs"]})
    atomic_write_text(json.dumps(record, indent=2) + "\n", path)
    return path


def _chapter12_record(path: Path, profile: str) -> dict[str, Any]:
    """The results record at ``path``, which must be one of ``profile`` (ValueError otherwise)."""
    record = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(record, dict) or not isinstance(record.get("numbers"), dict) or record.get("profile") != profile:
        raise ValueError(f"{path} is not a results record of profile {profile!r}")
    return record


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
    record = _chapter12_record(path, profile)
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


def describe_across_architectures(summary: Mapping[str, Any]) -> str:
    """One sentence over every architecture of a :func:`summarize_ablation` result: which
    of them the feature term raises (or lowers, or leaves undetectably changed) on
    consis_adv and on strong robust accuracy, and which the term-free control
    (targeted-AT) raises on consis_adv -- the chapter's answer to "does the term itself
    matter?". Empty below two architectures (the bullets say it per architecture)."""
    with_term = {a: e for a, e in summary.items() if "term_effect" in e}
    if len(with_term) < 2:
        return ""

    def grouped(verdicts: Mapping[str, str]) -> str:
        by: dict[str, list[str]] = {}
        for arch, verdict in verdicts.items():
            by.setdefault(verdict, []).append(arch)
        return "; ".join(f"{v} for {', '.join(archs)}" for v, archs in by.items())

    on_consis = {a: term_verdict(e["term_effect"]["consis_adv"]) for a, e in with_term.items()}
    on_strong = {a: term_verdict(e["term_effect"]["strong:apgd-t"]) for a, e in with_term.items()}
    control = {a: term_verdict(e["rows"]["targeted-AT"]["gain_consis_adv"]) for a, e in with_term.items()
               if "targeted-AT" in e["rows"]}  # fmt: skip
    text = (
        f"Across the {len(with_term)} architectures, the feature term's effect on consis_adv: {grouped(on_consis)}; "
        f"on strong robust accuracy: {grouped(on_strong)}."
    )
    if control:
        text += f" Adversarial training without the term (targeted-AT) on consis_adv: {grouped(control)}."
    return text


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
    lines = describe_ablation(entry["archs"], entry["settings"]["variants"])
    across = describe_across_architectures(entry["archs"])
    return "\n".join(lines + ["", across] if across else lines)
