"""Chapter 5's tables and records (``studies.adversarial_examples``), checked against the
attacks called directly and against hand-built inputs."""

from __future__ import annotations

import pytest
import torch

from advinterp_lib.attacks import fgsm
from advinterp_lib.data import load
from advinterp_lib.studies import adversarial_examples as study


def test_least_likely_fgsm_is_one_targeted_step(make_toy_cnn) -> None:
    test = load("fashion-mnist", "test").subset(60, seed=0)
    model = make_toy_cnn(seed=2, num_classes=10, size=28).eval()
    x, y = test.images, test.labels
    success, fooled = study.least_likely_fgsm(model, x, y, eps=0.2)
    with torch.no_grad():
        targets = model(x).argmin(1)  # the least-likely class
        pred = model(fgsm(model, x, targets, eps=0.2, targeted=True)).argmax(1)
    assert success == pytest.approx(float((pred == targets).float().mean()))
    assert fooled == pytest.approx(float((pred != y).float().mean()))
    assert 0 < fooled  # the step moves some images: the test can tell a wrong direction


def test_tables_lay_out_the_numbers() -> None:
    linearity = {"vgg": [{"ratio": 1.004}, {"ratio": 1.5}], "resnet": [{"ratio": 0.9}, {"ratio": 2.0}]}
    lines = study.linearity_table(linearity, [0.001, 0.1]).splitlines()
    assert lines[0] == "| ε | vgg | resnet |" and lines[2] == "| 0.001 | 1.00 | 0.90 |" and len(lines) == 4
    lines = study.least_likely_table({"vgg": 0.25}, {"vgg": 0.5}, {"vgg": 0.755}).splitlines()
    assert lines[2] == "| vgg | 25.0% | 50.0% | 75.5% |"


def test_surface_record_reads_three_corners() -> None:
    surface = torch.arange(2 * 3 * 3, dtype=torch.float32).reshape(2, 3, 3)  # [images, along g, along g_perp]
    means, per_image = study.surface_record(surface, surface_range=0.2)
    assert per_image == {"at_x": [0.0, 9.0], "along_g": [6.0, 15.0], "along_g_perp": [2.0, 11.0]}
    assert means == {"images": 2, "loss_at_x_mean": 4.5, "loss_along_g_mean": 10.5, "loss_along_g_perp_mean": 6.5,
                     "range": 0.2}  # fmt: skip
    assert study.describe_surface(means) == (
        "Mean loss at $x$: 4.500; at $x + 0.2 g$: 10.500; at $x + 0.2 g^\\perp$: 6.500."
    )
    with pytest.raises(ValueError, match="images, eps1, eps2"):
        study.surface_record(surface[0], surface_range=0.2)
