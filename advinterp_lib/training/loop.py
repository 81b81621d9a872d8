"""Train, evaluate and predict: one loop for every objective, resumable.

:func:`train` runs mini-batch training of any objective
(``objective(model, x, y) -> loss``, see :mod:`~advinterp_lib.training.objectives`).
Every epoch is seeded from ``(seed, epoch)`` alone — the data order through its own
``torch.Generator``, dropout and any randomness of the objective through torch's
global generator, re-seeded at the start of the epoch — and a checkpoint is written
after every epoch. So a run killed at any point and started again with the same
arguments resumes from its last finished epoch and ends with exactly the weights of
an uninterrupted run (bit for bit on the CPU). The caller's global random state is
restored when :func:`train` returns.

Under ``torchrun`` (a ``torch.distributed`` process group initialised), :func:`train`
trains with DistributedDataParallel: each process takes its slice of every global
batch and only rank 0 writes checkpoints (:mod:`~advinterp_lib.training.distributed`).

:func:`evaluate` (top-k accuracy) and :func:`predict` (logits) run the model in
eval mode without gradients and restore its previous mode.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from advinterp_lib.models.state import eval_mode, model_device
from advinterp_lib.training import distributed as _dist
from advinterp_lib.training.checkpoint import load_checkpoint, save_checkpoint
from advinterp_lib.training.objectives import cross_entropy
from advinterp_lib.validation import check_images, check_int, check_labels, check_number

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "EpochRecord",
    "TrainHistory",
    "train",
    "evaluate",
    "predict",
    "resolve_device",
]

Objective = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
OptimizerFactory = Callable[[Iterable[nn.Parameter], float, float], torch.optim.Optimizer]
"""``(parameters, lr, weight_decay) -> optimizer``."""
ScheduleFactory = Callable[[torch.optim.Optimizer, int], torch.optim.lr_scheduler.LRScheduler]
"""``(optimizer, total_steps) -> scheduler``; the loop steps it after every batch."""

CHECKPOINT_NAME = "checkpoint.pt"


# --------------------------------------------------------------------- strategies


def _adam(params: Iterable[nn.Parameter], lr: float, weight_decay: float) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def _adamw(params: Iterable[nn.Parameter], lr: float, weight_decay: float) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def _sgd(params: Iterable[nn.Parameter], lr: float, weight_decay: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)


def _one_cycle(optimizer: torch.optim.Optimizer, total_steps: int):
    # Warm up to the given lr over 30% of the steps, then anneal (Smith & Topin 2019):
    # reaches a good accuracy in one or two epochs.
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[g["lr"] for g in optimizer.param_groups], total_steps=total_steps
    )


def _cosine(optimizer: torch.optim.Optimizer, total_steps: int):
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)


def _constant(optimizer: torch.optim.Optimizer, total_steps: int):
    return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)


OPTIMIZERS: MappingProxyType[str, OptimizerFactory] = MappingProxyType({"adam": _adam, "adamw": _adamw, "sgd": _sgd})
"""Optimisers by name. ``"sgd"`` is SGD with Nesterov momentum 0.9."""

SCHEDULES: MappingProxyType[str, ScheduleFactory] = MappingProxyType(
    {"onecycle": _one_cycle, "cosine": _cosine, "constant": _constant}
)
"""Learning-rate schedules by name, stepped per batch. ``"onecycle"``: ``lr`` is the
peak; ``"cosine"``: from ``lr`` down to 0; ``"constant"``: ``lr`` throughout."""


# ------------------------------------------------------------------------ history


@dataclass(frozen=True)
class EpochRecord:
    """One finished epoch: ``epoch`` counts from 1; ``loss`` is the mean objective
    over the epoch's images; ``train_acc`` the fraction of them classified right by
    the objective's forward pass on the clean batch (NaN when the objective never
    runs the model on the batch itself); ``seconds`` wall time; ``images_per_s``
    throughput."""

    epoch: int
    loss: float
    train_acc: float
    seconds: float
    images_per_s: float


@dataclass
class TrainHistory:
    """The per-epoch records of a training run (all epochs, including those a
    resumed run read from its checkpoint)."""

    records: list[EpochRecord] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def loss(self) -> list[float]:
        return [r.loss for r in self.records]

    @property
    def train_acc(self) -> list[float]:
        return [r.train_acc for r in self.records]

    @property
    def seconds(self) -> float:
        """Total training time of the recorded epochs."""
        return sum(r.seconds for r in self.records)

    def to_dict(self) -> dict[str, list[dict[str, float]]]:
        """``{"records": [{"epoch": 1, "loss": ..., ...}, ...]}`` (JSON-ready)."""
        return {"records": [asdict(r) for r in self.records]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainHistory:
        return cls([EpochRecord(**r) for r in data["records"]])


# --------------------------------------------------------------------- validation


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` -> ``cuda`` when available, else ``cpu``; otherwise ``torch.device(device)``."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _resolve(strategy: str | Callable, table: MappingProxyType, name: str) -> tuple[Callable, str]:
    """A strategy given by name (looked up in ``table``) or as a callable; returns
    it and the name recorded in the checkpoint's configuration."""
    if isinstance(strategy, str):
        if strategy not in table:
            raise ValueError(f"unknown {name} {strategy!r}; known: {', '.join(table)}, or a callable")
        return table[strategy], strategy
    if callable(strategy):
        return strategy, getattr(strategy, "__qualname__", type(strategy).__qualname__)
    raise TypeError(f"{name} must be a name ({', '.join(table)}) or a callable, got {type(strategy).__name__}")


