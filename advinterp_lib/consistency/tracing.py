"""Tracing a prediction back to the neurons that made it (the paper's Figure 1c).

Dong et al. explain a decision through the neurons of the last convolutional layer that
influence it most. Version 1 of the paper ranks them by **prediction difference**: the
change of the class score when the neuron is removed,

    PD(n) = s(x) - s(x with neuron n's feature map set to 0),

where s is the class logit (or, with a ``contrast`` class, the margin
``logit[target] - logit[contrast]``). A positive PD means the neuron *supports* the
class; a negative one means it speaks against it. The first-order Taylor expansion of s
in the layer's activation ``a`` gives the cheap approximation

    GxA(n) = sum over positions (i, j) of  d s / d a[n, i, j]  *  a[n, i, j],

**gradient x activation**, one backward pass for all neurons. It is exact when
everything after the layer is linear in ``a`` (e.g. global average pooling and one
linear layer); ReLUs and max-pooling after the layer make the two differ, and
:func:`rank_agreement` measures by how much.

:func:`neuron_influence` computes both for a batch of images. The prediction differences
are vectorised: a forward hook on the layer replaces its output ``[B, C, ...]`` by
``B x M`` masked copies (one per neuron, plus the unmasked original), so the layers
*after* ``layer`` run once on a batch of ablated copies, and the layers before it run
once per batch of images. That requires the layers after ``layer`` to see the batch only
through the layer's output — true for the last convolutional layer of every model in
this book. :func:`ablation_curve` removes a growing set of neurons at once (how many
must go before the decision flips?).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..models.layers import capture_activations, last_conv_layer
from ..models.layers import layer as named_layer
from ..models.state import eval_mode, model_device, predicted_labels
from ..stats import check_paired_scores, kendall_tau, spearman_correlation, top_k_overlap
from ..validation import check_images, check_int, check_labels

__all__ = [
    "NeuronInfluence",
    "neuron_influence",
    "ablation_curve",
    "describe_removal",
    "RankAgreement",
    "rank_agreement",
    "agreement_summary",
    "random_orders",
    "removal_effect",
    "trace_adversarial",
    "traced_neurons",
    "Restoration",
    "restoration",
]

METHODS = ("prediction_difference", "probability_difference", "gradient_x_activation")


@dataclass(frozen=True, eq=False)
class NeuronInfluence:
    """How much each neuron of a layer contributes to each image's class score.

    N images, C neurons (channels of ``layer``). Tensors are on the CPU.

    Attributes:
        layer: the layer's ``named_modules()`` name.
        target: int64 [N], the class whose score is traced.
        contrast: int64 [N] or None; when given, the score is the margin
            ``logit[target] - logit[contrast]``.
        prediction: int64 [N], the model's predicted class for each (unablated) image.
        score: float32 [N], the class score of each unablated image.
        prediction_difference: float32 [N, C], ``score - score with neuron n zeroed``
            (positive: the neuron supports the class).
        probability_difference: float32 [N, C], the drop of the softmax probability
            of ``target`` when neuron n is zeroed.
        gradient_x_activation: float32 [N, C], ``sum_ij (d score / d a_nij) * a_nij``.
        flips: bool [N, C], zeroing neuron n alone changes the predicted class.
    """

    layer: str
    target: torch.Tensor
    contrast: torch.Tensor | None
    prediction: torch.Tensor
    score: torch.Tensor
    prediction_difference: torch.Tensor
    probability_difference: torch.Tensor
    gradient_x_activation: torch.Tensor
    flips: torch.Tensor

    @property
    def num_neurons(self) -> int:
        return self.prediction_difference.shape[1]

    def values(self, method: str = "prediction_difference") -> torch.Tensor:
        """The [N, C] table of one of :data:`METHODS`. Raises ValueError for another name."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        return getattr(self, method)

    def ranking(self, method: str = "prediction_difference") -> torch.Tensor:
        """int64 [N, C]: each image's neurons, most supporting first (a stable sort, so
        ties keep the lower neuron index first)."""
        return torch.sort(self.values(method), dim=1, descending=True, stable=True).indices

    def top(self, k: int, method: str = "prediction_difference") -> tuple[torch.Tensor, torch.Tensor]:
        """The k most supporting neurons of each image: (indices int64 [N, k], their
        values [N, k]), best first. Raises ValueError unless 1 <= k <= C."""
        check_int(k, "k", minimum=1, maximum=self.num_neurons)
        order = self.ranking(method)[:, :k]
        return order, self.values(method).gather(1, order)


