"""Chapter 11's ImageNet adversarial set, generated before the chapter on G GPUs.

``torchrun --nproc_per_node=G -m advinterp_lib.runs.imagenet_advset [-p NAME VALUE ...]``
runs one worker per GPU (:func:`~advinterp_lib.artifacts.imagenet.generate_imagenet_adversarial_parts`)
with the ``imagenet`` profile's parameters of chapter 11; the chapter then finds every
part in the cache. Without torchrun it runs as a single worker.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import torch
import torch.distributed as dist

from ..artifacts.imagenet import generate_imagenet_adversarial_parts
from .profiles import adversarial_set_recipe, chapter_parameters
from .runner import check_overrides, parse_override

#: The chapter-11 parameters :func:`main` uses (any other ``-p`` is refused, not ignored).
_MAIN_PARAMETERS = ("archs", "n_images", "k_targets", "adam_step_255", "adam_steps", "eps", "seed")


def main(argv: Sequence[str] | None = None) -> int:
    """``torchrun --nproc_per_node=G -m advinterp_lib.runs.imagenet_advset [-p NAME VALUE ...]``:
    generate chapter 11's ImageNet adversarial set on G GPUs (one worker per GPU), with
    the ``imagenet`` profile's parameters (overridden by ``-p``, read as YAML). Then run
    the chapter (``python -m advinterp_lib run 11 --profile imagenet``): it finds every
    part finished. Without torchrun it runs as a single worker."""
    parser = argparse.ArgumentParser(prog="python -m advinterp_lib.runs.imagenet_advset",
                                     description=main.__doc__)  # fmt: skip
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help=f"override one of {', '.join(_MAIN_PARAMETERS)} (plain YAML, of its default's type)",
    )
    args = parser.parse_args(argv)
    params = chapter_parameters("imagenet", "11")
    try:  # checked as the runner checks -p, against the parameters this command uses
        overrides = dict(parse_override(k, v) for k, v in args.parameter)
        params.update(check_overrides("imagenet_artifacts", {k: params[k] for k in _MAIN_PARAMETERS}, overrides))
    except (ValueError, TypeError) as err:
        parser.error(str(err))
    rank, world = 0, 1
    if dist.is_torchelastic_launched():  # started by torchrun: it set up the rendezvous
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device(f"cuda:{rank % torch.cuda.device_count()}") if torch.cuda.is_available() else None
    done = generate_imagenet_adversarial_parts(
        params["archs"], adversarial_set_recipe(params, eps="eps"), n_images=params["n_images"], seed=params["seed"],
        rank=rank, world_size=world, device=device, progress=rank == 0,
    )  # fmt: skip
    print(f"worker {rank}/{world}: finished {len(done)} parts")
    if world > 1:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
