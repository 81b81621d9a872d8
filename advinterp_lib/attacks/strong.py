"""A strong L-inf evaluation: PGD with restarts, then APGD-CE, then targeted APGD-DLR.

FGSM and a few PGD steps give *upper bounds* on robust accuracy: an attack that fails
may only be a weak attack. Croce & Hein's AutoAttack (2020) made the standard check a
cascade of parameter-free attacks, each run on the images that survived the previous
ones. :func:`strong_attack` is that cascade on our models (images in [0, 1], the model
normalises its own input):

1. PGD on the cross-entropy, ``pgd_steps`` steps of ``2.5 * eps / pgd_steps`` from
   ``pgd_restarts`` random starts (:func:`~advinterp_lib.attacks.pgd.pgd`);
2. APGD on the cross-entropy (torchattacks' ``APGD``: step size adapted per image,
   momentum, restarts from the best point);
3. targeted APGD on the DLR loss toward each of the ``n_targets`` classes the model
   scores highest after the true one (torchattacks' ``APGDT``; the DLR loss is
   invariant to the logits' scale, which defeats the saturated-softmax kind of
   gradient masking).

An image counts as robust only if it is classified correctly and no stage fools it.
The result keeps the robust accuracy after each stage, so a chapter can show how far
the weaker attacks overstate robustness. Square attack and FAB, the rest of
AutoAttack's standard suite, are left out: on CPU they cost more than the rest
together, and on undefended or briefly fine-tuned models the gradient attacks
already find the adversarial examples (compare the stages to see it).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..models.state import predicted_labels
from .base import attack_mode, check_attack_inputs, check_budget, check_count
from .pgd import pgd

__all__ = ["STAGES", "StrongAttackResult", "strong_attack"]

#: The cascade's stages, in order (keys of :attr:`StrongAttackResult.accuracy`).
STAGES: tuple[str, ...] = ("clean", "pgd", "apgd-ce", "apgd-t")


@dataclass(frozen=True, eq=False)
class StrongAttackResult:
    """What :func:`strong_attack` found.

    Attributes:
        x_adv: float [N, C, H, W] in [0, 1]: for a fooled image the example of the
            first stage that fooled it, for a robust one the last stage's attempt
            (the clean image when it was misclassified to begin with).
        robust: bool [N], classified correctly and not fooled by any stage.
        robust_after: ``{stage: bool [N]}``, robust against the stages up to and
            including ``stage`` (:data:`STAGES`; ``"clean"``: correct on the image).
        settings: the attack's parameters (JSON-ready).
    """

    x_adv: torch.Tensor
    robust: torch.Tensor
    robust_after: dict[str, torch.Tensor]
    settings: dict[str, float | int]

    def accuracy(self) -> dict[str, float]:
        """Top-1 accuracy after each stage, ``{"clean": ..., "pgd": ..., "apgd-ce": ...,
        "apgd-t": ...}``; the last is the cascade's robust accuracy."""
        return {stage: float(r.float().mean()) for stage, r in self.robust_after.items()}


