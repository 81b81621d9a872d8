"""Chapter 14's pipeline: explanations of attacked images, an attack on the explanation,
and the Fourier view of adversarial perturbations.

The chapter runs, per model, these steps in this order (each a function here; the
random draws are those of the seeded generators passed down, so a run repeats exactly):

1. :func:`attack_images`: FGSM, PGD, DeepFool and the (cached) ensemble attack on the
   same images, plus sign noise of FGSM's size (:func:`sign_noise`) as a reference;
   the model's predictions on each (:class:`AttackedImages`).
2. :func:`attacked_maps`: Grad-CAM, |guided backprop| and occlusion of the clean images
   (true class) and of every perturbed set, for the true class and for the class the
   model now predicts (:class:`AttackedMaps`).
3. :func:`map_agreements`: Spearman correlation and top-fraction overlap of each clean
   map with each perturbed map (:func:`~advinterp_lib.interpret.agreement.map_agreement`).
4. :func:`explanation_attack_study`: the reverse attack, which keeps the prediction and
   moves the Grad-CAM map (:func:`~advinterp_lib.attacks.explanation.grad_cam_attack`),
   against noise of the same budget.
5. :func:`perturbation_spectra`, :func:`phase_swap`, :func:`perturbation_parts`,
   :func:`filtered_accuracy`: where in the spectrum the perturbation lives, and whether
   its phase or its amplitude carries the attack.

The ``*_table`` and ``*_lines`` functions lay the numbers out as markdown for the
chapter (:func:`~advinterp_lib.tables.markdown_table`). Figures: the chapter's
:mod:`advinterp_lib.plotting.attacked_explanations`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..attacks.deepfool import deepfool
from ..attacks.explanation import ExplanationAttackResult, grad_cam_attack, grad_cam_distribution, map_shift
from ..attacks.fgsm import fgsm
from ..attacks.pgd import pgd
from ..data import AdversarialSet
from ..interpret.agreement import map_agreement
from ..interpret.attribution import grad_cam, guided_backprop, occlusion
from ..interpret.fourier import (
    average_amplitude,
    high_pass,
    low_frequency_energy,
    low_pass,
    mean_amplitude_spectrum,
    radial_profile,
    scramble_phase,
    swap_amplitude_phase,
    unit_norm,
)
from ..models.state import predicted_labels
from ..stats import bootstrap_mean
from ..tables import markdown_table
from ..validation import check_images, check_int, check_labels, check_number

__all__ = [
    "ATTACKS",
    "SETTINGS",
    "METHODS",
    "COMPARISONS",
    "MIN_FOOLED",
    "AttackedImages",
    "AttackedMaps",
    "PerturbationSpectra",
    "first_target_images",
    "sign_noise",
    "attack_images",
    "explanation_maps",
    "attacked_maps",
    "map_agreements",
    "explanation_attack_study",
    "perturbation_spectra",
    "phase_swap",
    "perturbation_parts",
    "filtered_accuracy",
    "accuracy_table",
    "agreement_table",
    "grad_cam_lines",
    "explanation_attack_table",
    "low_share_table",
    "low_frequency_verdicts",
    "swap_table",
    "parts_table",
    "filtered_lines",
    "full_profile_table",
]

#: The attacks, in the chapter's order.
ATTACKS: tuple[str, ...] = ("FGSM", "PGD", "DeepFool", "ensemble")
#: The attacks and the reference: sign noise of FGSM's L-inf size.
SETTINGS: tuple[str, ...] = (*ATTACKS, "noise")
#: The explanation methods compared.
METHODS: tuple[str, ...] = ("Grad-CAM", "guided backprop", "occlusion")
#: The comparisons of the agreement tables, in their column order.
COMPARISONS: tuple[str, ...] = (
    "noise, true class",
    *(f"{s}, {c}" for s in ATTACKS for c in ("true class", "adv. class")),
    "another image",
)
#: Fewer fooled images than this and a comparison over fooled images is left out.
MIN_FOOLED = 5


def _predict(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Top-1 classes of ``images`` in one batch (the chapter's numbers were made so)."""
    return predicted_labels(model, images, batch_size=max(1, images.shape[0]))


