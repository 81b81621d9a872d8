"""Training objectives: what a training step minimises.

An objective is a function ``objective(model, x, y) -> loss``: ``x`` a batch of
pixels ``[B, C, H, W]`` in [0, 1], ``y`` labels ``[B]`` (int64), ``loss`` a scalar
tensor with an autograd graph to the model's parameters. The training loop
(:func:`advinterp_lib.training.train`) only calls it and backpropagates, so
standard training and the adversarial-training variants of chapters 9 and 12
share one loop.

If the objective runs the model on the batch ``x`` itself (the same tensor
object), the loop reads that forward pass's logits to report training accuracy.

Adversarial objectives are small frozen dataclasses: their parameters are fields,
they pickle, and ``.config()`` describes them as JSON (for cache keys and results).

- :class:`FGSMTraining` (Goodfellow et al. 2015), :class:`PGDTraining` (Madry et al.
  2018), :class:`EnsembleAdversarialTraining` (Tramer et al. 2018);
- :class:`ConsistentAdversarialTraining` (Dong et al. 2017, the paper of this book) and
  :class:`FeatureDistanceConsistentTraining` (its consistency term on an example that
  maximises the feature distance itself).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..attacks.base import LinfBall, attack_mode, check_budget, check_count, model_device
from ..attacks.fgsm import fgsm
from ..attacks.iterative import ProjectedStep, iterate
from ..attacks.pgd import pgd
from ..attacks.targets import least_likely, random_targets
from ..models.layers import capture_activations, last_conv_layer
from ..validation import check_images

__all__ = [
    "cross_entropy",
    "FGSMTraining",
    "PGDTraining",
    "EnsembleAdversarialTraining",
    "ConsistentAdversarialTraining",
    "FeatureDistanceConsistentTraining",
    "feature_distance",
    "feature_distance_example",
    "targeted_iterative_fgsm",
]


def cross_entropy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Empirical risk minimisation: the mean cross-entropy of ``model(x)`` against
    ``y`` (a scalar tensor)."""
    return F.cross_entropy(model(x), y)


# ----------------------------------------------------------- adversarial training
#
# Mode convention (the answer to "train or eval mode while the attack is crafted?"):
# every adversarial example below is crafted with the model in **eval mode** (the
# attacks' ``attack_mode``: dropout off, batch-norm uses and does not update its running
# statistics, each module's flag restored afterwards), as in Madry et al.'s and
# Tramer et al.'s code; the loss is then computed in the mode the caller left the model
# in — train mode inside :func:`~advinterp_lib.training.train`. Clean and adversarial
# batches go through the model in *separate* forward passes, so batch-norm never
# normalises a clean image with adversarial statistics (each pass updates the running
# statistics once). A term whose weight is 0 is not computed at all, so e.g.
# ``ConsistentAdversarialTraining(alpha=1, beta=0)`` *is* ERM, bit for bit.


