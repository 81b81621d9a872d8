"""Chapter 10's tables and sentences (``studies.concepts``), on real WordNet 3.0: values
checked against the consistency functions called directly and against closed forms."""

from __future__ import annotations

import math

import pytest

from advinterp_lib.consistency import class_synsets, correlation_matrix, distance_matrix, synset_distance
from advinterp_lib.consistency.concepts import hypernym_path, path_turn
from advinterp_lib.data import load
from advinterp_lib.report.paper import DISTANCE_ILLUSTRATION
from advinterp_lib.studies import concepts as study


@pytest.fixture(scope="module")
def classes():
    test_set = load("fashion-mnist", "test")
    names = list(test_set.class_names)
    synsets = class_synsets(test_set.synsets)
    return names, synsets, distance_matrix(synsets)


def test_synset_table_rows_show_the_path_to_the_root(classes) -> None:
    names, synsets, _ = classes
    paths = {name: hypernym_path(s) for name, s in zip(names, synsets, strict=True)}
    lines = study.synset_table(names, synsets, paths).splitlines()
    assert len(lines) == 2 + len(names)
    sandal = lines[2 + names.index("Sandal")]
    assert sandal.startswith("| Sandal | `sandal.n.01` | ") and sandal.endswith(" → entity |")
    assert " → footwear → " in sandal


def test_the_papers_illustration_beside_wordnet() -> None:
    got = study.distance_illustration(DISTANCE_ILLUSTRATION)
    assert len(got) == len(DISTANCE_ILLUSTRATION) == 2
    for (a, b), paper in DISTANCE_ILLUSTRATION.items():
        sa, sb = class_synsets([a, b])
        assert got[f"{a} / {b}"] == {"paper": paper, "wordnet": synset_distance(sa, sb),
                                     "turns_at": path_turn(sa, sb).name()}  # fmt: skip
    far = got["persian_cat.n.01 / wolfhound.n.01"]  # WordNet 3.0: 6 edges, via domestic_animal (the paper says 4)
    assert far == {"paper": 4, "wordnet": 6, "turns_at": "domestic_animal.n.01"}
    table = study.illustration_table(got).splitlines()
    assert len(table) == 4 and table[0].startswith("| pair (WordNet 3.0 synsets) |")


@pytest.mark.parametrize(("far_wordnet", "order"), [(6, "keeps the order"), (1, "reverses the order")])
def test_describe_illustration_says_whether_wordnet_keeps_the_order(far_wordnet, order) -> None:
    pairs = {"a / b": {"paper": 4, "wordnet": far_wordnet, "turns_at": "x.n.01"},
             "c / d": {"paper": 2, "wordnet": 3, "turns_at": "y.n.01"}}  # fmt: skip
    text = study.describe_illustration(pairs)
    assert f"are {far_wordnet} edges apart" in text and f"WordNet {order} of the two pairs" in text
    assert "turns at `x.n.01`" in text and "are 3 apart (2 in the paper)" in text
    with pytest.raises(ValueError, match="two pairs"):
        study.describe_illustration({"a / b": pairs["a / b"]})


def test_example_consistency_closed_forms(classes) -> None:
    names, _, d = classes
    sigmas = [0.5, 1.0, 2.0]
    got = study.example_consistency(
        {"one": ["Sneaker"], "two": ["Sandal", "Ankle boot"], "all": names}, names, d, sigmas
    )
    assert got["one"] == [1.0, 1.0, 1.0]  # p = e_i: p^T A p = A_ii = 1 at every width
    i, j = names.index("Sandal"), names.index("Ankle boot")
    for s, v in zip(sigmas, got["two"], strict=True):  # p = (e_i + e_j) / 2: (1 + A_ij) / 2
        assert v == pytest.approx((1 + math.exp(-(float(d[i, j]) ** 2) / (2 * s**2))) / 2)
    for s, v in zip(sigmas, got["all"], strict=True):  # uniform p: the mean of A
        assert v == pytest.approx(float(correlation_matrix(d, s).mean()))
    table = study.sigma_table(got, sigmas).splitlines()
    assert table[0] == "| neuron | σ=0.5 | σ=1 | σ=2 |" and table[2] == "| one | 1.000 | 1.000 | 1.000 |"
    with pytest.raises(ValueError, match="not in names"):
        study.example_consistency({"x": ["Jacket"]}, names, d, sigmas)