def first_target_images(advset: AdversarialSet, n: int, k: int) -> torch.Tensor:
    """The first adversarial image (the least-likely target) of each of the first ``n``
    source images of a set with ``k`` targets per source.

    Args:
        advset: the set, rows ordered by source image, then by target.
        n: source images, 1 <= n <= ``advset.num_sources``.
        k: targets per source image (``advset.k``).

    Returns:
        float32 [n, C, H, W] in [0, 1].

    Raises:
        ValueError: bad ``n`` or ``k``, or rows not ordered by source image.
    """
    n = check_int(n, "n", minimum=1, maximum=advset.num_sources)
    k = check_int(k, "k", minimum=1)
    if k != advset.k:
        raise ValueError(f"k must be the set's targets per source image ({advset.k}), got {k}")
    rows = torch.arange(n) * k
    if not torch.equal(advset.source_index[rows], torch.arange(n)):
        raise ValueError("the adversarial set's rows are not ordered by source image, then target")
    return advset.images[rows]


def sign_noise(x: torch.Tensor, eps: float, *, seed: int) -> torch.Tensor:
    """Every pixel moved by ``+eps`` or ``-eps`` at random, then clamped to [0, 1]: the
    reference "perturbation" of FGSM's L-inf size.

    Args:
        x: float images [N, C, H, W] in [0, 1].
        eps: the step, in [0, 1] pixel units.
        seed: of the CPU generator that draws the signs.

    Returns:
        float [N, C, H, W] in [0, 1] on ``x``'s device.

    Raises:
        TypeError / ValueError: bad images or ``eps``.
    """
    x = check_images(x)
    eps = check_number(eps, "eps", minimum=0.0, maximum=1.0)
    generator = torch.Generator().manual_seed(int(seed))
    signs = (2 * torch.randint(0, 2, x.shape, generator=generator) - 1).to(x.device)
    return (x + eps * signs).clamp(0, 1)


@dataclass(frozen=True)
class AttackedImages:
    """One model's clean images, their perturbed versions and its predictions.

    Attributes:
        x: float [N, C, H, W], the clean images; ``y``: int64 [N], their labels.
        images: setting (:data:`SETTINGS`) -> float [N, C, H, W], the perturbed images.
        clean_prediction: int64 [N], the model's classes of ``x``.
        prediction: setting -> int64 [N], its classes of the perturbed images.
        seconds: wall time of the three white-box attacks.
    """

    x: torch.Tensor
    y: torch.Tensor
    images: dict[str, torch.Tensor]
    clean_prediction: torch.Tensor
    prediction: dict[str, torch.Tensor]
    seconds: float

    def fooled(self, setting: str) -> torch.Tensor:
        """bool [N]: the perturbed image is misclassified."""
        return self.prediction[setting] != self.y

    def accuracy(self) -> dict[str, float]:
        """``{"clean": ..., setting: ...}``, shares in [0, 1]."""
        acc = {"clean": float((self.clean_prediction == self.y).float().mean())}
        return acc | {s: float((p == self.y).float().mean()) for s, p in self.prediction.items()}

    def perturbation_size(self) -> dict[str, dict[str, float]]:
        """setting -> ``{"linf", "l2"}``: the perturbation's mean L-inf and L2 norm over images."""
        out = {}
        for s, images in self.images.items():
            delta = (images - self.x).flatten(1)
            out[s] = {"linf": float(delta.abs().amax(1).mean()), "l2": float(delta.norm(dim=1).mean())}
        return out


