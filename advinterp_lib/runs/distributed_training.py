"""The command line that trains a zoo model on several processes (GPUs or machines)
under ``torchrun``, with one of the book's objectives and a profile's recipe.

It sits in ``runs`` because it reads the profiles' recipes
(:data:`~advinterp_lib.runs.profiles.ADV_TRAINING`, ``ZOO_TRAINING``), the objectives
by name (:func:`~advinterp_lib.artifacts.zoo.make_objective`) and the cached standard
model to fine-tune (:func:`~advinterp_lib.artifacts.trained_model`). The
distributed training itself -- the process group, DDP around the objective, the sharded
evaluation -- is :mod:`advinterp_lib.training.distributed`, driven by the one training
loop :func:`~advinterp_lib.training.train`.

Run it again after a kill to resume::

    torchrun --nproc_per_node=4 -m advinterp_lib.runs.distributed_training \\
        --arch resnet --objective pgd --epochs 15 --out runs/pgd_resnet
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from ..artifacts.zoo import (
    ADVERSARIAL_OBJECTIVES,
    adversarial_variant_spec,
    make_objective,
    seeded_build,
    trained_model,
)
from ..atomic import atomic_torch_save, atomic_write_text
from ..data import ImageSet, load
from ..models import ZOO, build
from ..training.distributed import (
    broadcast_from_rank0,
    broadcast_state,
    init_distributed,
    is_distributed,
    rank_and_world,
)
from ..training.loop import TrainHistory, train
from ..training.robustness import evaluate_robustness_distributed
from .profiles import ADV_TRAINING, ZOO_TRAINING

__all__ = ["main"]

# The book's variant for each objective name: its parameters come from the profile.
_VARIANT_OF = {
    "fgsm": "FGSM-AT",
    "pgd": "PGD-AT",
    "ensemble": "ensemble-AT",
    "consistent": "consistent-AT",
    "feature_consistent": "feature-consistent-AT",
}


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="torchrun --nproc_per_node=N -m advinterp_lib.runs.distributed_training",
        description="Train a zoo model on Fashion-MNIST with one objective on several processes "
        "(DDP; NCCL on GPUs, gloo on CPUs). Fine-tunes the profile's cached standard "
        "model unless --from-scratch. Run the same command again to resume.",
    )
    p.add_argument("--arch", required=True, choices=list(ZOO), help="zoo architecture")
    p.add_argument(
        "--objective",
        required=True,
        choices=list(ADVERSARIAL_OBJECTIVES),
        help="training objective; its parameters default to the profile's recipe",
    )
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument(
        "--out", required=True, type=Path, help="folder for checkpoint.pt, metrics.json, model.pt and run.json"
    )
    p.add_argument(
        "--profile",
        default="full",
        choices=list(ADV_TRAINING),
        help="profile whose recipe gives the defaults (base model, eps, steps, lr, train size)",
    )
    p.add_argument("--from-scratch", action="store_true", help="train a new network instead of fine-tuning")
    p.add_argument("--train-size", type=int, help="training images (default: the profile's finetune_size)")
    p.add_argument("--batch-size", type=int, default=128, help="global batch, split over processes")
    p.add_argument("--lr", type=float, help="peak learning rate (default: the profile's finetune_lr)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an objective parameter, overriding the profile's (repeatable; JSON values)",
    )
    p.add_argument("--eval-size", type=int, default=2000, help="test images for the per-epoch metrics")
    p.add_argument("--eval-pgd-steps", type=int, default=10)
    p.add_argument("--backend", choices=["nccl", "gloo"], help="default: nccl with CUDA, gloo without")
    p.add_argument("--no-sync-batchnorm", action="store_true", help="on CUDA, keep per-process BatchNorm statistics")
    p.add_argument("--no-progress", action="store_true")
    return p


def _objective_from_args(
    args: argparse.Namespace, adv: Mapping[str, Any], zoo: Mapping[str, Any], device: torch.device
) -> tuple[Callable, dict[str, Any]]:
    params: dict[str, Any] = {}
    if args.objective in _VARIANT_OF:
        _, params = adversarial_variant_spec(
            _VARIANT_OF[args.objective],
            eps=adv["eps"],
            pgd_train_steps=adv["pgd_train_steps"],
            pgd_train_step=adv["pgd_train_step"],
            consistent_steps=adv["consistent_steps"],
        )
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--param must be NAME=VALUE, got {item!r}")
        params[name] = _parse_value(value)
    unknown = set(params) - set(ADVERSARIAL_OBJECTIVES[args.objective])
    if unknown:
        raise ValueError(
            f"objective {args.objective!r} takes {ADVERSARIAL_OBJECTIVES[args.objective] or 'no parameters'}, "
            f"got unknown {sorted(unknown)}"
        )
    static: dict[str, nn.Module] = {}
    if args.objective == "ensemble":
        names = list(params.pop("static_archs", [a for a in ZOO if a != args.arch]))
        for name in names:
            # Rank 0 reads (or trains) the cached standard model; the others receive it.
            model = (
                trained_model(name, **zoo, seed=args.seed, device="cpu", progress=not args.no_progress)
                if rank_and_world()[0] == 0
                else build(name)
            )
            static[name] = broadcast_state(model).to(device).eval().requires_grad_(False)
        params_record = {**params, "static_archs": names}
    else:
        params_record = dict(params)
    return make_objective(args.objective, params, static), params_record


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """The command line (see the module docstring and ``--help``). Trains, evaluates
    clean / FGSM / PGD accuracy on ``--eval-size`` test images after every epoch, and
    writes into ``--out`` (rank 0, atomically): ``checkpoint.pt`` (each epoch),
    ``metrics.json`` (``{"epochs": [...]}``), ``run.json`` (the arguments) and, at
    the end, ``model.pt`` (the ``state_dict``, CPU tensors). Returns the run record."""
    args = _parser().parse_args(argv)
    adv, zoo = ADV_TRAINING[args.profile], ZOO_TRAINING[args.profile]
    started_here = not is_distributed()
    device = init_distributed(args.backend)
    rank, world = rank_and_world()
    try:
        objective, objective_params = _objective_from_args(args, adv, zoo, device)
        train_size = args.train_size or adv["finetune_size"]
        lr = args.lr or adv["finetune_lr"]
        data, test = _datasets(train_size, args.eval_size, args.seed)
        model = _initial_model(args, zoo, rank, world, device)
        run = _run_record(args, objective_params, len(data), lr, zoo, world, device)
        metrics_path = args.out / "metrics.json"
        records = _earlier_records(args.out, metrics_path, run, rank)
        done = {r["epoch"] for r in records}
        started = time.perf_counter()
        for epoch in range(1, args.epochs + 1):
            history = train(
                model,
                data.images,
                data.labels,
                epochs=args.epochs,
                batch_size=args.batch_size,
                lr=lr,
                objective=objective,
                seed=args.seed,
                device=device,
                checkpoint_dir=args.out,
                stop_after_epochs=epoch,
                progress=not args.no_progress,
                distributed=world > 1,
            )
            if epoch in done:
                continue
            records.append(_epoch_record(model, test, history, epoch, adv["eps"], args))
            if rank == 0:
                _report_epoch(records, metrics_path, args.epochs, world)
        if rank == 0:
            state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
            atomic_torch_save(state, args.out / "model.pt")
        run["seconds_this_session"] = time.perf_counter() - started
        run["epochs_records"] = records
        dist.barrier()
        return run
    finally:
        if started_here and dist.is_initialized():
            dist.destroy_process_group()


def _datasets(train_size: int, eval_size: int, seed: int) -> tuple[ImageSet, ImageSet]:
    """The training set (its first ``train_size`` images, class-balanced) and the evaluation subset of the test set."""
    data = load("fashion-mnist", "train")
    if train_size < len(data):
        data = data.subset(train_size, seed=seed + 1)
    test = load("fashion-mnist", "test").subset(eval_size, seed=seed + 1)
    return data, test


def _initial_model(
    args: argparse.Namespace, zoo: Mapping[str, Any], rank: int, world: int, device: torch.device
) -> nn.Module:
    """The network to train, on ``device``: rank 0's cached standard model, or with --from-scratch a
    new one whose weights depend on --seed alone (on every rank, so two runs start alike)."""
    model = seeded_build(args.arch, args.seed)
    if not args.from_scratch:
        if rank == 0:
            model = trained_model(args.arch, **zoo, seed=args.seed, device="cpu", progress=not args.no_progress)
        broadcast_state(model)
    if device.type == "cuda" and world > 1 and not args.no_sync_batchnorm:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model.to(device)
    return model


def _run_record(
    args: argparse.Namespace,
    objective_params: dict[str, Any],
    train_size: int,
    lr: float,
    zoo: Mapping[str, Any],
    world: int,
    device: torch.device,
) -> dict[str, Any]:
    """The run's arguments as written to ``run.json``."""
    return {
        "arch": args.arch,
        "objective": args.objective,
        "params": objective_params,
        "epochs": args.epochs,
        "train_size": train_size,
        "batch_size": args.batch_size,
        "lr": lr,
        "seed": args.seed,
        "from_scratch": args.from_scratch,
        "base": None if args.from_scratch else zoo,
        "profile": args.profile,
        "world_size": world,
        "device": str(device),
        "backend": dist.get_backend(),
    }


