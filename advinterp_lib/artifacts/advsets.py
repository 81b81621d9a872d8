"""The book's adversarial sets, each generated once per configuration and cached.

Both are made by one :class:`~advinterp_lib.attacks.advset.AdversarialSetRecipe` (Adam
toward each source's ``k`` least-likely classes, [0, 1] pixel units) and written by
:func:`~advinterp_lib.artifacts.store.generate_adversarial_set`, so a killed
generation resumes from its last shard:

- :func:`adversarial_set`: the shared set of chapters 7 and 11-14, crafted once against
  the ensemble of the trained *standard* zoo models;
- :func:`whitebox_adversarial_set`: the same attack aimed at one given model alone, to
  ask how an adversarially trained model represents adversarial images crafted against
  *itself*. Its cache key holds a fingerprint of the model's weights and of the source
  images (:func:`tensor_fingerprint`), so a set is never reused for a different model,
  however the model was built.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import torch
from torch import nn

from ..attacks.advset import AdversarialSetRecipe
from ..data import AdversarialSet, ImageSet, load
from ..models import ZOO
from ..validation import check_images, check_int
from .cache import ArtifactCache
from .store import generate_adversarial_set
from .zoo import trained_model, zoo_model_config

__all__ = ["adversarial_set", "tensor_fingerprint", "model_fingerprint", "whitebox_adversarial_set"]


def adversarial_set(
    archs: tuple[str, ...] | list[str],
    recipe: AdversarialSetRecipe,
    *,
    n: int,
    train_size: int,
    train_epochs: int,
    seed: int = 0,
    device: torch.device | str | None = None,
    cache: ArtifactCache | None = None,
    progress: bool = True,
) -> tuple[ImageSet, AdversarialSet]:
    """The paper's adversarial set on Fashion-MNIST, generated once and cached.

    ``n`` test images (a class-balanced subset drawn with ``seed + 1``, as chapter 7
    does) are each attacked as ``recipe`` says by the ensemble of the trained zoo models
    ``archs`` (``trained_model(arch, train_size=..., train_epochs=..., seed=...)``).
    A recipe without ``eps`` gives the cache key chapter 7's set has always had, so
    chapters asking for the same set share it; a killed generation resumes from its
    last shard.

    Returns:
        ``(source, advset)``: the source :class:`~advinterp_lib.data.ImageSet` and the
        :class:`~advinterp_lib.data.AdversarialSet` (``advset.source_index`` indexes
        ``source``; ``advset.labels`` are the source labels).

    Raises:
        ValueError: unknown architecture; ``n`` outside [1, 10000]; ``recipe.k`` > 9.
        TypeError: an argument of the wrong type.

    Every argument is checked before a model is trained or a file written.
    """
    if isinstance(archs, str) or not isinstance(archs, (list, tuple)) or not archs or any(a not in ZOO for a in archs):
        raise ValueError(f"archs must be a non-empty list of zoo architectures ({', '.join(ZOO)}), got {archs!r}")
    if not isinstance(recipe, AdversarialSetRecipe):
        raise TypeError(f"recipe must be an AdversarialSetRecipe, got {type(recipe).__name__}")
    for name, value, low in (("train_size", train_size, 10), ("train_epochs", train_epochs, 1), ("seed", seed, 0)):
        check_int(value, name, minimum=low)
    check_int(n, "n", minimum=1, maximum=10000)
    check_int(recipe.k, "k", minimum=1, maximum=9)
    cache = cache or ArtifactCache()
    archs = list(archs)
    models = [
        trained_model(
            a,
            train_size=train_size,
            train_epochs=train_epochs,
            seed=seed,
            device=device,
            cache=cache,
            progress=progress,
        )
        for a in archs
    ]
    config = {
        **{a: zoo_model_config(a, train_size=train_size, train_epochs=train_epochs, seed=seed) for a in archs},
        "n": int(n), "k": recipe.k, "step_size": recipe.step_size, "steps": recipe.steps, "seed": int(seed),
        "loss": recipe.loss_name,
        **({} if recipe.eps is None else {"eps": recipe.eps}),
    }  # fmt: skip
    if recipe.random_start:  # only then, so that the keys of every set before the recipe still hold
        config["random_start"] = True
    source = adversarial_source(n, seed=seed)
    advset = generate_adversarial_set(
        models, source.images, source.labels, cache.folder("adversarial_set", config), recipe,
        shard_size=max(50, n // 10), seed=seed, progress=progress,
    )  # fmt: skip
    return source, advset


def adversarial_source(n: int, *, seed: int = 0) -> ImageSet:
    """The ``n`` test images :func:`adversarial_set` attacks (a class-balanced subset
    drawn with ``seed + 1``), without the set: what a white-box set of the same sources
    starts from.

    Raises:
        ValueError: ``n`` outside [1, 10000].
    """
    check_int(n, "n", minimum=1, maximum=10000)
    return load("fashion-mnist", "test").subset(n, seed=seed + 1)


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
    recipe: AdversarialSetRecipe,
    *,
    seed: int = 0,
    device: torch.device | str | None = None,
    cache: ArtifactCache | None = None,
    progress: bool = True,
) -> AdversarialSet:
    """The paper's adversarial set crafted against ``model`` alone, from the cache when built before.

    Args:
        model: the attacked classifier (pixels in [0, 1] -> logits; its mode is restored).
        images: float [N, C, H, W] in [0, 1], the source images; labels: int [N].
        recipe: the attack (:class:`~advinterp_lib.attacks.advset.AdversarialSetRecipe`).
        seed: seeds the attack (as :func:`~advinterp_lib.artifacts.store.generate_adversarial_set`).
        device: where to attack (default: the model's).
        cache: the artifact cache (default: under ``roots.cache_root()``).
        progress: a tqdm bar over shards.

    Returns:
        The :class:`~advinterp_lib.data.AdversarialSet` (``source_index``
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
    if not isinstance(recipe, AdversarialSetRecipe):
        raise TypeError(f"recipe must be an AdversarialSetRecipe, got {type(recipe).__name__}")
    cache = cache or ArtifactCache()
    config = {
        "model": fingerprint,
        "images": tensor_fingerprint({"images": images, "labels": labels}),
        "n": int(len(images)), "k": recipe.k, "step_size": recipe.step_size, "steps": recipe.steps,
        "eps": recipe.eps, "seed": int(seed), "loss": recipe.loss_name,
    }  # fmt: skip
    if recipe.random_start:  # only then, so that the keys of every set before the recipe still hold
        config["random_start"] = True
    return generate_adversarial_set(
        model, images, labels, cache.folder("whitebox_adversarial_set", config), recipe,
        shard_size=max(50, len(images) // 10), seed=seed, device=device, progress=progress,
    )  # fmt: skip
