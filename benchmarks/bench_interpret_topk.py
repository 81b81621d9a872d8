"""Cost of top-k streaming and discrepancy maps on the zoo nets, against their forward passes.

- Top-k streaming (:func:`~advinterp_lib.interpret.topk.top_activating_images` at the
  last conv layer) over 5,000 Fashion-MNIST test images: its time over the time of the same
  forward passes alone (same batches, no hook, no bookkeeping). Target: within 1.2x.
- Discrepancy maps (Zhou et al. 2015, :func:`~advinterp_lib.interpret.receptive_field.discrepancy_maps`):
  time over (occluded copies + 1) forward passes per image, each at the time of one
  forward pass per image measured in batches of 1024.

Untrained models are enough: timing does not depend on the weights.

    python -m benchmarks --only topk [--quick]
"""

from __future__ import annotations

from typing import Any

import torch

from advinterp_lib.interpret.receptive_field import _occluder_positions, discrepancy_maps
from advinterp_lib.interpret.topk import top_activating_images
from advinterp_lib.models import ZOO, build
from advinterp_lib.models.layers import last_conv_layer
from benchmarks.common import Target, bench_device, fashion_mnist_images, forward, ratios, row, time_calls

TOPK_WITHIN = Target("<= 1.2x its forward passes", 1.2)


def _forward_all(model: torch.nn.Module, x: torch.Tensor, batch_size: int) -> None:
    for start in range(0, len(x), batch_size):
        forward(model, x[start : start + batch_size])


def run(quick: bool = False) -> dict[str, Any]:
    """Top-k streaming and discrepancy maps on every (untrained) zoo net."""
    device = bench_device()
    repeats = 1 if quick else 3
    n_images = 256 if quick else 5000
    batch_size, k = (64, 10) if quick else (500, 100)
    n_maps, patch, stride = (2, 5, 4) if quick else (16, 5, 2)
    x, _, source = fashion_mnist_images(n_images)
    x = x.to(device)
    n_pos = len(_occluder_positions(28, patch, stride)) ** 2
    rows = []
    for arch in ZOO:
        torch.manual_seed(0)
        model = build(arch).eval().to(device)
        name = last_conv_layer(model)
        t = time_calls(
            {
                "forward": lambda: _forward_all(model, x, batch_size),
                "top-k": lambda: top_activating_images(model, x, name, k=k, batch_size=batch_size),
            },
            repeats=repeats,
        )
        rows.append(
            row(
                f"top-{k} streaming ({name})",
                kind="passes",
                model=arch,
                batch=batch_size,
                images=len(x),
                timing=t["top-k"],
                **ratios(t["top-k"], t["forward"]),
                ratio_of=f"time / the forward passes alone ({len(x)} images in batches of {batch_size})",
                target=TOPK_WITHIN,
            )
        )

        maps_x = x[:n_maps]
        big = maps_x.repeat(max(1, 1024 // n_maps), 1, 1, 1)
        t = time_calls(
            {
                "forward": lambda: forward(model, big),
                "maps": lambda: discrepancy_maps(
                    model, maps_x, name, 0, patch_size=patch, stride=stride, generator=torch.Generator().manual_seed(0)
                ),
            },
            repeats=repeats,
        )
        rows.append(
            row(
                f"discrepancy maps ({patch}x{patch}, stride {stride})",
                kind="passes",
                model=arch,
                batch=n_maps,
                timing=t["maps"],
                **ratios(t["maps"], t["forward"], (n_pos + 1) * n_maps / len(big)),
                ratio_of=f"time / ({n_pos} occluded copies + 1) forward passes per image, at batch {len(big)}",
            )
        )
    return {
        "setup": {
            "weights": "untrained (timing only)",
            "images": source,
            "topk_images": len(x),
            "batch_size": batch_size,
            "k": k,
            "maps_images": n_maps,
            "patch": patch,
            "stride": stride,
        },
        "rows": rows,
        "skipped": [],
    }


if __name__ == "__main__":
    from benchmarks.__main__ import main

    main(["--only", "topk"])
