"""Cost of the consistency metric at ImageNet scale: 512 neurons x 1000 concepts.

- consis(n) and consis_adv(n) of every neuron of a 512-channel layer (VGG-16's and
  ResNet-18's last conv layers have 512) from the concepts of each neuron's top 1% of
  50,000 real and 50,000 adversarial images (k = 500 each), with a 1000 x 1000
  correlation matrix A: :func:`concept_distribution` + :func:`consistency_scores`.
  Target: under 1 s.
- The bootstrap interval of the layer average (:func:`bootstrap_consistency`), timed on
  fewer replicates than the 1000 :func:`summarize_consistency` draws by default: the
  row reports the time per replicate (no target; it is not in the paper).

Concepts and distances are random (timing does not depend on them).

    python -m benchmarks --only consistency [--quick]
"""

from __future__ import annotations

from typing import Any

import torch

from advinterp_lib.consistency import (
    bootstrap_consistency,
    concept_distribution,
    consistency_scores,
    correlation_matrix,
)
from benchmarks.common import Target, row, time_calls

NEURONS, CONCEPTS, TOP = 512, 1000, 500
UNDER_1S = Target("under 1 s", 1.0)


def run(quick: bool = False) -> dict[str, Any]:
    """consis(n) for 512 neurons x 1000 concepts, and its bootstrap per replicate."""
    repeats = 1 if quick else 5
    replicates = 1 if quick else 50
    g = torch.Generator().manual_seed(0)
    d = torch.randint(1, 20, (CONCEPTS, CONCEPTS), generator=g)
    d = torch.triu(d, 1)
    a = correlation_matrix(d + d.T, sigma=4.0)
    real = torch.randint(0, CONCEPTS, (NEURONS, TOP), generator=g)
    adv = torch.randint(0, CONCEPTS, (NEURONS, TOP), generator=g)

    def consis_both() -> tuple[torch.Tensor, torch.Tensor]:
        return (
            consistency_scores(concept_distribution(real, CONCEPTS), a),
            consistency_scores(concept_distribution(adv, CONCEPTS), a),
        )

    t = time_calls(
        {
            "consis": consis_both,
            "bootstrap": lambda: bootstrap_consistency(real, a, num_samples=replicates),
        },
        repeats=repeats,
    )
    per_replicate = t["bootstrap"].scaled(1 / replicates)
    return {
        "setup": {
            "neurons": NEURONS,
            "concepts": CONCEPTS,
            "top_images_per_neuron": TOP,
            "bootstrap_replicates_timed": replicates,
        },
        "rows": [
            row(
                "consis(n) and consis_adv(n)",
                kind="time",
                model=f"{NEURONS} neurons x {CONCEPTS} concepts",
                batch=NEURONS,
                timing=t["consis"],
                unit="neurons/s",
                target=UNDER_1S,
                note=f"k = {TOP} top images per neuron, real and adversarial",
            ),
            row(
                "bootstrap interval, per replicate",
                kind="time",
                model=f"{NEURONS} neurons x {CONCEPTS} concepts",
                batch=NEURONS,
                timing=per_replicate,
                unit="neurons/s",
                note=f"timed on {replicates} replicates; summarize_consistency draws 1000 per table "
                f"(about {per_replicate.median * 2000:.0f} s for real + adversarial)",
            ),
        ],
        "skipped": [],
    }


if __name__ == "__main__":
    from benchmarks.__main__ import main

    main(["--only", "consistency"])
