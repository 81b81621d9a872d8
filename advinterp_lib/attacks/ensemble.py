"""The ensemble-optimisation targeted attack (the paper's adversarial-set generator).

Dong et al. (2017) build their adversarial set by attacking the *ensemble* of AlexNet,
VGG-16 and ResNet-18 at once, toward each image's least-likely classes, with Adam
(step size 5 on the 0..255 pixel scale, 10-20 iterations), minimising "the averaged
loss" of the models. Attacking an ensemble, rather than one model, is the idea of Liu
et al. (2017, "Delving into transferable adversarial examples"): an image that fools
several models together tends to fool others too.

How to average is a choice, offered as drop-in loss strategies (each maps the models'
logits and the targets to one loss per image):

- :func:`average_cross_entropy_loss` (the default): the mean of the models'
  cross-entropies toward the target -- the paper's "averaged loss" read literally.
  Every model's loss counts, so no model can be left behind.
- :func:`average_probability_loss`: Liu et al.'s
  ``-log((1/M) sum_m softmax(f_m(x'))[t])``, the cross-entropy of the averaged
  probabilities. Once one model is sure of the target the average probability is
  already >= 1/M and its gradient fades: on our Fashion-MNIST zoo the most pliable
  model then carries the ensemble while the hardest one is barely moved.
- :func:`average_logit_loss`: the cross-entropy of the averaged logits (Dong et al.
  2018, momentum iterative attack on ensembles).

How the perturbation is optimised: ``delta`` is a free tensor updated by
``torch.optim.Adam`` (learning rate = ``step_size``); after every step it is
*projected* -- clipped to the L-inf ball ``|delta| <= eps`` when a budget is given,
then so that ``x + delta`` stays in [0, 1]. (Projected Adam, not a tanh
reparametrisation: the step size then keeps its meaning in pixel units, as in the
paper.) Adam is element-wise and the loss is summed over images, so every image is
optimised independently of the others in its batch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..validation import check_images, check_labels
from .base import attack_mode, check_budget, check_count, model_device
from .iterative import AdamStep, iterate
from .targets import least_likely

#: A loss strategy: (list of M logits tensors [N, K], targets [N]) -> loss per image [N].
EnsembleLoss = Callable[[Sequence[torch.Tensor], torch.Tensor], torch.Tensor]


def average_probability_loss(logits: Sequence[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    """-log of the ensemble's average probability of the target (Liu et al. 2017). [N]"""
    log_probs = torch.stack([F.log_softmax(z, dim=1) for z in logits])  # [M, N, K]
    # log(mean_m p_m) computed stably as logsumexp - log M
    log_mean = torch.logsumexp(log_probs, dim=0) - torch.log(torch.tensor(float(len(logits))))
    return -log_mean.gather(1, target[:, None]).squeeze(1)


