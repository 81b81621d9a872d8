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

This module takes what it trains and evaluates as arguments (a model, an objective
object); the command line that builds them from a profile's recipe and the artifact
cache is :mod:`advinterp_lib.runs.distributed_training`::

    torchrun --nproc_per_node=4 -m advinterp_lib.runs.distributed_training \\
        --arch resnet --objective pgd --epochs 15 --out runs/pgd_resnet
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
                f"torchrun --nproc_per_node=2 -m advinterp_lib.runs.distributed_training --help"
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

    # declared for the type checker: set with object.__setattr__, so no nn.Module.__getattr__
    _objective: Callable
    _before: Callable[[torch.Tensor], None] | None

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


def wrap_objective(
    model: nn.Module, objective: Callable, device: torch.device, *, before: Callable[[torch.Tensor], None] | None = None
) -> DistributedDataParallel:
    """DDP around ``objective`` on ``model`` (already on ``device``): calling the
    result with ``(x, y)`` returns the objective's loss, and its backward averages
    the gradients over processes. Rank 0's parameters and buffers are copied to all
    processes when it is built. ``before(x)`` is called first in each forward (the
    training loop arms its accuracy hook there)."""
    ids = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else None
    return DistributedDataParallel(_ObjectiveModule(model, objective, before), device_ids=ids)


if __name__ == "__main__":
    # The command line reads profiles and the artifact cache, so it lives in runs/.
    raise SystemExit(
        "the command line moved: torchrun --nproc_per_node=N -m advinterp_lib.runs.distributed_training --help"
    )
