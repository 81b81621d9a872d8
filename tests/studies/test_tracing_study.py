"""Chapter 13's bookkeeping (``studies.tracing``): each function gives what the chapter's
cells computed inline before, checked against the tracing functions called directly, on
real Fashion-MNIST test images, a small CNN trained for a few steps and an adversarial set
in the stored format."""

from __future__ import annotations

import pytest
import torch

from advinterp_lib.consistency import concept_distribution, concept_top_activations, consistency_scores
from advinterp_lib.consistency.tracing import (
    describe_removal,
    neuron_influence,
    random_orders,
    rank_agreement,
    restoration,
    trace_adversarial,
    traced_neurons,
)
from advinterp_lib.data import AdversarialSet, load
from advinterp_lib.studies import tracing as study


@pytest.fixture(scope="module")
def setting():
    """120 real test images, a ToyCNN for 10 classes trained 30 steps on them (so it is
    right on many and wrong on some), and 2 perturbed copies of each of the first 40."""
    from tests.conftest import trained_toy_cnn

    source = load("fashion-mnist", "test").subset(120, seed=3)
    model = trained_toy_cnn(source.images, source.labels, steps=30)
    g = torch.Generator().manual_seed(1)
    idx = torch.arange(40).repeat_interleave(2)
    noisy = (source.images[idx] + 0.3 * torch.randn(source.images[idx].shape, generator=g)).clamp(0, 1)
    shard = {
        "images": (noisy * 255).round().to(torch.uint8),
        "source_index": idx,
        "label": source.labels[idx],
        "target": (source.labels[idx] + 1) % 10,
    }
    advset = AdversarialSet([shard], k=2, num_sources=40)
    a = torch.eye(10, dtype=torch.float64) * 0.5 + 0.5 / 10
    return source, model, advset, a


def test_neuron_consistency_is_the_chapters_three_calls(setting) -> None:
    source, model, advset, a = setting
    got = study.neuron_consistency(model, source, advset, a, fraction=0.1)
    acts = concept_top_activations(model, source.images, source.labels, advset.images, advset.labels,
                                   num_concepts=10, fraction=0.1)  # fmt: skip
    assert torch.equal(got.top, acts.real.indices)
    assert torch.equal(got.consis, consistency_scores(concept_distribution(acts.real_concepts, 10), a))
    assert torch.equal(got.consis_adv, consistency_scores(concept_distribution(acts.adversarial_concepts, 10), a))


def test_first_cases_and_fooling_images(setting) -> None:
    source, model, advset, _ = setting
    labels = torch.tensor([0, 1, 2, 3, 4])
    preds = {"standard": torch.tensor([1, 1, 2, 0, 4]), "-Adv": torch.tensor([0, 0, 2, 3, 4])}
    assert study.first_cases(preds, labels) == {"correct": 2, "error": 0}
    with pytest.raises(ValueError, match="'standard' entry"):
        study.first_cases({"-Adv": labels}, labels)
    with pytest.raises(ValueError, match="none the standard model gets wrong"):
        study.first_cases({"standard": labels}, labels)
    fooled, predicted = study.fooling_images(model, source, advset)
    with torch.no_grad():
        want_pred = model(advset.images).argmax(1)
        right_on_source = model(source.images).argmax(1)[advset.source_index] == advset.labels
    assert torch.equal(predicted, want_pred)
    assert torch.equal(fooled, (want_pred != advset.labels) & right_on_source)
    assert 0 < int(fooled.sum()) < len(advset)  # some but not all: the test can tell


