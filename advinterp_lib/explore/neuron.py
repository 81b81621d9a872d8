"""Neuron explorer: pick a model, a layer and a unit; see its top real and top
adversarial images, their concepts, and consis(n) / consis_adv(n) (chapters 2 and 11).
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import torch
from torch import nn

from ..consistency.activations import ConceptActivations, concept_top_activations
from ..consistency.metric import concept_distribution, consistency_scores
from ..data import AdversarialSet, ImageSet
from ..interpret.receptive_field import calibrate_discrepancy, discrepancy_maps
from ..models.layers import last_conv_layer
from ..models.state import eval_mode
from .base import View, choice_problem, explorer_widget, pixels, problem, range_problem


def _spatial_layers(model: nn.Module, probe: torch.Tensor) -> dict[str, int]:
    """Leaf layers whose output is a [1, C, h, w] map, with their channel counts, in order."""
    found: dict[str, int] = {}
    hooks = []
    for name, module in model.named_modules():
        if name and not any(True for _ in module.children()):

            def hook(_m, _i, out, name=name):
                if isinstance(out, torch.Tensor) and out.dim() == 4:
                    found[name] = int(out.shape[1])

            hooks.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(probe)
    finally:
        for h in hooks:
            h.remove()
    return found


class NeuronData:
    """What the neuron explorer shows: models, the real images and the adversarial set.

    Args:
        models: display name -> model (e.g. ``{"resnet": m, "resnet-Adv": m_adv}``).
        source: the real images (an :class:`~advinterp_lib.data.ImageSet`; their labels
            are the concepts).
        advset: the adversarial set made from ``source`` (each image keeps its source's concept).
        correlation: A [K, K], the WordNet correlation of the K classes (chapter 10).
        fraction: the top fraction of images that "activate" a unit (paper: 1%).

    A unit's tables come from one streamed pass per (model, layer) the first time it is
    chosen, then from memory (:func:`~advinterp_lib.consistency.concept_top_activations`).
    """

    def __init__(
        self,
        models: Mapping[str, nn.Module],
        source: ImageSet,
        advset: AdversarialSet,
        correlation: torch.Tensor,
        *,
        fraction: float = 0.01,
    ) -> None:
        if not models:
            raise ValueError("models: expected at least one model, got none")
        self.models = dict(models)
        self.source, self.advset = source, advset
        self.correlation = correlation
        self.fraction = fraction
        self.class_names = list(source.class_names)
        self._layers: dict[str, dict[str, int]] = {}
        self._tables: dict[tuple[str, str], ConceptActivations] = {}

    def layers(self, model: str) -> dict[str, int]:
        """The layers of ``model`` with a spatial map, name -> number of units."""
        if model not in self._layers:
            with eval_mode(self.models[model]) as m:
                self._layers[model] = _spatial_layers(m, self.source.images[:1])
        return self._layers[model]

    def default_layer(self, model: str) -> str:
        return last_conv_layer(self.models[model])

    def table(self, model: str, layer: str) -> ConceptActivations:
        if (model, layer) not in self._tables:
            self._tables[model, layer] = concept_top_activations(
                self.models[model], self.source.images, self.source.labels, self.advset.images, self.advset.labels,
                num_concepts=len(self.class_names), layer=layer, fraction=self.fraction)  # fmt: skip
        return self._tables[model, layer]


def neuron_view(
    data: NeuronData, model: str, layer: str, unit: int, *, n_shown: int = 8, highlight: bool = False
) -> View:
    """The unit ``unit`` of ``layer`` in ``data.models[model]``: its top real and top
    adversarial images (optionally with discrepancy-map highlights of what in each image
    drives it), the concepts of both, and consis(n) / consis_adv(n).

    Returns a message instead of a figure for an unknown model or layer, or a unit
    past the layer's width.
    """
    bad = choice_problem("model", model, list(data.models))
    if bad:
        return bad
    layers = data.layers(model)
    bad = choice_problem("layer", layer, list(layers))
    if bad:
        return bad
    width = layers[layer]
    bad = range_problem("unit", unit, 0, width - 1, f"layer {layer} has {width} units")
    if bad:
        return bad
    if n_shown < 1:
        return problem(f"n_shown must be at least 1, got {n_shown}")
    t = data.table(model, layer)
    names, K = data.class_names, len(data.class_names)
    p_real = concept_distribution(t.real_concepts[unit : unit + 1], K)
    p_adv = concept_distribution(t.adversarial_concepts[unit : unit + 1], K)
    consis = float(consistency_scores(p_real, data.correlation)[0])
    consis_adv = float(consistency_scores(p_adv, data.correlation)[0])
    shown = min(n_shown, t.real.k, t.adversarial.k)
    real_idx = t.real.indices[unit, :shown]
    adv_pos = t.adversarial_positions()[unit, :shown]
    rows = [
        ("real", data.source.images[real_idx], t.real.locations[unit, :shown],
         [names[int(data.source.labels[i])] for i in real_idx]),
        ("adversarial", data.advset.images[adv_pos], t.adversarial.locations[unit, :shown],
         [f"{names[int(data.advset.labels[i])]}→{names[int(data.advset.targets[i])]}" for i in adv_pos]),
    ]  # fmt: skip
    fig = plt.figure(figsize=(max(1.3 * shown, 6), 5.6))
    grid = fig.add_gridspec(3, shown, height_ratios=[1, 1, 1.3])
    for r, (kind, images, locations, titles) in enumerate(rows):
        heat = None
        if highlight:
            # a coarser occluder grid than chapter 2's (stride 3, not 2) keeps the update near a second
            heat = calibrate_discrepancy(
                discrepancy_maps(
                    data.models[model],
                    images,
                    layer,
                    unit,
                    locations=locations,
                    stride=3,
                    generator=torch.Generator().manual_seed(0),
                )
            )
        for j in range(shown):
            ax = fig.add_subplot(grid[r, j])
            image = images[j]
            ax.imshow(pixels(image), cmap="gray", vmin=0, vmax=1)
            if heat is not None:
                ax.imshow(heat[j].numpy(), cmap="Reds", alpha=(0.65 * heat[j]).clamp(0, 1).numpy(), vmin=0, vmax=1)
            ax.set_title(titles[j], fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(f"top {kind}", fontsize=8)
    ax = fig.add_subplot(grid[2, :])
    positions = torch.arange(K).float()
    ax.bar(positions - 0.2, p_real[0].numpy(), width=0.4, label=f"real: consis = {consis:.2f}")
    ax.bar(positions + 0.2, p_adv[0].numpy(), width=0.4, label=f"adversarial: consis_adv = {consis_adv:.2f}")
    ax.set_xticks(positions.tolist(), names, rotation=30, fontsize=7)
    ax.set_ylabel("share of top images")
    ax.legend(fontsize=8)
    fig.suptitle(
        f"{model}, layer {layer}, unit {unit}: top {t.real.k} of {t.real.num_images} real and "
        f"top {t.adversarial.k} of {t.adversarial.num_images} adversarial images",
        fontsize=9,
    )
    fig.tight_layout()
    numbers = {
        "consis": consis,
        "consis_adv": consis_adv,
        "p_real": p_real[0].tolist(),
        "p_adv": p_adv[0].tolist(),
        "real_indices": real_idx.tolist(),
        "adversarial_positions": adv_pos.tolist(),
    }
    return View(fig, f"consis(n) = {consis:.3f}, consis_adv(n) = {consis_adv:.3f} over {K} concepts", numbers)


def neuron_explorer(data: NeuronData, *, model: str | None = None, unit: int = 0):
    """A widget: model and layer dropdowns, a unit slider (its range follows the layer)
    and a highlight toggle, above :func:`neuron_view`."""
    import ipywidgets as widgets

    model = model or next(iter(data.models))
    layer = data.default_layer(model)
    width = data.layers(model)[layer]
    controls = {
        "model": widgets.Dropdown(options=list(data.models), value=model, description="model"),
        "layer": widgets.Dropdown(options=list(data.layers(model)), value=layer, description="layer"),
        "unit": widgets.IntSlider(value=min(unit, width - 1), min=0, max=width - 1, description="unit"),
        "highlight": widgets.Checkbox(value=False, description="highlight (discrepancy maps)"),
    }

    def follow_model(change: dict) -> None:  # a new model brings its own layers
        layers = data.layers(change["new"])
        controls["layer"].options = list(layers)
        controls["layer"].value = data.default_layer(change["new"])

    def follow_layer(change: dict) -> None:  # the slider spans the layer's units
        width = data.layers(controls["model"].value).get(change["new"])
        if width:
            controls["unit"].max = width - 1

    controls["model"].observe(follow_model, names="value")
    controls["layer"].observe(follow_layer, names="value")
    return explorer_widget(controls, lambda **v: neuron_view(data, **v), title="Neuron explorer")