def _num_outputs(model: nn.Module, probe: torch.Tensor, device: torch.device) -> int:
    """Run two images through ``model`` (eval mode, no gradients) to learn how many
    classes it predicts, and fail early on a model that does not return logits."""
    with eval_mode(model), torch.no_grad():
        out = model(probe.to(device))
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        shape = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"model must return logits [N, num_classes], got {shape}")
    return out.shape[1]


# ------------------------------------------------------------------ determinism


def _derived_seed(seed: int, epoch: int, stream: str) -> int:
    """A 63-bit seed that depends only on (seed, epoch, stream)."""
    digest = hashlib.sha256(f"advinterp/{seed}/{epoch}/{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def _batches(order: torch.Tensor, batch_size: int, min_last: int = 2) -> list[torch.Tensor]:
    batches = list(order.split(batch_size))
    if len(batches) > 1 and len(batches[-1]) < min_last:
        # A batch of one image breaks BatchNorm in training mode; with W processes
        # the last batch must give each of them two images.
        batches.pop()
    return batches


def _fingerprint(images: torch.Tensor, labels: torch.Tensor) -> str:
    """A cheap identity of the training set (labels and a sample of images), so a
    checkpoint is not resumed on different data."""
    h = hashlib.sha256()
    h.update(str((list(images.shape), str(images.dtype))).encode())
    h.update(labels.cpu().numpy().tobytes())
    step = max(1, len(images) // 64)
    h.update(images[::step].detach().cpu().float().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


class _CleanBatchLogits:
    """Forward hook on the model: keeps the logits of the first forward pass on the
    batch object handed to the objective (used for the training accuracy)."""

    def __init__(self, model: nn.Module) -> None:
        self.batch: torch.Tensor | None = None
        self.logits: torch.Tensor | None = None
        self.handle = model.register_forward_hook(self._hook)

    def arm(self, batch: torch.Tensor) -> None:
        self.batch, self.logits = batch, None

    def _hook(self, module: nn.Module, args: tuple, output: object) -> None:
        if (
            self.logits is None
            and args
            and args[0] is self.batch
            and isinstance(output, torch.Tensor)
            and output.dim() == 2
        ):
            self.logits = output.detach()

    def remove(self) -> None:
        self.handle.remove()
        self.batch = self.logits = None


# -------------------------------------------------------------------------- train


def _resume_state(checkpoint: Path | None, config: dict[str, Any], rank: int, world: int) -> dict[str, Any] | None:
    """The state of an earlier run of the same ``config`` from ``checkpoint`` (read by rank
    0, sent to the others), or None when there is none.

    Raises (on every process): ValueError when the checkpoint was written by another
    run; what :func:`load_checkpoint` raises for a damaged file.
    """
    state, error = None, None
    if rank == 0 and checkpoint is not None and checkpoint.exists():
        try:
            state = load_checkpoint(checkpoint)
            if state.get("config") != config:
                diff = {
                    k: (state.get("config", {}).get(k), v)
                    for k, v in config.items()
                    if state.get("config", {}).get(k) != v
                }
                raise ValueError(
                    f"the checkpoint in {checkpoint.parent} was written by a different run "
                    f"(checkpoint vs now: {diff}); use another checkpoint_dir or delete it"
                )
        except Exception as err:
            if world == 1:
                raise
            error = err  # raised on every process below, so none waits for the others
    if world > 1:
        state, error_elsewhere = _dist.broadcast_from_rank0((state, error))
        if error is not None:
            raise error
        if error_elsewhere is not None:
            raise error_elsewhere
    return state


def _train_epoch(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    batches: list[torch.Tensor],
    *,
    objective: Objective,
    opt: torch.optim.Optimizer,
    sched: Any,
    clean: _CleanBatchLogits,
    ddp: Any,
    rank: int,
    world: int,
    device: torch.device,
    bar: Any,
    progress: bool,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """One pass of optimiser steps over ``batches`` (index tensors into the data; under DDP
    each process takes its slice). Returns this process's loss sum (weighted by batch
    size), correct clean predictions and how many were scored.

    Raises:
        TypeError: the objective does not return a scalar tensor.
    """
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    scored = 0
    for step, idx in enumerate(batches):
        part = _dist.local_slice(idx, rank, world) if ddp is not None else idx
        x = images[part.to(images.device)].to(device, non_blocking=True)
        y = labels[part.to(labels.device)].to(device, non_blocking=True)
        opt.zero_grad(set_to_none=True)
        if ddp is None:
            clean.arm(x)
            loss = objective(model, x, y)
        else:
            loss = ddp(x, y)
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise TypeError(
                f"objective must return a scalar tensor, got "
                f"{list(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__}"
            )
        if ddp is None:
            loss.backward()
        else:
            # DDP averages the processes' gradients; weighting each slice's mean
            # loss by its share of the batch makes that the global batch's mean.
            (loss * (len(y) * world / len(idx))).backward()
        opt.step()
        sched.step()
        loss_sum += loss.detach() * len(y)
        if clean.logits is not None:
            correct += (clean.logits.argmax(1) == y).sum()
            scored += len(y)
        bar.update(1)
        if progress and step % 25 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    return loss_sum, correct, scored


def train(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epochs: int,
    batch_size: int = 128,
    lr: float = 3e-3,
    optimizer: str | OptimizerFactory = "adam",
    schedule: str | ScheduleFactory = "onecycle",
    weight_decay: float = 0.0,
    objective: Objective = cross_entropy,
    seed: int = 0,
    device: str | torch.device | None = None,
    checkpoint_dir: str | Path | None = None,
    progress: bool = True,
    stop_after_epochs: int | None = None,
    distributed: bool | None = None,
) -> TrainHistory:
    """Train ``model`` in place by mini-batch descent on ``objective``.

    Args:
        model: the network, mapping ``[B, C, H, W]`` pixels to logits ``[B, classes]``.
            It is moved to ``device`` and left there, in eval mode.
        images: training pixels ``[N, C, H, W]``, floating point in [0, 1] (on any
            device; batches are moved to ``device``).
        labels: class indices ``[N]``, integers in ``[0, classes)``.
        epochs: passes over the data, >= 1.
        batch_size: images per step, >= 1 (a last batch of a single image is skipped).
        lr: learning rate (the peak of the ``"onecycle"`` schedule), > 0.
        optimizer: ``"adam"`` (default), ``"adamw"``, ``"sgd"`` (Nesterov momentum
            0.9), or a callable ``(parameters, lr, weight_decay) -> Optimizer``.
        schedule: ``"onecycle"`` (default), ``"cosine"``, ``"constant"``, or a callable
            ``(optimizer, total_steps) -> LRScheduler``; stepped after every batch.
        weight_decay: L2 penalty passed to the optimiser, >= 0.
        objective: ``objective(model, x, y) -> scalar loss``; default cross-entropy.
        seed: fixes the data order, dropout and the objective's randomness per epoch.
        device: ``None`` -> CUDA when available, else the CPU.
        checkpoint_dir: if given, a checkpoint (model, optimiser, schedule, history)
            is written there after every epoch, and a run started again with the same
            arguments resumes from it; when all epochs are done it only loads the
            weights. ``None``: no checkpoints.
        progress: show a tqdm progress bar over batches.
        stop_after_epochs: stop once this many of the ``epochs`` are done (1 ..
            ``epochs``), as an interruption would; the schedule still spans ``epochs``,
            so a later call resumes and finishes the same run. ``None``: run all.
        distributed: train with DistributedDataParallel over the initialised
            ``torch.distributed`` process group (``None``: when one is initialised).
            Every process must call :func:`train` with the same arguments and data;
            ``batch_size`` is the global batch, of which process ``r`` of ``W`` takes
            the ``r``-th of ``W`` slices (a last batch with fewer than ``2 W`` images is
            skipped); gradients are averaged, so a step equals the single-process
            step on the global batch up to rounding (BatchNorm in training mode
            excepted: it sees the slice). Only rank 0 reads and writes the checkpoint;
            the others receive its state. History and metrics are global.

    Returns:
        The :class:`TrainHistory` of all finished epochs.

    Raises:
        TypeError / ValueError: bad arguments, e.g. images not in [0, 1] (with a hint
            when they look like 0..255), labels out of range, NaN pixels, or a
            checkpoint in ``checkpoint_dir`` written for other arguments or data;
            ``distributed=True`` without a process group; processes given different
            data or arguments; ``batch_size`` or the data smaller than ``2 W``.
        FloatingPointError: the loss became NaN or infinite (lower ``lr``).
        CheckpointError: the checkpoint in ``checkpoint_dir`` is truncated or corrupt.
    """
    images, epochs, batch_size, seed, lr, weight_decay = _check_train_arguments(
        model, images, labels, epochs, batch_size, seed, lr, weight_decay, stop_after_epochs, objective
    )
    make_optimizer, optimizer_name = _resolve(optimizer, OPTIMIZERS, "optimizer")
    make_schedule, schedule_name = _resolve(schedule, SCHEDULES, "schedule")
    rank, world = _rank_and_world(distributed, batch_size, len(images))

    device = resolve_device(device)
    model.to(device)
    labels = check_labels(labels, len(images), _num_outputs(model, images[:2], device), "labels").long()

    sizes = [len(b) for b in _batches(torch.arange(len(images)), batch_size, 2 * world)]
    steps_per_epoch, n_used = len(sizes), sum(sizes)
    config = _run_config(
        model, images, labels, epochs, batch_size, lr, optimizer_name, schedule_name, weight_decay, objective, seed
    )
    opt = make_optimizer(model.parameters(), lr, weight_decay)
    sched = make_schedule(opt, epochs * steps_per_epoch)
    checkpoint = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    history, start = _resume(model, opt, sched, checkpoint, config, epochs, rank, world)

    end = epochs if stop_after_epochs is None else stop_after_epochs
    if start >= end:
        model.eval()
        return history

    cuda_devices = _cuda_devices(device)
    bar = _progress_bar(model, (end - start) * steps_per_epoch, progress, rank)
    clean = _CleanBatchLogits(model)
    # Under DDP the objective runs inside the wrapper's forward, on the unwrapped model.
    ddp = _dist.wrap_objective(model, objective, device, before=clean.arm) if world > 1 else None
    try:
        with torch.random.fork_rng(devices=cuda_devices):
            for epoch in range(start, end):
                bar.set_description(f"{type(model).__name__} epoch {epoch + 1}/{epochs}")
                order = _epoch_order(seed, epoch, len(images))
                model.train()
                started = time.perf_counter()
                loss_sum, correct, scored = _train_epoch(
                    model,
                    images,
                    labels,
                    _batches(order, batch_size, 2 * world),
                    objective=objective,
                    opt=opt,
                    sched=sched,
                    clean=clean,
                    ddp=ddp,
                    rank=rank,
                    world=world,
                    device=device,
                    bar=bar,
                    progress=progress,
                )
                record = _epoch_record(loss_sum, correct, scored, ddp, device, started, epoch, n_used, lr)
                history.records.append(record)
                if checkpoint is not None and rank == 0:
                    _save_epoch(checkpoint, epoch, config, model, opt, sched, history)
    finally:
        del ddp  # its reducer's gradient hooks go with it
        clean.remove()
        bar.close()
        model.eval()
    return history


def _check_train_arguments(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epochs: int,
    batch_size: int,
    seed: int,
    lr: float,
    weight_decay: float,
    stop_after_epochs: int | None,
    objective: Objective,
) -> tuple[torch.Tensor, int, int, int, float, float]:
    """Check :func:`train`'s arguments; returns the checked images, epochs, batch_size, seed, lr, weight_decay."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    images = check_images(images, "images", model=model)
    check_labels(labels, len(images), None, "labels")  # the range once the model's width is known
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    lr = check_number(lr, "lr", minimum=0, strict_minimum=True)
    weight_decay = check_number(weight_decay, "weight_decay", minimum=0)
    if stop_after_epochs is not None:
        check_int(stop_after_epochs, "stop_after_epochs", minimum=1)
        if stop_after_epochs > epochs:
            raise ValueError(f"stop_after_epochs must be <= epochs = {epochs}, got {stop_after_epochs}")
    if not callable(objective):
        raise TypeError(f"objective must be a callable (model, x, y) -> loss, got {type(objective).__name__}")
    return images, epochs, batch_size, seed, lr, weight_decay


def _rank_and_world(distributed: bool | None, batch_size: int, n_images: int) -> tuple[int, int]:
    """This process's rank and the world size :func:`train` runs on (``(0, 1)`` without DDP), checked."""
    if distributed is None:
        distributed = _dist.is_distributed()
    elif not isinstance(distributed, bool):
        raise TypeError(f"distributed must be a bool or None, got {type(distributed).__name__}")
    elif distributed and not _dist.is_distributed():
        raise ValueError(
            "distributed=True needs an initialised torch.distributed process group "
            "(start with torchrun and call training.distributed.init_distributed())"
        )
    rank, world = _dist.rank_and_world() if distributed else (0, 1)
    if world > 1 and min(batch_size, n_images) < 2 * world:
        raise ValueError(
            f"batch_size and the number of images must be >= 2 per process "
            f"(2 x {world}), got batch_size {batch_size} and {n_images} images"
        )
    return rank, world


def _run_config(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epochs: int,
    batch_size: int,
    lr: float,
    optimizer_name: str,
    schedule_name: str,
    weight_decay: float,
    objective: Objective,
    seed: int,
) -> dict[str, Any]:
    """The run's identity kept in its checkpoint: a resumed run must match it."""
    return {
        "model": type(model).__qualname__,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "optimizer": optimizer_name,
        "schedule": schedule_name,
        "weight_decay": weight_decay,
        "objective": getattr(objective, "__qualname__", type(objective).__qualname__),
        "seed": seed,
        "data": _fingerprint(images, labels),
    }


def _resume(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    sched: Any,
    checkpoint: Path | None,
    config: dict[str, Any],
    epochs: int,
    rank: int,
    world: int,
) -> tuple[TrainHistory, int]:
    """Load an earlier run's checkpoint into model, optimiser and schedule; returns its history and epochs done."""
    history = TrainHistory()
    start = 0
    if world > 1:
        _check_same_config(config)
    state = _resume_state(checkpoint, config, rank, world)
    if state is not None:
        model.load_state_dict(state["model"])
        history = TrainHistory.from_dict(state["history"])
        start = state["epoch"]
        if start < epochs:
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
    return history, start


def _cuda_devices(device: torch.device) -> list[int]:
    """The CUDA devices whose random state :func:`train` forks: ``device``'s, or none on the CPU."""
    return [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []


def _progress_bar(model: nn.Module, total: int, progress: bool, rank: int) -> Any:
    """The tqdm bar over :func:`train`'s batches (shown by rank 0 alone, when ``progress``)."""
    return tqdm(
        total=total,
        disable=not progress or rank != 0,
        unit="batch",
        desc=f"{type(model).__name__}",
    )


def _epoch_order(seed: int, epoch: int, n_images: int) -> torch.Tensor:
    """Seed torch's global generator for ``epoch`` and return the epoch's data order."""
    torch.manual_seed(_derived_seed(seed, epoch, "global"))
    order_rng = torch.Generator().manual_seed(_derived_seed(seed, epoch, "order"))
    return torch.randperm(n_images, generator=order_rng)


def _epoch_record(
    loss_sum: torch.Tensor,
    correct: torch.Tensor,
    scored: int,
    ddp: Any,
    device: torch.device,
    started: float,
    epoch: int,
    n_used: int,
    lr: float,
) -> EpochRecord:
    """A finished epoch's record (summed over the processes under DDP); FloatingPointError on a non-finite loss."""
    loss: torch.Tensor | float = loss_sum
    n_correct: torch.Tensor | int = correct
    if ddp is not None:  # the sums over the processes, as Python numbers
        loss, correct_total, scored_total = _dist.all_reduce_sum(
            torch.stack(
                [
                    loss_sum.double(),
                    correct.double(),
                    torch.tensor(float(scored), dtype=torch.float64, device=device),
                ]
            )
        ).tolist()
        n_correct, scored = round(correct_total), round(scored_total)
    seconds = time.perf_counter() - started
    mean_loss = float(loss) / n_used
    if not math.isfinite(mean_loss):
        raise FloatingPointError(f"the training loss became {mean_loss} in epoch {epoch + 1}; lower lr (now {lr:g})")
    return EpochRecord(
        epoch=epoch + 1,
        loss=mean_loss,
        train_acc=int(n_correct) / scored if scored else math.nan,
        seconds=seconds,
        images_per_s=n_used / seconds,
    )


def _save_epoch(
    checkpoint: Path,
    epoch: int,
    config: dict[str, Any],
    model: nn.Module,
    opt: torch.optim.Optimizer,
    sched: Any,
    history: TrainHistory,
) -> None:
    """Write the checkpoint after ``epoch`` (counted from 0): weights, optimiser, schedule, history."""
    save_checkpoint(
        checkpoint,
        {
            "epoch": epoch + 1,
            "config": config,
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimizer": _to_cpu(opt.state_dict()),
            "scheduler": sched.state_dict(),
            "history": history.to_dict(),
        },
    )


def _check_same_config(config: dict[str, Any]) -> None:
    """Raise ValueError on every process unless all were called with the same
    arguments and data."""
    import torch.distributed as dist

    configs: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(configs, config)
    for other, c in enumerate(configs):
        if c != configs[0]:
            diff = {k: (configs[0].get(k), c.get(k)) for k in config if configs[0].get(k) != c.get(k)}
            raise ValueError(
                f"every process must call train() with the same arguments and data; "
                f"rank {other} differs from rank 0 (rank 0 vs rank {other}: {diff})"
            )


def _to_cpu(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


# ------------------------------------------------------------- evaluate, predict


def _logits_in_batches(
    model: nn.Module,
    images: torch.Tensor,
    batch_size: int,
    device: str | torch.device | None,
    progress: bool,
) -> Iterator[tuple[slice, torch.Tensor]]:
    device = model_device(model) if device is None else torch.device(device)
    model.to(device)
    starts = range(0, len(images), batch_size)
    with eval_mode(model), torch.no_grad():
        for start in tqdm(starts, disable=not progress, unit="batch", desc="predict"):
            part = slice(start, start + batch_size)
            out = model(images[part].to(device, non_blocking=True))
            if not isinstance(out, torch.Tensor) or out.dim() != 2:
                raise ValueError(f"model must return logits [N, num_classes], got {getattr(out, 'shape', out)}")
            yield part, out


def predict(
    model: nn.Module,
    images: torch.Tensor,
    *,
    batch_size: int = 512,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """The model's logits for ``images``.

    Args:
        model: a classifier; run in eval mode without gradients, its mode restored.
        images: ``[N, C, H, W]`` floating-point pixels in [0, 1].
        batch_size: images per forward pass.
        device: where to run; ``None`` -> where the model's parameters are (the model
            is moved only when a device is given).
        progress: show a tqdm bar over batches.

    Returns:
        Logits ``[N, num_classes]``, float, on the CPU.

    Raises:
        TypeError / ValueError: bad ``images`` (see :func:`train`), bad ``batch_size``.
    """
    images = check_images(images, "images", model=model)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    return torch.cat([out.cpu() for _, out in _logits_in_batches(model, images, batch_size, device, progress)])


def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    batch_size: int = 512,
    device: str | torch.device | None = None,
    topk: int | Sequence[int] = (1,),
    progress: bool = False,
) -> dict[str, float]:
    """Top-k accuracy of ``model`` on ``(images, labels)``.

    An image counts as correct for top-k when its label is among the k largest
    logits (ties broken by ``torch.topk``).

    Args:
        model, images, batch_size, device, progress: as in :func:`predict`.
        labels: ``[N]`` integer class indices in ``[0, num_classes)``.
        topk: one k or several, each in ``[1, num_classes]``.

    Returns:
        ``{"top1": fraction, "top5": ...}``, one key per k, fractions in [0, 1].

    Raises:
        TypeError / ValueError: bad images, labels out of range, a bad k.
    """
    images = check_images(images, "images", model=model)
    check_labels(labels, len(images), None, "labels")  # the range once the model's width is known
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    ks = [topk] if isinstance(topk, int) else list(topk)
    if not ks:
        raise ValueError("topk must name at least one k")
    for k in ks:
        check_int(k, "topk", minimum=1)
    correct = dict.fromkeys(ks, 0)
    for part, out in _logits_in_batches(model, images, batch_size, device, progress):
        num_classes = out.shape[1]
        if max(ks) > num_classes:
            raise ValueError(f"topk must be <= num_classes = {num_classes}, got {max(ks)}")
        if part.start == 0:  # the logits' width is known now: check every label once
            labels = check_labels(labels, len(images), num_classes, "labels")
        y = labels[part].to(out.device)
        ranked = out.topk(max(ks), dim=1).indices
        hits = ranked == y[:, None]
        for k in ks:
            correct[k] += int(hits[:, :k].any(dim=1).sum())
    return {f"top{k}": correct[k] / len(images) for k in ks}