def attack_images(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    pgd_step: float,
    pgd_steps: int,
    deepfool_overshoot: float,
    deepfool_candidates: int,
    ensemble: torch.Tensor,
    noise: torch.Tensor,
) -> AttackedImages:
    """FGSM and PGD (untargeted, L-inf ``eps``) and DeepFool (label-free, no budget) on
    ``model``, beside the given ensemble-attack images and noise, and the model's
    predictions on all of them.

    Args:
        model: classifier, pixels in [0, 1] -> logits.
        x: float images [N, C, H, W] in [0, 1]; ``y``: int [N], their labels.
        eps, pgd_step, pgd_steps: the budget, PGD's step and steps (no random start).
        deepfool_overshoot, deepfool_candidates: DeepFool's overshoot and the number of
            top-scoring classes it considers.
        ensemble, noise: float [N, C, H, W], the ensemble attack's images (crafted on
            other models) and the noise reference (:func:`sign_noise`).

    Returns:
        :class:`AttackedImages` (settings in the order of :data:`SETTINGS`).

    Raises:
        TypeError / ValueError: bad images, labels or budgets (from the attacks), or
            ``ensemble`` / ``noise`` not of ``x``'s shape.
    """
    x = check_images(x, model=model)
    y = check_labels(y, x.shape[0], None)
    for name, given in (("ensemble", ensemble), ("noise", noise)):
        if not isinstance(given, torch.Tensor) or given.shape != x.shape:
            raise ValueError(
                f"{name} must be a tensor of x's shape {tuple(x.shape)}, got {getattr(given, 'shape', given)}"
            )
    start = time.perf_counter()
    images = {
        "FGSM": fgsm(model, x, y, eps=eps),
        "PGD": pgd(model, x, y, eps=eps, step_size=pgd_step, steps=pgd_steps),
        "DeepFool": deepfool(model, x, overshoot=deepfool_overshoot, num_candidates=deepfool_candidates).x_adv,
        "ensemble": ensemble,
        "noise": noise,
    }
    seconds = time.perf_counter() - start
    return AttackedImages(
        x=x,
        y=y,
        images=images,
        clean_prediction=_predict(model, x),
        prediction={s: _predict(model, images[s]) for s in SETTINGS},
        seconds=seconds,
    )


def explanation_maps(
    model: nn.Module, images: torch.Tensor, target: torch.Tensor, *, window: int, stride: int, chunk_size: int = 64
) -> dict[str, torch.Tensor]:
    """The three maps of :data:`METHODS` of ``images`` for ``target``, each [N, 1, H, W]:
    Grad-CAM (last conv layer), |guided backprop| and occlusion (``window``, ``stride``).

    Occlusion runs ``chunk_size`` images at a time (Captum's occlusion slows down on
    large batches).

    Raises:
        TypeError / ValueError: bad images, targets or window (from the methods).
    """
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    return {
        "Grad-CAM": grad_cam(model, images, target),
        "guided backprop": guided_backprop(model, images, target).abs(),
        "occlusion": torch.cat(
            [
                occlusion(model, i, t, window=window, stride=stride)
                for i, t in zip(images.split(chunk_size), target.split(chunk_size), strict=True)
            ]
        ),
    }


@dataclass(frozen=True)
class AttackedMaps:
    """One model's explanation maps (method -> [N, 1, H, W] in each dict).

    Attributes:
        clean: the clean images' maps for the true class.
        true_class: setting -> the perturbed images' maps for the true class.
        adversarial_class: attack -> the attacked images' maps for the class the
            model predicts on them.
        seconds: wall time of the maps.
    """

    clean: dict[str, torch.Tensor]
    true_class: dict[str, dict[str, torch.Tensor]]
    adversarial_class: dict[str, dict[str, torch.Tensor]]
    seconds: float


def attacked_maps(model: nn.Module, attacked: AttackedImages, *, window: int, stride: int) -> AttackedMaps:
    """:func:`explanation_maps` of the clean images (true class), of every perturbed set
    (true class) and of every attacked set (the class the model now predicts), computed
    as one batch per method.

    Args:
        model: the model ``attacked`` was made on.
        attacked: from :func:`attack_images`.
        window, stride: occlusion's window and stride (pixels).

    Returns:
        :class:`AttackedMaps`.
    """
    n = attacked.x.shape[0]
    start = time.perf_counter()
    images = torch.cat([attacked.x] + [attacked.images[s] for s in SETTINGS] + [attacked.images[s] for s in ATTACKS])
    targets = torch.cat([attacked.y] * (1 + len(SETTINGS)) + [attacked.prediction[s] for s in ATTACKS])
    chunks = {
        m: heat.split(n) for m, heat in explanation_maps(model, images, targets, window=window, stride=stride).items()
    }
    return AttackedMaps(
        clean={m: c[0] for m, c in chunks.items()},
        true_class={s: {m: c[1 + i] for m, c in chunks.items()} for i, s in enumerate(SETTINGS)},
        adversarial_class={s: {m: c[1 + len(SETTINGS) + i] for m, c in chunks.items()} for i, s in enumerate(ATTACKS)},
        seconds=time.perf_counter() - start,
    )


