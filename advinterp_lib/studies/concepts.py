"""Chapter 10 -- concepts and WordNet: the tables and sentences around the distance and
the correlation of concepts.

The chapter computes the distances (:func:`~advinterp_lib.consistency.distance_matrix`,
checked against its own breadth-first climb) and the correlations itself; this module lays
out what it shows:

- :func:`synset_table`: each class's synset, definition and path to the root;
- :func:`distance_illustration`, :func:`illustration_table`, :func:`describe_illustration`:
  the paper's illustrative distances beside WordNet 3.0's, and where each path turns;
- :func:`example_consistency`, :func:`sigma_table`: consis(n) of made-up neurons whose
  top images spread over some classes, against the kernel width σ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from nltk.corpus.reader.wordnet import Synset

from ..consistency import class_synsets, concept_distribution, consistency_scores, correlation_matrix, synset_distance
from ..consistency.concepts import evenly_spread, path_turn
from ..tables import markdown_table


def synset_table(names: Sequence[str], synsets: Sequence[Synset], paths: Mapping[str, Sequence[Synset]]) -> str:
    """Markdown, one row per class: its synset, the synset's definition, and ``paths[name]``
    (the synsets from the class up to the root) as a chain of lemma names."""
    rows = [
        [name, f"`{s.name()}`", s.definition(), " → ".join(p.name().split(".")[0] for p in paths[name])]
        for name, s in zip(names, synsets, strict=True)
    ]
    return markdown_table(["class", "synset", "definition", "path to the root (first hypernym path)"], rows)


def distance_illustration(pairs: Mapping[tuple[str, str], int]) -> dict[str, dict[str, Any]]:
    """The paper's illustrative distances beside WordNet 3.0's.

    Args:
        pairs: ``{(synset name, synset name): the paper's distance}``
            (``report.paper.DISTANCE_ILLUSTRATION``).

    Returns:
        ``{"a / b": {"paper": its distance, "wordnet": WordNet's, "turns_at": the synset
        where the shortest path turns}}``, in the order of ``pairs``.
    """
    out = {}
    for (a, b), paper in pairs.items():
        sa, sb = class_synsets([a, b])
        out[f"{a} / {b}"] = {"paper": paper, "wordnet": synset_distance(sa, sb), "turns_at": path_turn(sa, sb).name()}
    return out


def illustration_table(illustration: Mapping[str, Mapping[str, Any]]) -> str:
    """Markdown of :func:`distance_illustration`, one row per pair."""
    rows = [
        [f"`{pair.replace(' / ', '` – `')}`", v["paper"], v["wordnet"], f"`{v['turns_at']}`"]
        for pair, v in illustration.items()
    ]
    header = ["pair (WordNet 3.0 synsets)", "the paper's illustration", "WordNet 3.0", "the shortest path turns at"]
    return markdown_table(header, rows)


def describe_illustration(illustration: Mapping[str, Mapping[str, Any]]) -> str:
    """The chapter's paragraph on the paper's two illustrative pairs (a far pair, then a
    near one): WordNet's distances, where the far pair's path turns, and whether WordNet
    keeps the illustration's order.

    Raises:
        ValueError: not exactly two pairs.
    """
    if len(illustration) != 2:
        raise ValueError(f"illustration: expected two pairs (far, near), got {len(illustration)}")
    far, near = illustration.values()
    same = (far["wordnet"] > near["wordnet"]) == (far["paper"] > near["paper"])
    order = "keeps the order" if same else "reverses the order"
    return (
        f"In WordNet 3.0 the Persian cat and the wolfhound are {far['wordnet']} edges apart — the shortest path turns "
        f"at `{far['turns_at']}` — where the paper's illustration says {far['paper']}; the tabby and the kitty cat are "
        f"{near['wordnet']} apart ({near['paper']} in the paper). "
        f"The paper's figures illustrate the idea; they are not WordNet measurements, and we do not use them: every "
        f"distance in this book is computed from WordNet 3.0, as here. WordNet {order} of the two pairs, which is "
        f"what the illustration is about."
    )


def example_consistency(
    examples: Mapping[str, Sequence[str]], names: Sequence[str], distances: torch.Tensor, sigmas: Sequence[float]
) -> dict[str, list[float]]:
    """consis(n) of made-up neurons against σ: each example's top images spread evenly
    over its classes (:func:`~advinterp_lib.consistency.concepts.evenly_spread`).

    Args:
        examples: ``{neuron: class names}``; names: every class, in label order.
        distances: D, [K, K] WordNet distances of ``names``; sigmas: the kernel widths.

    Returns:
        ``{neuron: [consis at each σ]}``.

    Raises:
        ValueError: a class not in ``names``.
    """
    unknown = sorted({c for classes in examples.values() for c in classes} - set(names))
    if unknown:
        raise ValueError(f"examples name classes not in names: {unknown}")
    k = len(names)
    distributions = {
        name: concept_distribution(evenly_spread([list(names).index(c) for c in classes]), k)
        for name, classes in examples.items()
    }
    return {
        name: [float(consistency_scores(p, correlation_matrix(distances, s))[0]) for s in sigmas]
        for name, p in distributions.items()
    }


def sigma_table(consis_by_sigma: Mapping[str, Sequence[float]], sigmas: Sequence[float]) -> str:
    """Markdown of :func:`example_consistency`: one row per neuron, one column per σ."""
    rows = [[name] + [f"{v:.3f}" for v in values] for name, values in consis_by_sigma.items()]
    return markdown_table(["neuron"] + [f"σ={s:g}" for s in sigmas], rows)
