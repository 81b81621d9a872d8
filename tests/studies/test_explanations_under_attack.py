"""Chapter 14's pipeline (studies.explanations_under_attack) on a tiny real CNN.

Each step is checked against a twin: the chapter's notebook code as it was before it
moved into the library, run on the same inputs, must give the same tensors and numbers
(the chapter's results must not change). Closed forms where there are some (the
perturbation sizes, the filters at their extreme cut-offs), the tables' content, and
bad input.
"""

from __future__ import annotations

import json

import pytest
import torch

from advinterp_lib.attacks import deepfool, fgsm, pgd
from advinterp_lib.attacks.explanation import grad_cam_attack, grad_cam_distribution, map_shift
from advinterp_lib.data import AdversarialSet
from advinterp_lib.interpret import grad_cam, guided_backprop, occlusion
from advinterp_lib.interpret.agreement import map_agreement
from advinterp_lib.interpret.fourier import (
    average_amplitude,
    high_pass,
    low_frequency_energy,
    low_pass,
    mean_amplitude_spectrum,
    radial_profile,
    scramble_phase,
    swap_amplitude_phase,
)
from advinterp_lib.stats import bootstrap_mean
from advinterp_lib.studies import explanations_under_attack as study

N, EPS, SEED = 16, 0.3, 0
ATTACK = dict(eps=EPS, pgd_step=0.1, pgd_steps=4, deepfool_overshoot=0.02, deepfool_candidates=4)
WINDOW = STRIDE = 6
AGREE = dict(fraction=0.1, num_samples=50, seed=SEED)


def _same(a, b):
    """Equal JSON-ready records (NaN equal to NaN: a constant map has no rank correlation)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _predict(model, images):
    """The notebook's old helper."""
    with torch.no_grad():
        return model(images).argmax(1)