def test_trace_cases_record_and_table(setting) -> None:
    source, model, advset, a = setting
    fooled, _ = study.fooling_images(model, source, advset)
    i = int(fooled.nonzero()[0])
    x_adv, y_adv = advset.images[i : i + 1], advset.labels[i : i + 1]
    cases = study.trace_cases(model, source.images, source.labels, {"correct": 5, "error": 7}, x_adv, y_adv)
    assert list(cases) == ["correct", "error", "adversarial"]
    image, true, inf = cases["error"]
    assert torch.equal(image, source.images[7]) and true == int(source.labels[7])
    assert torch.equal(inf.prediction_difference, neuron_influence(model, source.images[7:8]).prediction_difference)
    adv = trace_adversarial(model, x_adv, y_adv)
    assert cases["adversarial"][2].contrast is not None  # fooled: the margin over the true class
    assert torch.equal(cases["adversarial"][2].prediction_difference, adv.prediction_difference)
    neurons = study.neuron_consistency(model, source, advset, a, fraction=0.1)
    names = list(source.class_names)
    record = study.case_record(adv, int(y_adv), neurons, source.labels, names, k=3)
    want = traced_neurons(adv, neurons.top, source.labels, neurons.consis, neurons.consis_adv, k=3)
    assert record == {"true": names[int(y_adv)], "predicted": names[int(adv.prediction[0])], **want}
    keyed = {("standard", c): cases[c] for c in cases}
    records = {f"standard/{c}": study.case_record(cases[c][2], cases[c][1], neurons, source.labels, names, k=3)
               for c in cases}  # fmt: skip
    table = study.cases_table(keyed, records, {"standard": "toy"}, names, top_k=3).splitlines()
    assert len(table) == 2 + 3 and "top-3 neurons' top images" in table[0]
    traced = f"{names[int(adv.target[0])]} − {names[int(y_adv)]}"
    assert table[-1].startswith(f"| toy | adversarial | {names[int(y_adv)]} | {record['predicted']} | {traced} |")


def test_adversarial_removal_is_the_chapters_sequence(setting) -> None:
    source, model, advset, _ = setting
    fooled, predicted = study.fooling_images(model, source, advset)
    idx = fooled.nonzero().flatten()
    x, adv_class, true = advset.images[idx], predicted[idx], advset.labels[idx]
    got = study.adversarial_removal(model, x, adv_class, true, steps=4, generator=torch.Generator().manual_seed(5),
                                    top_k=3, batch_size=7)  # fmt: skip
    g = torch.Generator().manual_seed(5)
    inf = neuron_influence(model, x, adv_class, contrast=true, batch_size=50)
    share = restoration(model, x, inf.ranking(), adv_class, true, steps=4).share
    randomly = restoration(model, x, random_orders(len(x), inf.num_neurons, g), adv_class, true, steps=4).share
    assert got.n_images == len(idx)
    assert torch.equal(got.restored_share, share) and torch.equal(got.restored_random, randomly)
    assert got.single_flip == inf.flips.any(1).float().mean().item()
    assert got.agreement == rank_agreement(inf.prediction_difference, inf.gradient_x_activation, k=3).summary()
    rec = got.record()
    assert rec["restored_share"] == share.tolist() and rec["n_images"] == len(idx)
    assert set(rec) == {"n_images", "restored_share", "restored_share_random", "single_neuron_flip_share", "agreement"}


def test_agreement_table_and_removal_text() -> None:
    summary = {"vgg": {"spearman_mean": 0.9981, "kendall_mean": 0.97, "top_k_overlap_mean": 0.955,
                       "same_top_neuron": 0.96, "max_abs_gap": 0.1134, "seconds": 1.26}}  # fmt: skip
    table = study.agreement_table(summary, top_k=4).splitlines()
    assert "top-4 overlap" in table[0] and table[2] == "| vgg | 0.998 | 0.970 | 0.95 | 96% | 0.11 | 1.3 |"
    curves = {"prediction difference": torch.tensor([5.0, 3.0, 1.0]), "gradient × activation": torch.tensor(
        [5.0, 3.1, 1.0]), "random order": torch.tensor([5.0, 4.8, 4.7])}  # fmt: skip
    flipped = {k: torch.tensor([0.0, 0.25, 0.5]) for k in curves}
    kw = {"top_k": 1, "neurons": 8, "profile": "quick", "n_images": 1500, "arch": "vgg"}
    text = study.removal_text(curves, flipped, **kw, full=None, missing="NOT RUN")
    this = describe_removal({k: v.tolist() for k, v in curves.items()}, {k: v.tolist() for k, v in flipped.items()},
                            top_k=1, neurons=8)  # fmt: skip
    assert text == f"**In this run** (`quick` profile, 1,500 test images, vgg): {this}\n\nNOT RUN"
    full = {"numbers": {"n_agreement": 10000, "explain_arch": "resnet", "top_k": 1, "num_neurons": 8,
                        "ablation_curve": {k: v.tolist() for k, v in curves.items()},
                        "flipped_share": {k: v.tolist() for k, v in flipped.items()}}}  # fmt: skip
    text = study.removal_text(curves, flipped, **kw, full=full, missing="NOT RUN")
    assert text.endswith(f"**In the committed `full` run** (10,000 test images, resnet): {this}")
