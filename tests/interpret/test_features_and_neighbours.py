"""Filters, feature maps and nearest neighbours (chapter 1's tools)."""

import pytest
import torch
from torch import nn

from advinterp_lib.interpret import (
    embed,
    feature_maps,
    first_conv_weights,
    nearest_neighbours,
    neighbour_label_agreement,
)


def _net():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 6, 3, stride=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(6 * 13 * 13, 5),
        nn.ReLU(),
        nn.Linear(5, 3),
    )


def test_first_conv_weights_is_a_copy_of_the_first_conv():
    net = _net()
    name, w = first_conv_weights(net)
    assert name == "0" and w.shape == (4, 1, 3, 3)
    assert torch.equal(w, net[0].weight.detach())
    w.zero_()
    assert net[0].weight.abs().sum() > 0
    with pytest.raises(ValueError, match="no nn.Conv2d"):
        first_conv_weights(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)))


def test_feature_maps_equal_a_manual_forward_and_restore_mode():
    net = _net().train()
    x = torch.rand(2, 1, 28, 28)
    maps = feature_maps(net, x, "3")
    assert torch.allclose(maps, net[:4](x))
    assert net.training  # mode restored
    with pytest.raises(ValueError, match="not a feature map"):
        feature_maps(net, x, "5")
    with pytest.raises(ValueError, match="not found"):
        feature_maps(net, x, "features.9")
    with pytest.raises(ValueError, match="0..255"):
        feature_maps(net, x * 255, "3")


def test_embed_default_is_the_classifier_input():
    net = _net().eval()
    x = torch.rand(7, 1, 28, 28)
    expected = net[:7](x)  # everything before the last Linear
    assert torch.allclose(embed(net, x, batch_size=3), expected, atol=1e-6)
    assert torch.allclose(embed(net, x, layer="1"), net[:2](x).flatten(1))


def test_nearest_neighbours_equal_a_brute_force_sort():
    g = torch.Generator().manual_seed(1)
    gallery = torch.randn(50, 7, generator=g)
    queries = torch.randn(9, 7, generator=g)
    idx, dist = nearest_neighbours(queries, gallery, 4, chunk_size=4)
    for q in range(9):
        d = ((gallery - queries[q]) ** 2).sum(1).sqrt()
        order = d.argsort()[:4]
        assert idx[q].tolist() == order.tolist()
        assert torch.allclose(dist[q], d[order], atol=1e-5)


def test_nearest_neighbours_excludes_the_query_itself():
    gallery = torch.randn(20, 3)
    chosen = torch.tensor([3, 7, 11])
    idx, dist = nearest_neighbours(gallery[chosen], gallery, 2, exclude=chosen)
    assert not (idx == chosen[:, None]).any()
    assert (dist > 0).all()
    idx_self, _ = nearest_neighbours(gallery[chosen], gallery, 1)
    assert idx_self[:, 0].tolist() == chosen.tolist()  # without exclude, each finds itself


def test_nearest_neighbours_bad_input():
    with pytest.raises(ValueError, match="same width"):
        nearest_neighbours(torch.randn(2, 3), torch.randn(5, 4), 1)
    with pytest.raises(ValueError, match="k must be"):
        nearest_neighbours(torch.randn(2, 3), torch.randn(5, 3), 6)
    with pytest.raises(ValueError, match="exclude"):
        nearest_neighbours(torch.randn(2, 3), torch.randn(5, 3), 1, exclude=torch.tensor([0]))


def test_label_agreement():
    neighbours = torch.tensor([[0, 1], [2, 3]])
    gallery_labels = torch.tensor([1, 1, 0, 2])
    assert neighbour_label_agreement(neighbours, torch.tensor([1, 0]), gallery_labels) == 0.75
