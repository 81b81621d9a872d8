"""The physical reference: each network's own forward and forward+backward throughput.

- The zoo nets (28x28 Fashion-MNIST) at the batch the other groups use: a forward
  pass, a forward+backward pass to the input (what an attack step or a gradient
  attribution pays) and one to the parameters (what a training step pays).
- torchvision's AlexNet, VGG-16 and ResNet-18 at 224x224 (random weights: timing
  does not depend on them), at a small batch on a CPU; skipped, with the reason, when
  the memory or the time they would take is not available.
- On a CUDA device also bf16 autocast, channels_last and ``torch.compile``.

    python -m benchmarks --only models [--quick]
"""

from __future__ import annotations

import time
from typing import Any

import torch
import torchvision

from benchmarks.common import (
    available_memory_gib,
    bench_device,
    fashion_mnist_images,
    forward,
    input_gradient,
    parameter_gradient,
    row,
    skipped,
    time_calls,
    zoo_models,
)

#: Rough memory per image of a forward+backward pass at 224x224, fp32 (GiB), plus 1 GiB.
_GIB_PER_IMAGE = {"alexnet": 0.05, "vgg16": 0.25, "resnet18": 0.1}
_TORCHVISION = {
    "alexnet": torchvision.models.alexnet,
    "vgg16": torchvision.models.vgg16,
    "resnet18": torchvision.models.resnet18,
}


def _reference_rows(
    name: str, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, repeats: int, suffix: str = ""
) -> list[dict[str, Any]]:
    t = time_calls(
        {
            "forward": lambda: forward(model, x),
            "fwd+bwd (input)": lambda: input_gradient(model, x, y),
            "fwd+bwd (params)": lambda: parameter_gradient(model, x, y),
        },
        repeats=repeats,
    )
    return [row(op + suffix, kind="reference", model=name, batch=len(x), timing=t[op]) for op in t]


def _cuda_variant_rows(
    name: str, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, repeats: int
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """bf16 autocast, channels_last, torch.compile (CUDA only)."""
    rows, skips = [], []
    with torch.autocast("cuda", dtype=torch.bfloat16):
        rows += _reference_rows(name, model, x, y, repeats, " [bf16 autocast]")
    cl = model.to(memory_format=torch.channels_last)
    rows += _reference_rows(name, cl, x.to(memory_format=torch.channels_last), y, repeats, " [channels_last]")
    model.to(memory_format=torch.contiguous_format)
    try:
        compiled = torch.compile(model)
        forward(compiled, x)  # compile outside the timing
        rows += _reference_rows(name, compiled, x, y, repeats, " [torch.compile]")
    except Exception as err:  # noqa: BLE001 - a backend that cannot compile is a skip, with its reason
        skips.append(skipped(f"{name} torch.compile", f"{type(err).__name__}: {err}"))
    return rows, skips


def run(quick: bool = False) -> dict[str, Any]:
    """Forward / forward+backward throughput of the zoo and torchvision nets."""
    device = bench_device()
    cuda = device.type == "cuda"
    repeats = 1 if quick else 5
    batch = 16 if quick else (256 if cuda else 128)
    models, weights = zoo_models()
    x, y, source = fashion_mnist_images(batch)
    x, y = x.to(device), y.to(device)
    rows: list[dict[str, Any]] = []
    skips: list[dict[str, str]] = []
    for arch, model in models.items():
        rows += _reference_rows(arch, model.to(device), x, y, repeats)

    tv_batch = 2 if quick else (64 if cuda else 8)
    tv_repeats = 1 if quick else 3
    budget_s = 30.0 if quick else 240.0  # per net; a net whose estimate exceeds it is skipped
    g = torch.Generator().manual_seed(0)
    xi = torch.rand(tv_batch, 3, 224, 224, generator=g).to(device)
    yi = torch.randint(0, 1000, (tv_batch,), generator=g).to(device)
    for name, ctor in _TORCHVISION.items():
        label = f"torchvision {name} 224x224"
        need = 1.0 + _GIB_PER_IMAGE[name] * tv_batch
        have = (torch.cuda.mem_get_info()[0] / 2**30) if cuda else available_memory_gib()
        if have is not None and have < need:
            skips.append(skipped(label, f"needs about {need:.1f} GiB at batch {tv_batch}, {have:.1f} GiB available"))
            continue
        torch.manual_seed(0)
        model = ctor(weights=None).eval().to(device)
        start = time.perf_counter()
        forward(model, xi)
        one = time.perf_counter() - start
        # warm-up + repeats, each a forward and two forward+backward passes (~3x a forward)
        estimate = one * 7 * (tv_repeats + 1)
        if estimate > budget_s:
            skips.append(
                skipped(
                    label,
                    f"would take about {estimate:.0f} s (one forward {one:.1f} s), over the {budget_s:.0f} s budget",
                )
            )
            continue
        rows += _reference_rows(label, model, xi, yi, tv_repeats)
        if cuda:
            more, more_skips = _cuda_variant_rows(label, model, xi, yi, tv_repeats)
            rows, skips = rows + more, skips + more_skips
    return {
        "setup": {
            "zoo_weights": weights,
            "zoo_images": source,
            "zoo_batch": batch,
            "torchvision_batch": tv_batch,
            "torchvision_weights": "random (timing only)",
        },
        "rows": rows,
        "skipped": skips,
    }


if __name__ == "__main__":
    from benchmarks.__main__ import main

    main(["--only", "models"])
