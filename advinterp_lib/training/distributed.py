"""Training on several processes (GPUs or machines) with ``torchrun``.

The one training loop, :func:`~advinterp_lib.training.train`, runs unchanged under
``torchrun``: when a ``torch.distributed`` process group is initialised it trains with
:class:`~torch.nn.parallel.DistributedDataParallel` (DDP). Every process holds the
whole training set and walks the *same* seeded global batch order; process ``r`` of
``W`` takes the ``r``-th of ``W`` near-equal slices of every global batch of
``batch_size`` images, runs the objective on its slice, and DDP averages the gradients
(each slice's loss weighted by its share of the batch). So the step is the one a single
process takes on the whole global batch — equal up to float rounding when the
objective is a mean over the batch of per-image terms (all of ours are) and the model
has no batch-dependent layers in training mode. BatchNorm in training mode normalises
with its slice's statistics; on CUDA :func:`main` converts it to
:class:`~torch.nn.SyncBatchNorm` (statistics of the global batch); gloo on the CPU has
no synchronised BatchNorm. Randomness drawn by the objective (PGD's random start,
dropout, the ensemble's source model) comes from the same per-epoch seed on every
process, drawn for the slice's shape.

Adversarial objectives run inside DDP's forward on the *unwrapped* model (the wrapper
is a module whose forward is ``objective(model, x, y)``), so attacks, forward hooks and
:func:`~advinterp_lib.models.layers.capture_activations` see the model's own layer
names, and DDP sees one forward and one backward per step however many passes the
objective makes.

Only rank 0 reads and writes checkpoints and metrics files (atomically); it sends the
checkpoint to the other processes, so all resume from the same state even when the
machines share no file system. Rank, world size and the node-local rank come from the
variables ``torchrun`` sets, read by ``torch.distributed`` itself
(``init_process_group(init_method="env://")``, ``get_node_local_rank``).

Command line (what ``torchrun`` launches; run it again after a kill to resume)::

    torchrun --nproc_per_node=4 -m advinterp_lib.training.distributed \\
        --arch resnet --objective pgd --epochs 15 --out runs/pgd_resnet
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Callable

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

__all__ = [
    "rank_and_world",
    "is_distributed",
    "init_distributed",
    "local_slice",
    "broadcast_from_rank0",
    "broadcast_state",
    "all_reduce_sum",
    "wrap_objective",
    "evaluate_robustness_distributed",
    "main",
]


# ----------------------------------------------------------------- process group

def is_distributed() -> bool:
    """Whether a ``torch.distributed`` process group is initialised (with any size)."""
    return dist.is_available() and dist.is_initialized()


def rank_and_world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process; ``(0, 1)`` without a process group."""
    if not is_distributed():
        return 0, 1
    return dist.get_rank(), dist.get_world_size()


def init_distributed(backend: str | None = None) -> torch.device:
    """Join the process group ``torchrun`` set up (``env://``) and pick this process's
    device: ``cuda:<node-local rank>`` when CUDA is available, else the CPU.

    Args:
        backend: ``"nccl"`` or ``"gloo"``; ``None`` -> NCCL with CUDA, gloo without.

    Returns:
        The device this process trains on.

    Raises:
        RuntimeError: torch was built without ``torch.distributed``, or the process
            was not started by ``torchrun`` (no rendezvous variables).
        ValueError: an unknown backend.
    """
    if not dist.is_available():
        raise RuntimeError("this torch build has no torch.distributed")
    if backend is not None and backend not in ("nccl", "gloo"):
        raise ValueError(f"backend must be 'nccl', 'gloo' or None, got {backend!r}")
    cuda = torch.cuda.is_available() and backend != "gloo"
    backend = backend or ("nccl" if cuda else "gloo")
    device = torch.device("cpu")
    if cuda:
        device = torch.device("cuda", dist.get_node_local_rank(fallback_rank=0))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        try:
            dist.init_process_group(backend=backend, init_method="env://")
        except ValueError as err:  # torch names the missing variable, e.g. RANK
            raise RuntimeError(
                f"no process group to join ({err}); start this program with torchrun, e.g. "
                f"torchrun --nproc_per_node=2 -m advinterp_lib.training.distributed --help"
            ) from err
    return device


