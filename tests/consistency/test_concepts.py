"""advinterp_lib.consistency.concepts: WordNet 3.0 distances and the matrix A, on the
real Debian WordNet files prepared into a temporary root."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from advinterp_lib.consistency.concepts import (
    class_synsets,
    correlation_matrix,
    distance_matrix,
    evenly_spread,
    hypernym_path,
    hypernym_tree,
    path_turn,
    synset_distance,
)
from advinterp_lib.data.fashion_mnist import SYNSETS
from data_scripts.wordnet import prepare_wordnet


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    prepare_wordnet(root, use_apt=False, download=False, log=lambda _: None)
    return root


def test_known_wordnet_3_0_distances(root):
    sandal, boot, bag, jersey, shirt = class_synsets(
        ["sandal.n.01", "boot.n.01", "bag.n.01", "jersey.n.03", "shirt.n.01"], root=root
    )
    assert synset_distance(sandal, boot) == 3  # sandal - footwear - boot is 3 edges via shoe
    assert synset_distance(sandal, bag) == 7
    assert synset_distance(jersey, shirt) == 1  # a jersey (T-shirt) IS-A shirt
    assert synset_distance(sandal, sandal) == 0


def test_wnids_and_names_give_the_same_synsets(root):
    # tabby.n.01 is n02123045 (ImageNet's "tabby cat")
    by_wnid, by_name = class_synsets(["n02123045", "tabby.n.01"], root=root)
    assert by_wnid == by_name


def test_fashion_mnist_distance_matrix(root):
    syn = class_synsets(list(SYNSETS), root=root)
    d = distance_matrix(syn)
    assert d.shape == (10, 10) and torch.equal(d, d.t()) and (d.diagonal() == 0).all()
    assert ((d > 0) | torch.eye(10, dtype=torch.bool)).all()  # ten distinct synsets
    # a brute-force twin straight from nltk, with a simulated root: the same numbers
    # (every class is a descendant of entity.n.01, so the graph is connected)
    for i in range(10):
        for j in range(10):
            assert d[i, j] == syn[i].shortest_path_distance(syn[j], simulate_root=True)


def test_correlation_matrix_closed_form():
    d = torch.tensor([[0.0, 1.0, 3.0], [1.0, 0.0, 2.0], [3.0, 2.0, 0.0]])
    for sigma in (0.5, 1.0, 2.0):
        a = correlation_matrix(d, sigma)
        assert a.dtype == torch.float64
        assert torch.allclose(a.diagonal(), torch.ones(3, dtype=torch.float64))
        assert a[0, 2].item() == pytest.approx(math.exp(-9 / (2 * sigma**2)), rel=1e-12)
        assert a[1, 0].item() == pytest.approx(math.exp(-1 / (2 * sigma**2)), rel=1e-12)
    # wider kernels couple more
    assert (correlation_matrix(d, 2.0) >= correlation_matrix(d, 1.0)).all()


def test_bad_input_errors(root):
    with pytest.raises(ValueError, match="no_such_thing.n.01"):
        class_synsets(["sandal.n.01", "no_such_thing.n.01"], root=root)
    with pytest.raises(ValueError, match="n99999999"):
        class_synsets(["n99999999"], root=root)
    with pytest.raises(TypeError, match="classes"):
        class_synsets("sandal.n.01", root=root)
    with pytest.raises(ValueError, match="at least one"):
        class_synsets([], root=root)
    with pytest.raises(TypeError, match="Synset"):
        synset_distance("sandal.n.01", "boot.n.01")
    good = torch.tensor([[0.0, 2.0], [2.0, 0.0]])
    with pytest.raises(ValueError, match="sigma"):
        correlation_matrix(good, 0.0)
    with pytest.raises(ValueError, match="sigma"):
        correlation_matrix(good, float("nan"))
    with pytest.raises(ValueError, match="square"):
        correlation_matrix(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="symmetric"):
        correlation_matrix(torch.tensor([[0.0, 1.0], [2.0, 0.0]]))
    with pytest.raises(ValueError, match="non-negative"):
        correlation_matrix(torch.tensor([[0.0, -1.0], [-1.0, 0.0]]))
    with pytest.raises(TypeError, match="distances"):
        correlation_matrix([[0.0]])


# ------------------------------------------------------------------ chapter 10's tree, turns and made-up neurons


def test_hypernym_path_is_the_shortest_path_to_the_root(root):
    (sandal,) = class_synsets(["sandal.n.01"], root=root)
    path = hypernym_path(sandal)
    assert path[0] == sandal and path[-1].name() == "entity.n.01"
    assert len(path) == min(len(p) for p in sandal.hypernym_paths())
    assert all(parent in child.hypernyms() for child, parent in zip(path[:-1], path[1:], strict=True))


def test_hypernym_tree_merges_paths_into_one_tree(root):
    syn = class_synsets(list(SYNSETS), root=root)
    tree = hypernym_tree([hypernym_path(s) for s in syn])
    assert tree.root.name() == "entity.n.01" and tree.depth[tree.root] == 0
    leaves = {n for n in tree.depth if not tree.children.get(n)}
    assert set(syn) <= set(tree.depth) and leaves <= set(syn)  # the leaves are classes
    assert leaves == set(syn) - {syn[SYNSETS.index("shirt.n.01")]}  # a T-shirt (jersey) is a shirt
    for parent, kids in tree.children.items():
        assert len(set(kids)) == len(kids)
        assert all(tree.depth[k] == tree.depth[parent] + 1 for k in kids)
    for s in syn:  # every step of every path is an edge of the tree
        path = hypernym_path(s)
        assert all(child in tree.children[parent] for child, parent in zip(path[:-1], path[1:], strict=True))


def test_path_turn_splits_the_distance(root):
    sandal, boot, jersey, shirt = class_synsets(["sandal.n.01", "boot.n.01", "jersey.n.03", "shirt.n.01"], root=root)
    assert path_turn(jersey, shirt) == shirt  # a jersey is a shirt: the path turns at the shirt itself
    assert path_turn(sandal, sandal) == sandal
    turn = path_turn(sandal, boot)
    assert sandal.shortest_path_distance(turn) + boot.shortest_path_distance(turn) == synset_distance(sandal, boot)


def test_evenly_spread_repeats_the_classes():
    assert torch.equal(evenly_spread([3, 1], images_per_class=2), torch.tensor([[3, 1, 3, 1]]))
    assert evenly_spread(list(range(10))).shape == (1, 120)


def test_tree_and_turn_bad_input(root):
    with pytest.raises(TypeError, match="Synset"):
        hypernym_path("sandal.n.01")
    with pytest.raises(ValueError, match="at least one"):
        hypernym_tree([])
    (sandal,) = class_synsets(["sandal.n.01"], root=root)
    with pytest.raises(ValueError, match="two synsets"):
        hypernym_tree([[sandal]])
    with pytest.raises(TypeError, match="Synset"):
        path_turn(sandal, "boot.n.01")
    with pytest.raises(ValueError, match="class indices"):
        evenly_spread([0, -1])
    with pytest.raises(ValueError, match="at least one"):
        evenly_spread([])
    with pytest.raises(ValueError, match="images_per_class"):
        evenly_spread([0], images_per_class=0)
