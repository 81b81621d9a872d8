"""Benchmark: top-k streaming and discrepancy maps on the zoo models (prints ratios; not a test).

- Top-k streaming over the Fashion-MNIST test set (10,000 images; random images of
  the same shape with ``--random``): its time over the time of the same forward
  passes alone (same batches, no hook, no bookkeeping). Target: within 1.2x.
- Discrepancy maps (Zhou et al. 2015): images per second, and the ratio of the time
  to (occluded copies x the time of one forward pass per image, measured in large
  batches). A ratio near 1 means the maps cost no more than their forward passes.

Untrained models are enough: timing does not depend on the weights.

    python benchmarks/bench_interpret_topk.py [--images 10000] [--repeats 3] [--random]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from advinterp_lib.interpret.receptive_field import _occluder_positions, discrepancy_maps
from advinterp_lib.interpret.topk import top_activating_images
from advinterp_lib.models import ZOO, build
from advinterp_lib.models.layers import last_conv_layer


def best_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def forward_only(model: torch.nn.Module, x: torch.Tensor, batch_size: int) -> None:
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            model(x[start : start + batch_size])


def test_images(n: int, random: bool) -> torch.Tensor:
    if not random:
        from advinterp_lib.data import load

        try:
            return load("fashion-mnist", "test").images[:n]
        except FileNotFoundError as err:  # DataNotFoundError: fall back, and say so
            print(f"(Fashion-MNIST not prepared: {err}; using random images)")
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--random", action="store_true", help="random images instead of Fashion-MNIST")
    parser.add_argument("--maps-images", type=int, default=16)
    parser.add_argument("--patch", type=int, default=5)
    parser.add_argument("--stride", type=int, default=2)
    args = parser.parse_args()

    torch.manual_seed(0)
    x = test_images(args.images, args.random)
    print(f"torch threads: {torch.get_num_threads()}; images: {len(x)}")
    print(f"{'model':8s} {'layer':14s} {'forward s':>10s} {'top-k s':>8s} {'ratio':>6s}")
    for arch in ZOO:
        model = build(arch).eval()
        name = last_conv_layer(model)
        forward_only(model, x[: args.batch_size], args.batch_size)  # warm-up
        t_fwd = best_time(lambda: forward_only(model, x, args.batch_size), args.repeats)
        t_top = best_time(
            lambda: top_activating_images(model, x, name, k=args.k, batch_size=args.batch_size), args.repeats
        )
        print(f"{arch:8s} {name:14s} {t_fwd:10.3f} {t_top:8.3f} {t_top / t_fwd:6.2f}")

    n_pos = len(_occluder_positions(28, args.patch, args.stride)) ** 2
    maps_x = x[: args.maps_images]
    print(f"\ndiscrepancy maps: {len(maps_x)} images, patch {args.patch}, stride {args.stride} "
          f"-> {n_pos} occluded copies per image")
    print(f"{'model':8s} {'images/s':>9s} {'fwd/img ms':>10s} {'ratio':>6s}")
    for arch in ZOO:
        model = build(arch).eval()
        name = last_conv_layer(model)
        big = maps_x.repeat(max(1, 1024 // len(maps_x)), 1, 1, 1)
        forward_only(model, big, 1024)  # warm-up
        per_image = best_time(lambda: forward_only(model, big, 1024), args.repeats) / len(big)
        t_maps = best_time(
            lambda: discrepancy_maps(
                model, maps_x, name, 0, patch_size=args.patch, stride=args.stride,
                generator=torch.Generator().manual_seed(0),
            ),
            args.repeats,
        )
        ratio = t_maps / (len(maps_x) * n_pos * per_image)
        print(f"{arch:8s} {len(maps_x) / t_maps:9.1f} {per_image * 1e3:10.3f} {ratio:6.2f}")


if __name__ == "__main__":
    main()
