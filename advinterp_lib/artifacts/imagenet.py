"""What chapter 11 measures consistency on, per data set: models, real images, adversarial set.

:func:`consistency_inputs` is the one place where the chapter's two scales differ:

- ``"fashion-mnist"`` (profiles ``quick`` and ``full``): the trained zoo models and
  :func:`~advinterp_lib.artifacts.advsets.adversarial_set`, exactly as before;
- ``"imagenet-val"`` (profile ``imagenet``, the paper's setting): torchvision's
  AlexNet / VGG-16 / ResNet-18 (:func:`~advinterp_lib.models.imagenet.imagenet_model`),
  a class-balanced seeded subset of ILSVRC-2012 val, and the adversarial set generated
  by :func:`~advinterp_lib.artifacts.store.generate_adversarial_set` into the artifact
  cache, in parts of :data:`PART_IMAGES` and shards of :data:`SHARD_IMAGES` source
  images: a killed run resumes from its last finished shard, and
  ``torchrun --nproc_per_node=G -m advinterp_lib.runs.imagenet_advset`` spreads the
  parts over G GPUs beforehand (:func:`generate_imagenet_adversarial_parts`).

:meth:`ConsistencyInputs.correlation` builds the concept correlation matrix ``A``
over the classes present (WordNet distances of 1,000 ImageNet classes take about
two minutes; classes that never occur have ``p = 0`` and do not change ``p^T A p``),
and caches the distances.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..attacks.advset import AdversarialSetRecipe
from ..consistency import class_synsets, correlation_matrix, distance_matrix
from ..data import AdversarialSet, ImageSet, load
from ..data.imagenet import ImageNetVal, balanced_indices
from ..models.imagenet import imagenet_model, weights_identity
from .advsets import adversarial_set
from .cache import ArtifactCache
from .store import generate_adversarial_set, iter_shards
from .zoo import trained_model

__all__ = [
    "DATASETS",
    "PART_IMAGES",
    "SHARD_IMAGES",
    "ConsistencyInputs",
    "batched_probabilities",
    "consistency_inputs",
    "generate_imagenet_adversarial_parts",
]

#: Data sets :func:`consistency_inputs` knows.
DATASETS = ("fashion-mnist", "imagenet-val")
#: Source images per adversarial-set shard at ImageNet scale (x k targets rows; 100 x 10 x 150 KB = 150 MB).
SHARD_IMAGES = 100
#: Source images per part: the unit of work of one worker (each part is its own sharded set).
PART_IMAGES = 1000


@dataclass(frozen=True, eq=False)
class ConsistencyInputs:
    """Models, real images and their adversarial set for one data set.

    Attributes:
        models: ``{arch: model}``, eval mode, pixels in [0, 1] -> logits.
        source: the real images (labels = concepts; ``synsets`` one per class).
        advset: the adversarial set (``advset.source_index`` indexes ``source``).
        dataset: the data set's name.
    """

    models: dict[str, nn.Module]
    source: ImageSet
    advset: AdversarialSet
    dataset: str

    def correlation(self, sigma: float, *, cache: ArtifactCache | None = None) -> torch.Tensor:
        """The paper's ``A`` (float64 [K, K], K = number of classes) for the classes
        present in ``source``: ``exp(-d^2 / (2 sigma^2))`` with WordNet distances ``d``
        among them; a class absent from ``source`` gets 1 on the diagonal and 0 elsewhere
        (it never enters ``p^T A p``). The distances are cached under ``wordnet_distances``."""
        present = sorted(set(self.source.labels.tolist()))
        wanted = [self.source.synsets[c] for c in present]
        cache = cache or ArtifactCache()
        state = cache.get_or_build(
            "wordnet_distances", {"synsets": wanted},
            lambda work_dir: {"distances": distance_matrix(class_synsets(wanted))},
        )  # fmt: skip
        k = len(self.source.class_names)
        a = torch.eye(k, dtype=torch.float64)
        idx = torch.tensor(present)
        a[idx[:, None], idx[None, :]] = correlation_matrix(state["distances"], sigma)
        return a


def batched_probabilities(model: nn.Module, images: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
    """``softmax(model(images))`` computed in batches on the model's device, without
    gradients; float32 [N, K] on the CPU."""
    device = next(model.parameters()).device
    with torch.no_grad():
        out = [model(images[b : b + batch_size].to(device)).softmax(1).cpu() for b in range(0, len(images), batch_size)]
    return torch.cat(out)


def consistency_inputs(
    dataset: str,
    archs: Sequence[str],
    recipe: AdversarialSetRecipe,
    *,
    n_images: int,
    seed: int = 0,
    train_size: int | None = None,
    train_epochs: int | None = None,
    weights: str | None = "DEFAULT",
    image_size: int = 224,
    device: torch.device | str | None = None,
    cache: ArtifactCache | None = None,
    progress: bool = True,
) -> ConsistencyInputs:
    """Models, ``n_images`` real images and their adversarial set, for ``dataset``.

    Args:
        dataset: ``"fashion-mnist"`` or ``"imagenet-val"`` (:data:`DATASETS`).
        archs: zoo names (``"alexnet"``, ``"vgg"``, ``"resnet"``) for Fashion-MNIST;
            ``"alexnet"``, ``"vgg16"``, ``"resnet18"`` for ImageNet.
        recipe: how the adversarial set is made
            (:class:`~advinterp_lib.attacks.advset.AdversarialSetRecipe`; the paper:
            ``k`` = 10, Adam step 5/255, 10 to 20 steps).
        n_images: real images (a class-balanced subset drawn with ``seed + 1``).
        train_size, train_epochs: the zoo's training recipe (Fashion-MNIST only).
        weights: ImageNet weights, ``"DEFAULT"`` or a state_dict path (ImageNet only;
            one path is used for every arch, so pass one arch with it).
        image_size: ImageNet crop size.

    Returns:
        :class:`ConsistencyInputs`.

    Raises:
        ValueError: unknown dataset or arch; missing ``train_size``/``train_epochs`` for
            Fashion-MNIST; bad attack parameters.
        DataNotFoundError: the data set is not prepared.
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset: expected one of {', '.join(DATASETS)}, got {dataset!r}")
    archs = list(archs)
    if not archs:
        raise ValueError("archs: expected at least one architecture, got none")
    if dataset == "fashion-mnist":
        if train_size is None or train_epochs is None:
            raise ValueError("train_size and train_epochs are required for fashion-mnist")
        models = {a: trained_model(a, train_size=train_size, train_epochs=train_epochs, seed=seed,
                                   device=device, cache=cache, progress=progress) for a in archs}  # fmt: skip
        source, advset = adversarial_set(
            archs, recipe, n=n_images, train_size=train_size, train_epochs=train_epochs, seed=seed, device=device,
            cache=cache, progress=progress,
        )  # fmt: skip
        return ConsistencyInputs(models, source, advset, dataset)
    return _imagenet_inputs(archs, recipe, n_images=n_images, seed=seed, weights=weights, image_size=image_size,
                            device=device, cache=cache or ArtifactCache(), progress=progress)  # fmt: skip


