"""Cost of the attacks, against the passes they must do and against peer libraries.

- FGSM and PGD-k on every zoo net: time over 1 (k) forward+backward passes to the
  input of the same model and batch (target: within 1.15x).
- The ensemble attack (Adam on the three zoo nets at once, k steps): time over k
  forward+backward passes of each net plus the final forward pass of each.
- DeepFool: time over the passes its iterations need (per image and iteration one
  forward pass and one backward pass per candidate class but the first), and the
  speed-up over torchattacks' DeepFool on the same model and images (target: >= 10x
  at the same mean ||r||_2).
- Peers on the same model and batch: torchattacks' FGSM and PGD, Captum's FGSM and
  PGD, with the share of pixels where the adversarial images differ.

Uses the quick profile's trained zoo models when the artifact cache holds them
(untrained otherwise: the passes cost the same) and Fashion-MNIST test images.

    python -m benchmarks --only attacks [--quick]
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
import torchattacks
from captum.robust import FGSM as CaptumFGSM
from captum.robust import PGD as CaptumPGD

from advinterp_lib.attacks import deepfool, ensemble_attack, fgsm, pgd
from benchmarks.common import (
    DEEPFOOL_SPEEDUP,
    WITHIN_PASSES,
    agreement,
    bench_device,
    fashion_mnist_images,
    forward,
    input_gradient,
    keeping,
    ratios,
    row,
    time_calls,
    zoo_models,
)

EPS, STEP = 0.1, 0.01


def _per_image_ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, y, reduction="none")


def _moved_differently(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> float:
    """Share of pixels that both attacks move but to different values (> 1e-6 apart).
    Pixels only one of them moves are left out: Captum leaves a pixel unchanged where
    |gradient| <= 1e-6 (so does our FGSM, not our PGD), torchattacks moves it."""
    both = ((a - x).abs() > 1e-6) & ((b - x).abs() > 1e-6)
    return float((both & ((a - b).abs() > 1e-6)).float().mean())


def _differing(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b).abs() > 1e-6).float().mean())


def _peer_rows(
    arch: str, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, repeats: int
) -> list[dict[str, Any]]:
    ta_fgsm = torchattacks.FGSM(model, eps=EPS)
    ta_pgd = torchattacks.PGD(model, eps=EPS, alpha=STEP, steps=steps, random_start=False)
    cap_fgsm = CaptumFGSM(model, loss_func=_per_image_ce, lower_bound=0.0, upper_bound=1.0)
    cap_pgd = CaptumPGD(model, loss_func=_per_image_ce, lower_bound=0.0, upper_bound=1.0)
    calls = {
        "FGSM": lambda: fgsm(model, x, y, eps=EPS),
        "torchattacks.FGSM": lambda: ta_fgsm(x, y),
        "captum.robust.FGSM": lambda: cap_fgsm.perturb(x, EPS, y),
        f"PGD-{steps}": lambda: pgd(model, x, y, eps=EPS, step_size=STEP, steps=steps),
        "torchattacks.PGD": lambda: ta_pgd(x, y),
        "captum.robust.PGD": lambda: cap_pgd.perturb(x, EPS, STEP, steps, y),
    }
    wrapped, out = keeping(calls)
    t = time_calls(wrapped, repeats=repeats)
    rows = []
    for ours, peer in (
        ("FGSM", "torchattacks.FGSM"),
        ("FGSM", "captum.robust.FGSM"),
        (f"PGD-{steps}", "torchattacks.PGD"),
        (f"PGD-{steps}", "captum.robust.PGD"),
    ):
        rows.append(
            row(
                f"{ours} vs {peer}",
                kind="peer",
                model=arch,
                batch=len(x),
                timing=t[ours],
                **ratios(t[ours], t[peer]),
                ratio_of=f"ours / {peer} ({t[peer].median:.3g} s)",
                # Captum's PGD keeps a pixel with |gradient| <= 1e-6 still in a step where ours
                # moves it, so the two walks can part for a few pixels: a looser bound there
                agreement=agreement(
                    "share of pixels both move, to different values",
                    _moved_differently(x, out[ours], out[peer]),
                    1e-2 if peer == "captum.robust.PGD" else 1e-3,
                ),
                note=f"all pixels differing > 1e-6: {_differing(out[ours], out[peer]):.4f} (Captum's zero threshold: "
                "a pixel with |gradient| <= 1e-6 stays)",
            )
        )
    return rows


def _deepfool_rows(arch: str, model: torch.nn.Module, x: torch.Tensor, repeats: int) -> list[dict[str, Any]]:
    with torch.no_grad():
        pred = model(x).argmax(1)
    ta = torchattacks.DeepFool(model, steps=50, overshoot=0.02)
    k = 10
    calls = {
        "ours": lambda: deepfool(model, x, overshoot=0.02, max_iter=50, num_candidates=k),
        "torchattacks": lambda: ta(x, pred),
        "fwd": lambda: forward(model, x),
        "fb": lambda: input_gradient(model, x, pred),
    }
    wrapped, out = keeping(calls)
    t = time_calls(wrapped, repeats=repeats)
    ours, ref = out["ours"], out["torchattacks"]
    # the same steps without our box projection (see attacks/deepfool.py): the like-for-like
    # agreement with torchattacks, which clips its steps instead
    plain = deepfool(model, x, overshoot=0.02, max_iter=50, num_candidates=k, project_box=False)
    with torch.no_grad():
        ref_fooled = model(ref).argmax(1) != pred
    both = ours.success & ref_fooled
    ref_l2 = (ref - x).flatten(1).norm(dim=1)
    plain_both = plain.success & ref_fooled
    l2_ratio = float(plain.l2[plain_both].mean() / ref_l2[plain_both].mean()) if plain_both.any() else float("nan")
    # passes: per image and iteration one forward and k-1 backward passes; a forward of
    # every image before and after (times per image from the full batch)
    n = len(x)
    fwd = t["fwd"].median / n
    bwd = max(t["fb"].median / n - fwd, 0.0)
    image_iterations = int(ours.iterations.sum())
    passes_s = image_iterations * (fwd + (k - 1) * bwd) + 2 * n * fwd
    fwd_min, bwd_min = t["fwd"].min / n, max(t["fb"].min / n - t["fwd"].min / n, 0.0)
    passes_min = image_iterations * (fwd_min + (k - 1) * bwd_min) + 2 * n * fwd_min
    note = (
        f"success ours {float(ours.success.float().mean()):.2f}, torchattacks {float(ref_fooled.float().mean()):.2f}; "
        f"mean iterations {float(ours.iterations.float().mean()):.2f}; mean ||r||_2 on the {int(both.sum())} images "
        f"both fool: ours {float(ours.l2[both].mean()) if both.any() else float('nan'):.4f}, "
        f"torchattacks {float(ref_l2[both].mean()) if both.any() else float('nan'):.4f} (ours moves along the "
        f"faces of the [0, 1] box, torchattacks clips its steps); with project_box=False: success "
        f"{float(plain.success.float().mean()):.2f}, ||r||_2 / torchattacks' on the {int(plain_both.sum())} images "
        f"both fool {l2_ratio:.4f}"
    )
    return [
        row(
            "DeepFool",
            kind="passes",
            model=arch,
            batch=n,
            timing=t["ours"],
            ratio=t["ours"].median / passes_s,
            ratio_min=t["ours"].min / passes_min,
            ratio_of=f"time / ({image_iterations} image-iterations x (1 fwd + {k - 1} bwd) + 2 fwd per image)",
            target=WITHIN_PASSES,
            note="the batch shrinks as images are fooled; per-image pass times are those of the full batch",
        ),
        row(
            "DeepFool vs torchattacks.DeepFool",
            kind="peer",
            model=arch,
            batch=n,
            timing=t["ours"],
            **ratios(t["ours"], t["torchattacks"]),
            ratio_of=f"ours / torchattacks.DeepFool ({t['torchattacks'].median:.3g} s)",
            target=DEEPFOOL_SPEEDUP,
            agreement=agreement(
                "|mean ||r||_2 (project_box=False) / torchattacks' - 1|, images both fool", abs(l2_ratio - 1.0), 0.01
            ),
            note=note,
        ),
    ]


def _ensemble_row(
    models: dict[str, torch.nn.Module], x: torch.Tensor, y: torch.Tensor, steps: int, repeats: int
) -> dict[str, Any]:
    nets = list(models.values())
    target = (y + 1) % 10
    calls = {"ensemble": lambda: ensemble_attack(nets, x, target, step_size=5 / 255, steps=steps, eps=EPS)}
    for arch, m in models.items():
        calls[f"fwd {arch}"] = lambda m=m: forward(m, x)
        calls[f"fb {arch}"] = lambda m=m: input_gradient(m, x, target)
    t = time_calls(calls, repeats=repeats)
    passes_s = sum(steps * t[f"fb {a}"].median + t[f"fwd {a}"].median for a in models)
    passes_min = sum(steps * t[f"fb {a}"].min + t[f"fwd {a}"].min for a in models)
    return row(
        f"ensemble attack ({steps} Adam steps)",
        kind="passes",
        model="+".join(models),
        batch=len(x),
        timing=t["ensemble"],
        ratio=t["ensemble"].median / passes_s,
        ratio_min=t["ensemble"].min / passes_min,
        ratio_of=f"time / ({steps} fwd+bwd + 1 fwd) of each net",
        target=WITHIN_PASSES,
    )


def run(quick: bool = False) -> dict[str, Any]:
    """FGSM, PGD-k, DeepFool and the ensemble attack: pass ratios and peer comparisons."""
    device = bench_device()
    repeats = 1 if quick else 5
    batch = 16 if quick else 128
    steps = 2 if quick else 10
    df_images = 2 if quick else 32
    models, weights = zoo_models()
    models = {a: m.to(device) for a, m in models.items()}
    x, y, source = fashion_mnist_images(max(batch, df_images))
    x, y = x.to(device), y.to(device)
    xb, yb = x[:batch], y[:batch]
    rows: list[dict[str, Any]] = []
    for arch, model in models.items():
        t = time_calls(
            {
                "fb": lambda: input_gradient(model, xb, yb),
                "FGSM": lambda: fgsm(model, xb, yb, eps=EPS),
                f"PGD-{steps}": lambda: pgd(model, xb, yb, eps=EPS, step_size=STEP, steps=steps),
            },
            repeats=repeats,
        )
        for name, passes in (("FGSM", 1), (f"PGD-{steps}", steps)):
            rows.append(
                row(
                    name,
                    kind="passes",
                    model=arch,
                    batch=batch,
                    timing=t[name],
                    **ratios(t[name], t["fb"], passes),
                    ratio_of=f"time / {passes} fwd+bwd (input)",
                    target=WITHIN_PASSES,
                )
            )
    rows.append(_ensemble_row(models, xb, yb, steps, repeats))
    peer_arch = "vgg" if "vgg" in models else next(iter(models))
    rows += _peer_rows(peer_arch, models[peer_arch], xb, yb, steps, repeats)
    rows += _deepfool_rows(peer_arch, models[peer_arch], x[:df_images], 1 if quick else 3)
    return {
        "setup": {
            "weights": weights,
            "images": source,
            "batch": batch,
            "eps": EPS,
            "step_size": STEP,
            "steps": steps,
            "deepfool_images": df_images,
            "peer_model": peer_arch,
        },
        "rows": rows,
        "skipped": [],
    }


if __name__ == "__main__":
    from benchmarks.__main__ import main

    main(["--only", "attacks"])