def _collective_device() -> torch.device:
    """Where tensors for collectives must live: the current GPU under NCCL."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def local_slice(batch: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """This process's part of a global batch: the ``rank``-th of ``world`` contiguous,
    near-equal slices (sizes differ by at most one; ``torch.tensor_split``)."""
    return batch.tensor_split(world)[rank]


def broadcast_from_rank0(obj: Any) -> Any:
    """Rank 0's ``obj`` on every process (pickled; tensors arrive on the CPU or, under
    NCCL, the current GPU). Without a process group, ``obj`` itself."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0, device=_collective_device())
    return box[0]


def broadcast_state(module: nn.Module) -> nn.Module:
    """Load rank 0's ``state_dict`` into ``module`` on every process (in place; the
    module is returned). Use for models that DDP does not wrap (e.g. the static
    models of ensemble adversarial training)."""
    state = {k: v.detach().cpu() for k, v in module.state_dict().items()} if rank_and_world()[0] == 0 else None
    module.load_state_dict(broadcast_from_rank0(state))
    return module


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """The sum over processes of ``values`` (a new float64 tensor on ``values``'
    device); ``values`` in float64 without a process group."""
    total = values.detach().to(torch.float64)
    if is_distributed():
        device = _collective_device()
        total = total.to(device)
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total.to(values.device)


# --------------------------------------------------------------------------- DDP

class _ObjectiveModule(nn.Module):
    """``forward(x, y) = objective(model, x, y)``: the module DDP wraps, so that the
    objective runs on the unwrapped model (its own layer names and hooks) and DDP
    sees one forward per step."""

    def __init__(self, model: nn.Module, objective: Callable, before: Callable[[torch.Tensor], None] | None):
        super().__init__()
        self.model = model
        # Not registered as submodules even when they are modules: DDP must only
        # synchronise the trained model's parameters (not, e.g., static models).
        object.__setattr__(self, "_objective", objective)
        object.__setattr__(self, "_before", before)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self._before is not None:
            self._before(x)
        return self._objective(self.model, x, y)


def wrap_objective(model: nn.Module, objective: Callable, device: torch.device, *,
                   before: Callable[[torch.Tensor], None] | None = None) -> DistributedDataParallel:
    """DDP around ``objective`` on ``model`` (already on ``device``): calling the
    result with ``(x, y)`` returns the objective's loss, and its backward averages
    the gradients over processes. Rank 0's parameters and buffers are copied to all
    processes when it is built. ``before(x)`` is called first in each forward (the
    training loop arms its accuracy hook there)."""
    ids = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else None
    return DistributedDataParallel(_ObjectiveModule(model, objective, before), device_ids=ids)


# --------------------------------------------------------------------- evaluation

def evaluate_robustness_distributed(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, **kwargs: Any,
) -> dict[str, dict[str, float]]:
    """:func:`~advinterp_lib.training.evaluate_robustness` with the images split over
    the processes (each attacks and scores its slice; the counts are summed), so every
    process returns the accuracies on all ``images``. Equal to the single-process
    numbers except for PGD's random start, which each process draws for its slice
    from the same ``seed``. Without a process group, the plain call.

    Raises:
        ValueError: fewer images than processes; otherwise as ``evaluate_robustness``.
    """
    from .robustness import evaluate_robustness

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
    for (a, k), c in zip(keys, totals.tolist()):
        result[a][k] = c / len(images)
    return result


# ------------------------------------------------------------------ command line

