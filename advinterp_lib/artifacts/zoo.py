"""Trained zoo models and their adversarially trained variants, built once per
configuration through the artifact cache.

Every chapter that needs "the VGG of the quick profile" calls :func:`trained_model`
with the same arguments and gets the same cached weights; only the first caller
trains. Training checkpoints every epoch into the cache's work folder, so a killed
run resumes where it stopped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data import load
from ..models import ZOO, build
from ..models.zoo import ZOO_VERSION
from ..training import objectives as o
from ..training import train
from ..validation import check_int
from .cache import ArtifactCache

_Objective = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]

# Optimiser settings per architecture (measured in tests/benchmarks; see the note in
# advinterp_lib/models/zoo.py). Part of the cache key: changing one retrains.
RECIPES: dict[str, dict[str, Any]] = {
    "alexnet": {"batch_size": 128, "lr": 3e-3, "optimizer": "adam", "schedule": "onecycle"},
    "vgg": {"batch_size": 128, "lr": 3e-3, "optimizer": "adam", "schedule": "onecycle"},
    "resnet": {"batch_size": 128, "lr": 3e-3, "optimizer": "adam", "schedule": "onecycle"},
}


def zoo_model_config(arch: str, *, train_size: int, train_epochs: int, seed: int) -> dict[str, Any]:
    """The full configuration that identifies a trained zoo model in the cache."""
    if arch not in ZOO:
        raise ValueError(f"unknown architecture {arch!r}; the zoo has: {', '.join(ZOO)}")
    if train_epochs < 1:
        raise ValueError(f"train_epochs must be >= 1, got {train_epochs}")
    if train_size < 10:
        raise ValueError(f"train_size must be >= 10 (one image per class), got {train_size}")
    return {
        "arch": arch,
        "zoo_version": ZOO_VERSION,
        "data": "fashion-mnist",
        "train_size": int(train_size),
        "train_epochs": int(train_epochs),
        "seed": int(seed),
        **RECIPES[arch],
    }


def seeded_build(arch: str, seed: int) -> nn.Module:
    """A fresh zoo model whose initial weights depend on ``seed`` only, not on how much
    of torch's global generator the caller used before (the cache key holds the seed, so
    the same key must always mean the same weights). The caller's RNG state is restored."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build(arch)


def trained_model(
    arch: str,
    *,
    train_size: int,
    train_epochs: int,
    seed: int = 0,
    device: torch.device | str | None = None,
    cache: ArtifactCache | None = None,
    progress: bool = True,
) -> nn.Module:
    """A zoo model (``"alexnet"``, ``"vgg"``, ``"resnet"``) trained on the first
    ``train_size`` images of a class-balanced, seeded subset of the Fashion-MNIST
    training set for ``train_epochs`` epochs; from the cache when it was trained before.

    Returns the model in eval mode on ``device`` (default: CUDA when available, else
    CPU), with ``model.training_history`` (per-epoch records) attached.

    Raises:
        TypeError: ``train_size``, ``train_epochs`` or ``seed`` not an int (``'100'``,
            ``100.5``, ``1.5``: never truncated into another model's cache key).
        ValueError: unknown ``arch``; ``train_size`` < 10, ``train_epochs`` < 1, ``seed`` < 0.
    """
    check_int(train_size, "train_size", minimum=10)
    check_int(train_epochs, "train_epochs", minimum=1)
    check_int(seed, "seed", minimum=0)
    config = zoo_model_config(arch, train_size=train_size, train_epochs=train_epochs, seed=seed)
    cache = cache or ArtifactCache()
    device = (
        torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    )

    def build_state(work_dir):
        data = load("fashion-mnist", "train")
        if train_size < len(data):
            data = data.subset(train_size, seed=seed)
        model = seeded_build(arch, seed)
        history = train(
            model,
            data.images,
            data.labels,
            epochs=train_epochs,
            batch_size=config["batch_size"],
            lr=config["lr"],
            optimizer=config["optimizer"],
            schedule=config["schedule"],
            seed=seed,
            device=device,
            checkpoint_dir=work_dir,
            progress=progress,
        )
        return {"state_dict": {k: v.cpu() for k, v in model.state_dict().items()}, "history": history.to_dict()}

    state = cache.get_or_build("zoo_model", config, build_state)
    model = build(arch)
    model.load_state_dict(state["state_dict"])
    model.training_history = state["history"]["records"]
    return model.to(device).eval()