def _check_classes(value: object, name: str, n: int, num_classes: int, device: torch.device) -> torch.Tensor:
    if isinstance(value, int) and not isinstance(value, bool):
        value = torch.full((n,), value, dtype=torch.int64)
    return check_labels(value, n, num_classes, name=name).to(device=device, dtype=torch.int64)


def _resolve_layer(model: nn.Module, layer: str | None) -> tuple[str, nn.Module]:
    name = last_conv_layer(model) if layer is None else layer
    return name, named_layer(model, name)


def _score(logits: torch.Tensor, target: torch.Tensor, contrast: torch.Tensor | None) -> torch.Tensor:
    """logits [..., K], target/contrast broadcastable to logits[..., 0] -> scores [...]."""
    s = logits.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    if contrast is not None:
        s = s - logits.gather(-1, contrast.unsqueeze(-1)).squeeze(-1)
    return s


def _masked_logits(
    model: nn.Module, module: nn.Module, layer: str, x: torch.Tensor, masks: Callable[[torch.Tensor], torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits [B, M, K] of ``model`` on ``x`` [B, ...] with ``layer``'s output [B, C, ...]
    replaced by the M masked copies ``output[:, None] * masks(output)`` ([B, M, C] masks),
    and the layer's (unmasked) output.

    The layers after ``layer`` run once on a batch of B * M copies. Under grad mode the
    returned output is a leaf that requires grad, so a gradient with respect to the
    layer's activation costs a backward pass through the later layers only."""
    held: dict[str, Any] = {}  # "act": the layer's output, "shape": (B, M)

    def hook(mod: nn.Module, args: object, output: object) -> torch.Tensor:
        if not isinstance(output, torch.Tensor) or output.dim() < 2:
            raise ValueError(
                f"layer {layer!r} must output a tensor [N, C, ...], got "
                f"{getattr(output, 'shape', type(output).__name__)}"
            )
        act = output.detach().requires_grad_(torch.is_grad_enabled())
        m = masks(act)  # [B, M, C]
        held["act"], held["shape"] = act, tuple(m.shape[:2])
        expanded = act.unsqueeze(1) * m.view(*m.shape, *([1] * (act.dim() - 2))).to(act.dtype)
        return expanded.reshape(m.shape[0] * m.shape[1], *act.shape[1:])

    handle = module.register_forward_hook(hook)
    try:
        logits = model(x)
    except RuntimeError as err:  # a skip connection around the layer meets a batch of B tensors
        raise ValueError(
            f"the layers after {layer!r} do not run on the layer's output alone (a skip connection "
            f"around it?): trace a block's output instead, e.g. the model's last_conv"
        ) from err
    finally:
        handle.remove()
    if "shape" not in held:
        raise ValueError(f"layer {layer!r} did not run in the forward pass of the model")
    b, m = held["shape"]
    if logits.dim() != 2 or logits.shape[0] != b * m:
        raise ValueError(
            f"model must return logits [N, num_classes] computed from {layer!r}'s output; "
            f"got shape {tuple(logits.shape)} for {b} x {m} masked copies"
        )
    return logits.view(b, m, -1), held["act"]


def neuron_influence(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | int | None = None,
    *,
    layer: str | None = None,
    contrast: torch.Tensor | int | None = None,
    batch_size: int = 16,
    neurons_per_pass: int | None = None,
    progress: bool = False,
) -> NeuronInfluence:
    """Rank every neuron (channel) of ``layer`` by its influence on each image's class score.

    Args:
        model: a classifier of images in [0, 1] returning logits [N, K]; run in eval mode
            (its previous train/eval flags restored afterwards, also on error).
        x: float images [N, C_in, H, W] in [0, 1]; not modified.
        target: the class to trace: int64 [N], one int for all images, or None (default)
            for the model's own prediction of each image.
        layer: a ``named_modules()`` name whose output is [N, C, ...] (a feature map, or
            [N, C] features); default the model's last convolutional layer
            (``model.last_conv``). The layers after it must see the batch only through
            its output (no skip connection around it).
        contrast: optional second class (int64 [N] or one int, each != target): the
            score becomes the margin ``logit[target] - logit[contrast]`` — e.g. the
            adversarial class against the true one, to ask which neurons flip a decision.
        batch_size: images per forward pass; the layers after ``layer`` see
            ``batch_size x (neurons_per_pass + 1)`` copies at once.
        neurons_per_pass: neurons ablated per forward pass (default: all C), to bound
            memory for wide layers.
        progress: show a tqdm progress bar over batches.

    Returns:
        :class:`NeuronInfluence` (on the CPU): prediction difference (logit and
        probability), gradient x activation, and which single ablations flip the
        predicted class.

    Raises:
        TypeError/ValueError: a model that is no ``nn.Module``; bad images; a target or
            contrast that is no class index of the model, or a contrast equal to its
            target; an unknown layer (the message lists the valid names); a model
            without ``last_conv`` and no ``layer``; bad ``batch_size``/``neurons_per_pass``;
            a layer whose later layers also read earlier tensors.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x = check_images(x, "x", model=model)
    check_int(batch_size, "batch_size", minimum=1)
    if neurons_per_pass is not None:
        check_int(neurons_per_pass, "neurons_per_pass", minimum=1)
    layer, module = _resolve_layer(model, layer)
    n = x.shape[0]
    parts: dict[str, list[torch.Tensor]] = {k: [] for k in ("target", "pred", "score", "pd", "prob", "gxa", "flip")}
    with eval_mode(model), torch.no_grad():
        device = model_device(model, x.device)
        num_classes = model(x[:1].to(device)).shape[1]
        tgt, con = _traced_classes(target, contrast, n, num_classes, device)
        starts: Iterable[int] = range(0, n, batch_size)
        if progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc=f"neuron influence at {layer}")
        for start in starts:
            xb = x[start : start + batch_size].to(device)
            tb_given = None if tgt is None else tgt[start : start + batch_size]
            cb = None if con is None else con[start : start + batch_size]
            batch = _batch_influence(model, module, layer, xb, tb_given, cb, start, neurons_per_pass)
            for key, value in batch.items():
                parts[key].append(value.cpu())
    return _assemble_influence(layer, parts, con)


def _traced_classes(
    target: torch.Tensor | int | None,
    contrast: torch.Tensor | int | None,
    n: int,
    num_classes: int,
    device: torch.device,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The checked target and contrast of :func:`neuron_influence`: int64 [n] on ``device``, or None."""
    tgt = None if target is None else _check_classes(target, "target", n, num_classes, device)
    con = None if contrast is None else _check_classes(contrast, "contrast", n, num_classes, device)
    if con is not None and tgt is not None and bool((con == tgt).any()):
        raise ValueError(
            f"contrast must differ from target for every image (equal at {int((con == tgt).sum())} images)"
        )
    return tgt, con


def _single_ablation_masks(act: torch.Tensor, c0: int, neurons_per_pass: int | None) -> torch.Tensor:
    """Masks [B, 1 + M, C]: copy 0 is the unmasked original; copy 1 + j zeroes neuron c0 + j."""
    width = act.shape[1] - c0
    width = width if neurons_per_pass is None else min(neurons_per_pass, width)
    m = torch.ones(1 + width, act.shape[1], device=act.device)
    m[torch.arange(1, 1 + width, device=act.device), torch.arange(c0, c0 + width, device=act.device)] = 0.0
    return m.expand(act.shape[0], -1, -1)


def _unablated(
    clean: torch.Tensor, act: torch.Tensor, tb_given: torch.Tensor | None, cb: torch.Tensor | None, start: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(prediction, traced class, score, gradient x activation [B, C], traced probability) of unablated logits."""
    pred = clean.argmax(1)
    tb = pred if tb_given is None else tb_given
    if cb is not None and bool((cb == tb).any()):
        raise ValueError(
            "contrast must differ from the traced class (the prediction, as target is None) "
            f"for every image; equal at images {(cb == tb).nonzero().flatten().add(start).tolist()}"
        )
    score = _score(clean, tb, cb)
    (grad,) = torch.autograd.grad(score.sum(), act)
    gxa = (grad * act).detach()
    gxa = gxa.flatten(2).sum(2) if gxa.dim() > 2 else gxa
    score = score.detach()
    prob = clean.detach().softmax(1).gather(1, tb[:, None]).squeeze(1)
    return pred, tb, score, gxa, prob


def _batch_influence(
    model: nn.Module,
    module: nn.Module,
    layer: str,
    xb: torch.Tensor,
    tb_given: torch.Tensor | None,
    cb: torch.Tensor | None,
    start: int,
    neurons_per_pass: int | None,
) -> dict[str, torch.Tensor]:
    """One batch of :func:`neuron_influence`: its columns by key, ablating ``neurons_per_pass`` neurons a pass."""
    pd, pdp, flip = [], [], []
    c0, channels = 0, None
    while channels is None or c0 < channels:

        def masks(act: torch.Tensor, c0: int = c0) -> torch.Tensor:
            return _single_ablation_masks(act, c0, neurons_per_pass)

        with torch.set_grad_enabled(c0 == 0):  # the first pass also gives gradient x activation
            logits, act = _masked_logits(model, module, layer, xb, masks)  # [B, 1 + M, K]
            if c0 == 0:
                channels = act.shape[1]
                pred, tb, score, gxa, prob = _unablated(logits[:, 0], act, tb_given, cb, start)
        ablated = logits.detach()[:, 1:]
        m = ablated.shape[1]
        pd.append(
            score[:, None]
            - _score(ablated, tb[:, None].expand(-1, m), None if cb is None else cb[:, None].expand(-1, m))
        )
        pdp.append(prob[:, None] - ablated.softmax(2).gather(2, tb[:, None, None].expand(-1, m, 1)).squeeze(2))
        flip.append(ablated.argmax(2) != pred[:, None])
        c0 += m
    return {
        "target": tb,
        "pred": pred,
        "score": score,
        "pd": torch.cat(pd, 1),
        "prob": torch.cat(pdp, 1),
        "gxa": gxa,
        "flip": torch.cat(flip, 1),
    }


def _assemble_influence(layer: str, parts: dict[str, list[torch.Tensor]], con: torch.Tensor | None) -> NeuronInfluence:
    """The :class:`NeuronInfluence` of the batches' columns, concatenated over images."""
    cat = {k: torch.cat(v) for k, v in parts.items()}
    return NeuronInfluence(
        layer=layer,
        target=cat["target"],
        contrast=None if con is None else con.cpu(),
        prediction=cat["pred"],
        score=cat["score"].float(),
        prediction_difference=cat["pd"].float(),
        probability_difference=cat["prob"].float(),
        gradient_x_activation=cat["gxa"].float(),
        flips=cat["flip"],
    )


def ablation_curve(
    model: nn.Module,
    x: torch.Tensor,
    order: torch.Tensor,
    target: torch.Tensor | int | None = None,
    *,
    layer: str | None = None,
    contrast: torch.Tensor | int | None = None,
    steps: int | None = None,
    batch_size: int = 16,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero a growing set of neurons: the first j of each image's ``order``, j = 0..steps.

    Args:
        model, x, target, layer, contrast, batch_size: as :func:`neuron_influence`.
        order: int64 [N, L], each image's neurons in the order they are removed (e.g.
            ``influence.ranking()``), L <= C, distinct channel indices of ``layer``.
        steps: how many neurons to remove at most (default L).

    Returns:
        ``(scores, predictions)``: float32 [N, steps + 1] class scores and int64
        [N, steps + 1] predicted classes after removing the first j neurons (column 0:
        nothing removed). On the CPU.

    Raises:
        TypeError/ValueError: as :func:`neuron_influence`; ``order`` not an int [N, L]
            tensor of distinct channel indices; ``steps`` outside [1, L].
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x = check_images(x, "x", model=model)
    check_int(batch_size, "batch_size", minimum=1)
    layer, module = _resolve_layer(model, layer)
    n = x.shape[0]
    if not isinstance(order, torch.Tensor) or order.is_floating_point() or order.dtype == torch.bool:
        raise TypeError(
            "order must be an int tensor [N, L] of channel indices, got "
            f"{getattr(order, 'dtype', type(order).__name__)}"
        )
    if order.dim() != 2 or order.shape[0] != n or order.shape[1] == 0:
        raise ValueError(f"order must have shape [{n}, L] with L >= 1, got {tuple(order.shape)}")
    steps = order.shape[1] if steps is None else check_int(steps, "steps", minimum=1, maximum=order.shape[1])
    scores, preds = [], []
    with eval_mode(model), torch.no_grad():
        device = model_device(model, x.device)
        with capture_activations(model, [layer]) as acts:
            first_logits = model(x[:1].to(device))
            channels = acts[layer].shape[1]
        num_classes = first_logits.shape[1]
        if int(order.min()) < 0 or int(order.max()) >= channels:
            raise ValueError(
                f"order must hold channel indices of {layer!r} in [0, {channels}), "
                f"got values in [{int(order.min())}, {int(order.max())}]"
            )
        if (order.sort(1).values.diff(dim=1) == 0).any():
            raise ValueError("order must not repeat a channel within an image")
        tgt = None if target is None else _check_classes(target, "target", n, num_classes, device)
        con = None if contrast is None else _check_classes(contrast, "contrast", n, num_classes, device)
        order = order.to(device=device, dtype=torch.int64)[:, :steps]
        for start in range(0, n, batch_size):
            xb = x[start : start + batch_size].to(device)
            ob = order[start : start + batch_size]

            def masks(output: torch.Tensor, ob: torch.Tensor = ob) -> torch.Tensor:
                b = output.shape[0]
                # removed[i, j, c] = 1 when c is among the first j neurons of image i
                step_of = torch.full((b, output.shape[1]), steps + 1, device=output.device)
                step_of.scatter_(1, ob, torch.arange(1, steps + 1, device=output.device).expand(b, -1))
                j = torch.arange(steps + 1, device=output.device)
                return (step_of[:, None, :] > j[None, :, None]).float()

            logits, _ = _masked_logits(model, module, layer, xb, masks)  # [B, steps + 1, K]
            tb = logits[:, 0].argmax(1) if tgt is None else tgt[start : start + batch_size]
            cb = None if con is None else con[start : start + batch_size]
            scores.append(
                _score(
                    logits, tb[:, None].expand(-1, steps + 1), None if cb is None else cb[:, None].expand(-1, steps + 1)
                ).cpu()
            )
            preds.append(logits.argmax(2).cpu())
    return torch.cat(scores).float(), torch.cat(preds)


def describe_removal(
    curves: Mapping[str, Sequence[float]],
    flipped: Mapping[str, Sequence[float]],
    *,
    top_k: int,
    neurons: int | None = None,
    ranking: str = "prediction difference",
    proxy: str | None = "gradient × activation",
    baseline: str = "random order",
) -> str:
    """What an ablation experiment found, in words, from its numbers (chapter 13's JSON).

    Args:
        curves: ``{order: mean class score after removing j neurons, j = 0..steps}``
            (the mean over images of :func:`ablation_curve`'s scores), with the keys
            ``ranking``, ``baseline`` and (optional) ``proxy``.
        flipped: ``{order: share of the correct decisions changed after j removals}``.
        top_k: how many neurons an explanation shows (their share of flips is reported).
        neurons: the layer's number of neurons, when known.

    Returns:
        A paragraph: the score before and after the last step by ``ranking`` and by
        ``baseline`` (and how many times larger the ranking's drop is), whether
        ``proxy`` traces nearly the same curve (within 5% of the drop), the share of
        correct decisions that flip (and whether that is most of them), and the share
        the first ``top_k`` removals flip.

    Raises:
        ValueError: a missing order, curves of different lengths, ``top_k`` outside
            [1, steps].
    """
    wanted = [ranking, baseline] + ([proxy] if proxy is not None else [])
    for name in wanted:
        if name not in curves or name not in flipped:
            raise ValueError(f"curves and flipped need the order {name!r}; got {sorted(curves)} and {sorted(flipped)}")
    lengths = {len(curves[n]) for n in wanted} | {len(flipped[n]) for n in wanted}
    if len(lengths) != 1 or lengths == {0} or lengths == {1}:
        raise ValueError(f"every curve needs the same length (steps + 1 >= 2), got lengths {sorted(lengths)}")
    steps = lengths.pop() - 1
    check_int(top_k, "top_k", minimum=1, maximum=steps)
    score, rand = list(map(float, curves[ranking])), list(map(float, curves[baseline]))
    drop, drop_random = score[0] - score[-1], rand[0] - rand[-1]

    def num(x: float) -> str:
        return f"{x:.1f}".replace("-", "−")

    of = f" — {steps} of the layer's {neurons} —" if neurons else ""
    times = (
        f", a drop {drop / drop_random:.1f} times as large as removing {steps} random neurons (to {num(rand[-1])})"
        if drop_random > 0
        else f"; removing {steps} random neurons does not lower it (to {num(rand[-1])})"
    )
    text = (
        f"Removing each image's {steps} most supporting neurons by {ranking}{of} takes the mean score of the "
        f"true class from {num(score[0])} to {num(score[-1])}{times}."
    )
    if proxy is not None:
        gap = max(abs(float(a) - b) for a, b in zip(curves[proxy], score, strict=True))
        text += (
            f" {proxy.capitalize()} traces "
            + ("nearly the same curve" if gap <= 0.05 * abs(drop) else "a different curve")
            + f" (to {num(float(curves[proxy][-1]))})."
        )
    share, share_random = float(flipped[ranking][-1]), float(flipped[baseline][-1])
    text += (
        f" By then {share:.0%} of the correct decisions have changed ({share_random:.0%} in {baseline}): "
        + ("most correct decisions still stand." if share < 0.5 else "most correct decisions have fallen.")
        + f" The first {top_k} — as many as an explanation below shows — change {float(flipped[ranking][top_k]):.0%}."
    )
    return text


# ------------------------------------------------------------------ rank agreement


@dataclass(frozen=True, eq=False)
class RankAgreement:
    """How well two neuron rankings agree, per image.

    Attributes:
        spearman, kendall: float64 [N], rank correlations (NaN for a constant row).
        top_k_overlap: float64 [N], the share of shared top-k neurons.
        k: the k of ``top_k_overlap``.
    """

    spearman: torch.Tensor
    kendall: torch.Tensor
    top_k_overlap: torch.Tensor
    k: int

    def summary(self) -> dict[str, float]:
        """Means and medians over images (NaN rows left out), as plain floats."""
        out: dict[str, float] = {"k": float(self.k), "images": float(len(self.spearman))}
        for name in ("spearman", "kendall", "top_k_overlap"):
            v = getattr(self, name)
            v = v[~v.isnan()]
            out[f"{name}_mean"] = float(v.mean()) if len(v) else float("nan")
            out[f"{name}_median"] = float(v.median()) if len(v) else float("nan")
        return out


def rank_agreement(a: torch.Tensor, b: torch.Tensor, *, k: int = 5) -> RankAgreement:
    """Spearman's rho, Kendall's tau-b and the top-k overlap between the rows of two
    [N, C] score tables (e.g. ``influence.prediction_difference`` and
    ``influence.gradient_x_activation``).

    Raises:
        TypeError/ValueError: as :func:`kendall_tau`; ``k`` outside [1, C].
    """
    a, b = check_paired_scores(a, b)
    return RankAgreement(
        spearman=spearman_correlation(a, b), kendall=kendall_tau(a, b), top_k_overlap=top_k_overlap(a, b, k), k=k
    )


def agreement_summary(influence: NeuronInfluence, *, k: int = 5) -> dict[str, float]:
    """How well gradient x activation stands in for the prediction difference (chapter 13's table).

    Args:
        influence: from :func:`neuron_influence`.
        k: the k of the top-k overlap, in [1, C].

    Returns:
        :meth:`RankAgreement.summary` of the two rankings, plus ``same_top_neuron`` (the
        share of images whose most supporting neuron is the same by both) and
        ``max_abs_gap`` (the largest ``|PD - GxA|`` over images and neurons).

    Raises:
        TypeError: ``influence`` is no :class:`NeuronInfluence`; ValueError: ``k`` outside [1, C].
    """
    if not isinstance(influence, NeuronInfluence):
        raise TypeError(f"influence must be a NeuronInfluence, got {type(influence).__name__}")
    pd, gxa = influence.prediction_difference, influence.gradient_x_activation
    summary = rank_agreement(pd, gxa, k=k).summary()
    same = influence.ranking("prediction_difference")[:, 0] == influence.ranking("gradient_x_activation")[:, 0]
    summary["same_top_neuron"] = same.float().mean().item()
    summary["max_abs_gap"] = (pd - gxa).abs().max().item()
    return summary


def random_orders(n_images: int, n_neurons: int, generator: torch.Generator) -> torch.Tensor:
    """int64 [n_images, n_neurons]: a random permutation of the neurons per image, drawn
    one image after the other from ``generator`` (the baseline order of :func:`ablation_curve`).

    Raises:
        TypeError/ValueError: counts that are no positive int; a generator that is none.
    """
    check_int(n_images, "n_images", minimum=1)
    check_int(n_neurons, "n_neurons", minimum=1)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    return torch.stack([torch.randperm(n_neurons, generator=generator) for _ in range(n_images)])


def removal_effect(
    model: nn.Module,
    x: torch.Tensor,
    labels: torch.Tensor,
    orders: Mapping[str, torch.Tensor],
    *,
    steps: int,
    layer: str | None = None,
    batch_size: int = 16,
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Remove each image's neurons in several orders and follow the true class (chapter 13).

    Args:
        model, x, layer, batch_size: as :func:`ablation_curve`.
        labels: int64 [N], the true classes (the traced score is their logit).
        orders: ``{name: int64 [N, L]}``, e.g. a ranking and :func:`random_orders`.
        steps: neurons removed at most, in [1, L].

    Returns:
        ``(curves, flipped)``: per order, float32 [steps + 1] the mean true-class logit
        after removing the first j neurons, and float32 [steps + 1] the share of the
        images classified correctly before any removal whose prediction has changed
        (NaN when none was correct).

    Raises:
        as :func:`ablation_curve`; ValueError: no orders.
    """
    if not orders:
        raise ValueError("orders: expected at least one {name: order} entry")
    curves, flipped = {}, {}
    for name, order in orders.items():
        scores, preds = ablation_curve(model, x, order, labels, layer=layer, steps=steps, batch_size=batch_size)
        labels_cpu = labels.to(preds.device)
        curves[name] = scores.mean(0)
        correct = preds[:, 0] == labels_cpu
        flipped[name] = ((preds != labels_cpu[:, None]) & correct[:, None]).float().sum(0) / correct.sum()
    return curves, flipped


def trace_adversarial(
    model: nn.Module, x_adv: torch.Tensor, true_class: torch.Tensor, *, layer: str | None = None
) -> NeuronInfluence:
    """Trace one adversarial decision: the margin of the predicted (adversarial) class over
    the true class when the model is fooled; the true class itself when it is not.

    Args:
        model: as :func:`neuron_influence`.
        x_adv: float [1, C, H, W] in [0, 1], one image.
        true_class: int64 [1].
        layer: as :func:`neuron_influence`.

    Returns:
        :func:`neuron_influence` of the image (``contrast`` set when fooled).

    Raises:
        ValueError: not exactly one image; as :func:`neuron_influence`.
    """
    x_adv = check_images(x_adv, "x_adv", model=model)
    if len(x_adv) != 1:
        raise ValueError(f"x_adv: expected one image [1, C, H, W], got {len(x_adv)}")
    predicted = int(predicted_labels(model, x_adv)[0])
    if predicted != int(true_class):
        return neuron_influence(model, x_adv, predicted, layer=layer, contrast=true_class)
    return neuron_influence(model, x_adv, true_class, layer=layer)


def traced_neurons(
    influence: NeuronInfluence,
    top_images: torch.Tensor,
    image_labels: torch.Tensor,
    consis: torch.Tensor,
    consis_adv: torch.Tensor,
    *,
    k: int,
) -> dict[str, object]:
    """What the k most supporting neurons of the first traced image stand for.

    Args:
        influence: from :func:`neuron_influence` (its first image is described).
        top_images: int64 [C, q], each neuron's top images (indices into ``image_labels``).
        image_labels: int64 [M], the classes of those images.
        consis, consis_adv: float [C], each neuron's consistency on real and on
            adversarial images.
        k: how many neurons, in [1, C].

    Returns:
        ``{"neurons": [k indices, most supporting first], "class_share": the mean over
        them of the share of their top images that show the traced class, "consis",
        "consis_adv": their mean consistencies}``.

    Raises:
        ValueError: tables whose number of neurons is not C; ``k`` outside [1, C].
    """
    c = influence.num_neurons
    for name, t in (("top_images", top_images), ("consis", consis), ("consis_adv", consis_adv)):
        if not isinstance(t, torch.Tensor) or len(t) != c:
            raise ValueError(f"{name}: expected one row per neuron ({c}), got {getattr(t, 'shape', type(t).__name__)}")
    neurons = influence.top(k)[0][0]
    traced = int(influence.target[0])
    shares = [(image_labels[top_images[n]] == traced).float().mean().item() for n in neurons.tolist()]
    return {
        "neurons": neurons.tolist(),
        "class_share": float(np.mean(shares)),
        "consis": consis[neurons].mean().item(),
        "consis_adv": consis_adv[neurons].mean().item(),
    }


@dataclass(frozen=True, eq=False)
class Restoration:
    """Adversarial images with neurons removed one after another (:func:`restoration`).

    Attributes:
        margins: float32 [N, steps + 1], ``logit[adversarial] - logit[true]`` after the
            first j removals.
        restored: bool [N, steps + 1], the prediction is the true class again.
    """

    margins: torch.Tensor
    restored: torch.Tensor

    @property
    def share(self) -> torch.Tensor:
        """float32 [steps + 1]: the share of images classified correctly after j removals."""
        return self.restored.float().mean(0)

    def first_restore(self) -> list[int | None]:
        """Per image, the fewest removals that give the true class back (None: not within steps)."""
        return [int(row.nonzero()[0]) if row.any() else None for row in self.restored]


def restoration(
    model: nn.Module,
    x: torch.Tensor,
    order: torch.Tensor,
    adversarial_class: torch.Tensor,
    true_class: torch.Tensor,
    *,
    steps: int,
    layer: str | None = None,
    batch_size: int = 16,
) -> Restoration:
    """Remove neurons in ``order`` from adversarial images and watch the true class return.

    Args:
        model, x, order, steps, layer, batch_size: as :func:`ablation_curve`.
        adversarial_class, true_class: int64 [N], distinct per image; the traced score is
            the margin of the first over the second.

    Returns:
        :class:`Restoration`.

    Raises:
        as :func:`ablation_curve`.
    """
    margins, preds = ablation_curve(
        model, x, order, adversarial_class, layer=layer, contrast=true_class, steps=steps, batch_size=batch_size
    )
    return Restoration(margins=margins, restored=preds == true_class.to(preds.device)[:, None])