def _imagenet_plan(
    archs: list[str],
    recipe: AdversarialSetRecipe,
    *,
    n_images: int,
    seed: int,
    weights: str | None,
    image_size: int,
) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """The cache config, and the chosen positions and labels in ImageNetVal (no decoding)."""
    data = ImageNetVal(image_size=image_size)
    chosen = balanced_indices(data.targets, n_images, seed + 1)
    config = {
        "dataset": "imagenet-val", "archs": archs, "weights": {a: weights_identity(a, weights) for a in archs},
        "n": int(n_images), "image_size": int(image_size), "k": recipe.k,
        "step_size": recipe.step_size, "steps": recipe.steps, "seed": int(seed),
        "eps": recipe.eps, "loss": recipe.loss_name,
    }  # fmt: skip
    if recipe.random_start:  # only then, so that the keys of every set before the recipe still hold
        config["random_start"] = True
    return config, chosen, data.targets[chosen]


def _parts(n: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + PART_IMAGES, n)) for lo in range(0, n, PART_IMAGES)]


def _part_name(lo: int, hi: int) -> str:
    return f"part_{lo:07d}-{hi:07d}"


def generate_imagenet_adversarial_parts(
    archs: Sequence[str],
    recipe: AdversarialSetRecipe,
    *,
    n_images: int,
    seed: int = 0,
    weights: str | None = "DEFAULT",
    image_size: int = 224,
    rank: int = 0,
    world_size: int = 1,
    device: torch.device | str | None = None,
    cache: ArtifactCache | None = None,
    progress: bool = True,
) -> list[str]:
    """Generate this worker's parts of the ImageNet adversarial set (see the arguments of
    :func:`consistency_inputs`); returns the names of the parts it finished.

    The ``n_images`` source images are cut into parts of :data:`PART_IMAGES`; worker
    ``rank`` of ``world_size`` does parts ``rank, rank + world_size, ...``, each with
    :func:`~advinterp_lib.artifacts.store.generate_adversarial_set` in its own folder
    (shards of :data:`SHARD_IMAGES`), decoding only its own images. Workers share
    nothing but the cache folder, so they can run on different GPUs (``torchrun
    --nproc_per_node=G -m advinterp_lib.runs.imagenet_advset``) or one after another; a
    killed worker resumes from its last shard.
    The attack is deterministic, so the split does not change the result.

    Raises:
        ValueError: ``rank`` not in ``[0, world_size)``; as :func:`consistency_inputs`.
    """
    if not (isinstance(world_size, int) and world_size >= 1 and isinstance(rank, int) and 0 <= rank < world_size):
        raise ValueError(f"rank, world_size: expected 0 <= rank < world_size, got {rank!r}, {world_size!r}")
    archs = list(archs)
    cache = cache or ArtifactCache()
    device = _device(device)
    config, chosen, labels = _imagenet_plan(archs, recipe, n_images=n_images, seed=seed, weights=weights,
                                            image_size=image_size)  # fmt: skip
    mine = [part for i, part in enumerate(_parts(n_images)) if i % world_size == rank]
    if not mine:
        return []
    models = [imagenet_model(a, weights, device=device) for a in archs]
    data = ImageNetVal(image_size=image_size)
    return _run_parts(
        models, lambda lo, hi: torch.stack([data[int(i)][0] for i in chosen[lo:hi]]), labels,
        cache.folder("imagenet_adversarial_set", config), mine, recipe, seed=seed, device=device, progress=progress,
    )  # fmt: skip


