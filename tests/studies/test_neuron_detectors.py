"""Chapter 2's bookkeeping (``studies.neuron_detectors``): each function gives what the
chapter's cells computed inline before, checked against a closed form (the ToyCNN's
receptive field, byte counts, hand-built tables) or against the interpret functions
called directly, on real Fashion-MNIST test images."""

from __future__ import annotations

import math

import pytest
import torch

from advinterp_lib.data import load
from advinterp_lib.interpret.receptive_field import (
    EmpiricalReceptiveField,
    FieldAgreement,
    ReceptiveField,
    field_agreement,
    gradient_receptive_field,
    theoretical_receptive_field,
)
from advinterp_lib.interpret.topk import TopActivations, top_activating_images, top_patches
from advinterp_lib.studies import neuron_detectors as study


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    """60 real Fashion-MNIST test images, [60, 1, 28, 28] in [0, 1]."""
    return load("fashion-mnist", "test").images[:60]


def _top(values: list[list[float]]) -> TopActivations:
    """A hand-made TopActivations of C channels and k hits (indices and locations zero)."""
    v = torch.tensor(values, dtype=torch.float32)
    c, k = v.shape
    return TopActivations(
        values=v,
        indices=torch.zeros(c, k, dtype=torch.long),
        locations=torch.zeros(c, k, 2, dtype=torch.long),
        layer="features.4",
        reduction="max",
        num_images=10,
        feature_size=(6, 6),
    )


def _erf(width: float) -> EmpiricalReceptiveField:
    return EmpiricalReceptiveField(
        mean_map=torch.zeros(3, 3), maps=torch.zeros(1, 2, 2), area=round(width**2), width=width, threshold=0.5
    )


def _flags(model: torch.nn.Module) -> list[bool]:
    return [m.training for m in model.modules()]


# ----------------------------------------------------------------- top images, streamed