# The book's variant for each objective name: its parameters come from the profile.
_VARIANT_OF = {"fgsm": "FGSM-AT", "pgd": "PGD-AT", "ensemble": "ensemble-AT",
               "consistent": "consistent-AT", "feature_consistent": "feature-consistent-AT"}


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _parser() -> argparse.ArgumentParser:
    # The command line sits at the edge of the library: it reads the profiles and
    # the objective table of advinterp_lib.runs (imported here, not by the library).
    from ..models import ZOO
    from ..runs.artifacts import ADVERSARIAL_OBJECTIVES
    from ..runs.profiles import ADV_TRAINING

    p = argparse.ArgumentParser(
        prog="torchrun --nproc_per_node=N -m advinterp_lib.training.distributed",
        description="Train a zoo model on Fashion-MNIST with one objective on several processes "
                    "(DDP; NCCL on GPUs, gloo on CPUs). Fine-tunes the profile's cached standard "
                    "model unless --from-scratch. Run the same command again to resume.",
    )
    p.add_argument("--arch", required=True, choices=list(ZOO), help="zoo architecture")
    p.add_argument("--objective", required=True, choices=list(ADVERSARIAL_OBJECTIVES),
                   help="training objective; its parameters default to the profile's recipe")
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--out", required=True, type=Path,
                   help="folder for checkpoint.pt, metrics.json, model.pt and run.json")
    p.add_argument("--profile", default="full", choices=list(ADV_TRAINING),
                   help="profile whose recipe gives the defaults (base model, eps, steps, lr, train size)")
    p.add_argument("--from-scratch", action="store_true", help="train a new network instead of fine-tuning")
    p.add_argument("--train-size", type=int, help="training images (default: the profile's finetune_size)")
    p.add_argument("--batch-size", type=int, default=128, help="global batch, split over processes")
    p.add_argument("--lr", type=float, help="peak learning rate (default: the profile's finetune_lr)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="an objective parameter, overriding the profile's (repeatable; JSON values)")
    p.add_argument("--eval-size", type=int, default=2000, help="test images for the per-epoch metrics")
    p.add_argument("--eval-pgd-steps", type=int, default=10)
    p.add_argument("--backend", choices=["nccl", "gloo"], help="default: nccl with CUDA, gloo without")
    p.add_argument("--no-sync-batchnorm", action="store_true",
                   help="on CUDA, keep per-process BatchNorm statistics")
    p.add_argument("--no-progress", action="store_true")
    return p


def _objective_from_args(args: argparse.Namespace, adv: Mapping[str, Any], zoo: Mapping[str, Any],
                         device: torch.device) -> tuple[Callable, dict[str, Any]]:
    from ..models import ZOO, build
    from ..runs.artifacts import ADVERSARIAL_OBJECTIVES, _make_objective, adversarial_variant_spec, trained_model

    params: dict[str, Any] = {}
    if args.objective in _VARIANT_OF:
        _, params = adversarial_variant_spec(
            _VARIANT_OF[args.objective], eps=adv["eps"], pgd_train_steps=adv["pgd_train_steps"],
            pgd_train_step=adv["pgd_train_step"], consistent_steps=adv["consistent_steps"])
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--param must be NAME=VALUE, got {item!r}")
        params[name] = _parse_value(value)
    unknown = set(params) - set(ADVERSARIAL_OBJECTIVES[args.objective])
    if unknown:
        raise ValueError(f"objective {args.objective!r} takes {ADVERSARIAL_OBJECTIVES[args.objective] or 'no parameters'}, "
                         f"got unknown {sorted(unknown)}")
    static: dict[str, nn.Module] = {}
    if args.objective == "ensemble":
        names = list(params.pop("static_archs", [a for a in ZOO if a != args.arch]))
        for name in names:
            # Rank 0 reads (or trains) the cached standard model; the others receive it.
            model = trained_model(name, **zoo, seed=args.seed, device="cpu", progress=not args.no_progress) \
                if rank_and_world()[0] == 0 else build(name)
            static[name] = broadcast_state(model).to(device).eval().requires_grad_(False)
        params_record = {**params, "static_archs": names}
    else:
        params_record = dict(params)
    return _make_objective(args.objective, params, static), params_record


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """The command line (see the module docstring and ``--help``). Trains, evaluates
    clean / FGSM / PGD accuracy on ``--eval-size`` test images after every epoch, and
    writes into ``--out`` (rank 0, atomically): ``checkpoint.pt`` (each epoch),
    ``metrics.json`` (``{"epochs": [...]}``), ``run.json`` (the arguments) and, at
    the end, ``model.pt`` (the ``state_dict``, CPU tensors). Returns the run record."""
    from ..atomic import atomic_torch_save, atomic_write_text
    from ..data import load
    from ..models import build
    from ..runs.artifacts import trained_model
    from ..runs.profiles import ADV_TRAINING, ZOO_TRAINING
    from .loop import train

    args = _parser().parse_args(argv)
    adv, zoo = ADV_TRAINING[args.profile], ZOO_TRAINING[args.profile]
    started_here = not is_distributed()
    device = init_distributed(args.backend)
    rank, world = rank_and_world()
    try:
        objective, objective_params = _objective_from_args(args, adv, zoo, device)
        train_size = args.train_size or adv["finetune_size"]
        lr = args.lr or adv["finetune_lr"]
        data = load("fashion-mnist", "train")
        if train_size < len(data):
            data = data.subset(train_size, seed=args.seed + 1)
        test = load("fashion-mnist", "test").subset(args.eval_size, seed=args.seed + 1)

        model = build(args.arch)
        if not args.from_scratch:
            if rank == 0:
                model = trained_model(args.arch, **zoo, seed=args.seed, device="cpu",
                                      progress=not args.no_progress)
            broadcast_state(model)
        if device.type == "cuda" and world > 1 and not args.no_sync_batchnorm:
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model.to(device)

        run = {"arch": args.arch, "objective": args.objective, "params": objective_params,
               "epochs": args.epochs, "train_size": len(data), "batch_size": args.batch_size, "lr": lr,
               "seed": args.seed, "from_scratch": args.from_scratch, "base": None if args.from_scratch else zoo,
               "profile": args.profile, "world_size": world, "device": str(device),
               "backend": dist.get_backend()}
        metrics_path = args.out / "metrics.json"
        records: list[dict[str, Any]] = []
        if rank == 0:
            args.out.mkdir(parents=True, exist_ok=True)
            atomic_write_text(json.dumps(run, indent=2), args.out / "run.json")
            if metrics_path.is_file():
                records = json.loads(metrics_path.read_text())["epochs"]
        records = broadcast_from_rank0(records)
        done = {r["epoch"] for r in records}
        started = time.perf_counter()
        for epoch in range(1, args.epochs + 1):
            history = train(model, data.images, data.labels, epochs=args.epochs, batch_size=args.batch_size,
                            lr=lr, objective=objective, seed=args.seed, device=device,
                            checkpoint_dir=args.out, stop_after_epochs=epoch,
                            progress=not args.no_progress, distributed=world > 1)
            if epoch in done:
                continue
            metrics = evaluate_robustness_distributed(
                model, test.images, test.labels, fgsm_eps=adv["eps"], pgd_steps=args.eval_pgd_steps,
                topk=(1, 3), seed=args.seed)
            last = history.records[-1]
            records.append({"epoch": epoch, "loss": last.loss, "train_acc": last.train_acc,
                            "seconds": last.seconds, **metrics})
            if rank == 0:
                atomic_write_text(json.dumps({"epochs": records}, indent=2), metrics_path)
                print(f"epoch {epoch}/{args.epochs}: loss {last.loss:.4f}, clean {metrics['clean']['top1']:.3f}, "
                      f"FGSM {metrics['fgsm']['top1']:.3f}, PGD {metrics['pgd']['top1']:.3f} "
                      f"({last.seconds:.0f} s on {world} processes)", flush=True)
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


if __name__ == "__main__":
    main()
