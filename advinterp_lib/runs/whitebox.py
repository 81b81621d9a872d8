"""White-box adversarial sets: the paper's attack aimed at one given model, cached.

The shared adversarial set of chapters 11-12 (:func:`~advinterp_lib.runs.artifacts.adversarial_set`)
is crafted once against the ensemble of the three *standard* zoo models. To ask how an
adversarially trained model represents adversarial images crafted against *itself*,
:func:`whitebox_adversarial_set` runs the same attack (Adam toward each source's ``k``
least-likely classes, :func:`~advinterp_lib.attacks.advset.generate_adversarial_set`)
with the model alone, and caches the result.

The cache key holds a fingerprint of the model's weights and of the source images
(:func:`tensor_fingerprint`), so a set is never reused for a different model, however
the model was built; a killed generation resumes from its last shard.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import torch
from torch import nn

from ..attacks.advset import AdversarialSet, generate_adversarial_set
from ..attacks.ensemble import average_cross_entropy_loss
from ..validation import check_images
from .cache import ArtifactCache

__all__ = ["tensor_fingerprint", "model_fingerprint", "whitebox_adversarial_set"]


def tensor_fingerprint(tensors: Mapping[str, torch.Tensor] | torch.Tensor) -> str:
    """A 16-hex-digit SHA-256 of tensors' names, dtypes, shapes and bytes (CPU copies).

    Equal tensors give equal fingerprints; changing any element, shape or dtype changes it.

    Raises:
        TypeError: not a tensor or a mapping of names to tensors.
    """
    if isinstance(tensors, torch.Tensor):
        tensors = {"": tensors}
    if not isinstance(tensors, Mapping) or not all(isinstance(v, torch.Tensor) for v in tensors.values()):
        raise TypeError(f"tensors: expected a tensor or a mapping of names to tensors, got {type(tensors).__name__}")
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def model_fingerprint(model: nn.Module) -> str:
    """:func:`tensor_fingerprint` of ``model.state_dict()`` and the model's class name.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
    return f"{type(model).__name__}-{tensor_fingerprint(model.state_dict())}"


def whitebox_adversarial_set(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    k: int,
    step_size: float,
    steps: int,
    eps: float | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    cache: ArtifactCache | None = None,
    progress: bool = True,
) -> AdversarialSet:
    """The paper's adversarial set crafted against ``model`` alone, from the cache when built before.

    Args:
        model: the attacked classifier (pixels in [0, 1] -> logits; its mode is restored).
        images: float [N, C, H, W] in [0, 1], the source images; labels: int [N].
        k: least-likely targets per image; step_size: Adam's step ([0, 1] pixel units);
            steps: iterations; eps: L-inf bound of the perturbation (None: unbounded);
            seed: seeds the attack. As :func:`~advinterp_lib.attacks.advset.generate_adversarial_set`.
        device: where to attack (default: the model's).
        cache: the artifact cache (default: under ``roots.cache_root()``).
        progress: a tqdm bar over shards.

    Returns:
        The :class:`~advinterp_lib.attacks.advset.AdversarialSet` (``source_index``
        indexes ``images``; ``labels`` are the source labels).

    Raises:
        TypeError/ValueError: bad model, images, labels or attack parameters.
    """
    fingerprint = model_fingerprint(model)
    images = check_images(images, "images")
    if not isinstance(labels, torch.Tensor) or labels.dim() != 1 or len(labels) != len(images):
        raise ValueError(
            f"labels: expected an int tensor [{len(images)}], got {getattr(labels, 'shape', type(labels).__name__)}"
        )
    cache = cache or ArtifactCache()
    config = {
        "model": fingerprint,
        "images": tensor_fingerprint({"images": images, "labels": labels}),
        "n": int(len(images)), "k": int(k), "step_size": float(step_size), "steps": int(steps),
        "eps": None if eps is None else float(eps), "seed": int(seed), "loss": average_cross_entropy_loss.__name__,
    }  # fmt: skip
    return generate_adversarial_set(
        model, images, labels, cache.folder("whitebox_adversarial_set", config), k=k,
        shard_size=max(50, len(images) // 10), step_size=step_size, steps=steps, eps=eps, seed=seed,
        device=device, progress=progress,
    )  # fmt: skip