def test_top_images_table_and_state_bytes(make_toy_cnn) -> None:
    # ToyCNN on 12x12 images: conv -> pool 2 -> conv, so a 6-channel 6x6 last feature map
    model = make_toy_cnn().eval()
    x = torch.rand(20, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    top = top_activating_images(model, x, "features.4", k=3, batch_size=7)
    table = study.top_images_table({"toy": top, "toy2": top})
    lines = table.split("\n")
    assert lines[0] == "| model | last conv layer | neurons | feature map | top images per neuron |"
    assert lines[2] == "| toy | `features.4` | 6 | 6×6 | 3 of 20 |"
    assert lines[3].startswith("| toy2 |") and len(lines) == 4
    # per channel and hit: a float32 value, an int64 index, two int64 coordinates
    assert study.streamed_state_bytes(top) == 6 * 3 * (4 + 8 + 2 * 8)


def test_memory_text() -> None:
    text = study.memory_text(10_000, 64, 100, 179_200)
    # 10,000 x 64 float32 = 2.56 MB; 500,000 x 64 float32 = 128 MB; 179,200 B = 0.18 MB
    assert text == (
        "the full table for all 10000 images would take 2.56 MB (the paper's 500,000: 128 MB); "
        "the streamed top-100 state takes 0.18 MB for any number of images"
    )
    assert "the paper's 1,000: 0 MB" in study.memory_text(10, 64, 1, 0, paper_images=1000)
    with pytest.raises(ValueError, match="num_images must be >= 1"):
        study.memory_text(0, 64, 100, 10)
    with pytest.raises(ValueError, match="state_bytes must be >= 0"):
        study.memory_text(10, 64, 100, -1)


# --------------------------------------------------------------- which neurons to look at


def test_dead_counts() -> None:
    live = {"a": torch.tensor([True, False, False]), "b": torch.tensor([True, True])}
    assert study.dead_counts(live) == {"a": 2, "b": 0}
    with pytest.raises(ValueError, match="1-D bool tensor"):
        study.dead_counts({"a": torch.tensor([1, 0])})


def test_both_ends() -> None:
    chosen = [5, 3, 8, 1, 7]
    assert study.both_ends(chosen, 5) == chosen
    assert study.both_ends(chosen, 2) == [5, 7]
    assert study.both_ends(chosen, 3) == [5, 1, 7]  # the odd one goes to the least pure end
    assert study.both_ends(chosen, 1) == [7]
    with pytest.raises(ValueError, match="count must be <= 5"):
        study.both_ends(chosen, 6)
    with pytest.raises(ValueError, match="count must be >= 1"):
        study.both_ends(chosen, 0)


# ------------------------------------------------------------------ theoretical fields


def test_gradient_agreement_matches_the_direct_calls_and_the_closed_form(make_toy_cnn) -> None:
    model = make_toy_cnn()
    model.train()
    model.features[1].eval()  # a mixed model: its flags must come back as they were
    before = _flags(model)
    field = theoretical_receptive_field(model, "features.4")
    # conv 3 (pad 1) -> pool 2 -> conv 3 (pad 1): R = 1 + 2 + 1 + 2 * 2 = 8, J = 2, P = 1 + 2 * 1 = 3
    assert (field.size, field.stride, field.padding) == ((8, 8), (2, 2), (3, 3))
    got = study.gradient_agreement(model, "features.4", field, (6, 6), image_shape=(1, 12, 12), samples=8)
    mask = gradient_receptive_field(model, "features.4", (3, 3), (1, 12, 12), samples=8)
    assert got == field_agreement(mask, field.mask(3, 3, (12, 12)))
    assert got.outside == 0 and got.same_extent  # unit (3, 3) sees rows and columns 3..10
    assert _flags(model) == before
    wrong = ReceptiveField(size=(4, 4), stride=(2, 2), padding=(1, 1), layer="features.4")  # too small a box
    assert study.gradient_agreement(model, "features.4", wrong, (6, 6), image_shape=(1, 12, 12)).outside > 0
    with pytest.raises(ValueError, match="feature_size must be >= 1"):
        study.gradient_agreement(model, "features.4", field, (0, 6), image_shape=(1, 12, 12))


def test_fields_table_and_agreement_record() -> None:
    fields = {
        "a": ReceptiveField(size=(30, 30), stride=(4, 4), padding=(13, 13)),
        "r": ReceptiveField(size=(35, 35), stride=(2, 2), padding=(17, 17)),
    }
    how = {"a": "geometry walk", "r": "gradient (96×96 input)"}
    table = study.fields_table({"a": "features.10", "r": "layer3"}, fields, how).split("\n")
    assert table[0] == "| model | layer | size $R$ | stride $J$ | padding $P$ | by |"
    assert table[2:] == [
        "| a | `features.10` | 30 | 4 | 13 | geometry walk |",
        "| r | `layer3` | 35 | 2 | 17 | gradient (96×96 input) |",
    ]
    with pytest.raises(ValueError, match=r"missing for \['r'\]"):
        study.fields_table({"a": "features.10"}, fields, how)
    record = study.agreement_record({"a": FieldAgreement(outside=0, coverage=0.75, same_extent=True)})
    assert record == {"a": {"outside": 0, "coverage": 0.75, "same_extent": True}}


# ------------------------------------------------------------------ mid-layer patches


def test_strongest_channels() -> None:
    top = _top([[1.0, 0.5], [3.0, 0.1], [2.0, 2.0], [0.0, 0.0]])
    assert study.strongest_channels(top, 2) == [1, 2]
    assert study.strongest_channels(top, 4) == [1, 2, 0, 3]
    with pytest.raises(ValueError, match="count must be <= 4"):
        study.strongest_channels(top, 5)


def test_top_patch_rows_are_the_direct_calls(images, make_toy_cnn) -> None:
    model = make_toy_cnn(size=28)
    model.train()
    model.features[1].eval()
    before = _flags(model)
    rows = study.top_patch_rows(model, images, "features.4", k=4, channels=2, batch_size=25)
    assert _flags(model) == before
    field = theoretical_receptive_field(model, "features.4")
    top = top_activating_images(model, images, "features.4", k=4)
    best = top.values[:, 0].argsort(descending=True)[:2].tolist()
    assert (rows.layer, rows.field, rows.channels) == ("features.4", field, best)
    want = torch.cat([top_patches(images, top, c, field, fill=0.5) for c in best])
    assert rows.patches.shape == (8, 1, 8, 8)
    assert torch.equal(rows.patches, want)
    with pytest.raises(ValueError, match="count must be <= 6"):
        study.top_patch_rows(model, images, "features.4", k=4, channels=7)
    with pytest.raises(ValueError, match=r"images must be a tensor \[N, C, H, W\]"):
        study.top_patch_rows(model, images[0], "features.4", k=4)


# ------------------------------------------------------------------- empirical fields


def test_widths() -> None:
    erfs = {"m": {4: _erf(3.0), 9: _erf(5.0)}, "n": {1: _erf(math.sqrt(2))}}
    assert study.mean_width(erfs["m"]) == 4.0
    assert study.width_record(erfs["m"]) == {"4": 3.0, "9": 5.0}
    table = study.widths_table({"m": 10, "n": 8}, erfs).split("\n")
    assert table[0] == "| model | theoretical $R$ (px) | empirical width (px), mean over units | ratio |"
    assert table[2:] == ["| m | 10 | 4.0 (units: 3, 5) | 0.40 |", "| n | 8 | 1.4 (units: 1) | 0.18 |"]
    with pytest.raises(ValueError, match="no unit"):
        study.mean_width({})
    with pytest.raises(ValueError, match=r"missing \['x'\]"):
        study.widths_table({"m": 10, "x": 8}, erfs)


def test_hit_titles() -> None:
    names = ["T-shirt", "Trouser", "Bag"]
    labels = torch.tensor([2, 0])
    assert study.hit_titles(names, labels) == ["Bag", "T-shirt"]
    assert study.hit_titles(names, labels, torch.tensor([2.04, 13.0])) == ["Bag\n2.0", "T-shirt\n13.0"]
    with pytest.raises(ValueError, match="one entry per label"):
        study.hit_titles(names, labels, torch.tensor([1.0]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        study.hit_titles(names, torch.tensor([3]))
