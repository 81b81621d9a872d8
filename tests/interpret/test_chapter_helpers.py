"""The interpret helpers the chapters 1-3 call: neighbours in several spaces, class
frequencies of top images and the picks by purity, the receptive field by the cheapest
method, and the runner-up correlation of a map."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advinterp_lib.interpret import (
    TopActivations,
    class_frequencies,
    grad_cam,
    layer_receptive_field,
    live_channels,
    nearest_neighbours,
    neighbour_label_agreement,
    neighbours_in_spaces,
    pearson_correlation,
    receptive_field_from_gradient,
    runner_up_correlation,
    saliency,
    spread_by_purity,
    theoretical_receptive_field,
    top_two_classes,
)
from advinterp_lib.models.zoo import any_input_size, build


def _top(values: list[list[float]], indices: list[list[int]]) -> TopActivations:
    v, i = torch.tensor(values), torch.tensor(indices)
    return TopActivations(v, i, torch.zeros(*i.shape, 2, dtype=torch.long), "l", "max", 10, (2, 2))


# --- neighbours_in_spaces ---------------------------------------------------------------


def test_neighbours_in_spaces_equals_one_call_per_space() -> None:
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (40,), generator=g)
    spaces = {"a": torch.randn(40, 5, generator=g), "b": torch.randn(40, 2, generator=g)}
    queries = torch.tensor([0, 7, 13, 39])
    neighbours, agreement = neighbours_in_spaces(spaces, queries, labels, 4)
    assert list(neighbours) == list(agreement) == ["a", "b"]
    for name, vectors in spaces.items():
        idx, _ = nearest_neighbours(vectors[queries], vectors, 4, exclude=queries)
        assert torch.equal(neighbours[name], idx)
        assert agreement[name] == neighbour_label_agreement(idx, labels[queries], labels)
        assert not (neighbours[name] == queries[:, None]).any()  # never its own neighbour


def test_neighbours_in_spaces_closed_form_on_two_clusters() -> None:
    vectors = torch.tensor([[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]])
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    _, agreement = neighbours_in_spaces({"x": vectors}, torch.arange(6), labels, 2)
    assert agreement == {"x": 1.0}


@pytest.mark.parametrize(("spaces", "match"), [({}, "at least one"), ({"x": torch.zeros(5, 2)}, "one row per label")])
def test_neighbours_in_spaces_refuses_bad_spaces(spaces, match) -> None:
    with pytest.raises(ValueError, match=match):
        neighbours_in_spaces(spaces, torch.tensor([0]), torch.zeros(6, dtype=torch.long), 1)


# --- class_frequencies, live_channels, spread_by_purity -----------------------------


def test_class_frequencies_closed_form() -> None:
    labels = torch.tensor([0, 1, 1, 2, 2, 2])
    top = _top([[3.0, 2.0, 1.0], [5.0, 4.0, 0.0]], [[0, 1, 2], [3, 4, 5]])
    f = class_frequencies(top, labels, 3)
    assert f.dtype == torch.float64
    torch.testing.assert_close(f, torch.tensor([[1 / 3, 2 / 3, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64))
    assert live_channels(top).tolist() == [True, False]  # channel 1 is 0 on its last top image


@pytest.mark.parametrize(
    ("labels", "match"),
    [(torch.tensor([0.0, 1.0, 1.0]), "integer"), (torch.tensor([0, 1]), "only 2"), (torch.tensor([0, 1, 7]), "lie in")],
)
def test_class_frequencies_refuses_bad_labels(labels, match) -> None:
    with pytest.raises(ValueError, match=match):
        class_frequencies(_top([[1.0, 1.0]], [[0, 2]]), labels, 3)


def test_spread_by_purity_picks_the_ends_and_skips_dead_channels() -> None:
    # purities: 0.5, 1.0 (dead), 0.9, 0.7, 0.6 -> live order by purity: 2, 3, 4, 0
    frequencies = torch.tensor([[0.5, 0.5], [1.0, 0.0], [0.9, 0.1], [0.3, 0.7], [0.6, 0.4]], dtype=torch.float64)
    live = torch.tensor([True, False, True, True, True])
    assert spread_by_purity(frequencies, live, 2) == [2, 0]
    assert spread_by_purity(frequencies, live, 4) == [2, 3, 4, 0]
    assert spread_by_purity(frequencies, live, 1) == [2]


@pytest.mark.parametrize(
    ("live", "count", "match"),
    [(torch.tensor([True, True]), 1, "bool mask"), (torch.tensor([True, True, True]), 0, "count"),
     (torch.tensor([False, False, False]), 1, "no live")],
)  # fmt: skip
def test_spread_by_purity_refuses_bad_input(live, count, match) -> None:
    with pytest.raises(ValueError, match=match):
        spread_by_purity(torch.rand(3, 2), live, count)


# --- layer_receptive_field ----------------------------------------------------------------


def test_layer_receptive_field_walks_a_chain_and_measures_a_residual_net() -> None:
    torch.manual_seed(0)
    vgg = build("vgg")
    field, how = layer_receptive_field(vgg, "features.9", (1, 28, 28))
    assert how == "geometry walk" and field == theoretical_receptive_field(vgg, "features.9")
    resnet = build("resnet")
    field, how = layer_receptive_field(resnet, "layer1.0.relu2", (1, 28, 28))
    assert how == "gradient (28×28 input)"
    assert field == receptive_field_from_gradient(resnet, "layer1.0.relu2", (1, 28, 28))


def test_layer_receptive_field_takes_a_larger_image_for_the_resnet_and_restores_the_size_check() -> None:
    torch.manual_seed(0)
    resnet = build("resnet")
    layer = [name for name, m in resnet.named_modules() if isinstance(m, nn.ReLU)][-1]
    field, how = layer_receptive_field(resnet, layer, (1, 96, 96))
    assert how == "gradient (96×96 input)"
    with any_input_size(resnet):
        assert field == receptive_field_from_gradient(resnet, layer, (1, 96, 96))
    with pytest.raises(ValueError, match="expects images"):
        resnet(torch.rand(1, 1, 96, 96))  # the size check is back


# --- top_two_classes, runner_up_correlation -----------------------------------------------


class Linear(nn.Module):
    """logits = W x (a 1x2x2 image, 3 classes): the maps have closed forms."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 1)  # unused; gives the model a first convolution
        self.fc = nn.Linear(4, 3, bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0], [-1.0, 0.0, 0.0, 1.0]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


def test_top_two_classes_and_runner_up_correlation_closed_form() -> None:
    model = Linear().eval()
    x = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]], [[[0.0, 0.0], [0.0, 1.0]]]])
    first, second = top_two_classes(model, x)
    assert first.tolist() == [1, 0] and second.tolist() == [0, 1]
    rho = runner_up_correlation(saliency, model, x, (first, second))
    # saliency = |W_c|: rows 1 and 0 are reversed -> correlation -1 for both images
    torch.testing.assert_close(rho, torch.tensor([-1.0, -1.0], dtype=torch.float64))


def test_runner_up_correlation_passes_params_and_equals_pearson() -> None:
    torch.manual_seed(0)
    model = build("alexnet").eval()
    x = torch.rand(3, 1, 28, 28)
    classes = top_two_classes(model, x)
    expected = pearson_correlation(
        grad_cam(model, x, classes[0], relu=False), grad_cam(model, x, classes[1], relu=False)
    )
    torch.testing.assert_close(runner_up_correlation(grad_cam, model, x, classes, relu=False), expected, equal_nan=True)
    with pytest.raises(ValueError, match="classes"):
        runner_up_correlation(saliency, model, x, (classes[0], classes[1][:2]))