# ------------------------------------------------------ adversarially trained models

#: Objective names :func:`adversarially_trained_model` knows, with the parameters each takes.
ADVERSARIAL_OBJECTIVES: dict[str, tuple[str, ...]] = {
    "standard": (),
    "fgsm": ("eps", "alpha"),
    "pgd": ("eps", "step_size", "steps", "random_start", "alpha"),
    "ensemble": ("eps", "alpha", "static_archs"),
    "consistent": ("eps_step", "steps", "alpha", "beta", "target", "layer"),
    "feature_consistent": ("eps_step", "steps", "alpha", "beta", "target", "layer", "feature_eps", "feature_steps"),
}


def make_objective(name: str, params: dict[str, Any], static: dict[str, nn.Module]):
    """The training objective named ``name`` (a key of :data:`ADVERSARIAL_OBJECTIVES`)
    built with ``params``; ``static`` holds the ensemble objective's static models by
    name (ignored by the others). ``"standard"`` is the plain cross-entropy."""
    if name == "standard":
        return o.cross_entropy
    if name == "fgsm":
        return o.FGSMTraining(**params)
    if name == "pgd":
        return o.PGDTraining(**params)
    if name == "ensemble":
        rest = {k: v for k, v in params.items() if k != "static_archs"}
        return o.EnsembleAdversarialTraining(static, **rest)
    if name == "consistent":
        return o.ConsistentAdversarialTraining(**params)
    return o.FeatureDistanceConsistentTraining(**params)


def adversarially_trained_model(
    arch: str,
    objective: str,
    *,
    train_size: int,
    train_epochs: int,
    seed: int = 0,
    finetune_size: int = 4000,
    finetune_epochs: int = 1,
    lr: float = 1e-3,
    batch_size: int = 128,
    finetune_seed: int | None = None,
    from_scratch: bool = False,
    device: torch.device | str | None = None,
    cache: ArtifactCache | None = None,
    progress: bool = True,
    **objective_params: Any,
) -> nn.Module:
    """A zoo model trained with an adversarial objective, from the cache when built before.

    By default the paper's "-Adv" recipe: start from the standard model
    ``trained_model(arch, train_size=..., train_epochs=..., seed=...)`` and fine-tune it
    for ``finetune_epochs`` epochs on ``finetune_size`` training images (a class-balanced
    subset drawn with ``seed + 1``) with ``objective``; ``from_scratch=True`` trains a
    fresh network on that subset instead.

    Args:
        arch: ``"alexnet"``, ``"vgg"`` or ``"resnet"``.
        objective: ``"standard"``, ``"fgsm"``, ``"pgd"``, ``"ensemble"``, ``"consistent"``
            or ``"feature_consistent"`` (see :data:`ADVERSARIAL_OBJECTIVES`).
        train_size, train_epochs, seed: the standard base model (as :func:`trained_model`).
        finetune_size, finetune_epochs, lr, batch_size: the adversarial training run
            (Adam, one-cycle schedule peaking at ``lr``).
        finetune_seed: seeds the fine-tuning run alone (its subset, batch order and the
            objective's random draws) while the base model stays the one of ``seed``:
            chapter 12's ablation repeats each fine-tune over several seeds of the same
            base. None (default) uses ``seed``, as every model before the ablation did.
        from_scratch: train a new network rather than fine-tune the standard one.
        **objective_params: the objective's parameters (e.g. ``eps=0.1``); for
            ``"ensemble"``, ``static_archs`` (default: the other zoo architectures)
            names the static standard models whose FGSM examples are used.

    Returns:
        The model in eval mode on ``device`` with ``model.training_history`` attached.
        The cache key holds the base model's config, the run's settings and the
        objective's ``config()``.

    Raises:
        ValueError: unknown arch or objective, or a parameter the objective does not take.
    """
    _check_objective_params(objective, objective_params)
    base_config = zoo_model_config(arch, train_size=train_size, train_epochs=train_epochs, seed=seed)
    run_seed = _run_seed(seed, finetune_seed)
    cache = cache or ArtifactCache()
    device = (
        torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    )
    # trained_model's arguments for the standard models: the base one and the ensemble's static ones
    standard = {
        "train_size": train_size,
        "train_epochs": train_epochs,
        "seed": seed,
        "device": device,
        "cache": cache,
        "progress": progress,
    }
    obj, obj_config = _adversarial_objective(arch, objective, objective_params, standard)
    config = {
        "base": None if from_scratch else base_config,
        "arch": arch,
        "objective": obj_config,
        "finetune_size": int(finetune_size),
        "finetune_epochs": int(finetune_epochs),
        "lr": float(lr),
        "batch_size": int(batch_size),
        "seed": int(seed),
        # only when it differs from seed, so that the keys of earlier models still hold
        **({} if run_seed == seed else {"finetune_seed": run_seed}),
    }
    build_state = functools.partial(
        _finetuned_state,
        arch=arch,
        objective=obj,
        from_scratch=from_scratch,
        finetune_size=finetune_size,
        finetune_epochs=finetune_epochs,
        lr=lr,
        batch_size=batch_size,
        run_seed=run_seed,
        standard=standard,
    )
    state = cache.get_or_build("adversarial_model", config, build_state)
    model = build(arch)
    model.load_state_dict(state["state_dict"])
    model.training_history = state["history"]["records"]
    return model.to(device).eval()


