"""Training: one resumable loop for every objective.

- :mod:`~advinterp_lib.training.loop`: :func:`train`, :func:`evaluate`, :func:`predict`.
- :mod:`~advinterp_lib.training.objectives`: what a step minimises
  (``objective(model, x, y) -> loss``): :func:`cross_entropy` for standard training;
  :class:`FGSMTraining`, :class:`PGDTraining`, :class:`EnsembleAdversarialTraining`,
  :class:`ConsistentAdversarialTraining`, :class:`FeatureDistanceConsistentTraining`.
- :mod:`~advinterp_lib.training.robustness`: clean / FGSM / PGD accuracy
  (:func:`evaluate_robustness`, also sharded over processes:
  :func:`evaluate_robustness_distributed`) and training with per-epoch metrics logged
  to JSON (:func:`train_with_metrics`).
- :mod:`~advinterp_lib.training.gradient_masking`: signs of masked gradients (the
  FGSM-PGD gap, catastrophic overfitting, loss surfaces of trained models; chapter 9).
- :mod:`~advinterp_lib.training.checkpoint`: atomic, checksummed checkpoints.
- :mod:`~advinterp_lib.training.distributed`: the process group and DDP that let the
  same loop run on several processes under ``torchrun``. Its command line, which
  reads the profiles and the artifact cache, is
  ``torchrun --nproc_per_node=N -m advinterp_lib.runs.distributed_training``.
"""

from advinterp_lib.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from advinterp_lib.training.loop import (
    OPTIMIZERS,
    SCHEDULES,
    EpochRecord,
    TrainHistory,
    evaluate,
    predict,
    resolve_device,
    train,
)
from advinterp_lib.training.objectives import (
    ConsistentAdversarialTraining,
    EnsembleAdversarialTraining,
    FeatureDistanceConsistentTraining,
    FGSMTraining,
    PGDTraining,
    cross_entropy,
)
from advinterp_lib.training.robustness import evaluate_robustness, evaluate_robustness_distributed, train_with_metrics

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "CheckpointError",
    "ConsistentAdversarialTraining",
    "EnsembleAdversarialTraining",
    "FGSMTraining",
    "FeatureDistanceConsistentTraining",
    "PGDTraining",
    "evaluate_robustness",
    "evaluate_robustness_distributed",
    "train_with_metrics",
    "EpochRecord",
    "TrainHistory",
    "cross_entropy",
    "evaluate",
    "load_checkpoint",
    "predict",
    "resolve_device",
    "save_checkpoint",
    "train",
]
