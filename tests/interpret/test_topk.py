"""Streaming top-k: equal to a full sort, constant memory, right locations, clear errors."""

from __future__ import annotations

import weakref

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from advinterp_lib.interpret.receptive_field import theoretical_receptive_field
from advinterp_lib.interpret.topk import (
    RunningTopK,
    TopActivations,
    merge_top_activations,
    top_activating_images,
    top_count,
    top_patches,
)


def table_model() -> nn.Module:
    """A model whose layer "0" outputs its input: the activation table is the images."""
    return nn.Sequential(nn.Identity(), nn.Flatten())


def activation_table(n: int = 300, c: int = 6, h: int = 5, w: int = 4, seed: int = 0) -> torch.Tensor:
    # values on a grid of 1/8: many ties, in the spatial max and across images
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 9, (n, c, h, w), generator=g).float() / 8


def reference_top(table: torch.Tensor, k: int, reduction: str):
    """Full-table twin in numpy: stable descending sort per channel, first argmax."""
    a = table.numpy()
    n, c, h, w = a.shape
    flat = a.reshape(n, c, h * w)
    resp = flat.max(axis=2) if reduction == "max" else flat.mean(axis=2, dtype=np.float64).astype(np.float32)
    pos = flat.argmax(axis=2)  # numpy: first occurrence
    order = np.argsort(-resp.T, axis=1, kind="stable")[:, :k]  # [C, k]
    values = np.take_along_axis(resp.T, order, axis=1)
    locs = np.stack([pos.T // w, pos.T % w], axis=2)
    locs = np.take_along_axis(locs, order[:, :, None], axis=1)
    return values, order, locs


@pytest.mark.parametrize("reduction", ["max", "mean"])
@pytest.mark.parametrize("k,batch_size", [(1, 300), (5, 37), (40, 1), (300, 64)])
def test_streaming_equals_full_stable_sort(reduction: str, k: int, batch_size: int) -> None:
    table = activation_table()
    top = top_activating_images(table_model(), table, "0", k=k, reduction=reduction, batch_size=batch_size)
    values, order, locs = reference_top(table, k, reduction)
    assert isinstance(top, TopActivations)
    assert top.values.shape == (6, k) and top.indices.shape == (6, k) and top.locations.shape == (6, k, 2)
    np.testing.assert_allclose(top.values.numpy(), values, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(top.indices.numpy(), order)
    np.testing.assert_array_equal(top.locations.numpy(), locs)
    assert (top.layer, top.reduction, top.num_images, top.feature_size) == (
        "0",
        reduction,
        300,
        (5, 4),
    )


def test_dataloader_with_fraction_equals_tensor_input() -> None:
    table = activation_table(n=250)
    loader = DataLoader(TensorDataset(table, torch.zeros(250, dtype=torch.long)), batch_size=32)
    from_loader = top_activating_images(table_model(), loader, "0", fraction=0.04)
    from_tensor = top_activating_images(table_model(), table, "0", k=10)
    assert from_loader.k == top_count(250, 0.04) == 10
    assert torch.equal(from_loader.indices, from_tensor.indices)
    assert torch.equal(from_loader.locations, from_tensor.locations)


def test_offset_and_merge_equal_one_stream() -> None:
    table = activation_table(n=200)
    model = table_model()
    whole = top_activating_images(model, table, "0", k=12)
    first = top_activating_images(model, table[:120], "0", k=12)
    second = top_activating_images(model, table[120:], "0", k=12, offset=120)
    merged = merge_top_activations(first, second)
    assert torch.equal(merged.values, whole.values)
    assert torch.equal(merged.indices, whole.indices)
    assert torch.equal(merged.locations, whole.locations)
    assert merged.num_images == 200


def test_state_size_does_not_grow_with_images() -> None:
    running = RunningTopK(channels=8, k=5)
    sizes = []
    for step in range(50):
        values = torch.rand(100, 8)
        running.update(
            values,
            torch.zeros(100, 8, 2, dtype=torch.long),
            torch.arange(100 * step, 100 * step + 100),
        )
        sizes.append(running.nbytes)
    assert running.seen == 5000
    assert sizes[0] == sizes[-1] == 8 * 5 * (4 + 8 + 16)  # float32 values, int64 indices and (row, col)


def test_streaming_keeps_no_batch_alive() -> None:
    """Streaming 20,000 images from a generator: by the time batch i is drawn, batch
    i-2 has been freed (nothing but the running top-k outlives a batch; tensors are
    freed by reference counting, so no garbage collection is needed to see it)."""
    refs: list[weakref.ref] = []
    alive_when_drawn: list[bool] = []
    g = torch.Generator().manual_seed(1)

    def stream():
        for i in range(100):
            if i >= 2:
                alive_when_drawn.append(refs[i - 2]() is not None)
            batch = torch.rand(200, 3, 4, 4, generator=g)
            refs.append(weakref.ref(batch))
            yield batch
            del batch

    top = top_activating_images(table_model(), stream(), "0", k=7)
    assert top.num_images == 20000 and top.values.shape == (3, 7)
    assert len(alive_when_drawn) == 98 and not any(alive_when_drawn)


def test_argmax_locations_in_a_strided_conv() -> None:
    """One bright pixel per image; a 2x2 stride-2 box filter peaks at (r // 2, c // 2)."""
    conv = nn.Conv2d(1, 1, 2, stride=2, bias=False)
    nn.init.constant_(conv.weight, 1.0)
    model = nn.Sequential(conv, nn.ReLU())
    spots = [(3, 9), (0, 0), (11, 1), (6, 6)]
    images = torch.full((4, 1, 12, 12), 0.1)
    for n, (r, c) in enumerate(spots):
        images[n, 0, r, c] = 1.0
    top = top_activating_images(model, images, "1", k=4)
    expected = {n: (r // 2, c // 2) for n, (r, c) in enumerate(spots)}
    for idx, loc in zip(top.indices[0].tolist(), top.locations[0].tolist(), strict=True):
        assert tuple(loc) == expected[idx]


def test_top_patches_crop_the_receptive_field_with_padding() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 5, 3, padding=1))
    torch.manual_seed(0)
    images = torch.rand(30, 1, 16, 16)
    top = top_activating_images(model, images, "3", k=6)
    field = theoretical_receptive_field(model, "3")
    assert field.size == (8, 8) and field.stride == (2, 2) and field.padding == (3, 3)
    for channel in range(5):
        patches = top_patches(images, top, channel, field, fill=-1.0)
        assert patches.shape == (6, 1, 8, 8)
        for r in range(6):  # brute-force twin: pixel by pixel, -1 outside the image
            i, j = top.locations[channel, r].tolist()
            img = images[top.indices[channel, r]]
            for a in range(8):
                for b in range(8):
                    y, x = 2 * i - 3 + a, 2 * j - 3 + b
                    want = img[0, y, x] if 0 <= y < 16 and 0 <= x < 16 else -1.0
                    assert patches[r, 0, a, b] == want


def test_top_count() -> None:
    assert top_count(50000, 0.01) == 500
    assert top_count(100, 0.07) == 7
    assert top_count(10, 0.001) == 1
    assert top_count(10, 1.0) == 10
    for bad in (0.0, -0.1, 1.5, True):
        with pytest.raises(ValueError, match="fraction"):
            top_count(10, bad)


def test_model_mode_restored_and_hooks_removed_after_error(toy_cnn) -> None:
    model = toy_cnn
    model.train()
    top_activating_images(model, torch.rand(5, 1, 12, 12), "features.0", k=2)
    assert model.training
    with pytest.raises(ValueError, match="not a feature map"):
        top_activating_images(model, torch.rand(5, 1, 12, 12), "classifier.0", k=2)  # Flatten: 2-D output
    assert model.training
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_bad_input_errors() -> None:
    model = table_model()
    x = torch.rand(10, 2, 3, 3)
    with pytest.raises(ValueError, match="Valid names"):
        top_activating_images(model, x, "features.9", k=2)
    with pytest.raises(ValueError, match="k must be"):
        top_activating_images(model, x, "0", k=0)
    with pytest.raises(ValueError, match="exceeds the number of images"):
        top_activating_images(model, x, "0", k=11)
    with pytest.raises(ValueError, match="exactly one of k and fraction"):
        top_activating_images(model, x, "0", k=2, fraction=0.1)
    with pytest.raises(ValueError, match="exactly one of k and fraction"):
        top_activating_images(model, x, "0")
    with pytest.raises(ValueError, match="fraction"):
        top_activating_images(model, x, "0", fraction=1.5)
    with pytest.raises(ValueError, match="reduction"):
        top_activating_images(model, x, "0", k=2, reduction="median")
    with pytest.raises(ValueError, match="divide by 255"):
        top_activating_images(model, x * 255, "0", k=2)
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        top_activating_images(model, x[0], "0", k=2)
    with pytest.raises(ValueError, match="num_images"):
        top_activating_images(model, iter([x]), "0", fraction=0.5)
    with pytest.raises(ValueError, match="exceeds the number of images streamed"):
        top_activating_images(model, iter([x]), "0", k=11)
    top = top_activating_images(model, x, "0", k=3)
    field = theoretical_receptive_field(model, "0")
    with pytest.raises(ValueError, match="channel must be"):
        top_patches(x, top, 2, field)
    with pytest.raises(ValueError, match="must index images"):
        top_patches(x[:2], top, 0, field)
    with pytest.raises(ValueError, match="share layer"):
        merge_top_activations(top, top_activating_images(model, x, "0", k=3, reduction="mean"))