def _check_objective_params(objective: str, objective_params: Mapping[str, Any]) -> None:
    """Raise ValueError for an unknown objective or a parameter it does not take."""
    if objective not in ADVERSARIAL_OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; known: {', '.join(ADVERSARIAL_OBJECTIVES)}")
    unknown = set(objective_params) - set(ADVERSARIAL_OBJECTIVES[objective])
    if unknown:
        raise ValueError(
            f"objective {objective!r} takes {ADVERSARIAL_OBJECTIVES[objective] or 'no parameters'}, "
            f"got unknown {sorted(unknown)}"
        )


def _run_seed(seed: int, finetune_seed: int | None) -> int:
    """The fine-tuning run's seed: ``finetune_seed`` when given (checked to be an int), else ``seed``."""
    if finetune_seed is not None and (isinstance(finetune_seed, bool) or not isinstance(finetune_seed, int)):
        raise TypeError(f"finetune_seed must be an int or None, got {type(finetune_seed).__name__}")
    return seed if finetune_seed is None else int(finetune_seed)


def _adversarial_objective(
    arch: str, objective: str, objective_params: Mapping[str, Any], standard: dict[str, Any]
) -> tuple[_Objective, dict[str, Any]]:
    """The objective named ``objective`` (for the ensemble, with its static standard models) and its cache config."""
    params = dict(objective_params)
    static: dict[str, nn.Module] = {}
    if objective == "ensemble":
        static_archs = list(params.pop("static_archs", [a for a in ZOO if a != arch]))
        static = _static_models(static_archs, standard)
        params["static_archs"] = static_archs
    obj_params = {k: v for k, v in params.items() if k != "static_archs"}
    obj = make_objective(objective, obj_params, static)
    obj_config = obj.config() if hasattr(obj, "config") else {"name": "standard"}
    if objective == "ensemble":
        obj_config["static_models"] = [
            zoo_model_config(
                a, train_size=standard["train_size"], train_epochs=standard["train_epochs"], seed=standard["seed"]
            )
            for a in static
        ]
    return obj, obj_config