def map_agreements(
    maps: AttackedMaps,
    attacked: AttackedImages,
    *,
    fraction: float,
    num_samples: int,
    seed: int,
    min_fooled: int = MIN_FOOLED,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Agreement of each clean map with each perturbed map, per method.

    For each method: ``"another image"`` (image ``i`` against image ``i - 1``: what
    "unrelated" looks like), ``"<setting>, true class"`` for every setting and
    ``"<attack>, adv. class"`` over the images the attack fooled (left out where fewer
    than ``min_fooled`` were).

    Returns:
        method -> comparison -> :meth:`MapAgreement.to_dict
        <advinterp_lib.interpret.agreement.MapAgreement.to_dict>` (mean and bootstrap
        interval of the Spearman correlation and the top-``fraction`` overlap).
    """
    min_fooled = check_int(min_fooled, "min_fooled", minimum=1)

    def agree(a: torch.Tensor, b: torch.Tensor) -> dict[str, Any]:
        return map_agreement(a, b, fraction=fraction, num_samples=num_samples, seed=seed).to_dict()

    other = torch.roll(torch.arange(attacked.x.shape[0]), 1)
    out = {}
    for method in METHODS:
        real = maps.clean[method]
        entry = {"another image": agree(real, real[other])}
        for s in SETTINGS:
            entry[f"{s}, true class"] = agree(real, maps.true_class[s][method])
        for s in ATTACKS:
            fooled = attacked.fooled(s)
            if int(fooled.sum()) >= min_fooled:
                entry[f"{s}, adv. class"] = agree(real[fooled], maps.adversarial_class[s][method][fooled])
        out[method] = entry
    return out


def explanation_attack_study(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor,
    noise: torch.Tensor,
    *,
    eps: float,
    steps: int,
    fraction: float,
    num_samples: int,
    seed: int,
) -> tuple[ExplanationAttackResult, dict[str, Any]]:
    """Attack the Grad-CAM map of ``target`` (keeping the prediction) and compare with noise.

    Args:
        model: the classifier.
        x: float images [N, C, H, W] in [0, 1].
        target: int64 [N], the class whose map is moved (the model's prediction on ``x``).
        noise: float [N, C, H, W], noise of the same budget (:func:`sign_noise`).
        eps, steps: the attack's L-inf budget and ascent steps; its random start is
            drawn from a generator seeded with ``seed``.
        fraction, num_samples, seed: of :func:`map_agreement` and the bootstrap intervals.

    Returns:
        ``(result, summary)``: the attack's :class:`ExplanationAttackResult` and a
        JSON-ready dict: ``prediction_kept_everywhere``, ``seconds``, ``shift`` and
        ``noise_shift`` (mean and interval of the share of the map moved, attack and
        noise), ``spearman_attacked`` / ``spearman_noise`` and ``overlap_attacked`` /
        ``overlap_noise`` (agreement of the upsampled Grad-CAM maps with the clean one).
    """
    start = time.perf_counter()
    result = grad_cam_attack(model, x, target, eps=eps, steps=steps, generator=torch.Generator().manual_seed(seed))
    elapsed = time.perf_counter() - start
    noise_shift = map_shift(grad_cam_distribution(model, noise, target), grad_cam_distribution(model, x, target))
    kept = bool((_predict(model, result.x_adv) == target).all())

    def agree(a: torch.Tensor, b: torch.Tensor) -> dict[str, Any]:
        return map_agreement(a, b, fraction=fraction, num_samples=num_samples, seed=seed).to_dict()

    moved = agree(grad_cam(model, x, target), grad_cam(model, result.x_adv, target))
    noise_moved = agree(grad_cam(model, x, target), grad_cam(model, noise, target))
    summary = {
        "prediction_kept_everywhere": kept,
        "seconds": elapsed,
        "shift": bootstrap_mean(result.shift, num_samples=num_samples, seed=seed).to_dict(),
        "noise_shift": bootstrap_mean(noise_shift, num_samples=num_samples, seed=seed).to_dict(),
        "spearman_attacked": moved["spearman"],
        "spearman_noise": noise_moved["spearman"],
        "overlap_attacked": moved["overlap"],
        "overlap_noise": noise_moved["overlap"],
    }
    return result, summary


@dataclass(frozen=True)
class PerturbationSpectra:
    """The spectra of one model's perturbations ``delta = x' - x`` (setting -> value).

    Attributes:
        spectrum: [H, W], the mean amplitude spectrum of the unit-norm perturbations
            (``fftshift``-ed: zero frequency in the centre).
        radius: [B], the ring centres of the radial profiles (cycles per pixel).
        profile: [B], ``spectrum`` averaged over rings of equal radius.
        low_share: mean and bootstrap interval (a :class:`~advinterp_lib.stats.MeanInterval`
            dict) of the share of each perturbation's energy at radius <= the cut-off.
    """

    spectrum: dict[str, torch.Tensor]
    radius: torch.Tensor
    profile: dict[str, torch.Tensor]
    low_share: dict[str, dict[str, Any]]


def perturbation_spectra(
    attacked: AttackedImages, *, cutoff: float, num_samples: int, seed: int
) -> PerturbationSpectra:
    """:class:`PerturbationSpectra` of every setting's perturbations (all-zero ones,
    where an image was left unchanged, are skipped).

    Args:
        attacked: from :func:`attack_images`.
        cutoff: the radius (cycles per pixel) below which energy counts as low-frequency.
        num_samples, seed: of the bootstrap intervals.
    """
    spectrum, profile, low_share = {}, {}, {}
    radius = torch.empty(0)
    for s in SETTINGS:
        delta = attacked.images[s] - attacked.x
        keep = delta.flatten(1).norm(dim=1) > 0
        spectrum[s] = mean_amplitude_spectrum(unit_norm(delta[keep]))
        radius, profile[s] = radial_profile(spectrum[s])
        share = low_frequency_energy(delta[keep], cutoff)
        low_share[s] = bootstrap_mean(share, num_samples=num_samples, seed=seed).to_dict()
    return PerturbationSpectra(spectrum=spectrum, radius=radius, profile=profile, low_share=low_share)


def phase_swap(
    model: nn.Module, attacked: AttackedImages, *, min_fooled: int = MIN_FOOLED
) -> dict[str, dict[str, Any]]:
    """The amplitude-phase swap between each fooled image and its clean version.

    Two hybrids per image (clamped to [0, 1]): ``"adversarial phase"`` (the attacked
    image's phase, the clean amplitude) and ``"adversarial amplitude"`` (the reverse).

    Returns:
        attack -> ``{"n": fooled images, hybrid: {"keeps_adversarial_label": share,
        "true_label": share}}``; attacks that fooled fewer than ``min_fooled`` images
        are left out.
    """
    min_fooled = check_int(min_fooled, "min_fooled", minimum=1)
    out: dict[str, dict[str, Any]] = {}
    for s in ATTACKS:
        fooled = attacked.fooled(s)
        if int(fooled.sum()) < min_fooled:
            continue
        xa, xc, adv_label = attacked.images[s][fooled], attacked.x[fooled], attacked.prediction[s][fooled]
        hybrids = {
            "adversarial phase": swap_amplitude_phase(xa, xc),
            "adversarial amplitude": swap_amplitude_phase(xc, xa),
        }
        out[s] = {"n": int(fooled.sum())}
        for kind, h in hybrids.items():
            p = _predict(model, h)
            out[s][kind] = {
                "keeps_adversarial_label": float((p == adv_label).float().mean()),
                "true_label": float((p == attacked.y[fooled]).float().mean()),
            }
    return out


def perturbation_parts(
    model: nn.Module, attacked: AttackedImages, *, seed: int, min_fooled: int = MIN_FOOLED
) -> dict[str, dict[str, float]]:
    """Which part of the perturbation ``delta`` carries the attack, on the fooled images.

    ``"phase"``: ``x + delta`` with ``delta``'s amplitude replaced by the mean amplitude
    spectrum of all the attack's perturbations (:func:`average_amplitude`);
    ``"amplitude"``: ``delta``'s amplitude with a random phase (:func:`scramble_phase`,
    generator seeded with ``seed``); each clamped to [0, 1].

    Returns:
        attack -> ``{"phase": share, "amplitude": share}``, the shares of the fooled
        images still given the adversarial label; attacks that fooled fewer than
        ``min_fooled`` images are left out.
    """
    min_fooled = check_int(min_fooled, "min_fooled", minimum=1)
    out = {}
    for s in ATTACKS:
        fooled = attacked.fooled(s)
        if int(fooled.sum()) < min_fooled:
            continue
        delta = (attacked.images[s] - attacked.x)[fooled]
        xc, adv_label = attacked.x[fooled], attacked.prediction[s][fooled]
        variants = {
            "phase": average_amplitude(delta),
            "amplitude": scramble_phase(delta, generator=torch.Generator().manual_seed(seed)),
        }
        out[s] = {
            k: float((_predict(model, (xc + d).clamp(0, 1)) == adv_label).float().mean()) for k, d in variants.items()
        }
    return out


def filtered_accuracy(
    model: nn.Module, attacked: AttackedImages, cutoffs: Sequence[float]
) -> dict[str, dict[str, list[float]]]:
    """Accuracy on ``x + low_pass(delta, r)`` and ``x + high_pass(delta, r)`` (clamped to
    [0, 1]) for every attack and radial cut-off ``r``.

    Returns:
        attack -> ``{"low_pass": [accuracy per cut-off], "high_pass": [...]}``.

    Raises:
        ValueError: no cut-offs; a negative cut-off.
    """
    cutoffs = list(cutoffs)
    if not cutoffs:
        raise ValueError("cutoffs must name at least one radius")
    x, y = attacked.x, attacked.y
    n = x.shape[0]
    out = {}
    for s in ATTACKS:
        delta = attacked.images[s] - x
        pieces = [low_pass(delta, r) for r in cutoffs] + [high_pass(delta, r) for r in cutoffs]
        predicted = _predict(model, (x.repeat(len(pieces), 1, 1, 1) + torch.cat(pieces)).clamp(0, 1))
        correct = (predicted == y.repeat(len(pieces))).float().view(len(pieces), n).mean(1).tolist()
        out[s] = {"low_pass": correct[: len(cutoffs)], "high_pass": correct[len(cutoffs) :]}
    return out


# --- the chapter's tables and sentences ------------------------------------------------


def _interval(e: Mapping[str, Any]) -> str:
    return f"{e['mean']:.2f} [{e['low']:.2f}, {e['high']:.2f}]"


def accuracy_table(accuracy: Mapping[str, Mapping[str, float]], size: Mapping[str, Mapping[str, Any]]) -> str:
    """Markdown: per model, the accuracy on clean and perturbed images; last row, the
    first model's mean L-inf / L2 perturbation per setting.

    Args:
        accuracy: model -> :meth:`AttackedImages.accuracy`.
        size: model -> :meth:`AttackedImages.perturbation_size`.
    """
    first = size[next(iter(size))]
    rows = [[n, f"{a['clean']:.0%}", *(f"{a[s]:.0%}" for s in SETTINGS)] for n, a in accuracy.items()]
    rows.append(
        ["mean L∞ / L2 of the perturbation", "", *(f"{first[s]['linf']:.2f} / {first[s]['l2']:.2f}" for s in SETTINGS)]
    )
    return markdown_table(["model", "clean", *SETTINGS], rows)


def agreement_table(agreement: Mapping[str, Mapping[str, Mapping[str, Any]]], measure: str) -> str:
    """Markdown: one row per model and method, one column per :data:`COMPARISONS`
    (mean [95 % interval] of ``measure``, ``"spearman"`` or ``"overlap"``; – where left out).

    Raises:
        ValueError: an unknown measure.
    """
    if measure not in ("spearman", "overlap"):
        raise ValueError(f"measure must be 'spearman' or 'overlap', got {measure!r}")
    rows = []
    for name, per_method in agreement.items():
        for method, entry in per_method.items():
            cells = ["–" if c not in entry else _interval(entry[c][measure]) for c in COMPARISONS]
            rows.append([name, method, *cells])
    return markdown_table(["model", "method", *COMPARISONS], rows)


def grad_cam_lines(
    agreement: Mapping[str, Mapping[str, Mapping[str, Any]]], size: Mapping[str, Mapping[str, Any]]
) -> str:
    """Markdown bullets: per model, Grad-CAM's true-class Spearman correlation with the
    clean map under noise, FGSM, PGD and DeepFool, the perturbations' L2 sizes, the
    map of another image and PGD's adversarial-class map (nan where left out)."""
    lines = []
    for name, per_method in agreement.items():
        g = per_method["Grad-CAM"]

        def sp(key: str, g: Mapping[str, Any] = g) -> float:
            return g[key]["spearman"]["mean"] if key in g else float("nan")

        lines.append(
            f"- **{name}**, Grad-CAM for the true class: Spearman {sp('noise, true class'):.2f} with the clean map "
            f"under noise, {sp('FGSM, true class'):.2f} under FGSM, {sp('PGD, true class'):.2f} under PGD, "
            f"{sp('DeepFool, true class'):.2f} under DeepFool (mean L2 {size[name]['DeepFool']['l2']:.2f} against "
            f"PGD's {size[name]['PGD']['l2']:.2f}); the map of another image: {sp('another image'):.2f}. "
            f"For the adversarial class under PGD: {sp('PGD, adv. class'):.2f}."
        )
    return "\n".join(lines)


def explanation_attack_table(summaries: Mapping[str, Mapping[str, Any]]) -> str:
    """Markdown: per model, whether every prediction was kept, the share of the map moved
    (attack with interval, noise) and the Spearman correlation to the clean map (attack,
    noise). ``summaries``: model -> the summary of :func:`explanation_attack_study`."""
    rows = [
        [
            name,
            "all images" if e["prediction_kept_everywhere"] else "NOT all",
            _interval(e["shift"]),
            f"{e['noise_shift']['mean']:.2f}",
            f"{e['spearman_attacked']['mean']:.2f}",
            f"{e['spearman_noise']['mean']:.2f}",
        ]
        for name, e in summaries.items()
    ]
    headers = ["model", "prediction kept", "share of the map moved: attack", ": noise"]
    return markdown_table([*headers, "Spearman to clean map: attack", ": noise"], rows)


def low_share_table(low_share: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """Markdown: per model and setting, the low-frequency share of the perturbations'
    energy, mean [95 % interval]. ``low_share``: model -> :attr:`PerturbationSpectra.low_share`."""
    rows = [[n, *(_interval(share[s]) for s in SETTINGS)] for n, share in low_share.items()]
    return markdown_table(["model", *SETTINGS], rows)


def low_frequency_verdicts(low_share: Mapping[str, Mapping[str, Mapping[str, Any]]], archs: Sequence[str]) -> str:
    """Markdown bullets: for every architecture with both ``arch`` and ``arch-Adv`` in
    ``low_share``, whether the -Adv model's FGSM and PGD perturbations are more or less
    low-frequency than the standard model's (disjoint intervals) or not distinguishable."""
    lines = []
    for arch in archs:
        std, adv = arch, f"{arch}-Adv"
        if std not in low_share or adv not in low_share:
            continue
        for s in ("FGSM", "PGD"):
            a, b = low_share[std][s], low_share[adv][s]
            verdict = (
                "more low-frequency"
                if b["low"] > a["high"]
                else "less low-frequency"
                if b["high"] < a["low"]
                else "not distinguishable (the intervals overlap)"
            )
            lines.append(
                f"- {s} on {arch}: low-frequency share {a['mean']:.2f} (standard) vs {b['mean']:.2f} (-Adv): "
                f"the -Adv perturbation is {verdict}."
            )
    return "\n".join(lines)


def swap_table(swap: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """Markdown: per model and attack, the fooled images and the share of each hybrid of
    :func:`phase_swap` given the adversarial and the true label."""
    rows = []
    for name, per_attack in swap.items():
        for s, e in per_attack.items():
            a, b = e["adversarial phase"], e["adversarial amplitude"]
            rows.append(
                [name, s, e["n"], f"{a['keeps_adversarial_label']:.0%}", f"{a['true_label']:.0%}",
                 f"{b['keeps_adversarial_label']:.0%}", f"{b['true_label']:.0%}"]
            )  # fmt: skip
    headers = ["model", "attack", "fooled images", "adv. phase + clean amplitude: adversarial label", ": true label"]
    return markdown_table([*headers, "clean phase + adv. amplitude: adversarial label", ": true label"], rows)


def parts_table(parts: Mapping[str, Mapping[str, Mapping[str, float]]]) -> str:
    """Markdown: per model and attack, the shares of :func:`perturbation_parts`."""
    rows = [[n, s, f"{e['phase']:.0%}", f"{e['amplitude']:.0%}"] for n in parts for s, e in parts[n].items()]
    headers = ["model", "attack", "δ's phase, mean amplitude: adversarial label"]
    return markdown_table([*headers, "δ's amplitude, random phase: adversarial label"], rows)


def filtered_lines(
    filtered: Mapping[str, Mapping[str, Mapping[str, list[float]]]],
    accuracy: Mapping[str, Mapping[str, float]],
    cutoffs: Sequence[float],
    attacks: Sequence[str] = ("PGD", "DeepFool"),
) -> str:
    """Markdown bullets: per model and attack, the accuracy at the middle cut-off with
    only the low and only the high frequencies of the perturbation, beside the clean and
    full-attack accuracy. ``filtered``: model -> :func:`filtered_accuracy`."""
    mid = len(cutoffs) // 2
    return "\n".join(
        f"- {n}, {s}: accuracy {filtered[n][s]['low_pass'][mid]:.0%} with only the frequencies ≤ {cutoffs[mid]:g}, "
        f"{filtered[n][s]['high_pass'][mid]:.0%} with only those above (clean {accuracy[n]['clean']:.0%}, "
        f"full attack {accuracy[n][s]:.0%})"
        for n in filtered
        for s in attacks
    )


def full_profile_table(record: Mapping[str, Any]) -> str:
    """Markdown: the headline numbers of a results record of this chapter (as
    :func:`~advinterp_lib.runs.prose.committed_results` returns it): per model, Grad-CAM's
    Spearman correlation under PGD and noise, the explanation attack against noise, PGD's
    low-frequency share, and PGD's phase / amplitude test."""
    f = record["numbers"]
    rows = []
    for name in f["models"]:
        g = f["agreement"][name]["Grad-CAM"]

        def cell(key: str, g: Mapping[str, Any] = g) -> str:
            return f"{g[key]['spearman']['mean']:.2f}" if key in g else "–"

        e, sw = f["explanation_attack"][name], f["perturbation_phase_vs_amplitude"][name].get("PGD")
        rows.append(
            [name, cell("PGD, true class"), cell("PGD, adv. class"), cell("noise, true class"),
             f"{e['shift']['mean']:.2f} ({e['noise_shift']['mean']:.2f})",
             f"{f['low_frequency_share'][name]['PGD']['mean']:.2f}",
             f"{sw['phase']:.0%}" if sw else "–", f"{sw['amplitude']:.0%}" if sw else "–"]
        )  # fmt: skip
    headers = ["model", "Grad-CAM Spearman, PGD true class", "PGD adv. class", "noise"]
    headers += ["Grad-CAM attack: share moved (noise)", "PGD low-frequency share"]
    headers += ["PGD, δ's phase only: still fooled", "δ's amplitude only: still fooled"]
    title = (f"**Full profile** ({f['n_images']} images; {record['device']}, {record['date']}, "
             f"{record['wall_time_s'] / 60:.0f} min):")  # fmt: skip
    return title + "\n\n" + markdown_table(headers, rows)
