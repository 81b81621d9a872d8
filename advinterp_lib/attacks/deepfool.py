"""DeepFool (Moosavi-Dezfooli, Fawzi & Frossard 2016): the smallest step that crosses
the linearised decision boundary, repeated until the label changes.

Binary (the paper's Algorithm 1), for a score f with class sign(f(x)):

    r_i = -f(x_i) / ||grad f(x_i)||_2^2 * grad f(x_i),   x_{i+1} = x_i + r_i,
    until sign f(x_{i+1}) != sign f(x_0);   r_hat = sum_i r_i.

For an affine f(x) = w^T x + b one step lands exactly on the boundary, with
||r|| = |f(x)| / ||w||: the distance from x to the hyperplane.

Multiclass (Algorithm 2): with k_0 the predicted class and, for each other candidate k,
f'_k = f_k - f_{k_0} and w'_k = grad f_k - grad f_{k_0} at x_i, the nearest linearised
boundary is l = argmin_k |f'_k| / ||w'_k||, and r_i = |f'_l| / ||w'_l||^2 * w'_l. As in the
authors' implementation the candidates are the ``num_candidates`` classes with the
highest scores at x, and the overshoot scales every step: x_{i+1} = clip(x_i + (1 +
overshoot) r_i), which without the clip to [0, 1] is the authors' x + (1 + overshoot)
* sum r; the clip keeps every iterate an image.

Batched: each iteration takes one forward pass of the images not yet fooled and one
backward pass per candidate class of the batch's summed score difference (each image's
gradient is its own, the model being in eval mode), never a loop over images.
torchattacks' DeepFool loops over images and builds a full Jacobian per image
(its issue 74); see benchmarks/bench_attacks.py for the speed-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from ..validation import check_images, check_labels
from .base import attack_mode, check_budget, check_count, model_device


def _per_image_norm(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).norm(dim=1)


def _as_batch(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """[N] -> [N, 1, ...] to broadcast against ``like`` [N, ...]."""
    return v.view(-1, *([1] * (like.dim() - 1)))


@dataclass(frozen=True)
class DeepFoolBinaryResult:
    """Algorithm 1 on a batch. T is the number of steps the slowest image took.

    Attributes:
        x_adv: [N, ...] the final iterates x_0 + (1 + overshoot) * r_hat.
        perturbation: [N, ...] x_adv - x.
        iterations: int64 [N], steps taken per image (0 if f(x) = 0 already).
        success: bool [N], sign f(x_adv) != sign f(x).
        iterates: [T + 1, N, ...] x_0, x_1, ...; an image that stopped repeats its last iterate.
        scores: [T + 1, N] f at each iterate.
    """

    x_adv: torch.Tensor
    perturbation: torch.Tensor
    iterations: torch.Tensor
    success: torch.Tensor
    iterates: torch.Tensor
    scores: torch.Tensor


def deepfool_binary(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    overshoot: float = 0.0,
    max_iter: int = 50,
) -> DeepFoolBinaryResult:
    """The paper's Algorithm 1 on a differentiable two-class score ``f``.

    Args:
        f: maps a batch [N, ...] to scores [N]; the class is sign(f). For a two-class
            model with logits z, ``f = lambda x: z(x)[:, 1] - z(x)[:, 0]``.
        x: float [N, ...], any shape (no range check and no clipping: this is the bare
            algorithm, e.g. on 2-D points); not modified.
        overshoot: x_i = x_0 + (1 + overshoot) * sum r. 0 is Algorithm 1 as printed;
            there an affine f lands exactly on the boundary (f = 0, which counts as
            crossing) up to rounding, so a small overshoot (0.02) guarantees the flip.
        max_iter: at most this many steps per image.

    Raises:
        TypeError/ValueError: x not a finite float tensor, f not returning [N] scores,
        bad overshoot or max_iter.
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() < 1 or x.shape[0] == 0:
        raise TypeError(f"x must be a non-empty float tensor [N, ...], got {getattr(x, 'dtype', type(x).__name__)}")
    if not torch.isfinite(x).all():
        raise ValueError("x contains NaN or inf values")
    overshoot = check_budget(overshoot, "overshoot", upper=None)
    max_iter = check_count(max_iter, "max_iter")
    x0 = x.detach()
    r_tot = torch.zeros_like(x0)
    xi = x0
    iterations = torch.zeros(x0.shape[0], dtype=torch.int64, device=x0.device)
    iterates, scores = [], []
    active = torch.ones_like(iterations, dtype=torch.bool)
    s0 = None
    for i in range(max_iter + 1):
        xr = xi.detach().requires_grad_(True)
        with torch.enable_grad():  # also inside a caller's no_grad block
            fx = f(xr)
            total = fx.sum()
        if not isinstance(fx, torch.Tensor) or fx.shape != (x0.shape[0],):
            raise ValueError(f"f must return scores of shape [{x0.shape[0]}], got {tuple(getattr(fx, 'shape', ()))}")
        if s0 is None:
            s0 = fx.detach().sign()
        active = active & (fx.detach().sign() == s0)  # sign(0) = 0: on the boundary counts as crossed
        iterates.append(xi.detach())
        scores.append(fx.detach())
        if i == max_iter or not active.any():
            break
        (grad,) = torch.autograd.grad(total, xr)
        g2 = _as_batch(grad.flatten(1).pow(2).sum(dim=1).clamp_min(1e-30), grad)
        r = -_as_batch(fx.detach(), grad) / g2 * grad
        r_tot = r_tot + torch.where(_as_batch(active, r), r, torch.zeros_like(r))
        xi = x0 + (1.0 + overshoot) * r_tot
        iterations = iterations + active.to(torch.int64)
    x_adv = iterates[-1]
    return DeepFoolBinaryResult(
        x_adv=x_adv,
        perturbation=x_adv - x0,
        iterations=iterations,
        success=scores[-1].sign() != cast(torch.Tensor, s0),  # s0: set in the first iteration
        iterates=torch.stack(iterates),
        scores=torch.stack(scores),
    )


