"""advinterp_lib.consistency.activations: streamed top q of real and adversarial images
equals a full sort of the activation table, with the right concepts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from advinterp_lib.consistency.activations import concept_top_activations
from advinterp_lib.interpret.topk import merge_top_activations, top_count


class TableModel(nn.Module):
    """Layer "feat" outputs its input: the activation table is the images."""

    def __init__(self) -> None:
        super().__init__()
        self.feat = nn.Identity()
        self.last_conv = "feat"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.feat(x).flatten(1)


def table(n: int, c: int = 5, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 17, (n, c, 3, 3), generator=g).float() / 16  # ties on purpose


def full_sort_top(images: torch.Tensor, k: int) -> np.ndarray:
    resp = images.flatten(2).amax(2).numpy().T  # [C, N]
    return np.argsort(-resp, axis=1, kind="stable")[:, :k]


@pytest.mark.parametrize("batch_size", [1, 64, 1000])
def test_top_one_percent_equals_full_sort(batch_size):
    real, adv = table(700, seed=1), table(1400, seed=2)
    g = torch.Generator().manual_seed(3)
    real_c = torch.randint(0, 10, (700,), generator=g)
    adv_c = torch.randint(0, 10, (1400,), generator=g)
    out = concept_top_activations(
        TableModel(), real, real_c, adv, adv_c, num_concepts=10, fraction=0.01, batch_size=batch_size
    )
    assert out.layer == "feat" and out.channels == 5
    assert out.real.k == top_count(700, 0.01) == 7 and out.adversarial.k == 14
    want_real, want_adv = full_sort_top(real, 7), full_sort_top(adv, 14)
    assert np.array_equal(out.real.indices.numpy(), want_real)
    assert np.array_equal(out.adversarial_positions().numpy(), want_adv)
    assert torch.equal(out.real_concepts, real_c[torch.from_numpy(want_real)])
    assert torch.equal(out.adversarial_concepts, adv_c[torch.from_numpy(want_adv)])
    # merging the two streams gives the top of the union (here: the top 7 of all 2100)
    union = torch.cat([real, adv])
    merged = merge_top_activations(out.real, out.adversarial, k=7)
    assert np.array_equal(merged.indices.numpy(), full_sort_top(union, 7))


def test_memory_is_per_neuron_not_per_image():
    small = concept_top_activations(
        TableModel(),
        table(100),
        torch.zeros(100, dtype=torch.long),
        table(100, seed=5),
        torch.zeros(100, dtype=torch.long),
        num_concepts=1,
        fraction=0.05,
    )
    assert small.real_concepts.shape == (5, 5) and small.adversarial_concepts.shape == (5, 5)


def test_bad_input_errors():
    m, x = TableModel(), table(50)
    c = torch.zeros(50, dtype=torch.long)
    with pytest.raises(ValueError, match="real_concepts"):
        concept_top_activations(m, x, torch.zeros(49, dtype=torch.long), x, c, num_concepts=2)
    with pytest.raises(ValueError, match="adversarial_concepts"):
        concept_top_activations(m, x, c, x, torch.full((50,), 2), num_concepts=2)
    with pytest.raises(TypeError, match="real_concepts"):
        concept_top_activations(m, x, c.float(), x, c, num_concepts=2)
    with pytest.raises(ValueError, match="num_concepts"):
        concept_top_activations(m, x, c, x, c, num_concepts=0)
    with pytest.raises(ValueError, match="fraction"):
        concept_top_activations(m, x, c, x, c, num_concepts=2, fraction=0.0)
    with pytest.raises(ValueError, match="nope"):
        concept_top_activations(m, x, c, x, c, num_concepts=2, layer="nope")
    with pytest.raises(ValueError):
        concept_top_activations(m, x * 2, c, x, c, num_concepts=2)
