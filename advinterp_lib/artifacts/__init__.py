"""Artifacts: what the chapters build once and share, through one cache.

- :mod:`~advinterp_lib.artifacts.cache`: :class:`ArtifactCache`, a checksummed entry per
  configuration, built by one process at a time and resumable from its work folder;
- :mod:`~advinterp_lib.artifacts.zoo`: the trained zoo models and their adversarially
  trained variants (the book's rows: FGSM-AT, PGD-AT, consistent-AT, ...);
- :mod:`~advinterp_lib.artifacts.store`: adversarial sets on disk, in shards that a
  killed generation resumes from;
- :mod:`~advinterp_lib.artifacts.advsets`: the book's adversarial sets (the shared
  ensemble set, white-box sets), each made by one
  :class:`~advinterp_lib.attacks.advset.AdversarialSetRecipe`;
- :mod:`~advinterp_lib.artifacts.imagenet`: chapter 11's inputs at the paper's scale.

Files and progress bars live here and above; the packages below compute and return.
"""

from .advsets import (
    adversarial_set,
    adversarial_source,
    model_fingerprint,
    tensor_fingerprint,
    whitebox_adversarial_set,
)
from .cache import ArtifactCache, config_key
from .store import generate_adversarial_set, iter_shards, load_adversarial_set
from .zoo import (
    ADV_VARIANTS,
    ADVERSARIAL_OBJECTIVES,
    MODEL_PARAMETERS,
    adversarial_variant,
    adversarial_variant_spec,
    adversarially_trained_model,
    model_parameters,
    trained_model,
    variant_models,
    zoo_model_config,
)

__all__ = [
    "ADV_VARIANTS",
    "ADVERSARIAL_OBJECTIVES",
    "MODEL_PARAMETERS",
    "ArtifactCache",
    "adversarial_set",
    "adversarial_source",
    "adversarial_variant",
    "adversarial_variant_spec",
    "adversarially_trained_model",
    "config_key",
    "generate_adversarial_set",
    "iter_shards",
    "load_adversarial_set",
    "model_fingerprint",
    "model_parameters",
    "tensor_fingerprint",
    "trained_model",
    "variant_models",
    "whitebox_adversarial_set",
    "zoo_model_config",
]
