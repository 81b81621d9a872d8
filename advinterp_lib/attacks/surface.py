"""Loss surfaces: the loss on a 2-D slice x + e1 * g + e2 * g_perp through an image.

Tramer et al. (Ensemble Adversarial Training, 2018, Fig. 5) plot the loss of a model
along g, the signed gradient of one model (the FGSM direction), and g_perp, an
adversarial direction of *another* model made orthogonal to g. A smooth bowl says the
model is locally linear (FGSM works); a sharp spike near x along g with a lower loss
further out says the loss is curved there ("gradient masking"), and FGSM's one step
under-estimates what a step along g_perp achieves.

- :func:`signed_gradient`: sign(grad_x L(x, y)) of one model, [N, C, H, W] in {-1, 0, 1}.
- :func:`orthogonal_direction`: Gram-Schmidt of a direction against g, rescaled to g's size.
- :func:`plane_values`: any per-image score on the grid of slice points, batched.
- :func:`loss_surface`: the cross-entropy on the slice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .base import attack_mode, check_attack_inputs, check_count, loss_gradient


def signed_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """sign(grad_x CE(model(x), y)): float [N, C, H, W] in {-1, 0, 1} (FGSM's direction,
    without Captum's small-gradient threshold), on ``x``'s device."""
    with attack_mode(model):
        xd, yd = check_attack_inputs(model, x, y)
        return loss_gradient(model, xd, yd).sign().to(x.device)


def orthogonal_direction(d: torch.Tensor, g: torch.Tensor, *, norm: str = "linf") -> torch.Tensor:
    """Per image, the part of ``d`` orthogonal to ``g`` (one Gram-Schmidt step,
    d - (d.g / g.g) g), rescaled so that its ``norm`` ("linf" or "l2") equals g's.

    Shapes [N, ...]. Raises ValueError for different shapes, an unknown norm, a zero g,
    or a d parallel to g (nothing orthogonal is left).
    """
    for name, t in (("d", d), ("g", g)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.dim() < 2:
            raise TypeError(f"{name} must be a float tensor [N, ...], got {getattr(t, 'dtype', type(t).__name__)}")
    if d.shape != g.shape:
        raise ValueError(f"d and g must have the same shape, got {tuple(d.shape)} and {tuple(g.shape)}")
    if norm not in ("linf", "l2"):
        raise ValueError(f"norm must be 'linf' or 'l2', got {norm!r}")
    df, gf = d.flatten(1).double(), g.flatten(1).double()
    gg = (gf * gf).sum(dim=1, keepdim=True)
    if (gg == 0).any():
        raise ValueError("g is zero for some image: the slice needs a non-zero direction")
    perp = df - (df * gf).sum(dim=1, keepdim=True) / gg * gf

    def size(t: torch.Tensor) -> torch.Tensor:
        return t.abs().amax(dim=1, keepdim=True) if norm == "linf" else t.norm(dim=1, keepdim=True)

    s = size(perp)
    if (s <= 1e-9 * size(df).clamp_min(1e-30)).any():
        raise ValueError("d is parallel to g for some image: no orthogonal direction is left")
    return (perp * size(gf) / s).to(g.dtype).view_as(g)


def plane_values(
    score: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    d1: torch.Tensor,
    d2: torch.Tensor,
    eps1: Sequence[float] | torch.Tensor,
    eps2: Sequence[float] | torch.Tensor,
    *,
    clip: bool = True,
    batch_size: int = 1024,
) -> torch.Tensor:
    """``score`` at x + e1 * d1 + e2 * d2 for every (e1, e2) of the grid: float [N, n1, n2].

    ``score`` maps a batch of points [B, ...] and the index [B] of the image each point
    belongs to, ``score(points, image_index)``, to one value per point [B]; it runs
    under no_grad. Points are clipped to [0, 1] when ``clip``. The n1 * n2 * N points
    are scored ``batch_size`` at a time.
    """
    e1 = torch.as_tensor(eps1, dtype=x.dtype, device=x.device).flatten()
    e2 = torch.as_tensor(eps2, dtype=x.dtype, device=x.device).flatten()
    batch_size = check_count(batch_size, "batch_size")
    for name, e in (("eps1", e1), ("eps2", e2)):
        if e.numel() == 0 or not torch.isfinite(e).all():
            raise ValueError(f"{name} must hold at least one finite step size, got {e.tolist()}")
    if not (d1.shape == d2.shape == x.shape):
        raise ValueError(
            f"x, d1 and d2 must have one shape, got {tuple(x.shape)}, {tuple(d1.shape)}, {tuple(d2.shape)}"
        )
    n, n1, n2 = x.shape[0], e1.numel(), e2.numel()
    a = e1.repeat_interleave(n2)  # grid order: e1 major, e2 minor
    b = e2.repeat(n1)
    out = torch.empty(n, n1 * n2, dtype=x.dtype, device=x.device)
    total = n * n1 * n2
    shape = (-1,) + (1,) * (x.dim() - 1)
    with torch.no_grad():
        for start in range(0, total, batch_size):
            flat = torch.arange(start, min(start + batch_size, total), device=x.device)
            img, point = flat // (n1 * n2), flat % (n1 * n2)
            pts = x[img] + a[point].view(shape) * d1[img] + b[point].view(shape) * d2[img]
            if clip:
                pts = pts.clamp(0.0, 1.0)
            out[img, point] = score(pts, img).to(out.dtype)
    return out.view(n, n1, n2)


def loss_surface(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    g: torch.Tensor,
    g_perp: torch.Tensor,
    eps1: Sequence[float] | torch.Tensor,
    eps2: Sequence[float] | torch.Tensor,
    *,
    batch_size: int = 1024,
) -> torch.Tensor:
    """The cross-entropy of ``model`` at clip(x + e1 * g + e2 * g_perp) for the grid of
    (e1, e2) (each in pixel units): float [N, n1, n2], row i for eps1[i], column j for
    eps2[j]. x: images [N, C, H, W] in [0, 1]; y: labels [N]; g, g_perp: [N, C, H, W]
    (e.g. :func:`signed_gradient` and :func:`orthogonal_direction`). Eval mode, restored."""
    with attack_mode(model):
        xd, yd = check_attack_inputs(model, x, y)
        for name, d in (("g", g), ("g_perp", g_perp)):
            if not isinstance(d, torch.Tensor) or d.shape != xd.shape or not torch.isfinite(d).all():
                raise ValueError(
                    f"{name} must be a finite direction shaped like x {tuple(xd.shape)}, "
                    f"got {tuple(getattr(d, 'shape', ())) or type(d).__name__}"
                )
        g, g_perp = g.to(xd.device, xd.dtype), g_perp.to(xd.device, xd.dtype)

        def cross_entropy(points: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
            return F.cross_entropy(model(points), yd[image], reduction="none")

        return plane_values(cross_entropy, xd, g, g_perp, eps1, eps2, batch_size=batch_size).to(x.device)
