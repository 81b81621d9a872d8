"""Chapter 6's bookkeeping (``studies.deepfool_study``): each function gives what the
chapter's cells computed inline before, checked against a closed form (Algorithm 1 on an
affine score takes one step of length |f(x)| / ||w||), a brute-force count, or the
attack's result read directly."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from advinterp_lib.attacks import deepfool, deepfool_binary
from advinterp_lib.attacks.deepfool import DeepFoolBinaryResult
from advinterp_lib.attacks.two_class import two_class_score
from advinterp_lib.studies import deepfool_study as study


def _affine(w: torch.Tensor, b: float):
    return lambda v: v.flatten(1) @ w + b


# ------------------------------------------------------------------ sampling and timing


def test_two_class_sample_draws_distinct_images_of_the_two_classes() -> None:
    # each image holds its own index, so a drawn image says where it came from
    n = 50
    images = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1)
    labels = torch.arange(n) % 5
    x, y = study.two_class_sample(images, labels, [3, 1], 8, seed=4)
    drawn = x.flatten().long()
    assert x.shape == (8, 1, 1, 1) and y.dtype == torch.int64
    assert len(set(drawn.tolist())) == 8  # without replacement
    assert torch.equal(y, (labels[drawn] == 1).long())  # 1 for classes[1]
    assert set(labels[drawn].tolist()) <= {1, 3}
    # the first `size` of a permutation seeded with `seed`, over the classes' images in data-set order
    keep = torch.nonzero((labels == 3) | (labels == 1)).flatten()
    perm = torch.randperm(len(keep), generator=torch.Generator().manual_seed(4))[:8]
    assert torch.equal(drawn, keep[perm])
    # all of them: a permutation of the two classes' images; the global generator is untouched
    state = torch.get_rng_state()
    everything, _ = study.two_class_sample(images, labels, [3, 1], 20, seed=0)
    assert torch.equal(torch.get_rng_state(), state)
    assert sorted(everything.flatten().long().tolist()) == keep.tolist()
    assert not torch.equal(study.two_class_sample(images, labels, [3, 1], 8, seed=5)[0], x)
    with pytest.raises(ValueError, match="have 20 images, cannot draw 21"):
        study.two_class_sample(images, labels, [3, 1], 21, seed=0)
    with pytest.raises(ValueError, match="size must be >= 1"):
        study.two_class_sample(images, labels, [3, 1], 0, seed=0)
    with pytest.raises(TypeError, match="size must be an int"):
        study.two_class_sample(images, labels, [3, 1], 2.0, seed=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="two distinct class"):
        study.two_class_sample(images, labels, [3, 3], 2, seed=0)


# ------------------------------------------------------------------ Algorithm 1's results


def test_iteration_counts_and_longest_path_match_a_count() -> None:
    steps = torch.tensor([2, 3, 1, 3, 2, 2, 0])
    assert study.iteration_counts(steps) == dict(sorted(Counter(steps.tolist()).items()))
    assert list(study.iteration_counts(steps)) == [0, 1, 2, 3]
    assert study.longest_path(steps) == 1  # the first of the two with 3 steps
    assert study.longest_path(torch.tensor([4])) == 0
    for bad in (torch.tensor([1.0, 2.0]), torch.tensor([True]), torch.zeros(2, 2, dtype=torch.long),
                torch.tensor([], dtype=torch.long), [1, 2]):  # fmt: skip
        with pytest.raises(ValueError, match="iterations"):
            study.iteration_counts(bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="iterations"):
            study.longest_path(bad)  # type: ignore[arg-type]


def test_binary_numbers_on_an_affine_score_are_the_closed_form() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(12, 1, 4, 4, generator=g)
    w, b, overshoot = torch.randn(16, generator=g), 0.3, 0.02
    f = _affine(w, b)
    result = deepfool_binary(f, x, overshoot=overshoot, max_iter=10)
    numbers = study.binary_numbers(result)
    # one step onto the hyperplane, times 1 + overshoot: ||r|| = (1 + eta) |f(x)| / ||w||
    expected_l2 = ((1 + overshoot) * f(x).abs() / w.norm()).mean()
    assert numbers["binary_mean_l2"] == pytest.approx(float(expected_l2), rel=1e-5)
    assert numbers["binary_success"] == 1.0
    assert numbers["binary_mean_iterations"] == 1.0 and numbers["binary_max_iterations"] == 1
    assert isinstance(numbers["binary_max_iterations"], int)
    assert list(numbers) == ["binary_success", "binary_mean_iterations", "binary_mean_l2", "binary_max_iterations"]
    assert study.describe_binary(result) == "success 100.0%; steps per image: {1: 12}"


def test_binary_numbers_on_a_network_read_the_result(make_toy_cnn) -> None:
    model = make_toy_cnn(seed=1, num_classes=2).eval()
    x = torch.rand(10, 1, 12, 12, generator=torch.Generator().manual_seed(2))
    result = deepfool_binary(two_class_score(model), x, overshoot=0.02, max_iter=3)
    numbers = study.binary_numbers(result)
    norms = [float(result.perturbation[i].norm()) for i in range(len(x))]
    assert numbers["binary_mean_l2"] == pytest.approx(sum(norms) / len(norms), rel=1e-5)
    assert numbers["binary_success"] == pytest.approx(sum(result.success.tolist()) / len(x))
    assert numbers["binary_mean_iterations"] == pytest.approx(sum(result.iterations.tolist()) / len(x))
    assert numbers["binary_max_iterations"] == max(result.iterations.tolist())
    share = sum(result.success.tolist()) / len(x)
    assert study.describe_binary(result).startswith(f"success {share:.1%}; steps per image: {{")
    empty = DeepFoolBinaryResult(
        x[:0], x[:0], result.iterations[:0], result.success[:0], x[None, :0], torch.zeros(1, 0)
    )
    for fn in (study.binary_numbers, study.describe_binary):
        with pytest.raises(ValueError, match="DeepFoolBinaryResult"):
            fn(deepfool(model, x, max_iter=1))  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="no images"):
            fn(empty)


# ------------------------------------------------------------------ the multiclass attack


def test_deepfool_titles_read_the_result(toy_cnn) -> None:
    x = torch.rand(6, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    result = deepfool(toy_cnn.eval(), x, max_iter=5)
    names = ["T-shirt", "Trouser", "Pullover", "Dress"]
    show = torch.tensor([4, 0, 2])
    titles = study.deepfool_titles(result, names, show)
    assert list(titles) == ["clean_titles", "adversarial_titles", "perturbation_titles"]
    for j, i in enumerate(show.tolist()):
        assert titles["clean_titles"][j] == names[int(result.label[i])]
        assert titles["adversarial_titles"][j] == "→ " + names[int(result.adversarial_label[i])]
        assert titles["perturbation_titles"][j] == f"‖r‖={float(result.perturbation[i].norm()):.2f}"
    assert study.deepfool_titles(result, names, [4, 0, 2]) == titles
    assert study.deepfool_titles(result, names, []) == {k: [] for k in titles}
    with pytest.raises(ValueError, match="DeepFoolResult"):
        study.deepfool_titles("result", names, show)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"show: indices must lie in \[-6, 6\)"):
        study.deepfool_titles(result, names, [0, 6])
    with pytest.raises(ValueError, match="names: 1 names"):
        study.deepfool_titles(result, ["one"], show)


def test_fgsm_comparison_table_rows() -> None:
    p = {
        "deepfool_success": 0.995,
        "deepfool_mean_iterations": 2.26,
        "deepfool_images_per_second": 812.4,
        "deepfool_rho": 0.1,
        "fgsm_mean_minimal_eps": 0.0625,
        "fgsm_rho": 0.25,
        "images": 3,  # other keys are ignored
    }
    table = study.fgsm_comparison_table({"alexnet": p, "resnet": {**p, "fgsm_rho": 0.3}})
    lines = table.split("\n")
    assert lines[0] == (
        "| model | DeepFool success | mean steps | images/s | ρ̂ DeepFool | FGSM minimal ε (mean) | ρ̂ FGSM "
        "| FGSM / DeepFool |"
    )
    assert lines[2] == "| alexnet | 99.5% | 2.3 | 812 | 0.100 | 0.062 | 0.250 | 2.5× |"
    assert lines[3] == "| resnet | 99.5% | 2.3 | 812 | 0.100 | 0.062 | 0.300 | 3.0× |"
    assert len(lines) == 4
    with pytest.raises(ValueError, match="no models"):
        study.fgsm_comparison_table({})
    with pytest.raises(ValueError, match=r"per_model\['vgg'\]: missing \['fgsm_rho'\]"):
        study.fgsm_comparison_table({"vgg": {k: v for k, v in p.items() if k != "fgsm_rho"}})