def _static_models(static_archs: list[str], standard: dict[str, Any]) -> dict[str, nn.Module]:
    """The ensemble objective's static standard models by architecture, frozen."""
    static = {a: trained_model(a, **standard) for a in static_archs}
    for m in static.values():
        m.requires_grad_(False)
    return static


def _finetuned_state(
    work_dir: Path,
    *,
    arch: str,
    objective: _Objective,
    from_scratch: bool,
    finetune_size: int,
    finetune_epochs: int,
    lr: float,
    batch_size: int,
    run_seed: int,
    standard: dict[str, Any],
) -> dict[str, Any]:
    """Build the adversarially trained model's artifact (weights, history), checkpointing into ``work_dir``."""
    data = load("fashion-mnist", "train")
    if finetune_size < len(data):
        data = data.subset(finetune_size, seed=run_seed + 1)
    if from_scratch:
        model = seeded_build(arch, standard["seed"])
    else:
        model = trained_model(arch, **standard)
    history = train(
        model,
        data.images,
        data.labels,
        epochs=finetune_epochs,
        batch_size=batch_size,
        lr=lr,
        objective=objective,
        seed=run_seed,
        device=standard["device"],
        checkpoint_dir=work_dir,
        progress=standard["progress"],
    )
    return {"state_dict": {k: v.cpu() for k, v in model.state_dict().items()}, "history": history.to_dict()}


# ----------------------------------------------- the book's adversarially trained rows

#: The adversarially trained variants the book compares, by the row name chapters show.
ADV_VARIANTS: tuple[str, ...] = (
    "FGSM-AT",
    "PGD-AT",
    "ensemble-AT",
    "consistent-AT",
    "feature-consistent-AT",
    "targeted-AT",
    "mixed-PGD-AT",
)


#: The chapter parameters that name a zoo model and its fine-tuned variants: the keyword
#: arguments of :func:`adversarial_variant`, i.e. a profile's ``ZOO_TRAINING`` and
#: ``ADV_TRAINING`` keys (``advinterp_lib.runs.profiles``; a test keeps them equal) plus its seed.
MODEL_PARAMETERS = (
    "train_size",
    "train_epochs",
    "seed",
    "eps",
    "finetune_size",
    "finetune_epochs",
    "finetune_lr",
    "pgd_train_steps",
    "pgd_train_step",
    "consistent_steps",
)


def model_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    """The share of a chapter's parameters (``MODEL_PARAMETERS``) that names its models.

    A chapter calls it on its parameters, e.g. ``model_parameters(globals())`` in a
    notebook, and spreads the result into :func:`adversarial_variant` or
    :func:`variant_models`.

    Raises:
        KeyError: a parameter is missing (its name given).
    """
    missing = [k for k in MODEL_PARAMETERS if k not in params]
    if missing:
        raise KeyError(f"the chapter's parameters lack {', '.join(missing)} (needed to name its models)")
    return {k: params[k] for k in MODEL_PARAMETERS}


def variant_models(
    archs: Sequence[str],
    variants: Sequence[str],
    *,
    progress: bool = False,
    cache: ArtifactCache | None = None,
    **training: Any,
) -> dict[tuple[str, str], nn.Module]:
    """Every ``(arch, variant)`` model of a chapter's grid, built or loaded in that order
    (architectures outermost) by :func:`adversarial_variant`.

    ``training`` are its keyword arguments (see :func:`model_parameters`). Returns a
    dict keyed by ``(arch, variant)``; a chapter renames the keys as it shows them.
    """
    return {
        (arch, variant): adversarial_variant(arch, variant, progress=progress, cache=cache, **training)
        for arch in archs
        for variant in variants
    }