@dataclass(frozen=True)
class DeepFoolResult:
    """Multiclass DeepFool on a batch.

    Attributes:
        x_adv: float [N, C, H, W] in [0, 1].
        perturbation: float [N, C, H, W], x_adv - x (the minimal perturbation found).
        iterations: int64 [N], steps taken per image.
        success: bool [N], the predicted class of x_adv differs from that of x.
        label: int64 [N], the predicted class of x (k_0).
        adversarial_label: int64 [N], the predicted class of x_adv.
    """

    x_adv: torch.Tensor
    perturbation: torch.Tensor
    iterations: torch.Tensor
    success: torch.Tensor
    label: torch.Tensor
    adversarial_label: torch.Tensor

    @property
    def l2(self) -> torch.Tensor:
        """float [N]: ||r||_2 per image."""
        return _per_image_norm(self.perturbation)


def _candidate_gradients(
    logits: torch.Tensor, xi: torch.Tensor, candidates: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``f'_k = f_k - f_{k_0}`` [n, k-1] (detached) and their gradients ``w'_k`` [n, k-1, C, H, W]
    at ``xi`` (which requires grad), for the candidate classes [n, k] (column 0: k_0)."""
    k = candidates.shape[1]
    f = logits.gather(1, candidates)  # [n, k]
    f_diff = f[:, 1:] - f[:, :1]  # f'_k, [n, k-1]
    # w'_k for all candidates: one backward of the batch sum per candidate.
    w = torch.stack(
        [torch.autograd.grad(f_diff[:, j].sum(), xi, retain_graph=j < k - 2)[0] for j in range(k - 1)],
        dim=1,
    )  # [n, k-1, C, H, W]
    return f_diff.detach(), w


def _minimal_step(f_diff: torch.Tensor, w: torch.Tensor, xi: torch.Tensor, project_box: bool) -> torch.Tensor:
    """The step to the nearest linearised boundary, ``|f'_l| / ||w'_l||^2 w'_l`` with
    ``l = argmin_k |f'_k| / ||w'_k||``: [n, C, H, W] for the iterates ``xi``."""
    # The step moves along +w'_k. A pixel already at 0 (1) that the step would push
    # below 0 (above 1) cannot move: drop it from w'_k, so the step is the minimal
    # one on the face of the [0, 1] box the iterate sits on (interior: the paper's).
    if project_box:
        xb = xi.unsqueeze(1)
        w = torch.where(((xb <= 0) & (w < 0)) | ((xb >= 1) & (w > 0)), torch.zeros_like(w), w)
    w_norm = w.flatten(2).norm(dim=2).clamp_min(1e-12)  # [n, k-1]
    dist = f_diff.abs() / w_norm
    nearest = dist.argmin(dim=1)
    rows = torch.arange(len(f_diff), device=f_diff.device)
    w_l = w[rows, nearest]
    return _as_batch(dist[rows, nearest] / w_norm[rows, nearest], w_l) * w_l


def deepfool(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor | None = None,
    *,
    overshoot: float = 0.02,
    max_iter: int = 50,
    num_candidates: int = 10,
    project_box: bool = True,
) -> DeepFoolResult:
    """Multiclass DeepFool, batched over images.

    Args:
        model: classifier returning logits [N, num_classes]; run in eval mode, its
            previous state restored afterwards.
        x: float images [N, C, H, W] in [0, 1]; not modified.
        y: int64 labels [N], optional (the call shape of every other attack here). Given,
            each image is moved off its label: the candidates are y and the top-scoring
            other classes, and an image the model already gets wrong is returned
            unchanged (iterations 0, success True), as torchattacks' DeepFool does.
            ``None`` (the paper's setting) moves each image off the class the model
            predicts for it.
        overshoot: x_{i+1} = clip(x_i + (1 + overshoot) r_i) (0.02 as in the paper).
        max_iter: at most this many steps per image; an image that is fooled stops
            changing.
        num_candidates: the classes considered, the top-scoring ones at x (including
            k_0); clipped to num_classes.
        project_box: drop from each w'_k the pixels that sit at 0 (1) and that it would
            push below 0 (above 1), so that the step reaches the linearised boundary
            on the face of the [0, 1] box the iterate lies on (default). ``False`` steps
            as the authors' code and torchattacks do and lets the clip cut the step
            short: on images with saturated pixels (Fashion-MNIST's black background)
            it finds smaller perturbations where it succeeds and stalls more often
            (equal to torchattacks' DeepFool to float rounding).

    Returns:
        :class:`DeepFoolResult`, tensors on ``x``'s device.

    Raises:
        TypeError/ValueError: bad images, labels, overshoot, max_iter, num_candidates or
        project_box.
    """
    overshoot = check_budget(overshoot, "overshoot", upper=None)
    max_iter = check_count(max_iter, "max_iter")
    num_candidates = check_count(num_candidates, "num_candidates", minimum=2)
    if not isinstance(project_box, bool):
        raise TypeError(f"project_box must be a bool, got {type(project_box).__name__}: {project_box!r}")
    x = check_images(x, model=model)
    if y is not None:
        y = check_labels(y, x.shape[0], None)
    with attack_mode(model):
        device = model_device(model, x.device)
        x0 = x.detach().to(device)
        n = x0.shape[0]
        with torch.no_grad():
            logits0 = model(x0)
        if logits0.dim() != 2 or logits0.shape[1] < 2:
            raise ValueError(f"model must return logits [N, num_classes >= 2], got {tuple(logits0.shape)}")
        k = min(num_candidates, logits0.shape[1])
        if y is None:
            candidates = logits0.topk(k, dim=1).indices  # [N, k]; column 0 is k_0
        else:
            label = y.to(device, torch.int64)
            if int(label.max()) >= logits0.shape[1]:
                classes = logits0.shape[1]
                raise ValueError(f"y: labels must be below the model's {classes} classes, got {int(label.max())}")
            others = logits0.scatter(1, label[:, None], float("-inf")).topk(k - 1, dim=1).indices
            candidates = torch.cat([label[:, None], others], dim=1)  # [N, k]; column 0 is y
        label = candidates[:, 0]
        x_adv = x0.clone()
        iterations = torch.zeros(n, dtype=torch.int64, device=device)
        active = torch.ones(n, dtype=torch.bool, device=device)
        for _ in range(max_iter):
            idx = active.nonzero().squeeze(1)
            if idx.numel() == 0:
                break
            with torch.enable_grad():  # also inside a caller's no_grad block
                xi = x_adv[idx].requires_grad_(True)
                logits = model(xi)
                fooled = logits.argmax(dim=1) != label[idx]
                if fooled.any():
                    # Done images stop here; the backward passes below run only on the
                    # others (one more forward pass is cheaper than k - 1 backward ones).
                    active[idx[fooled]] = False
                    idx = idx[~fooled]
                    if idx.numel() == 0:
                        break
                    xi = x_adv[idx].requires_grad_(True)
                    logits = model(xi)
                f_diff, w = _candidate_gradients(logits, xi, candidates[idx])
            r = _minimal_step(f_diff, w, xi.detach(), project_box)
            # x_{i+1} = clip(x_i + (1 + overshoot) r_i): without clipping this is the
            # authors' x + (1 + overshoot) sum r; with it, each iterate stays an image and
            # the next step re-linearises there (as torchattacks does).
            x_adv[idx] = (x_adv[idx] + (1.0 + overshoot) * r).clamp(0.0, 1.0)
            iterations[idx] += 1
        with torch.no_grad():
            adversarial_label = model(x_adv).argmax(dim=1)
    x_adv = x_adv.detach()
    return DeepFoolResult(
        x_adv=x_adv.to(x.device),
        perturbation=(x_adv - x0).to(x.device),
        iterations=iterations.to(x.device),
        success=(adversarial_label != label).to(x.device),
        label=label.to(x.device),
        adversarial_label=adversarial_label.to(x.device),
    )


def rho_adv(perturbation: torch.Tensor, x: torch.Tensor) -> float:
    """The DeepFool paper's rho_adv = mean over images of ||r||_2 / ||x||_2 (its eq. 15).

    ``perturbation`` is either the perturbations [N, ...] (same shape as the images
    ``x``) or their L2 norms [N] (e.g. ``FgsmSweep.minimal_l2``). Images with no
    adversarial example (an inf norm) must be dropped by the caller: they raise
    ValueError, as do mismatched shapes.
    """
    if perturbation.shape == x.shape:
        norms = _per_image_norm(perturbation)
    elif perturbation.shape == x.shape[:1]:
        norms = perturbation
    else:
        raise ValueError(
            f"perturbation must have the images' shape {tuple(x.shape)} or be norms [{x.shape[0]}], "
            f"got {tuple(perturbation.shape)}"
        )
    ratio = norms.to(x.device, x.dtype) / _per_image_norm(x).clamp_min(1e-12)
    if not torch.isfinite(ratio).all():
        raise ValueError("perturbation has inf/NaN entries: drop the images with no adversarial example first")
    return float(ratio.mean())
