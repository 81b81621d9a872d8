"""Robust accuracy, and training that logs it after every epoch.

:func:`evaluate_robustness` measures a classifier on clean images and on FGSM and PGD
(L-inf) examples crafted against it: top-k accuracy for each. A gap between high FGSM
and low PGD accuracy is the signature of *gradient masking* (chapter 9).

:func:`train_with_metrics` runs :func:`~advinterp_lib.training.train` one epoch at a
time through its checkpoint (``stop_after_epochs``), so the run is exactly the
uninterrupted one, and after each epoch evaluates the model on a held-out set and
writes the per-epoch records to a JSON file (atomically). A killed run resumes from
its last checkpoint and its last JSON.

:func:`evaluate_robustness_distributed` is :func:`evaluate_robustness` with the images
split over the processes of a ``torchrun`` job (:mod:`~advinterp_lib.training.distributed`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..atomic import atomic_write_text
from ..attacks.fgsm import fgsm
from ..attacks.pgd import pgd
from .distributed import all_reduce_sum, local_slice, rank_and_world
from .loop import TrainHistory, evaluate, train

__all__ = ["evaluate_robustness", "evaluate_robustness_distributed", "train_with_metrics"]


def evaluate_robustness(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    fgsm_eps: float,
    pgd_eps: float | None = None,
    pgd_steps: int = 10,
    pgd_step_size: float | None = None,
    pgd_random_start: bool = True,
    topk: int | Sequence[int] = (1,),
    batch_size: int = 500,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Top-k accuracy of ``model`` on clean, FGSM and PGD images.

    Args:
        model: classifier of pixels in [0, 1]; attacked and evaluated in eval mode
            (its mode is restored).
        images: float [N, C, H, W] in [0, 1]; labels: int [N].
        fgsm_eps: FGSM budget, L-inf, [0, 1] pixel units.
        pgd_eps: PGD budget (default ``fgsm_eps``).
        pgd_steps: PGD iterations, >= 1.
        pgd_step_size: default ``2.5 * pgd_eps / pgd_steps`` (Madry et al.'s rule).
        pgd_random_start: start PGD from a random point of the ball (seeded by ``seed``).
        topk: one k or several.
        batch_size: images per attack batch.
        seed: seeds PGD's random start (a private generator; global state untouched).

    Returns:
        ``{"clean": {"top1": ...}, "fgsm": {...}, "pgd": {...}}``, fractions in [0, 1].

    Raises:
        TypeError / ValueError: bad images, labels, budgets or k (from the attacks and
        :func:`~advinterp_lib.training.evaluate`).
    """
    pgd_eps = fgsm_eps if pgd_eps is None else pgd_eps
    if pgd_step_size is None:
        pgd_step_size = min(1.0, 2.5 * pgd_eps / pgd_steps) if isinstance(pgd_steps, int) and pgd_steps > 0 else pgd_eps
    generator = torch.Generator().manual_seed(seed)
    adv_fgsm, adv_pgd = [], []
    for start in range(0, len(images), batch_size):
        xb, yb = images[start : start + batch_size], labels[start : start + batch_size]
        adv_fgsm.append(fgsm(model, xb, yb, eps=fgsm_eps))
        adv_pgd.append(
            pgd(
                model,
                xb,
                yb,
                eps=pgd_eps,
                step_size=pgd_step_size,
                steps=pgd_steps,
                random_start=pgd_random_start,
                generator=generator,
            )
        )
    return {
        "clean": evaluate(model, images, labels, batch_size=batch_size, topk=topk),
        "fgsm": evaluate(model, torch.cat(adv_fgsm), labels, batch_size=batch_size, topk=topk),
        "pgd": evaluate(model, torch.cat(adv_pgd), labels, batch_size=batch_size, topk=topk),
    }