def average_cross_entropy_loss(logits: Sequence[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    """The mean over models of each model's cross-entropy toward the target. [N]"""
    return torch.stack([F.cross_entropy(z, target, reduction="none") for z in logits]).mean(0)


def average_logit_loss(logits: Sequence[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the models' averaged logits toward the target (Dong et al. 2018). [N]"""
    return F.cross_entropy(torch.stack(list(logits)).mean(0), target, reduction="none")


@dataclass(frozen=True, eq=False)
class EnsembleAttackResult:
    """What :func:`ensemble_attack_result` found.

    Attributes:
        x_adv: adversarial images, float [N, C, H, W] in [0, 1].
        target: the target classes, int64 [N].
        success: bool [N], the ensemble's average probability puts ``target`` first.
        model_success: bool [M, N], each model on its own predicts ``target``.
        loss: the final ensemble loss per image, float [N].
        linf: ``max |x_adv - x|`` per image, float [N].
    """

    x_adv: torch.Tensor
    target: torch.Tensor
    success: torch.Tensor
    model_success: torch.Tensor
    loss: torch.Tensor
    linf: torch.Tensor

    @property
    def success_rate(self) -> float:
        """Fraction of images on which the ensemble predicts the target."""
        return self.success.float().mean().item()


@contextlib.contextmanager
def _attack_mode_all(models: Sequence[nn.Module]) -> Iterator[None]:
    """:func:`~advinterp_lib.attacks.base.attack_mode` for every model of the ensemble:
    eval mode inside, each module's previous flag restored afterwards."""
    with contextlib.ExitStack() as stack:
        for m in models:
            stack.enter_context(attack_mode(m))
        yield


def check_models(models: object) -> list[nn.Module]:
    """``models`` as a non-empty list of ``nn.Module`` (one module is a list of one).
    Raises TypeError or ValueError naming what is wrong."""
    if isinstance(models, nn.Module):
        return [models]
    if not isinstance(models, Sequence) or isinstance(models, (str, bytes)):
        raise TypeError(f"models must be a sequence of torch.nn.Module, got {type(models).__name__}")
    models = list(models)
    if not models:
        raise ValueError("models must hold at least one model, got an empty sequence")
    for i, m in enumerate(models):
        if not isinstance(m, nn.Module):
            raise TypeError(f"models[{i}] must be a torch.nn.Module, got {type(m).__name__}")
    return models


def _num_classes(logits: Sequence[torch.Tensor]) -> int:
    sizes = {z.shape[-1] for z in logits}
    if len(sizes) != 1 or any(z.dim() != 2 for z in logits):
        raise ValueError(
            f"models must all return logits [N, K] with the same K, got shapes {[tuple(z.shape) for z in logits]}"
        )
    return sizes.pop()


def ensemble_probabilities(
    models: Sequence[nn.Module] | nn.Module, x: torch.Tensor, *, batch_size: int = 512
) -> torch.Tensor:
    """The ensemble's average softmax probability, float [N, K] (rows sum to 1).

    Args:
        models: one or more classifiers mapping [N, C, H, W] in [0, 1] to logits [N, K].
        x: float images [N, C, H, W] in [0, 1].
        batch_size: images per forward pass.

    Raises:
        TypeError / ValueError: bad ``models`` (empty, not modules) or ``x`` (see
            :func:`advinterp_lib.validation.check_images`).
    """
    models = check_models(models)
    check_images(x, model=models[0])
    check_count(batch_size, "batch_size")
    device = model_device(models[0], x.device)
    out = []
    with _attack_mode_all(models), torch.no_grad():
        for chunk in x.split(batch_size):
            logits = [m(chunk.to(device)) for m in models]
            _num_classes(logits)
            out.append(torch.stack([z.softmax(1) for z in logits]).mean(0))
    return torch.cat(out).to(x.device)


def least_likely_targets(
    models: Sequence[nn.Module] | nn.Module,
    x: torch.Tensor,
    k: int,
    *,
    exclude: torch.Tensor | None = None,
    batch_size: int = 512,
) -> torch.Tensor:
    """Each image's ``k`` least-likely classes under the ensemble's average probability.

    The paper's target choice: "the 10 least-likely classes (least average probability
    over the ensemble)". Column 0 is the least likely class, column 1 the next, ...

    Args:
        models: one or more classifiers (logits [N, K]); a single model is allowed.
        x: float images [N, C, H, W] in [0, 1].
        k: targets per image, 1 <= k <= K - 1 (one class -- the excluded label, or
            else the most likely one -- is never a target).
        exclude: optional int labels [N] (usually the true labels) never chosen as a
            target even when the ensemble finds them unlikely (a misclassified image).
        batch_size: images per forward pass.

    Returns:
        int64 tensor [N, k] of class indices, distinct within each row.

    Raises:
        ValueError: ``k`` outside [1, K-1]; empty model list; bad images or labels.
        TypeError: ``k`` not an int; models not modules.
    """
    check_count(k, "k")
    probs = ensemble_probabilities(models, x, batch_size=batch_size)
    if exclude is not None:
        check_labels(exclude, x.shape[0], probs.shape[1], name="exclude")
        # probabilities are <= 1, so 2 puts the excluded class last
        probs = probs.scatter(1, exclude.to(device=probs.device, dtype=torch.int64)[:, None], 2.0)
    # ascending, stable: ties broken by the lower class index (targets.least_likely)
    return least_likely(probs, k=k).contiguous()


def ensemble_attack_result(
    models: Sequence[nn.Module] | nn.Module,
    x: torch.Tensor,
    target: torch.Tensor,
    *,
    step_size: float = 5 / 255,
    steps: int = 10,
    eps: float | None = None,
    loss: EnsembleLoss = average_cross_entropy_loss,
    random_start: bool = False,
    generator: torch.Generator | None = None,
) -> EnsembleAttackResult:
    """Targeted ensemble-optimisation attack (projected Adam on the perturbation).

    Minimises ``loss(models(x + delta), target)`` over ``delta`` for ``steps`` Adam
    steps of learning rate ``step_size``; after each step ``delta`` is clipped to
    ``[-eps, eps]`` (if ``eps`` is given) and so that ``x + delta`` is in [0, 1].
    The models are put in eval mode for the attack and restored afterwards; their
    parameters receive no gradient. ``x`` is not modified.

    Args:
        models: the ensemble, one or more classifiers mapping [N, C, H, W] images in
            [0, 1] to logits [N, K] (each normalises its own input).
        x: float images [N, C, H, W] in [0, 1], finite.
        target: int labels [N] in [0, K): the class each image should be taken to.
        step_size: Adam's learning rate in [0, 1] pixel units (paper: 5/255).
        steps: number of Adam steps, >= 1 (paper: 10 to 20).
        eps: optional L-inf budget in [0, 1] pixel units; None means only the [0, 1]
            box constrains the perturbation.
        loss: how the ensemble's outputs are combined into one loss per image
            (default: :func:`average_cross_entropy_loss`).
        random_start: start from a uniform point of the eps ball (needs ``eps``).
        generator: the random source for ``random_start``.

    Returns:
        An :class:`EnsembleAttackResult`, its tensors on the device of ``x`` (the
        attack itself runs on the device of the first model).

    Raises:
        ValueError: empty model list; NaN/out-of-range images; targets out of
            range; non-positive ``steps``/``step_size``; ``eps`` outside [0, 1];
            ``random_start`` without ``eps``.
        TypeError: wrong argument types.
    """
    models = check_models(models)
    check_images(x, model=models[0])
    check_count(steps, "steps")
    step_size = check_budget(step_size, "step_size")
    if step_size == 0:
        raise ValueError("step_size must be > 0 (pixel units; the paper's 5 is 5/255), got 0")
    if eps is not None:
        eps = check_budget(eps, "eps")
    if not callable(loss):
        raise TypeError(f"loss must be a callable (logits list, target) -> loss per image, got {type(loss).__name__}")

    home = x.device
    device = model_device(models[0], home)
    with _attack_mode_all(models):
        x = x.detach().to(device)
        with torch.no_grad():
            num_classes = _num_classes([m(x[:1]) for m in models])
        check_labels(target, x.shape[0], num_classes, name="target")
        target = target.to(device=device, dtype=torch.int64)

        update = AdamStep(x, step_size=step_size, eps=eps, random_start=random_start, generator=generator)

        def gradient(x_t: torch.Tensor, t: int) -> torch.Tensor:
            xi = x_t.requires_grad_(True)
            per_image = loss([m(xi) for m in models], target)
            # sum: each image's gradient does not depend on the batch it came in
            (grad,) = torch.autograd.grad(per_image.sum(), xi)
            return -grad  # the ascent direction: the loss is minimised

        with torch.enable_grad():
            x_last = iterate(update, gradient, steps)
        with torch.no_grad():
            x_adv = x_last.clamp(0, 1)
            logits = [m(x_adv) for m in models]
            final_loss = loss(logits, target)
            avg_prob = torch.stack([z.softmax(1) for z in logits]).mean(0)
            success = avg_prob.argmax(1) == target
            model_success = torch.stack([z.argmax(1) == target for z in logits])
            linf = (x_adv - x).flatten(1).abs().amax(1)
    return EnsembleAttackResult(
        x_adv=x_adv.detach().to(home),
        target=target.to(home),
        success=success.to(home),
        model_success=model_success.to(home),
        loss=final_loss.detach().to(home),
        linf=linf.to(home),
    )


def ensemble_attack(
    models: Sequence[nn.Module] | nn.Module,
    x: torch.Tensor,
    target: torch.Tensor,
    *,
    step_size: float = 5 / 255,
    steps: int = 10,
    eps: float | None = None,
    loss: EnsembleLoss = average_cross_entropy_loss,
    random_start: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The adversarial images of :func:`ensemble_attack_result` (same arguments and
    errors): float [N, C, H, W] in [0, 1], targeted at ``target`` on the ensemble."""
    return ensemble_attack_result(
        models,
        x,
        target,
        step_size=step_size,
        steps=steps,
        eps=eps,
        loss=loss,
        random_start=random_start,
        generator=generator,
    ).x_adv


__all__ = [
    "EnsembleAttackResult",
    "EnsembleLoss",
    "average_cross_entropy_loss",
    "average_logit_loss",
    "average_probability_loss",
    "ensemble_attack",
    "ensemble_attack_result",
    "ensemble_probabilities",
    "least_likely_targets",
]