def adversarial_variant_spec(
    variant: str, *, eps: float, pgd_train_steps: int, pgd_train_step: float, consistent_steps: int
) -> tuple[str, dict[str, Any]]:
    """The objective name and parameters of one of the book's :data:`ADV_VARIANTS`.

    ``eps`` bounds every training perturbation (L-inf, [0, 1] pixel units): FGSM-AT and
    ensemble-AT (Goodfellow's and Tramer's, alpha = 0.5) take one step of ``eps``; PGD-AT
    takes ``pgd_train_steps`` steps of ``pgd_train_step``; the paper's consistent-AT
    (alpha = 0.5, beta = 0.1, least-likely target) takes ``consistent_steps`` targeted
    steps of ``eps / consistent_steps``; feature-consistent-AT adds PGD on the feature
    distance with the same reach. Raises ValueError for an unknown variant.

    Two controls for chapter 12's ablation of the consistent term: ``targeted-AT`` is
    consistent-AT with beta = 0 (the same x*, the same alpha = 0.5, no feature term), and
    ``mixed-PGD-AT`` is PGD-AT with the same clean term (alpha = 0.5) as the others.
    """
    consistent = {
        "eps_step": eps / consistent_steps,
        "steps": consistent_steps,
        "alpha": 0.5,
        "beta": 0.1,
        "target": "least_likely",
    }
    specs: dict[str, tuple[str, dict[str, Any]]] = {
        "FGSM-AT": ("fgsm", {"eps": eps, "alpha": 0.5}),
        "PGD-AT": ("pgd", {"eps": eps, "step_size": pgd_train_step, "steps": pgd_train_steps}),
        "ensemble-AT": ("ensemble", {"eps": eps, "alpha": 0.5}),
        "consistent-AT": ("consistent", consistent),
        "feature-consistent-AT": ("feature_consistent", consistent),
        "targeted-AT": ("consistent", {**consistent, "beta": 0.0}),
        "mixed-PGD-AT": ("pgd", {"eps": eps, "step_size": pgd_train_step, "steps": pgd_train_steps, "alpha": 0.5}),
    }
    if variant not in specs:
        raise ValueError(f"unknown variant {variant!r}; known: standard, {', '.join(specs)}")
    return specs[variant]


def adversarial_variant(
    arch: str,
    variant: str,
    *,
    train_size: int,
    train_epochs: int,
    seed: int = 0,
    eps: float,
    finetune_size: int,
    finetune_epochs: int,
    finetune_lr: float,
    pgd_train_steps: int,
    pgd_train_step: float,
    consistent_steps: int,
    finetune_seed: int | None = None,
    device: torch.device | str | None = None,
    cache: ArtifactCache | None = None,
    progress: bool = True,
) -> nn.Module:
    """The zoo model ``arch`` in one of the book's variants, from the cache when built before.

    ``variant`` is ``"standard"`` (:func:`trained_model`) or one of :data:`ADV_VARIANTS`,
    fine-tuned from the standard model with :func:`adversarially_trained_model`. The
    keyword arguments are those of ``advinterp_lib.runs.profiles.ZOO_TRAINING`` and
    ``ADV_TRAINING`` for a profile, so a chapter passes ``**`` its parameters' share
    of them and finds the models every other chapter of the profile uses.
    ``finetune_seed`` repeats the fine-tune with another seed from the same standard
    model (see :func:`adversarially_trained_model`; ignored for ``"standard"``).
    """
    if variant == "standard":
        return trained_model(
            arch,
            train_size=train_size,
            train_epochs=train_epochs,
            seed=seed,
            device=device,
            cache=cache,
            progress=progress,
        )
    objective, params = adversarial_variant_spec(
        variant,
        eps=eps,
        pgd_train_steps=pgd_train_steps,
        pgd_train_step=pgd_train_step,
        consistent_steps=consistent_steps,
    )
    return adversarially_trained_model(
        arch, objective, train_size=train_size, train_epochs=train_epochs, seed=seed,
        finetune_size=finetune_size, finetune_epochs=finetune_epochs, lr=finetune_lr, finetune_seed=finetune_seed,
        device=device, cache=cache, progress=progress, **params)  # fmt: skip
