"""Cost of the attributions on the zoo nets, against their passes and against peers.

- Grad-CAM and guided backprop: time over one forward+backward pass to the input of
  the same model and batch (Grad-CAM's backward stops at its layer, so it may cost less).
- Grad-CAM against Captum's ``LayerGradCam`` + ``LayerAttribution.interpolate`` called
  directly (our wrapper's overhead: validation, one probe forward pass of one image,
  mode handling) and against pytorch-grad-cam's ``GradCAM`` (target: not slower), with
  the largest difference of the maps (pytorch-grad-cam min-max normalises each map,
  so ours is normalised the same way before comparing).
- Occlusion: time over (forward passes it needs per image x the time of one forward
  pass per image, measured in batches of 1024), and against Captum's ``Occlusion``
  called directly (target: not slower).

Untrained models are enough for timing; the quick profile's trained ones are used when
cached so the maps compared are meaningful.

    python -m benchmarks --only attribution [--quick]
"""

from __future__ import annotations

from typing import Any

import torch
from captum.attr import LayerAttribution, LayerGradCam
from captum.attr import Occlusion as CaptumOcclusion

from advinterp_lib.interpret.attribution import grad_cam, guided_backprop, occlusion, occlusion_forward_passes
from advinterp_lib.models.layers import last_conv_layer, layer
from benchmarks.common import (
    NOT_SLOWER,
    agreement,
    bench_device,
    fashion_mnist_images,
    forward,
    input_gradient,
    keeping,
    ratios,
    row,
    skipped,
    time_calls,
    zoo_models,
)

WINDOW, STRIDE, OCCLUSION_BATCH = 4, 2, 1024


def _min_max(maps: torch.Tensor) -> torch.Tensor:
    """Each map scaled to [0, 1] as pytorch-grad-cam does ((m - min) / (max - min + 1e-7))."""
    flat = maps.flatten(1)
    flat = flat - flat.amin(1, keepdim=True)
    return (flat / (flat.amax(1, keepdim=True) + 1e-7)).view_as(maps)


def _gradient_rows(
    arch: str, model: torch.nn.Module, x: torch.Tensor, target: torch.Tensor, repeats: int, skips: list[dict[str, str]]
) -> list[dict[str, Any]]:
    name = last_conv_layer(model)
    module = layer(model, name)

    def captum_direct() -> torch.Tensor:
        cam = LayerGradCam(model, module).attribute(x.clone().requires_grad_(), target=target, relu_attributions=True)
        return LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")

    calls = {
        "fb": lambda: input_gradient(model, x, target),
        "Grad-CAM": lambda: grad_cam(model, x, target),
        "captum": captum_direct,
        "guided backprop": lambda: guided_backprop(model, x, target),
    }
    try:
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    except ImportError as err:
        skips.append(skipped(f"pytorch-grad-cam GradCAM ({arch})", f"pytorch-grad-cam is not installed ({err})"))
    else:
        targets = [ClassifierOutputTarget(int(t)) for t in target]

        def pytorch_grad_cam() -> torch.Tensor:
            with GradCAM(model=model, target_layers=[module]) as cam:
                maps = torch.from_numpy(cam(input_tensor=x, targets=targets))
            model.zero_grad(set_to_none=True)  # it backpropagates into the weights too
            return maps

        calls["pytorch-grad-cam"] = pytorch_grad_cam
    wrapped, out = keeping(calls)
    t = time_calls(wrapped, repeats=repeats)
    n = len(x)
    rows = [
        row(
            "Grad-CAM",
            kind="passes",
            model=arch,
            batch=n,
            timing=t["Grad-CAM"],
            **ratios(t["Grad-CAM"], t["fb"]),
            ratio_of="time / 1 fwd+bwd (input)",
            note=f"layer {name}; the backward pass stops at the layer",
        ),
        row(
            "guided backprop",
            kind="passes",
            model=arch,
            batch=n,
            timing=t["guided backprop"],
            **ratios(t["guided backprop"], t["fb"]),
            ratio_of="time / 1 fwd+bwd (input)",
        ),
        row(
            "Grad-CAM vs Captum LayerGradCam",
            kind="peer",
            model=arch,
            batch=n,
            timing=t["Grad-CAM"],
            **ratios(t["Grad-CAM"], t["captum"]),
            ratio_of=f"ours / Captum LayerGradCam + interpolate ({t['captum'].median:.3g} s)",
            target=NOT_SLOWER,
            agreement=agreement(
                "max |difference| of the maps", float((out["Grad-CAM"] - out["captum"].detach()).abs().max()), 1e-5
            ),
        ),
    ]
    if "pytorch-grad-cam" in t:
        theirs = out["pytorch-grad-cam"]
        diff = float((_min_max(out["Grad-CAM"])[:, 0] - theirs.to(x.device)).abs().max())
        rows.append(
            row(
                "Grad-CAM vs pytorch-grad-cam GradCAM",
                kind="peer",
                model=arch,
                batch=n,
                timing=t["Grad-CAM"],
                **ratios(t["Grad-CAM"], t["pytorch-grad-cam"]),
                ratio_of=f"ours / pytorch-grad-cam GradCAM ({t['pytorch-grad-cam'].median:.3g} s)",
                target=NOT_SLOWER,
                agreement=agreement("max |difference| of min-max normalised maps", diff, 2e-2),
                note="pytorch-grad-cam also backpropagates into the weights and resizes with OpenCV; "
                "normalising a nearly flat map (untrained weights) magnifies rounding",
            )
        )
    return rows