@pytest.fixture
def setup(make_toy_cnn):
    """An eval-mode ToyCNN with clear logit margins, 16 images, labels, an 'ensemble'
    set and the noise, and the model attacked."""
    model = make_toy_cnn(seed=3).eval()
    with torch.no_grad():
        model.classifier[2].weight.mul_(10)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(N, 1, 12, 12, generator=g)
    y = torch.randint(0, 4, (N,), generator=g)
    ensemble = (x + 0.2 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    noise = study.sign_noise(x, EPS, seed=SEED)
    attacked = study.attack_images(model, x, y, ensemble=ensemble, noise=noise, **ATTACK)
    return model, x, y, ensemble, noise, attacked


# --- selecting the images ------------------------------------------------------------


def _advset(order):
    n, k = 3, 2
    source = torch.tensor(order)
    images = torch.arange(n * k, dtype=torch.uint8).view(-1, 1, 1, 1).expand(-1, 1, 2, 2).contiguous()
    shard = {"images": images, "source_index": source, "label": torch.zeros(n * k, dtype=torch.int64),
             "target": torch.zeros(n * k, dtype=torch.int64)}  # fmt: skip
    return AdversarialSet([shard], k=k, num_sources=n)


def test_first_target_images_takes_each_sources_first_row():
    advset = _advset([0, 0, 1, 1, 2, 2])
    out = study.first_target_images(advset, 2, 2)
    assert out.shape == (2, 1, 2, 2) and out.dtype == torch.float32
    torch.testing.assert_close(out[:, 0, 0, 0], torch.tensor([0.0, 2.0]) / 255)


@pytest.mark.parametrize(
    ("order", "n", "k", "error", "match"),
    [
        ([0, 1, 0, 1, 2, 2], 2, 2, ValueError, "ordered"),
        ([0, 0, 1, 1, 2, 2], 2, 3, ValueError, "targets per source"),
        ([0, 0, 1, 1, 2, 2], 4, 2, ValueError, "n must be <= 3"),
        ([0, 0, 1, 1, 2, 2], 0, 2, ValueError, "n must be >= 1"),
        ([0, 0, 1, 1, 2, 2], 1.0, 2, TypeError, "n must be an int"),
    ],
)
def test_first_target_images_refuses_bad_input(order, n, k, error, match):
    with pytest.raises(error, match=match):
        study.first_target_images(_advset(order), n, k)


# --- the attacks ----------------------------------------------------------------------


def test_sign_noise_is_the_notebooks_and_moves_every_pixel_by_eps_before_the_clamp():
    x = torch.rand(5, 1, 6, 6, generator=torch.Generator().manual_seed(2))
    generator = torch.Generator().manual_seed(7)
    old = (x + 0.1 * (2 * torch.randint(0, 2, x.shape, generator=generator) - 1)).clamp(0, 1)
    new = study.sign_noise(x, 0.1, seed=7)
    assert torch.equal(new, old)
    inside = (x > 0.1) & (x < 0.9)
    torch.testing.assert_close((new - x).abs()[inside], torch.full_like(x[inside], 0.1))
    assert not torch.equal(new, study.sign_noise(x, 0.1, seed=8))


@pytest.mark.parametrize(
    ("x", "eps", "error"),
    [(torch.rand(2, 1, 4, 4) + 1, 0.1, ValueError), (torch.rand(2, 1, 4, 4), 1.5, ValueError), ("x", 0.1, TypeError)],
)
def test_sign_noise_refuses_bad_input(x, eps, error):
    with pytest.raises(error):
        study.sign_noise(x, eps, seed=0)


def test_attack_images_is_the_notebooks_loop(setup):
    model, x, y, ensemble, noise, a = setup
    old = {
        "FGSM": fgsm(model, x, y, eps=EPS),
        "PGD": pgd(model, x, y, eps=EPS, step_size=0.1, steps=4),
        "DeepFool": deepfool(model, x, overshoot=0.02, num_candidates=4).x_adv,
        "ensemble": ensemble,
        "noise": noise,
    }
    assert list(a.images) == list(study.SETTINGS)
    for s in study.SETTINGS:
        assert torch.equal(a.images[s], old[s]), s
        assert torch.equal(a.prediction[s], _predict(model, old[s])), s
    assert torch.equal(a.clean_prediction, _predict(model, x)) and a.seconds > 0
    accuracy = a.accuracy()
    assert accuracy["clean"] == float((_predict(model, x) == y).float().mean())
    assert accuracy["PGD"] == float((_predict(model, old["PGD"]) == y).float().mean())
    assert torch.equal(a.fooled("FGSM"), _predict(model, old["FGSM"]) != y)
    assert int(a.fooled("PGD").sum()) >= study.MIN_FOOLED  # the tests below need fooled images


def test_perturbation_size_closed_form(setup):
    _, x, _, _, _, a = setup
    size = a.perturbation_size()
    assert size["FGSM"]["linf"] <= EPS + 1e-6 and size["PGD"]["linf"] <= EPS + 1e-6
    delta = a.images["DeepFool"] - x
    assert size["DeepFool"]["l2"] == pytest.approx(float(delta.flatten(1).norm(dim=1).mean()))
    same = study.AttackedImages(x, a.y, {"noise": x.clone()}, a.clean_prediction, {}, 0.0)
    assert same.perturbation_size() == {"noise": {"linf": 0.0, "l2": 0.0}}


def test_attack_images_refuses_bad_input(setup):
    model, x, y, ensemble, noise, _ = setup
    with pytest.raises(ValueError, match="ensemble must be a tensor of x's shape"):
        study.attack_images(model, x, y, ensemble=ensemble[:3], noise=noise, **ATTACK)
    with pytest.raises(ValueError, match="noise"):
        study.attack_images(model, x, y, ensemble=ensemble, noise=None, **ATTACK)
    with pytest.raises(ValueError, match="y must have shape"):
        study.attack_images(model, x, y[:3], ensemble=ensemble, noise=noise, **ATTACK)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        study.attack_images(model, x * 3, y, ensemble=ensemble, noise=noise, **ATTACK)


def test_the_pipeline_leaves_the_models_modes_alone(make_toy_cnn):
    model = make_toy_cnn().train()
    model.features[1].eval()  # a frozen BatchNorm in a training model
    flags = {name: m.training for name, m in model.named_modules()}
    x = torch.rand(6, 1, 12, 12, generator=torch.Generator().manual_seed(4))
    y = torch.arange(6) % 4
    a = study.attack_images(model, x, y, ensemble=x, noise=study.sign_noise(x, EPS, seed=0), **ATTACK)
    study.attacked_maps(model, a, window=WINDOW, stride=STRIDE)
    study.explanation_attack_study(model, x, a.clean_prediction, x, eps=0.1, steps=1, **AGREE)
    study.phase_swap(model, a, min_fooled=1)
    study.perturbation_parts(model, a, seed=0, min_fooled=1)
    study.filtered_accuracy(model, a, [0.2])
    assert {name: m.training for name, m in model.named_modules()} == flags


# --- the maps and their agreement --------------------------------------------------------


def _old_maps(model, x, y, a):
    """The notebook's explain() and the batching of its maps cell."""

    def explain(images, target):
        return {
            "Grad-CAM": grad_cam(model, images, target),
            "guided backprop": guided_backprop(model, images, target).abs(),
            "occlusion": torch.cat(
                [
                    occlusion(model, i, t, window=WINDOW, stride=STRIDE)
                    for i, t in zip(images.split(64), target.split(64), strict=True)
                ]
            ),
        }

    settings, attacks = study.SETTINGS, study.ATTACKS
    images = torch.cat([x] + [a.images[s] for s in settings] + [a.images[s] for s in attacks])
    targets = torch.cat([y] * (1 + len(settings)) + [a.prediction[s] for s in attacks])
    chunks = {m: heat.split(N) for m, heat in explain(images, targets).items()}
    real = {m: c[0] for m, c in chunks.items()}
    true = {s: {m: c[1 + i] for m, c in chunks.items()} for i, s in enumerate(settings)}
    adv = {s: {m: c[1 + len(settings) + i] for m, c in chunks.items()} for i, s in enumerate(attacks)}
    return real, true, adv


def test_attacked_maps_are_the_notebooks(setup):
    model, x, y, _, _, a = setup
    maps = study.attacked_maps(model, a, window=WINDOW, stride=STRIDE)
    real, true, adv = _old_maps(model, x, y, a)
    assert list(maps.clean) == list(study.METHODS) and maps.seconds > 0
    for m in study.METHODS:
        assert maps.clean[m].shape == (N, 1, 12, 12)
        assert torch.equal(maps.clean[m], real[m])
        for s in study.SETTINGS:
            assert torch.equal(maps.true_class[s][m], true[s][m]), (s, m)
        for s in study.ATTACKS:
            assert torch.equal(maps.adversarial_class[s][m], adv[s][m]), (s, m)
    assert (maps.clean["guided backprop"] >= 0).all()


def test_explanation_maps_chunks_occlusion_without_changing_it(setup):
    model, x, y, *_ = setup
    whole = study.explanation_maps(model, x, y, window=WINDOW, stride=STRIDE, chunk_size=N)
    chunked = study.explanation_maps(model, x, y, window=WINDOW, stride=STRIDE, chunk_size=5)
    torch.testing.assert_close(whole["occlusion"], chunked["occlusion"])
    with pytest.raises(ValueError, match="chunk_size"):
        study.explanation_maps(model, x, y, window=WINDOW, stride=STRIDE, chunk_size=0)


def test_map_agreements_are_the_notebooks(setup):
    model, x, y, _, _, a = setup
    maps = study.attacked_maps(model, a, window=WINDOW, stride=STRIDE)
    ours = study.map_agreements(maps, a, **AGREE)

    def agree(p, q):
        return map_agreement(p, q, fraction=0.1, num_samples=50, seed=SEED).to_dict()

    other = torch.roll(torch.arange(N), 1)
    for method in study.METHODS:
        real = maps.clean[method]
        entry = {"another image": agree(real, real[other])}
        for s in study.SETTINGS:
            entry[f"{s}, true class"] = agree(real, maps.true_class[s][method])
        for s in study.ATTACKS:
            fooled = a.prediction[s] != y
            if int(fooled.sum()) >= 5:
                entry[f"{s}, adv. class"] = agree(real[fooled], maps.adversarial_class[s][method][fooled])
        assert _same(ours[method], entry)
    assert "PGD, adv. class" in ours["Grad-CAM"]
    every = study.map_agreements(maps, a, **AGREE, min_fooled=N + 1)  # no attack fooled that many
    assert not any(k.endswith("adv. class") for k in every["Grad-CAM"])


def test_explanation_attack_study_is_the_notebooks(setup):
    model, x, _, _, noise, a = setup
    c = a.clean_prediction
    result, summary = study.explanation_attack_study(model, x, c, noise, eps=0.1, steps=3, **AGREE)
    old = grad_cam_attack(model, x, c, eps=0.1, steps=3, generator=torch.Generator().manual_seed(SEED))
    assert torch.equal(result.x_adv, old.x_adv) and torch.equal(result.shift, old.shift)
    noise_shift = map_shift(grad_cam_distribution(model, noise, c), grad_cam_distribution(model, x, c))
    moved = map_agreement(grad_cam(model, x, c), grad_cam(model, old.x_adv, c), fraction=0.1, num_samples=50, seed=SEED)
    assert summary["prediction_kept_everywhere"] is True
    assert summary["shift"] == bootstrap_mean(old.shift, num_samples=50, seed=SEED).to_dict()
    assert summary["noise_shift"] == bootstrap_mean(noise_shift, num_samples=50, seed=SEED).to_dict()
    assert _same(summary["spearman_attacked"], moved.to_dict()["spearman"])
    assert summary["overlap_attacked"] == moved.to_dict()["overlap"]
    assert set(summary) == {"prediction_kept_everywhere", "seconds", "shift", "noise_shift", "spearman_attacked",
                            "spearman_noise", "overlap_attacked", "overlap_noise"}  # fmt: skip


# --- the Fourier view ---------------------------------------------------------------------


def test_perturbation_spectra_are_the_notebooks(setup):
    _, x, _, _, _, a = setup
    ours = study.perturbation_spectra(a, cutoff=0.15, num_samples=50, seed=SEED)
    for s in study.SETTINGS:
        delta = a.images[s] - x
        keep = delta.flatten(1).norm(dim=1) > 0
        unit = delta[keep] / delta[keep].flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        spectrum = mean_amplitude_spectrum(unit)
        radius, profile = radial_profile(spectrum)
        assert torch.equal(ours.spectrum[s], spectrum) and torch.equal(ours.profile[s], profile)
        assert torch.equal(ours.radius, radius)
        share = bootstrap_mean(low_frequency_energy(delta[keep], 0.15), num_samples=50, seed=SEED).to_dict()
        assert _same(ours.low_share[s], share)
    assert ours.spectrum["PGD"].shape == (12, 12) and 0 <= ours.low_share["PGD"]["mean"] <= 1


def test_perturbation_spectra_skip_unchanged_images(setup):
    _, x, y, _, _, a = setup
    images = dict(a.images)
    images["FGSM"] = torch.cat([x[:4], images["FGSM"][4:]])  # four images left alone
    partial = study.AttackedImages(x, y, images, a.clean_prediction, a.prediction, 0.0)
    ours = study.perturbation_spectra(partial, cutoff=0.15, num_samples=50, seed=SEED)
    assert ours.low_share["FGSM"]["n"] == N - 4


def test_phase_swap_and_parts_are_the_notebooks(setup):
    model, x, y, _, _, a = setup
    swap = study.phase_swap(model, a)
    parts = study.perturbation_parts(model, a, seed=SEED)
    for s in study.ATTACKS:
        fooled = a.prediction[s] != y
        if int(fooled.sum()) < 5:
            assert s not in swap and s not in parts
            continue
        xa, xc, adv_label = a.images[s][fooled], x[fooled], a.prediction[s][fooled]
        hybrids = {
            "adversarial phase": swap_amplitude_phase(xa, xc),
            "adversarial amplitude": swap_amplitude_phase(xc, xa),
        }
        assert swap[s]["n"] == int(fooled.sum())
        for kind, h in hybrids.items():
            p = _predict(model, h)
            assert swap[s][kind] == {"keeps_adversarial_label": float((p == adv_label).float().mean()),
                                     "true_label": float((p == y[fooled]).float().mean())}  # fmt: skip
        delta = (a.images[s] - x)[fooled]
        variants = {"phase": average_amplitude(delta),
                    "amplitude": scramble_phase(delta, generator=torch.Generator().manual_seed(SEED))}  # fmt: skip
        expected = {
            k: float((_predict(model, (xc + d).clamp(0, 1)) == adv_label).float().mean()) for k, d in variants.items()
        }
        assert parts[s] == expected
    assert "PGD" in swap and "PGD" in parts
    assert study.phase_swap(model, a, min_fooled=N + 1) == {}
    with pytest.raises(ValueError, match="min_fooled"):
        study.perturbation_parts(model, a, seed=SEED, min_fooled=0)


def test_filtered_accuracy_is_the_notebooks_and_meets_the_attack_at_the_ends(setup):
    model, x, y, _, _, a = setup
    cutoffs = [0.0, 0.1, 0.3, 1.0]
    ours = study.filtered_accuracy(model, a, cutoffs)
    accuracy = a.accuracy()
    for s in study.ATTACKS:
        delta = a.images[s] - x
        pieces = [low_pass(delta, r) for r in cutoffs] + [high_pass(delta, r) for r in cutoffs]
        correct = (_predict(model, (x.repeat(len(pieces), 1, 1, 1) + torch.cat(pieces)).clamp(0, 1))
                   == y.repeat(len(pieces))).float().view(len(pieces), N).mean(1).tolist()  # fmt: skip
        assert ours[s] == {"low_pass": correct[:4], "high_pass": correct[4:]}
        # a cut-off beyond the corner keeps all of delta (low) or none (high)
        assert ours[s]["low_pass"][-1] == pytest.approx(accuracy[s])
        assert ours[s]["high_pass"][-1] == pytest.approx(accuracy["clean"])
    with pytest.raises(ValueError, match="at least one"):
        study.filtered_accuracy(model, a, [])
    with pytest.raises(ValueError, match="cutoff"):
        study.filtered_accuracy(model, a, [-0.1])


# --- tables and sentences -------------------------------------------------------------------


def _interval(mean, low, high):
    return {"mean": mean, "low": low, "high": high}


def test_accuracy_table_rows_and_sizes(setup):
    *_, a = setup
    table = study.accuracy_table({"toy": a.accuracy()}, {"toy": a.perturbation_size()}).split("\n")
    assert table[0] == "| model | clean | FGSM | PGD | DeepFool | ensemble | noise |"
    assert len(table) == 4 and table[2].startswith(f"| toy | {a.accuracy()['clean']:.0%} |")
    assert table[3].startswith("| mean L∞ / L2 of the perturbation |  | ")


def test_agreement_table_marks_what_was_left_out_and_refuses_bad_measures():
    entry = {c: {"spearman": _interval(0.5, 0.4, 0.6), "overlap": _interval(0.2, 0.1, 0.3)} for c in study.COMPARISONS}
    del entry["DeepFool, adv. class"]
    table = study.agreement_table({"toy": {"Grad-CAM": entry}}, "overlap").split("\n")
    cells = table[2].strip("| ").split(" | ")
    assert cells[:3] == ["toy", "Grad-CAM", "0.20 [0.10, 0.30]"]
    assert cells[2 + study.COMPARISONS.index("DeepFool, adv. class")] == "–"
    with pytest.raises(ValueError, match="measure"):
        study.agreement_table({"toy": {"Grad-CAM": entry}}, "pearson")


def test_grad_cam_lines_name_every_number():
    g = {c: {"spearman": _interval(i / 10, 0, 1)} for i, c in enumerate(study.COMPARISONS)}
    del g["PGD, adv. class"]
    size = {"toy": {"DeepFool": {"l2": 0.42}, "PGD": {"l2": 1.5}}}
    line = study.grad_cam_lines({"toy": {"Grad-CAM": g}}, size)
    assert line.startswith("- **toy**, Grad-CAM for the true class: Spearman 0.00 with the clean map under noise")
    assert "mean L2 0.42 against PGD's 1.50" in line and "under PGD: nan." in line


def test_explanation_attack_table_says_when_a_prediction_changed():
    e = {"prediction_kept_everywhere": False, "shift": _interval(0.3, 0.2, 0.4), "noise_shift": _interval(0.05, 0, 0.1),
         "spearman_attacked": _interval(0.1, 0, 0.2), "spearman_noise": _interval(0.9, 0.8, 1.0)}  # fmt: skip
    row = study.explanation_attack_table({"toy": e}).split("\n")[2]
    assert row == "| toy | NOT all | 0.30 [0.20, 0.40] | 0.05 | 0.10 | 0.90 |"


def test_low_frequency_tables_and_verdicts():
    share = {s: _interval(0.5, 0.45, 0.55) for s in study.SETTINGS}
    more = dict(share, PGD=_interval(0.7, 0.65, 0.75), FGSM=_interval(0.52, 0.5, 0.6))
    low_share = {"resnet": share, "resnet-Adv": more, "vgg": share}
    assert study.low_share_table(low_share).split("\n")[2].startswith("| resnet | 0.50 [0.45, 0.55] |")
    lines = study.low_frequency_verdicts(low_share, ["resnet", "vgg"]).split("\n")
    assert len(lines) == 2  # vgg has no -Adv twin
    assert lines[0].endswith("the -Adv perturbation is not distinguishable (the intervals overlap).")
    assert lines[1] == ("- PGD on resnet: low-frequency share 0.50 (standard) vs 0.70 (-Adv): "
                        "the -Adv perturbation is more low-frequency.")  # fmt: skip
    less = {"resnet": more, "resnet-Adv": share}
    assert "less low-frequency" in study.low_frequency_verdicts(less, ["resnet"]).split("\n")[1]


def test_swap_parts_and_filtered_text():
    phase = {"keeps_adversarial_label": 0.5, "true_label": 0.25}
    amplitude = {"keeps_adversarial_label": 0.125, "true_label": 0.75}
    swap = {"toy": {"PGD": {"n": 9, "adversarial phase": phase, "adversarial amplitude": amplitude}}}
    assert study.swap_table(swap).split("\n")[2] == "| toy | PGD | 9 | 50% | 25% | 12% | 75% |"
    parts = {"toy": {"FGSM": {"phase": 0.9, "amplitude": 0.1}}}
    assert study.parts_table(parts).split("\n")[2] == "| toy | FGSM | 90% | 10% |"
    filtered = {"toy": {s: {"low_pass": [0.1, 0.2, 0.3], "high_pass": [0.9, 0.8, 0.7]} for s in study.ATTACKS}}
    accuracy = {"toy": {"clean": 0.95, **{s: 0.05 for s in study.ATTACKS}}}
    lines = study.filtered_lines(filtered, accuracy, [0.05, 0.1, 0.2]).split("\n")
    assert lines == [f"- toy, {s}: accuracy 20% with only the frequencies ≤ 0.1, 80% with only those above "
                     "(clean 95%, full attack 5%)" for s in ("PGD", "DeepFool")]  # fmt: skip


def test_full_profile_table_from_a_record():
    g = {
        "PGD, true class": {"spearman": _interval(0.1, 0, 0.2)},
        "noise, true class": {"spearman": _interval(0.9, 0.8, 1)},
    }
    numbers = {
        "models": ["resnet"], "n_images": 1000, "agreement": {"resnet": {"Grad-CAM": g}},
        "explanation_attack": {"resnet": {"shift": _interval(0.4, 0.3, 0.5), "noise_shift": _interval(0.05, 0, 0.1)}},
        "perturbation_phase_vs_amplitude": {"resnet": {}},
        "low_frequency_share": {"resnet": {"PGD": _interval(0.6, 0.5, 0.7)}},
    }  # fmt: skip
    record = {"numbers": numbers, "device": "cpu", "date": "2025-01-01", "wall_time_s": 1800}
    lines = study.full_profile_table(record).split("\n")
    assert lines[0] == "**Full profile** (1000 images; cpu, 2025-01-01, 30 min):"
    assert lines[4] == "| resnet | 0.10 | – | 0.90 | 0.40 (0.05) | 0.60 | – | – |"


def test_comparisons_cover_every_setting():
    assert len(study.COMPARISONS) == 2 + 2 * len(study.ATTACKS)
    assert study.COMPARISONS[0] == "noise, true class" and study.COMPARISONS[-1] == "another image"
    assert {c.split(", ")[0] for c in study.COMPARISONS[1:-1]} == set(study.ATTACKS)
