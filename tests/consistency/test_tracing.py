"""advinterp_lib.consistency.tracing: a prediction's influential neurons.

Specifications: the vectorised prediction difference equals a brute-force loop that
zeroes one channel at a time with a forward hook; on a model whose tail after the layer
is linear (global average pooling + linear) gradient x activation equals the prediction
difference and a closed form; Captum's LayerGradientXActivation, LayerFeatureAblation
and LayerConductance agree where they apply; the rank correlations equal scipy's.
"""

from __future__ import annotations

import pytest
import torch
from scipy import stats
from torch import nn

from advinterp_lib.consistency.tracing import (
    ablation_curve,
    neuron_influence,
    rank_agreement,
)
from advinterp_lib.models import build
from advinterp_lib.models.layers import layer as named_layer
from advinterp_lib.stats import kendall_tau, spearman_correlation


class LinearTail(nn.Module):
    """conv (no bias) -> ReLU -> global average pool -> linear: the score is linear in the
    ReLU's output, and the ReLU's output of a black image is 0."""

    last_conv = "relu"

    def __init__(self, channels: int = 6, classes: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, channels, 3, bias=False)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(self.pool(self.relu(self.conv(x)))))


def images(n: int, size: int = 28, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(seed))


def zoo(name: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return build(name).eval()


def brute_force_drops(model, x, layer, target, contrast=None):
    """Zero channel c of ``layer`` with a forward hook, one channel at a time (a plain
    loop over channels; each pass runs the whole model on the images)."""
    module = named_layer(model, layer)
    rows = torch.arange(len(x))

    def score(logits):
        s = logits[rows, target]
        return s - logits[rows, contrast] if contrast is not None else s

    with torch.no_grad():
        base = model(x)
        drops, prob_drops, flips = [], [], []
        c, channels = 0, None
        while channels is None or c < channels:

            def hook(mod, args, out, c=c):
                nonlocal channels
                channels = out.shape[1]
                out = out.clone()
                out[:, c] = 0.0
                return out

            h = module.register_forward_hook(hook)
            try:
                ablated = model(x)
            finally:
                h.remove()
            drops.append(score(base) - score(ablated))
            prob_drops.append(base.softmax(1)[rows, target] - ablated.softmax(1)[rows, target])
            flips.append(ablated.argmax(1) != base.argmax(1))
            c += 1
    return torch.stack(drops, 1), torch.stack(prob_drops, 1), torch.stack(flips, 1)


# ------------------------------------------------------------ prediction difference


@pytest.mark.parametrize(
    "arch, layer", [("alexnet", None), ("vgg", None), ("resnet", None), ("alexnet", "features.7"), ("resnet", "layer2")]
)
def test_prediction_difference_equals_brute_force_hook_loop(arch, layer):
    model = zoo(arch)
    x = images(5)
    target = torch.tensor([0, 3, 9, 1, 1])
    inf = neuron_influence(model, x, target, layer=layer, batch_size=2)
    name = layer or model.last_conv
    drops, prob_drops, flips = brute_force_drops(model, x, name, target)
    assert inf.layer == name
    torch.testing.assert_close(inf.prediction_difference, drops, atol=2e-5, rtol=1e-4)
    torch.testing.assert_close(inf.probability_difference, prob_drops, atol=2e-6, rtol=1e-4)
    assert torch.equal(inf.flips, flips)
    torch.testing.assert_close(inf.score, model(x).detach()[torch.arange(5), target])


def test_contrast_margin_equals_brute_force():
    model = zoo("alexnet", seed=1)
    x = images(4, seed=1)
    target, contrast = torch.tensor([2, 2, 5, 7]), torch.tensor([0, 1, 2, 3])
    inf = neuron_influence(model, x, target, contrast=contrast)
    drops, _, _ = brute_force_drops(model, x, model.last_conv, target, contrast)
    torch.testing.assert_close(inf.prediction_difference, drops, atol=2e-5, rtol=1e-4)
    # gradients are linear: the margin's gradient x activation is the difference of the two classes'
    a = neuron_influence(model, x, target).gradient_x_activation
    b = neuron_influence(model, x, contrast).gradient_x_activation
    torch.testing.assert_close(inf.gradient_x_activation, a - b, atol=1e-5, rtol=1e-4)


def test_default_target_is_the_prediction_and_batching_does_not_matter():
    model = zoo("vgg", seed=2)
    x = images(7, seed=2)
    inf = neuron_influence(model, x)
    assert torch.equal(inf.target, model(x).argmax(1))
    assert torch.equal(inf.prediction, inf.target)
    other = neuron_influence(model, x, batch_size=3, neurons_per_pass=5)
    for name in ("prediction_difference", "probability_difference", "gradient_x_activation"):
        torch.testing.assert_close(getattr(other, name), getattr(inf, name), atol=1e-5, rtol=1e-5)
    assert torch.equal(other.flips, inf.flips)


# ------------------------------------------------------------ gradient x activation


def test_linear_tail_gradient_x_activation_is_exact_and_closed_form():
    torch.manual_seed(0)
    model = LinearTail().eval()
    x = images(6, size=10, seed=3)
    target = torch.tensor([0, 1, 2, 3, 0, 1])
    inf = neuron_influence(model, x, target)
    with torch.no_grad():
        mean_act = model.relu(model.conv(x)).mean((2, 3))  # [N, C]
    closed = model.fc.weight[target].detach() * mean_act  # w_{t,c} * mean_ij a_cij
    torch.testing.assert_close(inf.prediction_difference, closed, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(inf.gradient_x_activation, closed, atol=1e-6, rtol=1e-5)
    # removing every neuron leaves the bias: the drops sum to score - b_t (completeness)
    torch.testing.assert_close(
        inf.prediction_difference.sum(1), inf.score - model.fc.bias[target].detach(), atol=1e-5, rtol=1e-5
    )


def test_gradient_x_activation_matches_captum_layer_gradient_x_activation():
    from captum.attr import LayerGradientXActivation

    model = zoo("alexnet", seed=4)
    x = images(4, seed=4)
    target = torch.tensor([1, 4, 4, 8])
    inf = neuron_influence(model, x, target)
    captum = LayerGradientXActivation(model, named_layer(model, model.last_conv)).attribute(x, target=target)
    torch.testing.assert_close(inf.gradient_x_activation, captum.sum((2, 3)).detach(), atol=1e-6, rtol=1e-4)


def test_prediction_difference_matches_captum_layer_feature_ablation():
    from captum.attr import LayerFeatureAblation

    model = zoo("resnet", seed=5)
    x = images(3, seed=5)
    target = torch.tensor([3, 6, 9])
    inf = neuron_influence(model, x, target, layer="layer2")
    mask = torch.arange(32).view(1, 32, 1, 1)  # one group per channel
    captum = LayerFeatureAblation(model, named_layer(model, "layer2")).attribute(x, target=target, layer_mask=mask)
    torch.testing.assert_close(inf.prediction_difference, captum[:, :, 0, 0].detach(), atol=2e-5, rtol=1e-4)


def test_linear_tail_conductance_equals_gradient_x_activation():
    from captum.attr import LayerConductance

    torch.manual_seed(6)
    model = LinearTail().eval()
    x = images(4, size=9, seed=6)
    target = torch.tensor([3, 2, 1, 0])
    inf = neuron_influence(model, x, target)
    # black baseline: the ReLU's output scales with the input, so the path is a straight
    # line in activation space and the gradient along it is constant
    cond = LayerConductance(model, model.relu).attribute(
        x, baselines=0.0, target=target, n_steps=8, method="riemann_trapezoid"
    )
    torch.testing.assert_close(inf.gradient_x_activation, cond.sum((2, 3)).detach(), atol=1e-5, rtol=1e-4)


def test_nonlinear_tail_makes_the_two_methods_differ():
    model = zoo("alexnet", seed=7)
    x = images(4, seed=7)
    inf = neuron_influence(model, x)
    assert not torch.allclose(inf.prediction_difference, inf.gradient_x_activation, atol=1e-4)


# ------------------------------------------------------------------ ablation curve


def test_ablation_curve_equals_brute_force_cumulative_zeroing():
    model = zoo("vgg", seed=8)
    x = images(3, seed=8)
    inf = neuron_influence(model, x)
    order = inf.ranking()
    scores, preds = ablation_curve(model, x, order, steps=4, batch_size=2)
    assert scores.shape == (3, 5) and preds.shape == (3, 5)
    torch.testing.assert_close(scores[:, 0], inf.score, atol=1e-5, rtol=1e-5)
    first = inf.prediction_difference.gather(1, order[:, :1]).squeeze(1)
    torch.testing.assert_close(scores[:, 1], inf.score - first, atol=1e-5, rtol=1e-5)
    module = named_layer(model, model.last_conv)
    for i in range(3):

        def hook(mod, args, out, i=i):
            out = out.clone()
            out[:, order[i, :3]] = 0.0
            return out

        h = module.register_forward_hook(hook)
        try:
            with torch.no_grad():
                logits = model(x[i : i + 1])[0]
        finally:
            h.remove()
        assert float(scores[i, 3]) == pytest.approx(float(logits[inf.target[i]]), abs=1e-5)
        assert int(preds[i, 3]) == int(logits.argmax())


def test_ablation_curve_of_all_neurons_on_a_linear_tail_reaches_the_bias():
    torch.manual_seed(9)
    model = LinearTail().eval()
    x = images(2, size=8, seed=9)
    order = torch.stack([torch.randperm(6, generator=torch.Generator().manual_seed(i)) for i in range(2)])
    scores, _ = ablation_curve(model, x, order, target=1)
    torch.testing.assert_close(scores[:, -1], model.fc.bias[1].detach().expand(2), atol=1e-6, rtol=1e-6)


# ------------------------------------------------------------------ rank agreement


def test_rank_correlations_equal_scipy_including_ties():
    g = torch.Generator().manual_seed(10)
    a = torch.randint(0, 6, (20, 12), generator=g).double()  # ties on purpose
    b = a + torch.randint(-3, 4, (20, 12), generator=g).double()
    tau = kendall_tau(a, b)
    rho = spearman_correlation(a, b)
    for i in range(20):
        assert float(tau[i]) == pytest.approx(stats.kendalltau(a[i], b[i]).statistic, abs=1e-12)
        assert float(rho[i]) == pytest.approx(stats.spearmanr(a[i], b[i]).statistic, abs=1e-12)
    agreement = rank_agreement(a, b, k=3)
    torch.testing.assert_close(agreement.kendall, tau)
    summary = agreement.summary()
    assert summary["kendall_mean"] == pytest.approx(float(tau.mean()))


# ------------------------------------------------------------------ boundary


def test_bad_inputs_name_the_argument():
    model = zoo("alexnet")
    x = images(2)
    with pytest.raises(ValueError, match=r"features\.9.*Valid names"):
        neuron_influence(model, x, layer="features.99")
    with pytest.raises(ValueError, match="target"):
        neuron_influence(model, x, torch.tensor([0, 10]))
    with pytest.raises(ValueError, match="contrast must differ"):
        neuron_influence(model, x, 3, contrast=3)
    with pytest.raises(ValueError, match="x must hold pixels"):
        neuron_influence(model, x * 255)
    with pytest.raises(ValueError, match="batch_size"):
        neuron_influence(model, x, batch_size=0)
    with pytest.raises(TypeError, match="model"):
        neuron_influence(lambda t: t, x)
    with pytest.raises(ValueError, match="last_conv"):
        neuron_influence(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.LazyLinear(3)), x)
    with pytest.raises(ValueError, match="repeat"):
        ablation_curve(model, x, torch.tensor([[1, 1], [0, 2]]))
    with pytest.raises(ValueError, match="channel indices"):
        ablation_curve(model, x, torch.tensor([[1, 64], [0, 2]]))
    with pytest.raises(ValueError, match="steps"):
        ablation_curve(model, x, torch.tensor([[1, 2], [0, 2]]), steps=3)
    with pytest.raises(ValueError, match="same shape"):
        rank_agreement(torch.zeros(2, 3), torch.zeros(2, 4))


def test_a_layer_inside_a_skip_connection_is_refused_and_the_model_is_left_clean():
    model = zoo("resnet").train()
    x = images(3)
    with pytest.raises(ValueError, match="skip connection"):
        neuron_influence(model, x, layer="layer3.0.relu1")
    assert model.training and all(m.training for m in model.modules())
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_input_unchanged_mode_restored_no_hooks_left():
    model = zoo("vgg").train()
    x = images(3)
    before = x.clone()
    neuron_influence(model, x)
    ablation_curve(model, x, torch.arange(64).expand(3, -1), steps=2)
    assert torch.equal(x, before)
    assert model.training
    assert not any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_cuda_and_returns_cpu_tensors():
    model = zoo("resnet").cuda()
    x = images(4)
    inf = neuron_influence(model, x)
    cpu = neuron_influence(zoo("resnet"), x)
    assert inf.prediction_difference.device.type == "cpu"
    torch.testing.assert_close(inf.prediction_difference, cpu.prediction_difference, atol=1e-3, rtol=1e-3)
