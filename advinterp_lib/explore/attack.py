"""Attack explorer: pick an image, an attack and a budget; see the adversarial image, the
perturbation, the predictions before and after, and Grad-CAM of both (chapters 5-7)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import torch
from torch import nn

from ..attacks import deepfool, ensemble_attack, fgsm, least_likely_targets, pgd
from ..data import ImageSet
from ..interpret.attribution import grad_cam
from ..models.state import eval_mode
from .base import View, choice_problem, explorer_widget, pixels, problem, range_problem

ATTACKS: tuple[str, ...] = ("FGSM", "PGD", "DeepFool", "ensemble")


def _adversarial(
    models: Mapping[str, nn.Module],
    model: str,
    x: torch.Tensor,
    y: torch.Tensor,
    attack: str,
    eps: float,
    pgd_steps: int,
    ensemble_steps: int,
) -> tuple[torch.Tensor, str]:
    m = models[model]
    if attack == "FGSM":
        return fgsm(m, x, y, eps=eps), f"one signed-gradient step of {eps:.3f}"
    if attack == "PGD":
        return pgd(
            m, x, y, eps=eps, step_size=2.5 * eps / pgd_steps, steps=pgd_steps
        ), f"{pgd_steps} projected steps, L-inf <= {eps:.3f}"
    if attack == "DeepFool":
        return deepfool(m, x).x_adv, "DeepFool's minimal perturbation (eps is not used)"
    target = least_likely_targets(list(models.values()), x, 1)[:, 0]
    x_adv = ensemble_attack(list(models.values()), x, target, step_size=eps / 4, steps=ensemble_steps, eps=eps)
    return x_adv, f"ensemble of {len(models)} models toward its least-likely class, L-inf <= {eps:.3f}"


def attack_view(
    models: Mapping[str, nn.Module],
    images: ImageSet,
    model: str,
    index: int,
    attack: str,
    eps: float,
    *,
    pgd_steps: int = 10,
    ensemble_steps: int = 10,
) -> View:
    """Attack image ``index`` of ``images`` on ``models[model]`` with ``attack`` (one of
    :data:`ATTACKS`; the ensemble attack uses all ``models``) at L-inf budget ``eps``.

    The figure: the image, the adversarial image, the perturbation (amplified to the
    full grey range), Grad-CAM of the predicted class on both, and the class
    probabilities before and after. Returns a message for an unknown model or attack,
    an index outside the images, or ``eps`` outside (0, 1]. Every model's mode is
    restored.
    """
    bad = (
        choice_problem("model", model, list(models))
        or choice_problem("attack", attack, ATTACKS)
        or range_problem("image index", index, 0, len(images) - 1, f"{len(images)} images")
    )
    if bad:
        return bad
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps <= 1:
        return problem(f"eps {eps!r} is out of range: choose a budget in (0, 1] (pixel units; 0.1 = 25.5/255)")
    m = models[model]
    x, y = images.images[index : index + 1], images.labels[index : index + 1]
    x_adv, how = _adversarial(models, model, x, y, attack, float(eps), pgd_steps, ensemble_steps)
    with eval_mode(m), torch.no_grad():
        p, p_adv = m(x).softmax(1)[0], m(x_adv).softmax(1)[0]
    pred, pred_adv = int(p.argmax()), int(p_adv.argmax())
    cams = [grad_cam(m, x, pred)[0, 0], grad_cam(m, x_adv, pred_adv)[0, 0]]
    names = list(images.class_names)
    delta = (x_adv - x)[0]
    linf = float(delta.abs().max())
    fig = plt.figure(figsize=(11, 4.6))
    grid = fig.add_gridspec(2, 5, height_ratios=[1, 0.8])
    shown = [
        (x[0], f"image: {names[int(y)]}"),
        (x_adv[0], f"adversarial ({attack})"),
        (0.5 + delta / (2 * max(linf, 1e-12)), f"perturbation ×{0.5 / max(linf, 1e-12):.0f}"),
    ]
    for j, (img, title) in enumerate(shown):
        ax = fig.add_subplot(grid[0, j])
        ax.imshow(pixels(img), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    for j, (img, cam, label) in enumerate([(x[0], cams[0], pred), (x_adv[0], cams[1], pred_adv)]):
        ax = fig.add_subplot(grid[0, 3 + j])
        ax.imshow(pixels(img), cmap="gray", vmin=0, vmax=1)
        ax.imshow((cam / max(float(cam.max()), 1e-12)).numpy(), cmap="jet", alpha=0.45, vmin=0, vmax=1)
        ax.set_title(f"Grad-CAM: {names[label]}", fontsize=8)
        ax.axis("off")
    ax = fig.add_subplot(grid[1, :])
    positions = torch.arange(len(names)).float()
    ax.bar(positions - 0.2, p.numpy(), width=0.4, label=f"before: {names[pred]} ({float(p[pred]):.0%})")
    ax.bar(positions + 0.2, p_adv.numpy(), width=0.4, label=f"after: {names[pred_adv]} ({float(p_adv[pred_adv]):.0%})")
    ax.set_xticks(positions.tolist(), names, fontsize=7)
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    fig.suptitle(f"{model}: {how}; L-inf = {linf:.3f}, L2 = {float(delta.norm()):.2f}", fontsize=9)
    fig.tight_layout()
    fooled = pred_adv != pred
    numbers = {
        "prediction": pred,
        "adversarial_prediction": pred_adv,
        "linf": linf,
        "fooled": fooled,
        "probabilities": p.tolist(),
        "adversarial_probabilities": p_adv.tolist(),
    }
    verdict = "fooled" if fooled else "not fooled"
    return View(fig, f"{names[pred]} → {names[pred_adv]} ({verdict}; L-inf {linf:.3f})", numbers)


def attack_explorer(
    models: Mapping[str, nn.Module],
    images: ImageSet,
    *,
    model: str | None = None,
    index: int = 0,
    attack: str = "FGSM",
    eps: float = 0.1,
):
    """A widget: model, image, attack and eps controls above :func:`attack_view`."""
    import ipywidgets as widgets

    controls = {
        "model": widgets.Dropdown(options=list(models), value=model or next(iter(models)), description="model"),
        "index": widgets.IntSlider(value=index, min=0, max=len(images) - 1, description="image"),
        "attack": widgets.Dropdown(options=list(ATTACKS), value=attack, description="attack"),
        "eps": widgets.FloatSlider(value=eps, min=0.01, max=0.3, step=0.01, description="eps", readout_format=".2f"),
    }
    return explorer_widget(controls, lambda **v: attack_view(models, images, **v), title="Attack explorer")
