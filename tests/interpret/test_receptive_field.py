"""Receptive fields: geometry walk, gradient support and discrepancy maps agree."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advinterp_lib.interpret.receptive_field import (
    FieldAgreement,
    ReceptiveField,
    calibrate_discrepancy,
    discrepancy_maps,
    empirical_receptive_field,
    field_agreement,
    gradient_receptive_field,
    receptive_field_from_gradient,
    theoretical_receptive_field,
)
from advinterp_lib.models.layers import Normalize


def plain_stack(seed: int = 0) -> nn.Sequential:
    """A VGG-like stack: conv3 p1, ReLU, pool2, conv3 p1, ReLU, pool2, conv3 (no pad), ReLU."""
    torch.manual_seed(seed)
    return nn.Sequential(
        Normalize(0.5, 0.25),
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3),
        nn.ReLU(),
    )


def test_theoretical_field_closed_form() -> None:
    field = theoretical_receptive_field(plain_stack(), "8")
    # R = 1 + 2*1 + 1*1 + 2*2 + 1*2 + 2*4 = 18; J = 4; P = 1*1 + 1*2 = 3
    assert field == ReceptiveField(size=(18, 18), stride=(4, 4), padding=(3, 3), layer="8")
    assert theoretical_receptive_field(plain_stack(), "3").size == (4, 4)  # conv3 then pool2
    dilated = nn.Sequential(nn.Conv2d(1, 1, (3, 5), dilation=2, padding="same"), nn.MaxPool2d((2, 3)))
    assert theoretical_receptive_field(dilated, "1") == ReceptiveField((6, 11), (2, 3), (2, 4), "1")
    assert field.box(0, 0) == (-3, -3, 15, 15)
    assert field.box(0, 0, clip_to=(28, 28)) == (0, 0, 15, 15)
    assert field.center(1, 2) == (4 - 3 + 8.5, 8 - 3 + 8.5)


@pytest.mark.parametrize("location", [(2, 2), (0, 0), (4, 1), (4, 4)])
def test_gradient_field_equals_theoretical_box_on_a_plain_stack(location: tuple[int, int]) -> None:
    model = plain_stack()
    field = theoretical_receptive_field(model, "8")
    mask = gradient_receptive_field(model, "8", location, (1, 28, 28), samples=32)
    assert torch.equal(mask, field.mask(*location, image_size=(28, 28)))


def test_geometry_from_gradient_equals_the_walk_on_a_plain_stack() -> None:
    model = plain_stack()
    walked = theoretical_receptive_field(model, "8")
    assert receptive_field_from_gradient(model, "8", (1, 44, 44)) == walked
    with pytest.raises(ValueError, match="larger image_shape"):
        receptive_field_from_gradient(model, "8", (1, 16, 16))  # an 18-pixel field in a 16-pixel image


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(x + self.conv(x))


def test_geometry_walk_refuses_residual_blocks_and_gradient_works() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), Residual(), Residual())
    with pytest.raises(ValueError, match="gradient_receptive_field"):
        theoretical_receptive_field(model, "2")
    mask = gradient_receptive_field(model, "2", (5, 5), (1, 12, 12))
    expected = torch.zeros(12, 12, dtype=torch.bool)
    expected[2:9, 2:9] = True  # three 3x3 convs on the longest path: 7x7
    assert torch.equal(mask, expected)
    assert receptive_field_from_gradient(model, "2", (1, 12, 12)) == ReceptiveField((7, 7), (1, 1), (3, 3), "2")
    with pytest.raises(ValueError, match="geometry is unknown"):
        theoretical_receptive_field(nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Conv2d(1, 1, 3)), "1")


def naive_discrepancy(model, image, layer_index, channel, location, patch, stride, fill):
    """Brute-force twin: one occluded copy at a time, then the mean drop per pixel."""

    def unit(x):
        a = model[: layer_index + 1](x[None])[0, channel]
        return a[location] if location is not None else a.max()

    _, h, w = image.shape
    rows = sorted(set(list(range(0, h - patch + 1, stride)) + [h - patch]))
    cols = sorted(set(list(range(0, w - patch + 1, stride)) + [w - patch]))
    total, count = torch.zeros(h, w), torch.zeros(h, w)
    with torch.no_grad():
        base = unit(image)
        for r in rows:
            for c in cols:
                x = image.clone()
                x[:, r : r + patch, c : c + patch] = fill
                total[r : r + patch, c : c + patch] += base - unit(x)
                count[r : r + patch, c : c + patch] += 1
    return total / count


@pytest.mark.parametrize("location", [(2, 1), None])
def test_discrepancy_maps_equal_brute_force(location) -> None:
    model = plain_stack(seed=1)
    g = torch.Generator().manual_seed(0)
    images = torch.rand(3, 1, 20, 20, generator=g)
    locs = None if location is None else torch.tensor([location] * 3)
    maps = discrepancy_maps(model, images, "8", 5, locations=locs, patch_size=4, stride=3, fill=0.25, batch_size=50)
    assert maps.shape == (3, 20, 20)
    for n in range(3):
        want = naive_discrepancy(model, images[n], 8, 5, location, 4, 3, 0.25)
        torch.testing.assert_close(maps[n], want, rtol=1e-4, atol=1e-5)


def test_noise_occluder_is_seeded_and_zero_outside_the_field() -> None:
    model = plain_stack(seed=2)
    images = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():  # each image's strongest unit of channel 0 (a live unit)
        fmap = model(images)[:, 0]
    pos = fmap.flatten(1).argmax(1)
    locs = torch.stack([pos // fmap.shape[2], pos % fmap.shape[2]], 1)
    kw = dict(locations=locs, patch_size=3, stride=1)
    a = discrepancy_maps(model, images, "8", 0, generator=torch.Generator().manual_seed(7), **kw)
    b = discrepancy_maps(model, images, "8", 0, generator=torch.Generator().manual_seed(7), batch_size=97, **kw)
    c = discrepancy_maps(model, images, "8", 0, generator=torch.Generator().manual_seed(8), **kw)
    assert torch.equal(a, b) and not torch.equal(a, c)
    field = theoretical_receptive_field(model, "8")
    for n, (i, j) in enumerate(locs.tolist()):
        top, left, bottom, right = field.box(i, j, clip_to=(28, 28))
        # a pixel can only matter if some 3x3 occluder over it overlaps the field
        reach = torch.zeros(28, 28, dtype=torch.bool)
        reach[max(top - 2, 0) : bottom + 2, max(left - 2, 0) : right + 2] = True
        assert (a[n][~reach] == 0).all()
        assert a[n][reach].abs().max() > 0


def uniform_stack() -> nn.Sequential:
    """Every input pixel of a unit's field has the same weight: a 4x4 stride-4 box, a
    2x2 average pool, a 3x3 box with padding 1; R = 4 + 1*4 + 2*8 = 24, J = 8, P = 8."""
    c1, c2 = nn.Conv2d(1, 1, 4, stride=4), nn.Conv2d(1, 2, 3, padding=1)
    for conv in (c1, c2):
        nn.init.constant_(conv.weight, 1.0 / conv.weight[0].numel())
        nn.init.zeros_(conv.bias)
    return nn.Sequential(c1, nn.ReLU(), nn.AvgPool2d(2), c2, nn.ReLU())


@pytest.mark.parametrize("use_field", [True, False])
def test_empirical_field_matches_theoretical_on_a_hand_built_stack(use_field: bool) -> None:
    model = uniform_stack()
    field = theoretical_receptive_field(model, "4")
    assert field == ReceptiveField((24, 24), (8, 8), (8, 8), "4")
    images = torch.ones(8, 1, 48, 48)  # white: any noise occluder lowers the unit
    locs = torch.tensor([[2, 2], [3, 2], [2, 4], [3, 3]]).repeat(2, 1)
    erf = empirical_receptive_field(
        model,
        images,
        "4",
        1,
        locs,
        field=field if use_field else None,
        threshold=0.1,
        patch_size=1,
        stride=1,
        generator=torch.Generator().manual_seed(0),
    )
    assert erf.area == 24 * 24 and erf.width == pytest.approx(24.0)
    support = erf.mean_map >= 0.1 * erf.mean_map.max()
    rows, cols = support.any(1).nonzero().flatten(), support.any(0).nonzero().flatten()
    assert rows.max() - rows.min() + 1 == 24 and cols.max() - cols.min() + 1 == 24
    if use_field:  # centred: the middle pixel (47, 47) is the field's centre (rounded)
        assert rows.min() == 47 - 12 and cols.min() == 47 - 12
    for n, (i, j) in enumerate(locs.tolist()):  # each calibrated map is the unit's box
        assert torch.equal(erf.maps[n] > 0, field.mask(i, j, (48, 48)))


def test_calibrate_discrepancy() -> None:
    maps = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 2.0, 4.0], [-1.0, 0.0, 1.0]]])
    out = calibrate_discrepancy(maps)  # median 0: clip negatives, divide by 4
    torch.testing.assert_close(out, torch.tensor([[[0.0, 0.0, 0.0], [0.0, 0.5, 1.0], [0.0, 0.0, 0.25]]]))
    torch.testing.assert_close(calibrate_discrepancy(maps[0] + 3.0), out[0])  # a constant offset is removed
    assert torch.equal(calibrate_discrepancy(torch.zeros(2, 4, 4)), torch.zeros(2, 4, 4))


def test_bad_input_errors_and_mode_restored() -> None:
    model = plain_stack()
    model.train()
    x = torch.rand(2, 1, 28, 28)
    with pytest.raises(ValueError, match="Valid names"):
        discrepancy_maps(model, x, "features.8", 0)
    with pytest.raises(ValueError, match="channel must be in"):
        discrepancy_maps(model, x, "8", 8)
    with pytest.raises(ValueError, match="locations must"):
        discrepancy_maps(model, x, "8", 0, locations=torch.tensor([[0, 0], [5, 0]]))
    with pytest.raises(ValueError, match="locations must have shape"):
        discrepancy_maps(model, x, "8", 0, locations=torch.tensor([[0, 0]]))
    with pytest.raises(ValueError, match="patch_size"):
        discrepancy_maps(model, x, "8", 0, patch_size=29)
    with pytest.raises(ValueError, match="stride"):
        discrepancy_maps(model, x, "8", 0, stride=0)
    with pytest.raises(ValueError, match="fill"):
        discrepancy_maps(model, x, "8", 0, fill=2.0)
    with pytest.raises(ValueError, match="divide by 255"):
        discrepancy_maps(model, x * 255, "8", 0)
    with pytest.raises(ValueError, match="threshold"):
        empirical_receptive_field(model, x, "8", 0, torch.zeros(2, 2, dtype=torch.long), threshold=0.0)
    with pytest.raises(ValueError, match="Valid names"):
        theoretical_receptive_field(model, "conv9")
    with pytest.raises(ValueError, match="location must lie"):
        gradient_receptive_field(model, "8", (5, 0), (1, 28, 28))
    assert model.training
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def _box(top, left, bottom, right, size=(10, 10)):
    m = torch.zeros(size, dtype=torch.bool)
    m[top:bottom, left:right] = True
    return m


def test_field_agreement_of_a_support_that_fills_its_box():
    a = field_agreement(_box(2, 2, 8, 8), _box(2, 2, 8, 8))
    assert a == FieldAgreement(outside=0, coverage=1.0, same_extent=True) and a.consistent


def test_field_agreement_tolerates_pixels_the_gradient_never_reached():
    grad = _box(2, 2, 8, 8)
    grad[3:5, 6:8] = False  # hidden by ReLUs that stayed off (a trained AlexNet at full scale)
    a = field_agreement(grad, _box(2, 2, 8, 8))
    assert a.outside == 0 and a.coverage == pytest.approx(32 / 36) and a.same_extent and a.consistent


def test_field_agreement_fails_a_geometry_that_is_too_small_or_too_large():
    too_small = field_agreement(_box(1, 2, 8, 8), _box(2, 2, 8, 8))  # the gradient reaches a row outside the box
    assert too_small.outside == 6 and not too_small.consistent
    too_large = field_agreement(_box(3, 3, 7, 7), _box(2, 2, 8, 8))  # never reaches the box's edges
    assert too_large.outside == 0 and not too_large.same_extent and not too_large.consistent
    assert not field_agreement(torch.zeros(10, 10, dtype=torch.bool), _box(2, 2, 8, 8)).consistent


def test_field_agreement_refuses_masks_it_cannot_compare():
    with pytest.raises(ValueError, match="bool"):
        field_agreement(_box(2, 2, 8, 8).float(), _box(2, 2, 8, 8))
    with pytest.raises(ValueError, match="one shape"):
        field_agreement(_box(2, 2, 8, 8), _box(2, 2, 8, 8, size=(12, 12)))
    with pytest.raises(ValueError, match="empty"):
        field_agreement(_box(2, 2, 8, 8), torch.zeros(10, 10, dtype=torch.bool))
