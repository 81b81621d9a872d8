"""Cost of the training objectives (prints ratios; not a test).

- Epoch time of each objective (standard, FGSM-AT, PGD-AT with k steps, ensemble-AT,
  consistent-AT with T steps, feature-consistent-AT) on a fixed subset of Fashion-MNIST,
  as a ratio to standard training, next to the ratio its count of forward and backward
  passes predicts (target: within 1.2x of the prediction).
- From those, the training time of the ``full`` profile's chapters 9 and 12 on this
  machine's threads (target: under 2 hours on 2 CPU cores).

    python benchmarks/bench_training.py [--arch resnet] [--images 2048] [--threads 1]
                                        [--clock cpu|wall] [--quick]

Models are untrained zoo networks (cost only; a trained model costs the same). The
objectives' parameters are the full profile's (``ADV_TRAINING["full"]``).

Clocks: ``cpu`` (default) times each epoch by this process's CPU time, which other
processes sharing the machine barely inflate; with one thread it is also free of
OpenMP spin-waiting. The 2-core estimate then assumes the CPU work spreads perfectly
over 2 cores (real scaling is lower: read it as a lower bound). ``wall`` with
``--threads 2`` on an idle machine measures the 2-core wall time directly.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from advinterp_lib.artifacts import adversarial_variant_spec, make_objective
from advinterp_lib.attacks.base import attack_mode, loss_gradient
from advinterp_lib.data import load
from advinterp_lib.models import ZOO, build
from advinterp_lib.runs.profiles import ADV_TRAINING, CHAPTERS, ZOO_TRAINING
from advinterp_lib.training import train

TARGET = 1.2  # measured / predicted ratio, either way
BATCH = 128


def pass_kinds(name: str, params: dict[str, Any]) -> dict[str, int]:
    """The passes per batch of an objective, by kind, counted from
    advinterp_lib/training/objectives.py:

    - ``train``: forward passes in train mode whose loss is differentiated to the
      parameters (each with its backward; a loss over a clean and an adversarial pass
      has two);
    - ``attack``: attack steps, a forward in eval mode and a backward to the input only
      (no parameter gradients);
    - ``no_grad``: forward passes without gradients (the least-likely target, the
      feature-distance target).
    """
    if name == "standard":
        return {"train": 1, "attack": 0, "no_grad": 0}
    if name in ("fgsm", "ensemble"):
        return {"train": 2, "attack": 1, "no_grad": 0}  # ensemble: the source may be a static model
    if name == "pgd":
        return {"train": 1, "attack": params["steps"], "no_grad": 0}
    t = params["steps"]
    if name == "consistent":
        return {"train": 2, "attack": t, "no_grad": 1}
    s = params.get("feature_steps", 3)
    return {"train": 3, "attack": t + s, "no_grad": 2}  # + x' in the loss, S feature steps, its target


def passes(kinds: dict[str, int]) -> tuple[int, int]:
    """(forward, backward) passes: consistent-AT with T steps has T + 3 forward and T + 2
    backward (the issue's "T + 2 forward, T + 1 backward" leaves out the least-likely
    target's forward and counts the backward through the clean and the x* pass once)."""
    return kinds["train"] + kinds["attack"] + kinds["no_grad"], kinds["train"] + kinds["attack"]


def predicted_by_passes(kinds: dict[str, int], c: dict[str, float]) -> float:
    """Ratio to standard training if every forward pass cost the same and every backward
    ``c["backward"]`` forwards (the plain pass count)."""
    f, b = passes(kinds)
    return (f + c["backward"] * b) / (1 + c["backward"])


def predicted_by_costs(kinds: dict[str, int], c: dict[str, float]) -> float:
    """Ratio to standard training with each kind of pass at its measured cost (an attack
    step, in eval mode with an input-only backward, is cheaper than a training pass),
    relative to a standard step (one training pass and one optimiser step)."""
    step = c["train"] + c["optimizer"]
    return (
        kinds["train"] * c["train"] + kinds["attack"] * c["attack"] + kinds["no_grad"] * c["no_grad"] + c["optimizer"]
    ) / step


def objective_table(arch: str, adv: dict[str, Any]) -> dict[str, tuple[str, Callable, dict[str, Any]]]:
    """The benchmarked objectives: label -> (objective name, objective, parameters)."""
    rows: dict[str, tuple[str, Callable, dict[str, Any]]] = {
        "standard": ("standard", make_objective("standard", {}, {}), {})
    }
    for variant in ("FGSM-AT", "PGD-AT", "ensemble-AT", "consistent-AT", "feature-consistent-AT"):
        name, params = adversarial_variant_spec(
            variant,
            eps=adv["eps"],
            pgd_train_steps=adv["pgd_train_steps"],
            pgd_train_step=adv["pgd_train_step"],
            consistent_steps=adv["consistent_steps"],
        )
        static = {}
        if name == "ensemble":
            static = {a: build(a).eval().requires_grad_(False) for a in ZOO if a != arch}
        label = {
            "pgd": f"pgd-{params.get('steps')}",
            "consistent": f"consistent-T{params.get('steps')}",
            "feature_consistent": f"feature_consistent-T{params.get('steps')}",
        }.get(name, name)
        rows[label] = (name, make_objective(name, params, static), params)
    return rows


def epoch_seconds(arch: str, objective: Callable, x: torch.Tensor, y: torch.Tensor, clock: str = "cpu") -> float:
    """Time of one training epoch: the loop's own wall time (no set-up), or the
    process's CPU time of the whole :func:`train` call (its set-up is milliseconds)."""
    torch.manual_seed(0)
    model = build(arch)
    cpu = time.process_time()
    history = train(model, x, y, epochs=1, batch_size=BATCH, objective=objective, device="cpu", progress=False, seed=0)
    cpu = time.process_time() - cpu
    return cpu if clock == "cpu" else history.records[0].seconds


def pass_costs(arch: str, x: torch.Tensor, y: torch.Tensor, repeats: int, clock: str) -> dict[str, float]:
    """Measured seconds of each kind of pass on one batch: ``forward`` (train mode),
    ``train`` (train-mode forward + backward to the parameters), ``optimizer`` (an Adam
    step), ``attack`` (eval-mode forward + backward to the input), ``no_grad`` (eval-mode
    forward without gradients); and ``backward`` = train / forward - 1."""
    torch.manual_seed(0)
    model = build(arch).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xb, yb = x[:BATCH], y[:BATCH]

    def eval_no_grad() -> None:
        with attack_mode(model), torch.no_grad():
            model(xb)

    def attack_step() -> None:
        with attack_mode(model):
            loss_gradient(model, xb, yb)

    fns = {
        "forward": lambda: model(xb),
        "train": lambda: F.cross_entropy(model(xb), yb).backward(),
        "step": lambda: (opt.zero_grad(), F.cross_entropy(model(xb), yb).backward(), opt.step()),
        "attack": attack_step,
        "no_grad": eval_no_grad,
    }
    now = time.process_time if clock == "cpu" else time.perf_counter
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()
    for _ in range(max(5, repeats * 5)):
        for key, fn in fns.items():
            t = now()
            fn()
            times[key].append(now() - t)
    c = {k: statistics.median(v) for k, v in times.items()}
    c["optimizer"] = max(0.0, c.pop("step") - c["train"])
    c["backward"] = max(0.0, c["train"] / c["forward"] - 1)
    return c


def run(
    quick: bool = False,
    *,
    arch: str = "resnet",
    images: int | None = None,
    threads: int = 1,
    clock: str = "cpu",
    repeats: int | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    """Measure and (when ``verbose``) print the table; return the numbers.

    Args:
        quick: a small subset (512 images), one timed repeat.
        arch: the zoo model whose epochs are timed.
        images: subset size (default 2048, quick 512).
        threads: torch threads (1 with the CPU clock; 2 with the wall clock on an idle
            2-core machine, the book's reference).
        clock: ``"cpu"`` (process CPU time; robust to other load) or ``"wall"``.
        repeats: timed epochs per objective after one warm-up (default 3, quick 1).

    Returns:
        ``{"arch", "images", "threads", "clock", "pass_seconds", "objectives": {label: {"seconds_median",
        "seconds_spread", "seconds_min", "seconds_q1", "seconds_q3", "seconds_max", "ratio", "passes",
        "predicted_by_passes", "forward", "backward", "predicted", "measured_over_predicted",
        "within_target"}}, "full_profile": {...}}``; seconds are per epoch of ``images``.
    """
    if clock not in ("cpu", "wall"):
        raise ValueError(f"clock must be 'cpu' or 'wall', got {clock!r}")
    images = images or (512 if quick else 2048)
    repeats = repeats or (1 if quick else 3)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        data = load("fashion-mnist", "train").subset(images, seed=0)
        x, y = data.images, data.labels
        adv = ADV_TRAINING["full"]
        table = objective_table(arch, adv)
        c = pass_costs(arch, x, y, repeats, clock)
        for _, objective, _ in table.values():  # warm-up (allocator, kernels)
            epoch_seconds(arch, objective, x[: 2 * BATCH], y[: 2 * BATCH], clock)
        times: dict[str, list[float]] = {label: [] for label in table}
        for _ in range(repeats):  # interleaved, so load from other processes hits all alike
            for label, (_, objective, _) in table.items():
                times[label].append(epoch_seconds(arch, objective, x, y, clock))
        base = statistics.median(times["standard"])
        rows: dict[str, dict[str, Any]] = {}
        for label, (name, _, params) in table.items():
            med = statistics.median(times[label])
            kinds = pass_kinds(name, params)
            fwd, bwd = passes(kinds)
            pred = predicted_by_costs(kinds, c)
            ratio = med / base
            q1, _, q3 = statistics.quantiles(times[label], n=4) if len(times[label]) > 1 else (med, med, med)
            rows[label] = {
                "name": name,
                "seconds_median": med,
                "seconds_spread": max(times[label]) - min(times[label]),
                "seconds_min": min(times[label]),
                "seconds_q1": min(max(q1, min(times[label])), med),
                "seconds_q3": max(min(q3, max(times[label])), med),
                "seconds_max": max(times[label]),
                "ratio": ratio,
                "forward": fwd,
                "backward": bwd,
                "passes": kinds,
                "predicted_by_passes": predicted_by_passes(kinds, c),
                "predicted": pred,
                "measured_over_predicted": ratio / pred,
                "within_target": 1 / TARGET <= ratio / pred <= TARGET,
            }
        full = full_profile_estimate(rows, arch, x, y, threads, repeats, clock)
        result = {
            "arch": arch,
            "images": images,
            "threads": threads,
            "clock": clock,
            "repeats": repeats,
            "batch_size": BATCH,
            "pass_seconds": c,
            "objectives": rows,
            "full_profile": full,
        }
        if verbose:
            print_report(result)
        return result
    finally:
        torch.set_num_threads(before)


def full_profile_estimate(
    rows: dict[str, dict[str, Any]],
    arch: str,
    x: torch.Tensor,
    y: torch.Tensor,
    threads: int,
    repeats: int,
    clock: str,
    cores: int = 2,
) -> dict[str, Any]:
    """Training time of the full profile's chapters 9 and 12: per architecture, the
    standard model (``train_epochs`` on ``train_size`` images) and the fine-tuned
    variants (``finetune_epochs`` on ``finetune_size``), from each architecture's
    measured standard epoch and the benchmarked objective ratios. Chapter 9 trains
    FGSM-AT, PGD-AT, ensemble-AT and consistent-AT; chapter 12 reuses consistent-AT
    (same cache key) and adds feature-consistent-AT. With the CPU clock, CPU seconds
    are divided by ``cores`` (perfect scaling: a lower bound on the wall time)."""
    p9 = CHAPTERS["09"]["full"]
    zoo, adv = ZOO_TRAINING["full"], ADV_TRAINING["full"]
    standard = make_objective("standard", {}, {})
    per_image: dict[str, float] = {}
    for a in p9["archs"]:
        if a == arch:
            per_image[a] = rows["standard"]["seconds_median"] / len(x)
            continue
        epoch_seconds(a, standard, x[: 2 * BATCH], y[: 2 * BATCH], clock)  # warm-up
        per_image[a] = statistics.median(epoch_seconds(a, standard, x, y, clock) for _ in range(repeats)) / len(x)
    if clock == "cpu":
        per_image = {a: s / cores for a, s in per_image.items()}
    ratio = {r["name"]: r["ratio"] for r in rows.values()}
    ch9_objectives = ("fgsm", "pgd", "ensemble", "consistent")
    ch12_objectives = ("feature_consistent",)
    seconds = {"09_standard": 0.0, "09_adversarial": 0.0, "12_adversarial": 0.0}
    for s in per_image.values():
        seconds["09_standard"] += s * zoo["train_size"] * zoo["train_epochs"]
        fine = s * adv["finetune_size"] * adv["finetune_epochs"]
        seconds["09_adversarial"] += fine * sum(ratio[o] for o in ch9_objectives)
        seconds["12_adversarial"] += fine * sum(ratio[o] for o in ch12_objectives)
    total = sum(seconds.values())
    return {
        "threads": threads,
        "cores": cores,
        "clock": clock,
        "archs": list(per_image),
        "standard_seconds_per_image": per_image,
        "seconds": seconds,
        "total_hours": total / 3600,
        "target_hours": 2.0,
        "within_target": total / 3600 <= 2.0,
        "assumes": "objective ratios of the benchmarked arch for every arch; "
        "chapter 12 reuses chapter 9's consistent-AT models",
    }


def print_report(result: dict[str, Any]) -> None:
    print(
        f"model {result['arch']} (untrained), {result['images']} Fashion-MNIST images, batch {result['batch_size']}, "
        f"threads {result['threads']}, {result['clock']} clock, median of {result['repeats']} epochs "
        f"(interleaved, after a warm-up)"
    )
    c = result["pass_seconds"]
    step = c["train"] + c["optimizer"]
    print(
        f"measured per batch, relative to a standard step (train forward+backward+Adam = {step * 1e3:.1f} ms): "
        f"train pass {c['train'] / step:.2f}, optimizer {c['optimizer'] / step:.2f}, attack step "
        f"{c['attack'] / step:.2f}, no-grad forward {c['no_grad'] / step:.2f}; backward = "
        f"{c['backward']:.2f} forwards"
    )
    print(
        "pred(passes) = (F + b B) / (1 + b), every pass alike; pred(costs) = each kind of pass at its "
        "measured cost, per standard step (the target applies to it)"
    )
    print(
        f"{'objective':24s} {'epoch s':>8s} {'spread':>7s} {'F':>3s} {'B':>3s} {'ratio':>6s} "
        f"{'pred(passes)':>12s} {'pred(costs)':>11s} {'meas/pred':>9s}  target 1/{TARGET}..{TARGET}"
    )
    for label, r in result["objectives"].items():
        print(
            f"{label:24s} {r['seconds_median']:8.2f} {r['seconds_spread']:7.2f} {r['forward']:3d} {r['backward']:3d} "
            f"{r['ratio']:6.2f} {r['predicted_by_passes']:12.2f} {r['predicted']:11.2f} "
            f"{r['measured_over_predicted']:9.2f}  {'ok' if r['within_target'] else 'MISSED'}"
        )
    full = result["full_profile"]
    how = (
        f"CPU time of {full['threads']} thread(s) spread over {full['cores']} cores, a lower bound"
        if full["clock"] == "cpu"
        else f"wall time on {full['threads']} threads"
    )
    print(f"\nfull profile, training of chapters 9 and 12 ({how}; {', '.join(full['archs'])}; {full['assumes']}):")
    for part, s in full["seconds"].items():
        print(f"  {part:16s} {s / 3600:7.2f} h")
    print(
        f"  {'total':16s} {full['total_hours']:7.2f} h   (target <= {full['target_hours']:.0f} h: "
        f"{'ok' if full['within_target'] else 'MISSED'})"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", default="resnet", choices=list(ZOO))
    p.add_argument("--images", type=int)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    p.add_argument("--repeats", type=int)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    run(args.quick, arch=args.arch, images=args.images, threads=args.threads, clock=args.clock, repeats=args.repeats)


if __name__ == "__main__":
    main()
