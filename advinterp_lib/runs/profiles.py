"""Profiles: each chapter's notebook parameters at three scales, as plain data.

- ``quick``: the defaults in every notebook's ``parameters`` cell; what the book build
  and nbval run (about a minute per chapter on 2 CPU cores, warm cache).
- ``full``: the paper's protocol on Fashion-MNIST (all test images, models trained to
  convergence); meant for a GPU, or a long CPU run.
- ``imagenet``: the paper's protocol on ILSVRC-2012 val + Broden with torchvision nets
  (chapters are added as the ImageNet path lands).

Chapters that use the zoo models share one training recipe per profile
(:data:`ZOO_TRAINING`), so every chapter of a profile finds the same cached models.
A test checks that each notebook's ``parameters`` cell equals its ``quick`` entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..attacks.advset import AdversarialSetRecipe

# How the three zoo models are trained, per profile (see advinterp_lib.artifacts).
ZOO_TRAINING: dict[str, dict[str, Any]] = {
    "quick": {"train_size": 60000, "train_epochs": 1},
    "full": {"train_size": 60000, "train_epochs": 15},
}

# How the adversarially trained zoo models (FGSM-AT, PGD-AT, ensemble-AT, the paper's
# consistent "-Adv" models, ...) are fine-tuned from the standard ones, per profile
# (see advinterp_lib.artifacts.adversarial_variant). Chapters 9 and 12-14 and the
# explorers spread the same entry, so they all find the same cached models. The full
# recipe fine-tunes for one epoch over all 60,000 training images (469 steps from the
# converged standard model), so that the committed full run fits on 2 CPU cores: the
# twelve fine-tuned models of chapter 12 then take ~35 min here, three epochs ~1.8 h.
# On a GPU, ``-p finetune_epochs 3`` (in every chapter of the run) gives the longer one.
ADV_TRAINING: dict[str, dict[str, Any]] = {
    "quick": {
        "eps": 0.1,
        "finetune_size": 4000,
        "finetune_epochs": 1,
        "finetune_lr": 0.001,
        "pgd_train_steps": 3,
        "pgd_train_step": 0.04,
        "consistent_steps": 5,
    },
    "full": {
        "eps": 0.1,
        "finetune_size": 60000,
        "finetune_epochs": 1,
        "finetune_lr": 0.001,
        "pgd_train_steps": 7,
        "pgd_train_step": 0.025,
        "consistent_steps": 10,
    },
}

# Chapter 12's ablation of the consistent term (advinterp_lib.runs.ablation): the same
# base model fine-tuned with each variant and several seeds, measured on the shared
# adversarial set and with a strong attack (PGD with restarts -> APGD-CE -> APGD-T) on
# the first `strong_images` evaluation images. `ablation_archs` are the architectures the
# chapter's own run ablates. The full profile lists none: its 5 variants x 3 seeds x 3
# architectures are 45 fine-tunes (on 2 CPU cores several hours an architecture), so
# `python -m advinterp_lib ablation --profile full --arch resnet` runs and records one
# architecture at a time, and the chapter's full run shows what was recorded
# (runs.ablation.chapter_ablation); `-p ablation_archs '["alexnet", "vgg", "resnet"]'`
# measures them in the chapter's run instead (a GPU's work).
ABLATION: dict[str, dict[str, Any]] = {
    "quick": {
        "ablation_archs": ["resnet"],
        "ablation_seeds": [0, 1, 2],
        "ablation_variants": ["consistent-AT", "targeted-AT", "mixed-PGD-AT", "FGSM-AT", "feature-consistent-AT"],
        "pgd_eval_steps": 10,
        "ablation_eval_images": 500,
        "strong_images": 100,
        "strong_pgd_steps": 20,
        "strong_pgd_restarts": 1,
        "strong_apgd_steps": 20,
        "strong_targets": 3,
    },
    "full": {
        "ablation_archs": [],  # the `ablation` command's, one architecture at a time
        "ablation_seeds": [0, 1, 2],
        "ablation_variants": ["consistent-AT", "targeted-AT", "mixed-PGD-AT", "FGSM-AT", "feature-consistent-AT"],
        "pgd_eval_steps": 20,
        "ablation_eval_images": 2000,  # clean/FGSM/PGD accuracy of 48 models: the first 2,000 of n_eval
        "strong_images": 500,
        "strong_pgd_steps": 50,
        "strong_pgd_restarts": 2,
        "strong_apgd_steps": 100,
        "strong_targets": 3,
    },
}

# Each chapter's parameters per profile, keyed by the chapter's two-digit number.
# A chapter absent from a profile cannot run under it (the runner says so).
CHAPTERS: dict[str, dict[str, dict[str, Any]]] = {
    "01": {
        "quick": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["quick"],
            "n_queries": 6,
            "n_neighbours": 8,
            "agreement_queries": 2000,
        },
        "full": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["full"],
            "n_queries": 12,
            "n_neighbours": 8,
            "agreement_queries": 10000,
        },
    },
    "02": {
        "quick": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["quick"],
            "n_images": 10000,
            "top_fraction": 0.01,
            "n_neurons": 4,
            "n_shown": 8,
            "rf_units": 4,
            "rf_images": 8,
            "occluder_size": 3,
            "occluder_stride": 2,
        },
        "full": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["full"],
            "n_images": 10000,
            "top_fraction": 0.01,
            "n_neurons": 8,
            "n_shown": 12,
            "rf_units": 16,
            "rf_images": 50,
            "occluder_size": 3,
            "occluder_stride": 1,
        },
    },
    "03": {
        "quick": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["quick"],
            "n_show": 4,
            "n_discriminative": 100,
        },
        "full": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["full"],
            "n_show": 6,
            "n_discriminative": 10000,
        },
    },
    "04": {
        "quick": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["quick"],
            "n_show": 3,
            "windows": [2, 4, 8],
            "stride": 2,
            "agreement_window": 4,
            "n_images": 32,
            "faithfulness_steps": 8,
        },
        "full": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["full"],
            "n_show": 6,
            "windows": [2, 4, 8, 14],
            "stride": 2,
            "agreement_window": 4,
            # occlusion (169 windows, 170 forward passes, per image at stride 2) and the deletion and insertion
            # curves (2 x 28 steps x 5 methods) over 2,000 images: ~3 million forward passes per
            # model, about 20 min of one CPU core for the three; 10,000 images would take 1.5 h
            "n_images": 2000,
            "faithfulness_steps": 28,
        },
    },
    "05": {
        "quick": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["quick"],
            "n_images": 1000,
            "eps_values": [0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3],
            "surface_models": ["vgg", "resnet"],
            "surface_images": 16,
            "surface_points": 21,
            "surface_range": 0.2,
        },
        "full": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["full"],
            "n_images": 10000,
            "eps_values": [0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3],
            "surface_models": ["vgg", "resnet"],
            "surface_images": 100,
            "surface_points": 41,
            "surface_range": 0.2,
        },
    },
    "06": {
        "quick": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["quick"],
            "binary_classes": [7, 9],
            "binary_train_size": 2000,
            "binary_epochs": 2,
            "binary_images": 200,
            "n_images": 200,
            "overshoot": 0.02,
            "max_iter": 50,
            "num_candidates": 10,
            "fgsm_eps_max": 0.5,
            "fgsm_eps_steps": 51,
        },
        "full": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["full"],
            "binary_classes": [7, 9],
            "binary_train_size": 12000,
            "binary_epochs": 5,
            "binary_images": 2000,
            "n_images": 10000,
            "overshoot": 0.02,
            "max_iter": 50,
            "num_candidates": 10,
            "fgsm_eps_max": 0.5,
            "fgsm_eps_steps": 101,
        },
    },
    "07": {
        "quick": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["quick"],
            "n_sweep": 100,
            "eps_values": [0.01, 0.03, 0.1],
            "ifgsm_steps": 5,
            "n_ensemble": 60,
            "k_targets": 2,
            "adam_step_255": 10,
            "adam_steps": 20,
        },
        "full": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["full"],
            # 2,000 test images, not 10,000: the I-FGSM sweep (7 budgets x 20 steps x 3 models),
            # the set of 2,000 x 9 targets (20 Adam steps on 3 models) and the transfer sources
            # (6 more attacks) are ~2.3 million forward-backward passes, about 30 min of one CPU
            # core; all 10,000 images would take about 2.5 h. Intervals at 2,000 are about +-2 %.
            "n_sweep": 2000,
            "eps_values": [0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3],
            "ifgsm_steps": 20,
            "n_ensemble": 2000,
            "k_targets": 9,
            "adam_step_255": 10,
            "adam_steps": 20,
        },
    },
    "08": {
        "quick": {
            "seed": 0,
            "oracle_arch": "resnet",
            **ZOO_TRAINING["quick"],
            "n_seed": 150,
            "n_eval": 400,
            "rounds": 4,
            "aug_step": 0.1,
            "surrogate_epochs": 5,
            "eps": 0.1,
        },
        "full": {
            "seed": 0,
            "oracle_arch": "resnet",
            **ZOO_TRAINING["full"],
            "n_seed": 150,
            "n_eval": 9850,
            "rounds": 7,
            "aug_step": 0.1,
            "surrogate_epochs": 10,
            "eps": 0.1,
        },
    },
    "10": {
        "quick": {"seed": 0, "sigma": 1.0, "sigma_values": [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0]},
        "full": {"seed": 0, "sigma": 1.0, "sigma_values": [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0]},
    },
    "11": {
        "quick": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["quick"],
            "n_images": 1000,
            "k_targets": 2,
            "adam_step_255": 5,
            "adam_steps": 20,
            "eps": 0.2,
            "top_fraction": 0.01,
            "sigma": 1.0,
            "n_bootstrap": 500,
            "sensitivity_sigmas": [0.5, 1.0, 2.0],
            "sweep_eps": [0.05, 0.1, 0.2],
            "sweep_images": 300,  # x 2 targets x 2 new bounds: 1,200 adversarial images, once, into the cache
            "n_neurons_shown": 2,
            "n_shown": 8,
            "patch_size": 5,
            "patch_stride": 2,
            "dataset": "fashion-mnist",
            "results_dir": None,
        },
        "full": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["full"],
            "n_images": 10000,
            "k_targets": 9,
            "adam_step_255": 5,
            "adam_steps": 20,
            "eps": 0.2,
            "top_fraction": 0.01,
            "sigma": 1.0,
            "n_bootstrap": 1000,
            "sensitivity_sigmas": [0.5, 1.0, 2.0],
            "sweep_eps": [0.05, 0.1, 0.2],
            # 2,000 sources x 9 targets x 2 new bounds = 36,000 adversarial images: ~15 min on one core
            # (the shared 90,000-image set takes 37 min), once, into the cache
            "sweep_images": 2000,
            "n_neurons_shown": 4,
            "n_shown": 12,
            "patch_size": 5,
            "patch_stride": 2,
            "dataset": "fashion-mnist",
            "results_dir": None,
        },
        # The paper's protocol on ILSVRC-2012 val with torchvision's ImageNet nets: 10
        # least-likely targets, Adam step 5/255, 10 iterations (the paper: 10-20), top 1%
        # of the last conv layer. eps = 0.2 never binds (10 steps of at most ~5/255 each).
        # 2,000 images (2 per class, 20,000 adversarial) keep the notebook's in-memory
        # tensors at ~40 GB peak; discrepancy maps as Zhou et al. (11x11 patch, stride 3).
        # train_size/train_epochs are unused here (no zoo models), kept for one parameter set.
        "imagenet": {
            "seed": 0,
            "archs": ["alexnet", "vgg16", "resnet18"],
            **ZOO_TRAINING["quick"],
            "n_images": 2000,
            "k_targets": 10,
            "adam_step_255": 5,
            "adam_steps": 10,
            "eps": 0.2,
            "top_fraction": 0.01,
            "sigma": 1.0,
            "n_bootstrap": 1000,
            "sensitivity_sigmas": [0.5, 1.0, 2.0],
            "sweep_eps": [0.05, 0.1, 0.2],
            "sweep_images": 0,  # the eps sweep builds Fashion-MNIST sets; eps = 0.2 never binds here anyway
            "n_neurons_shown": 4,
            "n_shown": 8,
            "patch_size": 11,
            "patch_stride": 3,
            "dataset": "imagenet-val",
            "results_dir": None,
        },
    },
    "09": {
        "quick": {
            "seed": 0,
            "archs": ["resnet"],
            **ZOO_TRAINING["quick"],
            "n_eval": 500,
            **ADV_TRAINING["quick"],
            "pgd_eval_steps": 10,
            "surface_images": 16,
            "surface_points": 21,
            "surface_range": 0.2,
            "strong_images": 200,
            "strong_pgd_steps": 20,
            "strong_pgd_restarts": 1,
            "strong_apgd_steps": 20,
            "strong_targets": 3,
        },
        "full": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["full"],
            "n_eval": 10000,
            **ADV_TRAINING["full"],
            "pgd_eval_steps": 20,
            "surface_images": 100,
            "surface_points": 41,
            "surface_range": 0.2,
            "strong_images": 1000,
            "strong_pgd_steps": 50,
            "strong_pgd_restarts": 2,
            "strong_apgd_steps": 100,
            "strong_targets": 3,
        },
    },
    "15": {
        "quick": {"seed": 0, "report_profiles": ["quick", "full", "imagenet"]},
        "full": {"seed": 0, "report_profiles": ["quick", "full", "imagenet"]},
    },
    "12": {
        "quick": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["quick"],
            **ADV_TRAINING["quick"],
            "variants": ["consistent-AT", "FGSM-AT", "PGD-AT", "feature-consistent-AT"],
            "ensemble_archs": ["alexnet", "vgg", "resnet"],
            "n_images": 1000,
            "k_targets": 2,
            "adam_step_255": 5,
            "adam_steps": 20,
            "advset_eps": 0.2,
            "top_fraction": 0.01,
            "sigma": 1.0,
            "n_bootstrap": 500,
            "whitebox_images": 500,
            "whitebox_variants": ["standard", "consistent-AT"],
            "n_eval": 500,
            "fgsm_eps": 0.1,
            "paper_fgsm_eps_255": 1,
            "bins": 20,
            **ABLATION["quick"],
        },
        "full": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["full"],
            **ADV_TRAINING["full"],
            "variants": ["consistent-AT", "FGSM-AT", "PGD-AT", "feature-consistent-AT"],
            "ensemble_archs": ["alexnet", "vgg", "resnet"],
            "n_images": 10000,
            "k_targets": 9,
            "adam_step_255": 5,
            "adam_steps": 20,
            "advset_eps": 0.2,
            "top_fraction": 0.01,
            "sigma": 1.0,
            "n_bootstrap": 1000,
            "whitebox_images": 2000,  # x 9 targets x 15 models: ~18 min of white-box attacks on 2 cores
            "whitebox_variants": ["standard", "consistent-AT", "FGSM-AT", "PGD-AT", "feature-consistent-AT"],
            "n_eval": 10000,
            "fgsm_eps": 0.1,
            "paper_fgsm_eps_255": 1,
            "bins": 20,
            **ABLATION["full"],
        },
    },
    "14": {
        "quick": {
            "seed": 0,
            "archs": ["resnet"],
            **ZOO_TRAINING["quick"],
            **ADV_TRAINING["quick"],
            "variants": ["standard", "consistent-AT"],
            "n_images": 128,
            "advset_images": 1000,
            "k_targets": 2,
            "adam_step_255": 5,
            "adam_steps": 20,
            "advset_eps": 0.2,
            "pgd_steps": 10,
            "pgd_step": 0.025,
            "deepfool_overshoot": 0.02,
            "deepfool_candidates": 4,
            "occlusion_window": 7,
            "occlusion_stride": 7,
            "top_fraction": 0.1,
            "n_bootstrap": 500,
            "explanation_steps": 10,
            "cutoffs": [0.05, 0.1, 0.2, 0.3, 0.5],
            "low_cutoff": 0.15,
            "n_show": 3,
        },
        "full": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            **ZOO_TRAINING["full"],
            **ADV_TRAINING["full"],
            "variants": ["standard", "consistent-AT"],
            "n_images": 1000,
            "advset_images": 10000,
            "k_targets": 9,
            "adam_step_255": 5,
            "adam_steps": 20,
            "advset_eps": 0.2,
            "pgd_steps": 20,
            "pgd_step": 0.01,
            "deepfool_overshoot": 0.02,
            "deepfool_candidates": 10,
            "occlusion_window": 4,
            # stride 4 (7 x 7 = 49 windows an image): stride 2 (169 windows) costs ~10 million
            # forward passes over 10 image sets x 1,000 images x 6 models, over an hour on one core
            "occlusion_stride": 4,
            "top_fraction": 0.1,
            "n_bootstrap": 1000,
            "explanation_steps": 20,
            "cutoffs": [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5],
            "low_cutoff": 0.15,
            "n_show": 4,
        },
    },
    "13": {
        "quick": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            "explain_arch": "vgg",
            **ZOO_TRAINING["quick"],
            **ADV_TRAINING["quick"],
            "n_agreement": 200,
            "n_images": 1000,
            "k_targets": 2,
            "adam_step_255": 5,
            "adam_steps": 20,
            "advset_eps": 0.2,
            "top_fraction": 0.01,
            "sigma": 1.0,
            "top_k": 4,
            "n_shown": 5,
            "curve_steps": 16,
        },
        "full": {
            "seed": 0,
            "archs": ["alexnet", "vgg", "resnet"],
            "explain_arch": "vgg",
            **ZOO_TRAINING["full"],
            **ADV_TRAINING["full"],
            "n_agreement": 10000,
            "n_images": 10000,
            "k_targets": 9,
            "adam_step_255": 5,
            "adam_steps": 20,
            "advset_eps": 0.2,
            "top_fraction": 0.01,
            "sigma": 1.0,
            "top_k": 5,
            "n_shown": 8,
            "curve_steps": 32,
        },
    },
    # (new chapters: add an entry above this line, in chapter order)
}

PROFILE_NAMES = ("quick", "full", "imagenet")
PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    profile: {ch: by_profile[profile] for ch, by_profile in sorted(CHAPTERS.items()) if profile in by_profile}
    for profile in PROFILE_NAMES
}


def adversarial_set_recipe(params: Mapping[str, Any], *, eps: str | None = "advset_eps") -> AdversarialSetRecipe:
    """The adversarial set a chapter's parameters describe: ``k_targets`` least-likely
    targets, ``adam_steps`` Adam steps of ``adam_step_255 / 255``, and the L-inf bound
    ``params[eps]`` (chapter 11 calls it ``eps``, chapters 12-14 ``advset_eps``; None:
    unbounded, as chapter 7's set).

    The chapters state Adam's step on the paper's 0..255 scale (its "step 5"); this is
    the one place where it becomes the library's [0, 1] pixel units.

    Raises:
        KeyError: a parameter is missing (its name given).
    """
    needed = ["k_targets", "adam_step_255", "adam_steps"] + ([] if eps is None else [eps])
    missing = [k for k in needed if k not in params]
    if missing:
        raise KeyError(f"the chapter's parameters lack {', '.join(missing)} (needed for its adversarial set)")
    return AdversarialSetRecipe(
        k=params["k_targets"],
        step_size=params["adam_step_255"] / 255,
        steps=params["adam_steps"],
        eps=None if eps is None else params[eps],
    )


def profile_names() -> list[str]:
    return list(PROFILES)


def chapter_parameters(profile: str, chapter: str) -> dict[str, Any]:
    """The notebook parameters of ``chapter`` (two digits, e.g. ``"01"``) under ``profile``,
    including ``profile`` itself. Raises ValueError for an unknown profile or a chapter
    the profile does not cover, naming what exists."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; known profiles: {', '.join(PROFILES)}")
    chapters = PROFILES[profile]
    if chapter not in chapters:
        covered = ", ".join(sorted(chapters)) or "none yet"
        raise ValueError(f"profile {profile!r} has no parameters for chapter {chapter!r} (it covers: {covered})")
    return {"profile": profile, **chapters[chapter]}
