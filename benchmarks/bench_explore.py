"""How fast the explorers answer a moved control (issue: under a second on the quick
profile on 2 cores), on the quick profile's cached artifacts: the ResNet and its
consistent-AT (-Adv) fine-tune, and chapter 11's adversarial set.

- neuron explorer: the first view of a layer (one streamed pass over the 1,000 real and
  2,000 adversarial images, then kept) and a further unit of the same layer;
- attack explorer: one image, each attack (the ensemble attack on both models);
- explanation explorer: one image, five methods, two models.

The book must have run first (``make book`` or nbval): the group is skipped when the
quick-profile zoo models are not cached, and never trains them.

    python -m benchmarks --only explore [--quick]
"""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")  # timing, not showing

import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.common import Target, row, skipped, time_calls, zoo_models  # noqa: E402

UNDER_1S = Target("under 1 s", 1.0)


def _artifacts():
    from advinterp_lib.artifacts import adversarial_set, adversarial_variant
    from advinterp_lib.consistency import class_synsets, correlation_matrix, distance_matrix
    from advinterp_lib.runs.profiles import ADV_TRAINING, ZOO_TRAINING, adversarial_set_recipe, chapter_parameters

    kw = {**ZOO_TRAINING["quick"], **ADV_TRAINING["quick"], "seed": 0, "progress": False, "device": "cpu"}
    models = {
        "resnet": adversarial_variant("resnet", "standard", **kw),
        "resnet-Adv": adversarial_variant("resnet", "consistent-AT", **kw),
    }
    p = chapter_parameters("quick", "11")
    source, advset = adversarial_set(
        p["archs"],
        adversarial_set_recipe(p, eps="eps"),
        n=p["n_images"],
        train_size=p["train_size"],
        train_epochs=p["train_epochs"],
        seed=p["seed"],
        progress=False,
        device="cpu",
    )
    a = correlation_matrix(distance_matrix(class_synsets(source.synsets)), sigma=p["sigma"])
    return models, source, advset, a


def _closing(view_fn):
    def call():
        plt.close(view_fn().figure)

    return call


def run(quick: bool = False) -> dict[str, Any]:
    """Response times of the three explorers' update functions."""
    from advinterp_lib.explore import ATTACKS, NeuronData, attack_view, explanation_view, neuron_view

    _, weights = zoo_models(["resnet"])
    if not weights.startswith("quick-profile trained"):
        return {
            "setup": {},
            "rows": [],
            "skipped": [
                skipped("explorers", "the quick-profile models are not cached; run the book first (make book)")
            ],
        }
    models, source, advset, a = _artifacts()
    repeats = 1 if quick else 5
    layer = models["resnet"].last_conv

    def first_view():  # a fresh NeuronData: the layer's table is computed in the call
        plt.close(neuron_view(NeuronData(models, source, advset, a), "resnet", layer, 0).figure)

    warm = NeuronData(models, source, advset, a)
    warm.table("resnet", layer)
    calls = {
        "neuron explorer: first view of a layer": first_view,
        "neuron explorer: another unit": _closing(lambda: neuron_view(warm, "resnet", layer, 5)),
        "neuron explorer: another unit, highlighted": _closing(
            lambda: neuron_view(warm, "resnet", layer, 5, highlight=True)
        ),
        **{
            f"attack explorer: {name}": _closing(lambda name=name: attack_view(models, source, "resnet", 3, name, 0.1))
            for name in ATTACKS
        },
        "explanation explorer: 5 methods x 2 models": _closing(lambda: explanation_view(models, source, 3)),
    }
    t = time_calls(calls, repeats=repeats)
    rows = [
        row(
            name,
            kind="time",
            model="resnet + resnet-Adv (quick)",
            batch=1,
            images=0,
            timing=timing,
            target=UNDER_1S,
            note="one update of the widget, figure drawn",
        )
        for name, timing in t.items()
    ]
    return {
        "setup": {"real_images": len(source), "adversarial_images": len(advset), "layer": layer},
        "rows": rows,
        "skipped": [],
    }


if __name__ == "__main__":
    from benchmarks.__main__ import main

    main(["--only", "explore"])
