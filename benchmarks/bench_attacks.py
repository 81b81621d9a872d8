"""Cost of the gradient attacks (prints ratios; not a test).

- FGSM against one forward+backward pass of the same model and batch, and PGD-k
  against k of them (target: within 1.15x).
- DeepFool: images per second, and the speed-up over torchattacks' DeepFool on the
  same model and images (target: >= 10x at the same mean ||r||_2).

    python benchmarks/bench_attacks.py [--arch vgg] [--batch 128] [--deepfool-images 32]

Uses the quick profile's trained zoo model (from the artifact cache; trained on first
use) and Fashion-MNIST test images; ``--untrained`` skips training (costs only).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
import torchattacks

from advinterp_lib.attacks import deepfool, fgsm, pgd
from advinterp_lib.data import load
from advinterp_lib.models import build
from advinterp_lib.runs.profiles import ZOO_TRAINING


def best_times(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """The fastest of ``repeats`` wall times of each call after one warm-up, the calls
    interleaved so that load from other processes hits them alike (min, not mean:
    contention only ever adds time)."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: min(ts) for name, ts in times.items()}


def forward_backward(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    xr = x.detach().requires_grad_(True)
    return torch.autograd.grad(F.cross_entropy(model(xr), y, reduction="sum"), xr)[0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", default="vgg")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--deepfool-images", type=int, default=32)
    p.add_argument("--untrained", action="store_true")
    args = p.parse_args()
    torch.manual_seed(0)

    if args.untrained:
        model = build(args.arch).eval()
    else:
        from advinterp_lib.runs.artifacts import trained_model

        model = trained_model(args.arch, **ZOO_TRAINING["quick"], seed=0, device="cpu")
    test = load("fashion-mnist", "test").subset(max(args.batch, args.deepfool_images), seed=0)
    x, y = test.images[: args.batch], test.labels[: args.batch]
    print(f"model {args.arch} ({'untrained' if args.untrained else 'quick profile'}), batch {args.batch}, "
          f"threads {torch.get_num_threads()}")

    t = best_times({
        "fb": lambda: forward_backward(model, x, y),
        "fgsm": lambda: fgsm(model, x, y, eps=0.1),
        "fb_k": lambda: [forward_backward(model, x, y) for _ in range(args.steps)],
        "pgd": lambda: pgd(model, x, y, eps=0.1, step_size=0.01, steps=args.steps),
    }, args.repeats)
    t_fb, t_fgsm, t_pgd = t["fb"], t["fgsm"], t["pgd"]
    print(f"forward+backward     {t_fb * 1e3:8.1f} ms")
    print(f"FGSM                 {t_fgsm * 1e3:8.1f} ms   ratio to 1 fwd+bwd:  {t_fgsm / t_fb:5.2f}  (target <= 1.15)")
    print(f"PGD-{args.steps:<2d}               {t_pgd * 1e3:8.1f} ms   ratio to {args.steps} fwd+bwd: "
          f"{t_pgd / t['fb_k']:5.2f}  (target <= 1.15)")

    xd = test.images[: args.deepfool_images]
    with torch.no_grad():
        pred = model(xd).argmax(1)
    t = time.perf_counter()
    ours = deepfool(model, xd, overshoot=0.02, max_iter=50, num_candidates=10)
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    ref = torchattacks.DeepFool(model, steps=50, overshoot=0.02)(xd, pred)
    t_ref = time.perf_counter() - t
    with torch.no_grad():
        ref_success = (model(ref).argmax(1) != pred).float().mean().item()
    n = len(xd)
    print(f"DeepFool (ours)        {n / t_ours:8.1f} images/s  success {ours.success.float().mean():.2f}  "
          f"mean ||r||_2 {ours.l2.mean():.4f}  mean iterations {ours.iterations.float().mean():.2f}")
    print(f"DeepFool (torchattacks){n / t_ref:8.1f} images/s  success {ref_success:.2f}  "
          f"mean ||r||_2 {(ref - xd).flatten(1).norm(dim=1).mean():.4f}")
    with torch.no_grad():
        both = ours.success & (model(ref).argmax(1) != pred)
    if both.any():
        ref_l2 = (ref - xd).flatten(1).norm(dim=1)
        print(f"on the {int(both.sum())} images both fool: mean ||r||_2 ours {ours.l2[both].mean():.4f}, "
              f"torchattacks {ref_l2[both].mean():.4f} (ratio {ours.l2[both].mean() / ref_l2[both].mean():.3f})")
    print(f"DeepFool speed-up      {t_ref / t_ours:8.1f}x  (target >= 10)")


if __name__ == "__main__":
    main()