def strong_attack(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    pgd_steps: int = 50,
    pgd_restarts: int = 3,
    apgd_steps: int = 100,
    n_targets: int = 3,
    seed: int = 0,
    batch_size: int = 500,
) -> StrongAttackResult:
    """The robust accuracy of ``model`` in the L-inf ball of radius ``eps``, by the
    cascade PGD (restarts) -> APGD-CE -> APGD-T (DLR) described in the module.

    Args:
        model: classifier of pixels in [0, 1] returning logits [N, K] (K >= 4 for the
            DLR loss); attacked in eval mode, every module's mode restored.
        x: float [N, C, H, W] in [0, 1] (not modified); y: int [N], true labels.
        eps: L-inf budget in [0, 1] pixel units.
        pgd_steps, pgd_restarts: stage 1 (0 restarts skips it).
        apgd_steps: iterations of each APGD run (stages 2 and 3).
        n_targets: target classes of APGD-T, the highest-scoring wrong ones (0 skips
            stage 3; at most K - 1).
        seed: seeds every random start (torch's global generator is left as it was).
        batch_size: images per attack batch.

    Returns:
        :class:`StrongAttackResult`.

    Raises:
        TypeError/ValueError: bad images, labels, budget or counts; fewer than 4 classes
            with ``n_targets > 0``.
    """
    import torchattacks  # the APGD implementation of reference (Croce & Hein's, ported)

    eps = check_budget(eps, "eps")
    pgd_steps = check_count(pgd_steps, "pgd_steps")
    apgd_steps = check_count(apgd_steps, "apgd_steps")
    for name, value in (("pgd_restarts", pgd_restarts), ("n_targets", n_targets), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    batch_size = check_count(batch_size, "batch_size")
    settings = {
        "eps": eps,
        "pgd_steps": pgd_steps,
        "pgd_restarts": pgd_restarts,
        "apgd_steps": apgd_steps,
        "n_targets": n_targets,
        "seed": seed,
    }
    with attack_mode(model), torch.random.fork_rng(devices=[]):
        xd, yd = check_attack_inputs(model, x, y)
        with torch.no_grad():
            num_classes = int(model(xd[:1]).shape[1])
        if n_targets > num_classes - 1:
            raise ValueError(f"n_targets must be <= num_classes - 1 = {num_classes - 1}, got {n_targets}")
        if n_targets > 0 and num_classes < 4:
            raise ValueError(f"the DLR loss of APGD-T needs at least 4 classes, the model has {num_classes}")
        x_adv = xd.clone()
        robust = predicted_labels(model, xd, batch_size=batch_size) == yd
        robust_after = {"clean": robust.clone()}
        generator = torch.Generator().manual_seed(seed)

        def run_stage(stage: str, attack) -> None:
            idx = robust.nonzero().flatten()
            for start in range(0, len(idx), batch_size):
                b = idx[start : start + batch_size]
                candidate = attack(xd[b], yd[b])
                fooled = predicted_labels(model, candidate, batch_size=batch_size) != yd[b]
                x_adv[b] = candidate  # a robust image keeps the latest attempt
                robust[b[fooled]] = False
            robust_after[stage] = robust.clone()

        step = min(1.0, 2.5 * eps / pgd_steps)

        def pgd_restarted(xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
            best = xb
            alive = torch.ones(len(xb), dtype=torch.bool)
            for _ in range(pgd_restarts):
                cand = pgd(
                    model,
                    xb[alive],
                    yb[alive],
                    eps=eps,
                    step_size=step,
                    steps=pgd_steps,
                    random_start=True,
                    generator=generator,
                )
                best = best.clone()
                best[alive] = cand
                alive_idx = alive.nonzero().flatten()
                alive[alive_idx[predicted_labels(model, cand, batch_size=batch_size) != yb[alive]]] = False
                if not alive.any():
                    break
            return best

        run_stage("pgd", pgd_restarted if pgd_restarts > 0 else (lambda xb, yb: xb))
        apgd = torchattacks.APGD(model, norm="Linf", eps=eps, steps=apgd_steps, n_restarts=1, loss="ce", seed=seed)
        run_stage("apgd-ce", lambda xb, yb: apgd(xb, yb).detach())
        if n_targets > 0:
            # torchattacks' APGDT attacks the n_classes - 1 highest-scoring wrong classes
            apgdt = torchattacks.APGDT(
                model, norm="Linf", eps=eps, steps=apgd_steps, n_restarts=1, seed=seed, n_classes=n_targets + 1
            )
            run_stage("apgd-t", lambda xb, yb: apgdt(xb, yb).detach())
        else:
            robust_after["apgd-t"] = robust.clone()
    return StrongAttackResult(
        x_adv=x_adv.to(x.device),
        robust=robust.cpu(),
        robust_after={k: v.cpu() for k, v in robust_after.items()},
        settings=settings,
    )