def _earlier_records(out: Path, metrics_path: Path, run: dict[str, Any], rank: int) -> list[dict[str, Any]]:
    """Write ``run.json`` (rank 0) and return the epoch records an earlier session left in ``metrics_path``."""
    records: list[dict[str, Any]] = []
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(json.dumps(run, indent=2), out / "run.json")
        if metrics_path.is_file():
            records = json.loads(metrics_path.read_text())["epochs"]
    return broadcast_from_rank0(records)


def _epoch_record(
    model: nn.Module, test: ImageSet, history: TrainHistory, epoch: int, eps: float, args: argparse.Namespace
) -> dict[str, Any]:
    """The finished epoch's record: its training loss and accuracy, and clean / FGSM / PGD test accuracy."""
    metrics = evaluate_robustness_distributed(
        model,
        test.images,
        test.labels,
        fgsm_eps=eps,
        pgd_steps=args.eval_pgd_steps,
        topk=(1, 3),
        seed=args.seed,
    )
    last = history.records[-1]
    return {"epoch": epoch, "loss": last.loss, "train_acc": last.train_acc, "seconds": last.seconds, **metrics}


def _report_epoch(records: list[dict[str, Any]], metrics_path: Path, epochs: int, world: int) -> None:
    """Write ``metrics.json`` and print the last record's line (rank 0)."""
    atomic_write_text(json.dumps({"epochs": records}, indent=2), metrics_path)
    r = records[-1]
    print(
        f"epoch {r['epoch']}/{epochs}: loss {r['loss']:.4f}, clean {r['clean']['top1']:.3f}, "
        f"FGSM {r['fgsm']['top1']:.3f}, PGD {r['pgd']['top1']:.3f} "
        f"({r['seconds']:.0f} s on {world} processes)",
        flush=True,
    )


if __name__ == "__main__":
    main()
