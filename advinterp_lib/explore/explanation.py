"""Explanation explorer: pick an image and a class; see saliency, guided backprop,
Grad-CAM, guided Grad-CAM and occlusion side by side for several models, e.g. a
standard and an -Adv model (chapters 3, 4, 12 and 14)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import torch
from torch import nn

from ..data import ImageSet
from ..interpret.attribution import grad_cam, guided_backprop, guided_grad_cam, occlusion, saliency
from ..models.state import eval_mode
from .base import View, explorer_widget, pixels, problem, range_problem

METHODS: tuple[str, ...] = ("saliency", "guided backprop", "Grad-CAM", "guided Grad-CAM", "occlusion")


def _maps(model: nn.Module, x: torch.Tensor, target: int, window: int) -> list[torch.Tensor]:
    return [
        saliency(model, x, target)[0, 0],
        guided_backprop(model, x, target)[0, 0],
        grad_cam(model, x, target)[0, 0],
        guided_grad_cam(model, x, target)[0, 0],
        occlusion(model, x, target, window=window, stride=max(1, window // 2))[0, 0],
    ]


def explanation_view(
    models: Mapping[str, nn.Module], images: ImageSet, index: int, target: int | None = None, *, window: int = 4
) -> View:
    """Every method of :data:`METHODS` for image ``index`` and class ``target`` (``None``:
    each model's own prediction), one row per model in ``models``.

    Signed maps (guided backprop, guided Grad-CAM, occlusion) are shown on a
    symmetric red-blue scale, the others from zero. Returns a message for an index
    outside the images or a class outside the model's classes. Every model's mode is
    restored.
    """
    if not models:
        return problem("no models to explain: pass at least one")
    names = list(images.class_names)
    bad = range_problem("image index", index, 0, len(images) - 1, f"{len(images)} images")
    if bad is None and target is not None:
        bad = range_problem("class", target, 0, len(names) - 1, ", ".join(f"{i} {n}" for i, n in enumerate(names)))
    if bad:
        return bad
    x, y = images.images[index : index + 1], int(images.labels[index])
    fig, axes = plt.subplots(
        len(models), len(METHODS) + 1, figsize=(2.0 * (len(METHODS) + 1), 2.2 * len(models)), squeeze=False
    )
    numbers: dict[str, dict] = {}
    for row, (name, model) in zip(axes, models.items(), strict=True):
        with eval_mode(model), torch.no_grad():
            p = model(x).softmax(1)[0]
        cls = int(p.argmax()) if target is None else int(target)
        maps = _maps(model, x, cls, window)
        row[0].imshow(pixels(x[0]), cmap="gray", vmin=0, vmax=1)
        row[0].set_title(f"{name}: {names[int(p.argmax())]} ({float(p.max()):.0%})", fontsize=8)
        for ax, method, heat in zip(row[1:], METHODS, maps, strict=True):
            signed = method in ("guided backprop", "guided Grad-CAM", "occlusion")
            scale = max(float(heat.abs().max()), 1e-12)
            ax.imshow(heat.numpy(), cmap="RdBu_r" if signed else "inferno", vmin=-scale if signed else 0, vmax=scale)
            ax.set_title(f"{method}\nfor {names[cls]}", fontsize=7)
        for ax in row:
            ax.axis("off")
        numbers[name] = {
            "prediction": int(p.argmax()),
            "explained_class": cls,
            "map_max": {m: float(h.abs().max()) for m, h in zip(METHODS, maps, strict=True)},
        }
    fig.suptitle(f"image {index} (true class {names[y]})", fontsize=9)
    fig.tight_layout()
    which = "each model's prediction" if target is None else names[int(target)]
    return View(fig, f"explanations of {which} for image {index} ({names[y]})", numbers)


def explanation_explorer(models: Mapping[str, nn.Module], images: ImageSet, *, index: int = 0):
    """A widget: image slider and class dropdown (or "prediction") above :func:`explanation_view`."""
    import ipywidgets as widgets

    options = [("prediction", None)] + [(f"{i} {n}", i) for i, n in enumerate(images.class_names)]
    controls = {
        "index": widgets.IntSlider(value=index, min=0, max=len(images) - 1, description="image"),
        "target": widgets.Dropdown(options=options, value=None, description="class"),
    }
    return explorer_widget(controls, lambda **v: explanation_view(models, images, **v), title="Explanation explorer")
