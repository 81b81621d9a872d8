"""The shard store of adversarial sets: K targeted ensemble-attack images per source
image (:func:`~advinterp_lib.attacks.advset.least_likely_rows`), in shards on disk.

The paper attacks every image of its data sets toward the 10 least-likely classes of
the ensemble (about 500K adversarial images). That is hours of work on ImageNet, so
:func:`generate_adversarial_set` writes its output in shards and can be killed at any
moment: run again with the same arguments and it resumes, keeping every finished shard
and redoing only the missing or damaged ones. :func:`load_adversarial_set` reads a
finished set back as an :class:`~advinterp_lib.data.AdversarialSet`.

On disk (``directory``):

- ``manifest.json``: the configuration (attack parameters, K, shard size, and SHA-256
  fingerprints of the source images and of the models' weights) and the SHA-256 of
  every finished shard. Running again with a different configuration into the same
  folder is refused rather than mixing two sets.
- ``shard_<start>-<stop>.pt``: the adversarial images of source images
  ``start..stop-1``, a dict of tensors -- ``images`` uint8 [M, C, H, W] (pixels
  ``round(255 * x_adv)``), ``source_index`` int64 [M], ``label`` int64 [M] (the true
  label of the source), ``target`` int64 [M] -- with ``M = (stop - start) * K``, rows
  ordered by source image, then by target (least likely first). Written atomically
  (temp file + ``os.replace``), read with ``torch.load(weights_only=True)``.

A shard counts as finished when it loads, has the expected keys, shapes, dtypes,
source indices and labels, and (once recorded) matches its checksum in the manifest;
anything else -- a truncated file, a flipped byte -- is redone.

The attack has no randomness unless ``random_start=True``; each shard then draws its
start from a generator seeded by ``(seed, start)``, so a resumed run equals an
uninterrupted one.

Two processes asked for the same set (two chapters run at once) do not both compute it:
generation holds the folder's lock (:func:`advinterp_lib.atomic.folder_lock`, the
artifact cache's per-entry lock, a ``.<folder>.lock`` beside it), so the second waits
and then finds every shard finished. Only temp files whose writer is gone (its pid
dead, or older than the lock) are removed; a live writer's file is never touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from ..atomic import atomic_torch_save, atomic_write_text, file_sha256, folder_lock, remove_stale_temp_files
from ..attacks.advset import AdversarialSetRecipe, least_likely_rows
from ..attacks.ensemble import check_models, ensemble_probabilities
from ..data import AdversarialSet
from ..validation import check_images, check_labels

FORMAT = 1
MANIFEST = "manifest.json"
_KEYS = ("images", "source_index", "label", "target")


def load_adversarial_set(directory: str | os.PathLike[str]) -> AdversarialSet:
    """Load a finished set from ``directory``.

    Raises:
        FileNotFoundError: no manifest in ``directory``.
        ValueError: the generation is unfinished or a shard is damaged (the
            message says to run :func:`generate_adversarial_set` again).
    """
    directory = Path(directory)
    config = _read_manifest(directory)["config"]
    return AdversarialSet(list(iter_shards(directory)), k=config["k"], num_sources=config["num_images"])


def iter_shards(directory: str | os.PathLike[str]) -> Iterator[dict[str, torch.Tensor]]:
    """Yield the shards of a finished set in order, each a dict of tensors (see the
    module docstring), one at a time (for sets too big to hold in memory).

    Raises FileNotFoundError (no manifest) or ValueError (a shard missing or damaged).
    """
    directory = Path(directory)
    manifest = _read_manifest(directory)
    config = manifest["config"]
    for start, stop in _shard_ranges(config["num_images"], config["shard_size"]):
        path = directory / _shard_name(start, stop)
        recorded = manifest["shards"].get(path.name)
        if recorded is None or not path.is_file():
            raise ValueError(
                f"adversarial set in {directory} is unfinished: shard {path.name} missing; "
                "run generate_adversarial_set again with the same arguments to resume"
            )
        try:
            yield _read_shard(path, start, stop, config, checksum=recorded)
        except _DamagedShard as err:
            raise ValueError(
                f"shard {path} is damaged ({err}); run generate_adversarial_set again to redo it"
            ) from None


def generate_adversarial_set(
    models: Sequence[nn.Module] | nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    directory: str | os.PathLike[str],
    recipe: AdversarialSetRecipe,
    *,
    shard_size: int = 1000,
    batch_size: int = 256,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> AdversarialSet:
    """Attack every image as ``recipe`` says; write shards; resume.

    For each source image, the targets are its ``recipe.k`` least-likely classes under
    the ensemble's average probability, its true label excluded; each (image, target)
    pair is attacked as :func:`~advinterp_lib.attacks.advset.least_likely_rows` does.

    Args:
        models: the ensemble (each maps [N, C, H, W] in [0, 1] to logits [N, K]).
        images: float [N, C, H, W] in [0, 1], the source images (on the CPU).
        labels: int [N], their true labels.
        directory: where the shards and the manifest go (created if absent).
        recipe: the attack (:class:`~advinterp_lib.attacks.advset.AdversarialSetRecipe`;
            ``1 <= recipe.k <= K - 1``).
        shard_size: source images per shard (each shard holds ``shard_size * k`` rows).
        batch_size: (image, target) pairs per attack batch.
        seed: seeds the random start (the result is deterministic given the seed).
        device: where to attack; default: the device of the first model's parameters.
        progress: show a tqdm bar over shards.

    Returns:
        The finished :class:`~advinterp_lib.data.AdversarialSet`.

    Raises:
        ValueError: bad images, labels or parameters; ``directory`` holds a set made
            with a different configuration.
        TypeError: wrong argument types.

    Every argument is checked before anything is written: a bad call leaves no manifest
    behind that would refuse the corrected call as "a different configuration".
    """
    models = check_models(models)
    check_images(images, "images", model=models[0])
    images = images.detach().cpu()
    if not isinstance(recipe, AdversarialSetRecipe):
        raise TypeError(f"recipe must be an AdversarialSetRecipe, got {type(recipe).__name__}")
    for name, value in (("shard_size", shard_size), ("batch_size", batch_size), ("seed", seed)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if shard_size < 1 or batch_size < 1:
        raise ValueError(f"shard_size and batch_size must be >= 1, got {shard_size} and {batch_size}")
    if device is None:
        first = next(iter(models[0].parameters()), None)
        device = first.device if first is not None else torch.device("cpu")
    device = torch.device(device)
    # K from one forward pass, so k and the labels are checked before any work is done
    num_classes = ensemble_probabilities(models, images[:1].to(device)).shape[1]
    if not recipe.k <= num_classes - 1:
        raise ValueError(f"k must be >= 1 and <= num_classes - 1 = {num_classes - 1}, got {recipe.k}")
    check_labels(labels, images.shape[0], num_classes, name="labels")
    labels = labels.detach().cpu().to(torch.int64)

    config: dict[str, Any] = {
        "format": FORMAT,
        "num_images": images.shape[0],
        "image_shape": list(images.shape[1:]),
        "num_classes": num_classes,
        "k": recipe.k,
        "shard_size": shard_size,
        "step_size": recipe.step_size,
        "steps": recipe.steps,
        "eps": recipe.eps,
        "loss": recipe.loss_name,
        "random_start": recipe.random_start,
        "seed": seed,
        "images_sha256": _tensor_sha256([images, labels]),
        "models_sha256": _tensor_sha256([t for m in models for t in m.state_dict().values()]),
    }
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with folder_lock(directory) as locked_at:
        manifest = _open_manifest(directory, config)
        remove_stale_temp_files(directory, older_than=locked_at)  # left by a kill mid-write
        _generate_shards(models, images, labels, directory, manifest, config, recipe, batch_size=batch_size,
                         device=device, seed=seed, progress=progress)  # fmt: skip
    return load_adversarial_set(directory)


def _generate_shards(
    models: Sequence[nn.Module],
    images: torch.Tensor,
    labels: torch.Tensor,
    directory: Path,
    manifest: dict[str, Any],
    config: dict[str, Any],
    recipe: AdversarialSetRecipe,
    *,
    batch_size: int,
    device: torch.device,
    seed: int,
    progress: bool,
) -> None:
    """Compute and write every missing or damaged shard (the caller holds the lock)."""
    shard_size = config["shard_size"]
    ranges = _shard_ranges(images.shape[0], shard_size)
    bar = tqdm(ranges, desc="adversarial shards", unit="shard", disable=not progress)
    for start, stop in bar:
        path = directory / _shard_name(start, stop)
        if path.is_file():
            try:
                _read_shard(path, start, stop, config, checksum=manifest["shards"].get(path.name), labels=labels)
            except _DamagedShard:
                pass  # redo it below
            else:
                if path.name not in manifest["shards"]:  # written, then killed before the manifest
                    manifest["shards"][path.name] = file_sha256(path)
                    _write_manifest(directory, manifest)
                continue
        generator = torch.Generator().manual_seed(_shard_seed(seed, start)) if recipe.random_start else None
        shard = least_likely_rows(models, images[start:stop], labels[start:stop], recipe, batch_size=batch_size,
                                  device=device, generator=generator)  # fmt: skip
        shard["source_index"] = shard["source_index"] + start
        atomic_torch_save(shard, path)
        manifest["shards"][path.name] = file_sha256(path)
        _write_manifest(directory, manifest)


def _shard_seed(seed: int, start: int) -> int:
    # a hash, not seed * big + start: the CPU generator keeps only 32 bits of a seed
    return int.from_bytes(hashlib.sha256(f"{seed}:{start}".encode()).digest()[:8], "little")


class _DamagedShard(Exception):
    pass


def _read_shard(
    path: Path,
    start: int,
    stop: int,
    config: dict[str, Any],
    *,
    checksum: str | None,
    labels: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    if checksum is not None and file_sha256(path) != checksum:
        raise _DamagedShard("checksum differs from the manifest")
    try:
        shard = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated or foreign file
        raise _DamagedShard(f"cannot be read: {err}") from None
    if not isinstance(shard, dict) or set(shard) != set(_KEYS):
        raise _DamagedShard(f"expected a dict with keys {_KEYS}")
    m = (stop - start) * config["k"]
    expected = {
        "images": (torch.uint8, (m, *config["image_shape"])),
        "source_index": (torch.int64, (m,)),
        "label": (torch.int64, (m,)),
        "target": (torch.int64, (m,)),
    }
    for key, (dtype, shape) in expected.items():
        t = shard[key]
        if not isinstance(t, torch.Tensor) or t.dtype != dtype or tuple(t.shape) != shape:
            raise _DamagedShard(f"{key}: expected {dtype} {shape}")
    if not torch.equal(shard["source_index"], torch.arange(start, stop).repeat_interleave(config["k"])):
        raise _DamagedShard("source_index does not cover its range")
    if labels is not None and not torch.equal(shard["label"], labels[start:stop].repeat_interleave(config["k"])):
        raise _DamagedShard("labels differ from the source images'")
    t = shard["target"]
    if t.min() < 0 or t.max() >= config["num_classes"] or (t == shard["label"]).any():
        raise _DamagedShard("targets out of range or equal to the label")
    return shard


def _shard_ranges(n: int, shard_size: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + shard_size, n)) for lo in range(0, n, shard_size)]


def _shard_name(start: int, stop: int) -> str:
    return f"shard_{start:08d}-{stop:08d}.pt"


def _tensor_sha256(tensors: Sequence[torch.Tensor]) -> str:
    h = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


_CONFIG_KEYS = ("k", "num_images", "num_classes", "shard_size", "image_shape")


def _parse_manifest(path: Path) -> dict[str, Any]:
    """The manifest at ``path``, checked: ValueError naming the file and what is wrong."""
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, RecursionError) as err:  # truncated JSON, not UTF-8, absurdly nested
        raise ValueError(f"{path} is damaged ({type(err).__name__}: {err})") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{path} is damaged: expected a JSON object, got {type(manifest).__name__}")
    for key, kind in (("config", dict), ("shards", dict)):
        if not isinstance(manifest.get(key), kind):
            raise ValueError(f"{path} is damaged: {key!r} is missing or not a {kind.__name__}")
    missing = [key for key in _CONFIG_KEYS if key not in manifest["config"]]
    if missing:
        raise ValueError(f"{path} is damaged: its config lacks {', '.join(missing)}")
    return manifest


def _read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"no adversarial set in {directory} (missing {MANIFEST})")
    try:
        return _parse_manifest(path)
    except ValueError as err:
        raise ValueError(f"{err}; run generate_adversarial_set again with the same arguments to rewrite it") from None


def _open_manifest(directory: Path, config: dict[str, Any]) -> dict[str, Any]:
    path = directory / MANIFEST
    if path.is_file():
        try:
            manifest = _parse_manifest(path)
        except ValueError as err:
            # cannot happen with atomic writes, but a disk can lie: start the manifest afresh;
            # finished shards are then checked by their content and recorded again
            warnings.warn(f"{err}; writing a new manifest", RuntimeWarning, stacklevel=3)
            manifest = None
        if manifest is not None:
            if manifest["config"] != config:
                old = manifest["config"]
                differ = sorted(key for key in set(old) | set(config) if old.get(key) != config.get(key))
                raise ValueError(
                    f"directory {directory} holds an adversarial set made with a different configuration "
                    f"(differs in: {', '.join(differ)}); use another directory or delete this one"
                )
            return manifest
    manifest = {"config": config, "shards": {}}
    _write_manifest(directory, manifest)
    return manifest


def _write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    atomic_write_text(json.dumps(manifest, indent=2, sort_keys=True), directory / MANIFEST)


__all__ = ["generate_adversarial_set", "iter_shards", "load_adversarial_set"]