def _occlusion_rows(
    arch: str, model: torch.nn.Module, x: torch.Tensor, target: torch.Tensor, repeats: int
) -> list[dict[str, Any]]:
    n = len(x)
    big = x.repeat(-(-OCCLUSION_BATCH // n), 1, 1, 1)[:OCCLUSION_BATCH]

    def captum_direct() -> torch.Tensor:
        with torch.no_grad():
            heat = CaptumOcclusion(model).attribute(
                x,
                sliding_window_shapes=(x.shape[1], WINDOW, WINDOW),
                strides=(x.shape[1], STRIDE, STRIDE),
                target=target,
                baselines=0.0,
                perturbations_per_eval=max(1, OCCLUSION_BATCH // n),
            )
        return heat.mean(dim=1, keepdim=True)

    calls = {
        "forward": lambda: forward(model, big),
        "occlusion": lambda: occlusion(model, x, target, window=WINDOW, stride=STRIDE, batch_size=OCCLUSION_BATCH),
        "captum": captum_direct,
    }
    wrapped, out = keeping(calls)
    t = time_calls(wrapped, repeats=repeats)
    passes = occlusion_forward_passes(tuple(x.shape[-2:]), WINDOW, STRIDE)
    per_call = passes * n / len(big)  # forward passes of the occlusion, in units of the timed batch
    return [
        row(
            f"occlusion ({WINDOW}x{WINDOW}, stride {STRIDE})",
            kind="passes",
            model=arch,
            batch=n,
            timing=t["occlusion"],
            **ratios(t["occlusion"], t["forward"], per_call),
            ratio_of=f"time / ({passes} forward passes per image, at batch {len(big)})",
        ),
        row(
            "occlusion vs Captum Occlusion",
            kind="peer",
            model=arch,
            batch=n,
            timing=t["occlusion"],
            **ratios(t["occlusion"], t["captum"]),
            ratio_of=f"ours / Captum Occlusion ({t['captum'].median:.3g} s)",
            target=NOT_SLOWER,
            agreement=agreement(
                "max |difference| of the maps", float((out["occlusion"] - out["captum"]).abs().max()), 1e-4
            ),
        ),
    ]


def run(quick: bool = False) -> dict[str, Any]:
    """Grad-CAM, guided backprop and occlusion on every zoo net: pass ratios and peers."""
    device = bench_device()
    repeats = 1 if quick else 5
    n_grad = 4 if quick else 64
    n_occ = 2 if quick else 16
    models, weights = zoo_models()
    x, y, source = fashion_mnist_images(n_grad)
    x, y = x.to(device), y.to(device)
    rows: list[dict[str, Any]] = []
    skips: list[dict[str, str]] = []
    for arch, model in models.items():
        model = model.to(device)
        rows += _gradient_rows(arch, model, x, y, repeats, skips)
        rows += _occlusion_rows(arch, model, x[:n_occ], y[:n_occ], 1 if quick else 3)
    return {
        "setup": {
            "weights": weights,
            "images": source,
            "grad_cam_images": n_grad,
            "occlusion_images": n_occ,
            "occlusion": {"window": WINDOW, "stride": STRIDE, "batch_size": OCCLUSION_BATCH},
            "target": "each image's label",
        },
        "rows": rows,
        "skipped": skips,
    }


if __name__ == "__main__":
    from benchmarks.__main__ import main

    main(["--only", "attribution"])
