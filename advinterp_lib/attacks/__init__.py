"""Adversarial attacks, one per module, one call shape: ``attack(model, x, y, *, ...) -> x_adv``
(DeepFool returns a small result dataclass). Images are float [N, C, H, W] in [0, 1];
budgets are in [0, 1] pixel units; inputs are never modified in place.

The black-box attack (:mod:`advinterp_lib.attacks.blackbox`) trains its surrogate with
:func:`advinterp_lib.training.train`, so it stands above the training layer and this
package does not import it: ``from advinterp_lib.attacks.blackbox import blackbox_attack``.
"""

from .advset import AdversarialSetRecipe, least_likely_rows
from .base import L2Ball, LinfBall, attack_mode
from .deepfool import DeepFoolBinaryResult, DeepFoolResult, deepfool, deepfool_binary, rho_adv
from .ensemble import EnsembleAttackResult, ensemble_attack, ensemble_attack_result, least_likely_targets
from .explanation import ExplanationAttackResult, grad_cam_attack
from .fgsm import FgsmSweep, fgsm, fgsm_sweep
from .pgd import pgd
from .strong import StrongAttackResult, strong_attack
from .surface import loss_surface, orthogonal_direction, plane_values, signed_gradient
from .targets import least_likely, random_targets

__all__ = [
    "AdversarialSetRecipe",
    "EnsembleAttackResult",
    "ExplanationAttackResult",
    "grad_cam_attack",
    "ensemble_attack",
    "ensemble_attack_result",
    "least_likely_rows",
    "least_likely_targets",
    "DeepFoolBinaryResult",
    "DeepFoolResult",
    "FgsmSweep",
    "L2Ball",
    "LinfBall",
    "attack_mode",
    "deepfool",
    "deepfool_binary",
    "fgsm",
    "fgsm_sweep",
    "least_likely",
    "loss_surface",
    "orthogonal_direction",
    "pgd",
    "plane_values",
    "random_targets",
    "rho_adv",
    "signed_gradient",
    "StrongAttackResult",
    "strong_attack",
]