def _check_weight(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number in [0, 1], got {type(value).__name__}")
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return value


def _check_nonneg(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number >= 0, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def _mixed_loss(
    model: nn.Module, x: torch.Tensor, x_adv: torch.Tensor | None, y: torch.Tensor, alpha: float
) -> torch.Tensor:
    """alpha * CE(x, y) + (1 - alpha) * CE(x_adv, y), skipping a term of weight 0."""
    loss = torch.zeros((), device=x.device)
    if alpha > 0:
        loss = loss + alpha * F.cross_entropy(model(x), y)
    if alpha < 1:
        loss = loss + (1 - alpha) * F.cross_entropy(model(x_adv), y)
    return loss


@dataclass(frozen=True)
class FGSMTraining:
    """Goodfellow et al. (2015): ``alpha * CE(x, y) + (1 - alpha) * CE(x_fgsm, y)`` with
    ``x_fgsm = fgsm(model, x, y, eps=eps)`` crafted on the model being trained (eval
    mode, no gradient to the parameters through the attack).

    Cost per batch: 3 forward and 2 backward passes (1 + 1 for the attack).

    Attributes:
        eps: L-inf budget in [0, 1] pixel units.
        alpha: weight of the clean term, in [0, 1] (1: ERM, 0: adversarial only).
    """

    eps: float
    alpha: float = 0.5

    def __post_init__(self) -> None:
        check_budget(self.eps, "eps")
        _check_weight("alpha", self.alpha)

    def config(self) -> dict[str, Any]:
        """JSON-ready description (name and parameters), e.g. for a cache key."""
        return {"name": "fgsm", **asdict(self)}

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x_adv = fgsm(model, x, y, eps=self.eps) if self.alpha < 1 else None
        return _mixed_loss(model, x, x_adv, y, self.alpha)


@dataclass(frozen=True)
class PGDTraining:
    """Madry et al. (2018), robust ERM ``min_theta E max_{||d||_inf <= eps} CE(x + d, y)``:
    the inner max by PGD (``steps`` steps of ``step_size``, from a uniform random point
    of the ball when ``random_start``), the outer by the training loop on ``CE(x_pgd, y)``.

    With ``alpha > 0`` the loss keeps a clean term as FGSM-AT and the paper's
    consistent loss do, ``alpha * CE(x, y) + (1 - alpha) * CE(x_pgd, y)`` (chapter 12's
    ablation compares the objectives at the same alpha). ``alpha = 0`` is Madry et al.'s.

    Cost per batch: ``steps + 1`` forward and ``steps + 1`` backward passes (one more
    of each for the clean term).
    """

    eps: float
    step_size: float
    steps: int
    random_start: bool = True
    alpha: float = 0.0

    def __post_init__(self) -> None:
        check_budget(self.eps, "eps")
        check_budget(self.step_size, "step_size")
        check_count(self.steps, "steps")
        if not isinstance(self.random_start, bool):
            raise TypeError(f"random_start must be a bool, got {type(self.random_start).__name__}")
        _check_weight("alpha", self.alpha)

    def config(self) -> dict[str, Any]:
        """JSON-ready description (name and parameters), e.g. for a cache key. ``alpha``
        appears only when it is not Madry et al.'s 0, so the keys of models trained
        before the clean term existed still name them."""
        config = {"name": "pgd", **asdict(self)}
        if self.alpha == 0:
            del config["alpha"]
        return config

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.alpha == 1:
            return _mixed_loss(model, x, None, y, 1.0)
        # The random start draws from torch's global generator, which the training loop
        # seeds per epoch: runs are reproducible and resumable.
        x_adv = pgd(
            model, x, y, eps=self.eps, step_size=self.step_size, steps=self.steps, random_start=self.random_start
        )
        return _mixed_loss(model, x, x_adv, y, self.alpha)


@dataclass(frozen=True)
class EnsembleAdversarialTraining:
    """Tramer et al. (2018): ``alpha * CE(x, y) + (1 - alpha) * CE(x_adv, y)`` where, per
    batch, ``x_adv`` is the FGSM example of one *source* drawn uniformly from the model
    being trained and the static, pre-trained ``static_models`` (never updated; the
    draw uses torch's global generator, which the training loop seeds per epoch, so
    runs are reproducible and resumable). Examples from static models decouple the
    attack from the model, which defeats gradient masking.

    Attributes:
        static_models: pre-trained models, as a tuple or a ``{name: model}`` dict (the
            names go into :meth:`config`); they must live on the training device.
        eps: FGSM budget in [0, 1] pixel units.
        alpha: weight of the clean term, in [0, 1].
        include_self: whether the model being trained is one of the sources.
    """

    static_models: Any
    eps: float
    alpha: float = 0.5
    include_self: bool = True

    def __post_init__(self) -> None:
        models = self.static_models
        if isinstance(models, Mapping):
            models = list(models.values())
        elif isinstance(models, nn.Module):
            raise TypeError("static_models must be a sequence or dict of models, got one model: wrap it in a tuple")
        models = list(models)
        if not models or not all(isinstance(m, nn.Module) for m in models):
            raise TypeError(f"static_models must hold at least one torch.nn.Module, got {models!r:.200}")
        check_budget(self.eps, "eps")
        _check_weight("alpha", self.alpha)

    @property
    def sources(self) -> list[nn.Module]:
        """The static models, in order."""
        m = self.static_models
        return list(m.values()) if isinstance(m, Mapping) else list(m)

    def config(self) -> dict[str, Any]:
        """JSON-ready description; static models by their dict name or class name."""
        m = self.static_models
        names = list(m) if isinstance(m, Mapping) else [type(s).__name__ for s in m]
        return {
            "name": "ensemble",
            "static_models": [str(n) for n in names],
            "eps": self.eps,
            "alpha": self.alpha,
            "include_self": self.include_self,
        }

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.alpha == 1:
            return _mixed_loss(model, x, None, y, 1.0)
        sources = ([model] if self.include_self else []) + self.sources
        source = sources[int(torch.randint(len(sources), ()))]
        x_adv = fgsm(source, x, y, eps=self.eps)  # no gradient flows into a static model
        return _mixed_loss(model, x, x_adv, y, self.alpha)


def _feature_layer(model: nn.Module, layer: str | None) -> str:
    return last_conv_layer(model) if layer is None else layer


def feature_distance(
    model: nn.Module, x: torch.Tensor, x_other: torch.Tensor, *, layer: str | None = None
) -> torch.Tensor:
    """Per-image ``||phi(x) - phi(x_other)||_2`` [N] of the flattened features phi at
    ``layer`` (default ``model.last_conv``), with gradients to the parameters, in the
    model's current mode (two forward passes)."""
    name = _feature_layer(model, layer)
    with capture_activations(model, name, detach=False) as acts:
        model(x)
        a = acts[name]
        model(x_other)
        b = acts[name]
    return _pairwise_l2(a, b)


def _pairwise_l2(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # sqrt(sum d^2) with a zero-safe backward: d||v||/dv is undefined at v = 0; we use
    # 0 there (a subgradient), so x* == x gives a zero term *and* a zero gradient.
    sq = (a - b).flatten(1).pow(2).sum(dim=1)
    safe = torch.where(sq > 0, sq, torch.ones_like(sq))
    return torch.where(sq > 0, safe.sqrt(), torch.zeros_like(sq))


def targeted_iterative_fgsm(
    model: nn.Module, x: torch.Tensor, target: torch.Tensor, *, eps_step: float, steps: int
) -> torch.Tensor:
    """The paper's x*: ``x*_t = clip_[0,1](x*_{t-1} - eps_step * sign(grad CE(f(x*_{t-1}), t)))``,
    ``x*_0 = x``, ``steps`` times (eval mode, restored). No projection: the total change
    is at most ``steps * eps_step`` per pixel. Returns float [N, C, H, W] in [0, 1]."""
    budget = min(1.0, steps * eps_step)
    # PGD without a random start on a ball the steps never leave is exactly this loop.
    return pgd(model, x, target, eps=budget, step_size=eps_step, steps=steps, targeted=True)


def feature_distance_example(
    model: nn.Module,
    x: torch.Tensor,
    *,
    eps: float,
    step_size: float,
    steps: int,
    layer: str | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """x' maximising ``||phi(x) - phi(x')||_2`` over the L-inf ball of radius ``eps``
    (and [0, 1]) by PGD from a uniform random start (the distance's gradient vanishes at
    x' = x). phi: the flattened output of ``layer`` (default ``model.last_conv``), eval
    mode (restored). Returns float [N, C, H, W] in [0, 1] on ``x``'s device."""
    eps = check_budget(eps, "eps")
    step_size = check_budget(step_size, "step_size")
    steps = check_count(steps, "steps")
    name = _feature_layer(model, layer)
    ball = LinfBall()
    with attack_mode(model):
        xd = check_images(x).to(model_device(model, x.device))
        with torch.no_grad(), capture_activations(model, name) as acts:
            model(xd)
            target = acts[name]
        update = ProjectedStep(xd, ball, eps=eps, step_size=step_size, random_start=True, generator=generator)

        def gradient(x_t: torch.Tensor, t: int) -> torch.Tensor:
            with torch.enable_grad(), capture_activations(model, name, detach=False) as acts:
                xa = x_t.detach().requires_grad_(True)
                model(xa)
                dist = _pairwise_l2(acts[name], target).sum()
                (grad,) = torch.autograd.grad(dist, xa)
            return grad

        x_adv = iterate(update, gradient, steps)
    return x_adv.to(x.device)


_TARGETS = ("least_likely", "random")


@dataclass(frozen=True)
class ConsistentAdversarialTraining:
    """The paper's consistent adversarial training (Dong et al. 2017, eq. in Sec. 5):

        L = alpha * CE(x, y) + (1 - alpha) * CE(x*, y) + beta * mean_i ||phi(x_i) - phi(x*_i)||_2

    phi the flattened output of ``layer`` (default ``model.last_conv``), x* the targeted
    iterative FGSM toward y* (:func:`targeted_iterative_fgsm`; ``steps`` steps of
    ``eps_step``, clipped to [0, 1]), y* the least-likely class of the model or a random
    other class (torch's global generator, seeded per epoch by the loop).

    Cost per batch: ``steps + 3`` forward (``+1`` for the least-likely target) and
    ``steps + 1`` backward passes.
    """

    eps_step: float
    steps: int
    alpha: float = 0.5
    beta: float = 0.1
    target: str = "least_likely"
    layer: str | None = None

    def __post_init__(self) -> None:
        check_budget(self.eps_step, "eps_step")
        check_count(self.steps, "steps")
        _check_weight("alpha", self.alpha)
        _check_nonneg("beta", self.beta)
        if self.target not in _TARGETS:
            raise ValueError(f"target must be one of {_TARGETS}, got {self.target!r}")
        if self.layer is not None and not isinstance(self.layer, str):
            raise TypeError(f"layer must be a layer name (str) or None, got {type(self.layer).__name__}")

    def config(self) -> dict[str, Any]:
        """JSON-ready description (name and parameters), e.g. for a cache key."""
        return {"name": "consistent", **asdict(self)}

    def targets(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """y* [N]: least-likely classes (eval mode) or random classes != y."""
        if self.target == "least_likely":
            return least_likely(model, x=x)[:, 0]
        with attack_mode(model), torch.no_grad():
            num_classes = model(x[:1]).shape[1]
        return random_targets(y, num_classes)[:, 0]

    def adversarial_example(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x* for the batch (eval mode, restored)."""
        return targeted_iterative_fgsm(model, x, self.targets(model, x, y), eps_step=self.eps_step, steps=self.steps)

    def consistency_example(self, model: nn.Module, x: torch.Tensor, x_star: torch.Tensor) -> torch.Tensor:
        """The example whose features the consistency term compares with x's: x* here."""
        return x_star

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.alpha == 1 and self.beta == 0:
            return _mixed_loss(model, x, None, y, 1.0)
        x_star = self.adversarial_example(model, x, y)
        x_cons = self.consistency_example(model, x, x_star) if self.beta > 0 else None
        name = _feature_layer(model, self.layer)
        loss = torch.zeros((), device=x.device)
        with capture_activations(model, name, detach=False) as acts:
            logits = model(x)  # the clean pass, always (its features are phi(x))
            phi_x = acts[name]
            if self.alpha > 0:
                loss = loss + self.alpha * F.cross_entropy(logits, y)
            if self.alpha < 1:
                loss = loss + (1 - self.alpha) * F.cross_entropy(model(x_star), y)
                phi_star = acts[name]
            if self.beta > 0:
                if x_cons is not x_star or self.alpha == 1:
                    model(x_cons)
                    phi_star = acts[name]
                loss = loss + self.beta * _pairwise_l2(phi_x, phi_star).mean()
        return loss


@dataclass(frozen=True)
class FeatureDistanceConsistentTraining(ConsistentAdversarialTraining):
    """The faithful surrogate of the paper's min-max (the presentation's critique):

        L = alpha * CE(x, y) + (1 - alpha) * CE(x*, y) + beta * mean_i ||phi(x_i) - phi(x'_i)||_2

    x* as in :class:`ConsistentAdversarialTraining` (it maximises the loss), and x' from
    :func:`feature_distance_example`: PGD that maximises the feature distance itself in
    the L-inf ball of radius ``feature_eps`` (default ``steps * eps_step``, the reach of
    x*) with ``feature_steps`` steps of ``feature_eps / feature_steps * 2.5``.

    Cost per batch: about ``steps + feature_steps + 4`` forward and
    ``steps + feature_steps + 1`` backward passes.
    """

    feature_eps: float | None = None
    feature_steps: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.feature_eps is not None:
            check_budget(self.feature_eps, "feature_eps")
        check_count(self.feature_steps, "feature_steps")

    def config(self) -> dict[str, Any]:
        return {**super().config(), "name": "feature_consistent"}

    def consistency_example(self, model: nn.Module, x: torch.Tensor, x_star: torch.Tensor) -> torch.Tensor:
        eps = self.feature_eps if self.feature_eps is not None else min(1.0, self.steps * self.eps_step)
        return feature_distance_example(
            model, x, eps=eps, step_size=2.5 * eps / self.feature_steps, steps=self.feature_steps, layer=self.layer
        )