def evaluate_robustness_distributed(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    **kwargs: Any,
) -> dict[str, dict[str, float]]:
    """:func:`evaluate_robustness` with the images split over the processes (each
    attacks and scores its slice; the counts are summed), so every process returns
    the accuracies on all ``images``. Equal to the single-process numbers except for
    PGD's random start, which each process draws for its slice from the same ``seed``.
    Without a process group, the plain call.

    Raises:
        ValueError: fewer images than processes; otherwise as ``evaluate_robustness``.
    """
    rank, world = rank_and_world()
    if world == 1:
        return evaluate_robustness(model, images, labels, **kwargs)
    if len(images) < world:
        raise ValueError(f"images must hold at least one image per process ({world}), got {len(images)}")
    part = local_slice(torch.arange(len(images)), rank, world)
    local = evaluate_robustness(model, images[part], labels[part], **kwargs)
    keys = [(a, k) for a in local for k in local[a]]
    counts = torch.tensor([round(local[a][k] * len(part)) for a, k in keys], dtype=torch.float64)
    totals = all_reduce_sum(counts)
    result: dict[str, dict[str, float]] = {a: {} for a in local}
    for (a, k), c in zip(keys, totals.tolist(), strict=True):
        result[a][k] = c / len(images)
    return result


def train_with_metrics(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epochs: int,
    eval_images: torch.Tensor,
    eval_labels: torch.Tensor,
    checkpoint_dir: str | Path,
    metrics_path: str | Path | None = None,
    fgsm_eps: float = 0.1,
    pgd_eps: float | None = None,
    pgd_steps: int = 10,
    topk: int | Sequence[int] = (1, 3),
    **train_kwargs: Any,
) -> tuple[TrainHistory, list[dict[str, Any]]]:
    """:func:`~advinterp_lib.training.train` with clean / FGSM / PGD metrics on a
    held-out set after every epoch.

    Args:
        model, images, labels, epochs: as in :func:`~advinterp_lib.training.train`.
        eval_images, eval_labels: the held-out set (float [M, C, H, W] in [0, 1], int [M]).
        checkpoint_dir: where the loop checkpoints (required: epochs run one at a time
            through it; a killed run resumes).
        metrics_path: the JSON file of per-epoch records (default
            ``checkpoint_dir / "metrics.json"``), rewritten atomically after each epoch:
            ``{"epochs": [{"epoch": 1, "loss": ..., "train_acc": ..., "seconds": ...,
            "clean": {"top1": ...}, "fgsm": {...}, "pgd": {...}}, ...]}``.
        fgsm_eps, pgd_eps, pgd_steps, topk: passed to :func:`evaluate_robustness`.
        **train_kwargs: the other arguments of :func:`~advinterp_lib.training.train`
            (``objective``, ``lr``, ``seed``, ...).

    Returns:
        ``(history, records)``: the training history and the per-epoch records.
    """
    if "stop_after_epochs" in train_kwargs or "checkpoint_dir" in train_kwargs:
        raise ValueError("train_with_metrics sets stop_after_epochs and checkpoint_dir itself")
    metrics_path = Path(metrics_path) if metrics_path is not None else Path(checkpoint_dir) / "metrics.json"
    records: list[dict[str, Any]] = []
    if metrics_path.is_file():
        records = json.loads(metrics_path.read_text())["epochs"]
    seed = train_kwargs.get("seed", 0)
    history = TrainHistory()
    for epoch in range(1, epochs + 1):
        history = train(
            model, images, labels, epochs=epochs, checkpoint_dir=checkpoint_dir, stop_after_epochs=epoch, **train_kwargs
        )
        if any(r["epoch"] == epoch for r in records):
            continue
        metrics = evaluate_robustness(
            model,
            eval_images,
            eval_labels,
            fgsm_eps=fgsm_eps,
            pgd_eps=pgd_eps,
            pgd_steps=pgd_steps,
            topk=topk,
            seed=seed,
        )
        last = history.records[-1]
        records.append(
            {"epoch": epoch, "loss": last.loss, "train_acc": last.train_acc, "seconds": last.seconds, **metrics}
        )
        atomic_write_text(json.dumps({"epochs": records}, indent=2), metrics_path)
    return history, records
