"""Benchmark: attribution costs on the zoo models (prints ratios; not a test).

- Occlusion: images per second, and the ratio of its time to (number of forward
  passes it needs x the time of one forward pass per image, measured in large
  batches). A ratio near 1 means occlusion costs no more than its forward passes.
- Grad-CAM: our wrapper vs Captum's ``LayerGradCam`` + ``LayerAttribution.interpolate``
  called directly (the wrapper's overhead: validation, one probe forward pass, mode
  handling).

Untrained models are enough: timing does not depend on the weights.

    python benchmarks/bench_interpret_attribution.py [--images 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from captum.attr import LayerAttribution, LayerGradCam

from advinterp_lib.interpret.attribution import grad_cam, occlusion, occlusion_forward_passes
from advinterp_lib.models import ZOO, build
from advinterp_lib.models.layers import layer


def best_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def forward_time_per_image(model: torch.nn.Module, x: torch.Tensor, batch: int, repeats: int) -> float:
    big = x.repeat((batch + len(x) - 1) // len(x), 1, 1, 1)[:batch]

    def run() -> None:
        with torch.no_grad():
            model(big)

    run()  # warm-up
    return best_time(run, repeats) / batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--window", type=int, default=4)
    parser.add_argument("--stride", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1024)
    args = parser.parse_args()

    torch.manual_seed(0)
    x = torch.rand(args.images, 1, 28, 28)
    target = torch.randint(0, 10, (args.images,))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.images} images 28x28")
    print(f"\nOcclusion, window {args.window}, stride {args.stride}, batches of {args.batch_size}:")
    print(f"{'model':8} {'passes/img':>10} {'images/s':>9} {'time (s)':>9} {'fwd-only (s)':>12} {'ratio':>6}")
    for arch in ZOO:
        model = build(arch).eval()
        passes = occlusion_forward_passes((28, 28), args.window, args.stride)
        per_image = forward_time_per_image(model, x, args.batch_size, args.repeats)
        t = best_time(lambda: occlusion(model, x, target, window=args.window, stride=args.stride, batch_size=args.batch_size), args.repeats)
        forward_only = passes * args.images * per_image
        print(f"{arch:8} {passes:10d} {args.images / t:9.1f} {t:9.3f} {forward_only:12.3f} {t / forward_only:6.2f}")

    print("\nGrad-CAM at model.last_conv, ours vs Captum LayerGradCam + interpolate:")
    print(f"{'model':8} {'ours (s)':>9} {'captum (s)':>10} {'ratio':>6}")
    for arch in ZOO:
        model = build(arch).eval()
        module = layer(model, model.last_conv)

        def captum_direct() -> torch.Tensor:
            cam = LayerGradCam(model, module).attribute(x.clone().requires_grad_(), target=target, relu_attributions=True)
            return LayerAttribution.interpolate(cam, (28, 28), interpolate_mode="bilinear")

        captum_direct()
        grad_cam(model, x, target)
        t_ours = best_time(lambda: grad_cam(model, x, target), args.repeats)
        t_captum = best_time(captum_direct, args.repeats)
        print(f"{arch:8} {t_ours:9.4f} {t_captum:10.4f} {t_ours / t_captum:6.2f}")


if __name__ == "__main__":
    main()