def _device(device: torch.device | str | None) -> torch.device:
    return torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _run_parts(models, images_of, labels, folder, parts, recipe, *, seed, device, progress) -> list[str]:
    done = []
    for lo, hi in parts:
        # The manifest inside each part also fingerprints its images and the weights, so
        # a changed data copy is refused rather than mixed into finished shards.
        generate_adversarial_set(
            models, images_of(lo, hi), labels[lo:hi], folder / _part_name(lo, hi), recipe,
            shard_size=min(SHARD_IMAGES, hi - lo), batch_size=64, seed=seed, device=device, progress=progress,
        )  # fmt: skip
        done.append(_part_name(lo, hi))
    return done


def _imagenet_inputs(
    archs: list[str], recipe: AdversarialSetRecipe, *, n_images: int, seed: int, weights: str | None,
    image_size: int, device: torch.device | str | None, cache: ArtifactCache, progress: bool,
) -> ConsistencyInputs:  # fmt: skip
    device = _device(device)
    config, _, _ = _imagenet_plan(archs, recipe, n_images=n_images, seed=seed, weights=weights,
                                  image_size=image_size)  # fmt: skip
    models: dict[str, nn.Module] = {a: imagenet_model(a, weights, device=device) for a in archs}
    source = load("imagenet-val", "val", n=n_images, seed=seed + 1, image_size=image_size)
    folder = cache.folder("imagenet_adversarial_set", config)
    # every part not finished yet (by torchrun workers, or a killed earlier run) is done here
    _run_parts(list(models.values()), lambda lo, hi: source.images[lo:hi], source.labels, folder, _parts(n_images),
               recipe, seed=seed, device=device, progress=progress)  # fmt: skip
    shards = []
    for lo, hi in _parts(n_images):
        for shard in iter_shards(folder / _part_name(lo, hi)):
            shards.append({**shard, "source_index": shard["source_index"] + lo})
    return ConsistencyInputs(models, source, AdversarialSet(shards, k=recipe.k, num_sources=n_images), "imagenet-val")
