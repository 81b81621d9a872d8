"""advinterp_lib.data.wordnet: WordNet 3.0 through nltk, on the real Debian files
prepared into a temporary root."""

from __future__ import annotations

from pathlib import Path

import pytest

from advinterp_lib.data import DataNotFoundError, synset, synset_from_wnid, wordnet
from advinterp_lib.data.fashion_mnist import CLASS_NAMES, SYNSETS
from advinterp_lib.data.wordnet import corpus_dir, wnid_of
from data_scripts.wordnet import prepare_wordnet


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    prepare_wordnet(root, use_apt=False, download=False, log=lambda _: None)
    return root


def test_reader_is_wordnet_3_0_and_cached_per_root(root):
    reader = wordnet(root)
    assert reader.get_version() == "3.0"
    assert wordnet(root) is reader
    assert len((corpus_dir(root) / "lexnames").read_text().splitlines()) == 45
    assert len(reader._lexnames) == 45


def test_every_class_synset_exists_and_names_its_class(root):
    # One lemma per class that ties the synset to the class name.
    lemma = {
        "T-shirt/top": "T-shirt", "Trouser": "trouser", "Pullover": "pullover",
        "Dress": "dress", "Coat": "coat", "Sandal": "sandal", "Shirt": "shirt",
        "Sneaker": "sneaker", "Bag": "bag", "Ankle boot": "boot",
    }  # fmt: skip
    for class_name, name in zip(CLASS_NAMES, SYNSETS, strict=True):
        found = synset(name, root)
        assert found.name() == name and found.pos() == "n"
        assert lemma[class_name] in found.lemma_names()


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("sandal.n.01", "boot.n.01", 3),
        ("sandal.n.01", "bag.n.01", 7),
        ("sandal.n.01", "gym_shoe.n.01", 2),
        ("jersey.n.03", "shirt.n.01", 1),
        ("trouser.n.01", "shirt.n.01", 2),
    ],
)
def test_known_path_distances(root, a, b, distance):
    assert synset(a, root).shortest_path_distance(synset(b, root)) == distance


def test_wnid_maps_to_synset_by_noun_offset(root):
    tabby = synset_from_wnid("n02123045", root)
    assert tabby.name() == "tabby.n.01"
    assert "cat" in tabby.definition()
    for name in SYNSETS:
        assert synset_from_wnid(wnid_of(synset(name, root)), root) == synset(name, root)
    assert wnid_of(synset("jersey.n.03", root)) == "n03595614"


def test_unknown_synsets_and_wnids_are_value_errors(root):
    for bad in ("sandal.n.02", "nosuchthing.n.01", "sandal"):
        with pytest.raises(ValueError, match=repr(bad)):
            synset(bad, root)
    with pytest.raises(TypeError):
        synset(3, root)
    for bad in ("n02123046", "n2123045", "02123045"):
        with pytest.raises(ValueError, match=repr(bad)):
            synset_from_wnid(bad, root)
    with pytest.raises(ValueError, match="noun"):
        wnid_of(synset("run.v.01", root))


def test_missing_wordnet_names_the_fix(tmp_path):
    with pytest.raises(DataNotFoundError) as info:
        wordnet(tmp_path)
    assert str(corpus_dir(tmp_path)) in str(info.value)
    assert "python -m data_scripts wordnet" in str(info.value)
