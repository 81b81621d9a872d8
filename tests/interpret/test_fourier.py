"""Fourier view: identities of the DFT (swap with itself, Parseval, complementary
filters), closed forms (a sinusoid's peak), a numpy twin, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from advinterp_lib.interpret.fourier import (
    amplitude_phase,
    amplitude_spectrum,
    average_amplitude,
    from_amplitude_phase,
    high_pass,
    low_frequency_energy,
    low_pass,
    mean_amplitude_spectrum,
    radial_frequency,
    radial_profile,
    scramble_phase,
    swap_amplitude_phase,
    unit_norm,
)


def _images(n: int = 3, c: int = 2, h: int = 12, w: int = 10, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _sinusoid(h: int, w: int, v: int, u: int, phase: float = 0.3) -> torch.Tensor:
    """cos(2 pi (v y / H + u x / W) + phase), [1, 1, H, W] in float64."""
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    return torch.cos(2 * math.pi * (v * yy / h + u * xx / w) + phase)[None, None]


def test_swap_of_an_image_with_itself_is_the_identity():
    x = _images()
    torch.testing.assert_close(swap_amplitude_phase(x, x, clamp=False), x, atol=1e-12, rtol=0)
    torch.testing.assert_close(swap_amplitude_phase(x, x), x, atol=1e-12, rtol=0)


def test_amplitude_phase_round_trip_and_numpy_twin():
    x = _images()
    amp, ph = amplitude_phase(x)
    ref = np.fft.fft2(x.numpy())
    np.testing.assert_allclose(amp.numpy(), np.abs(ref), atol=1e-12)
    torch.testing.assert_close(from_amplitude_phase(amp, ph), x, atol=1e-12, rtol=0)


def test_swap_takes_amplitude_from_one_image_and_phase_from_the_other():
    a, b = _images(seed=1), _images(seed=2)
    mixed = swap_amplitude_phase(a, b, clamp=False)
    amp_m, ph_m = amplitude_phase(mixed)
    amp_b, _ = amplitude_phase(b)
    _, ph_a = amplitude_phase(a)
    torch.testing.assert_close(amp_m, amp_b, atol=1e-10, rtol=0)
    # phases agree modulo 2 pi wherever the amplitude is not ~0
    diff = torch.remainder(ph_m - ph_a + math.pi, 2 * math.pi) - math.pi
    assert diff[amp_b > 1e-8].abs().max() < 1e-8


def test_scramble_phase_keeps_amplitude_and_energy_but_not_the_signal():
    x = _images() - 0.5
    s = scramble_phase(x, generator=torch.Generator().manual_seed(5))  # not the seed of x itself
    torch.testing.assert_close(amplitude_phase(s)[0], amplitude_phase(x)[0], atol=1e-10, rtol=0)
    torch.testing.assert_close(s.pow(2).sum(dim=(-2, -1)), x.pow(2).sum(dim=(-2, -1)))
    assert pearson(s, x) < 0.5  # a different signal with the same spectrum


def pearson(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(np.corrcoef(a.flatten().numpy(), b.flatten().numpy())[0, 1])


def test_average_amplitude_keeps_phase_and_shares_the_mean_amplitude():
    x = _images() - 0.5
    out = average_amplitude(x)
    amp, ph = amplitude_phase(out)
    mean = amplitude_phase(x)[0].mean(dim=(0, 1))
    torch.testing.assert_close(amp, mean.expand_as(amp), atol=1e-10, rtol=0)
    diff = torch.remainder(ph - amplitude_phase(x)[1] + math.pi, 2 * math.pi) - math.pi
    assert diff[amp > 1e-8].abs().max() < 1e-8
    one = x[:1, :1]
    torch.testing.assert_close(average_amplitude(one), one, atol=1e-12, rtol=0)


def test_swap_clamps_to_the_unit_interval():
    a, b = _images(seed=1), _images(seed=2) * 0 + torch.linspace(0, 1, 10, dtype=torch.float64)
    out = swap_amplitude_phase(a, b)
    assert out.min() >= 0 and out.max() <= 1
    assert not torch.equal(out, swap_amplitude_phase(a, b, clamp=False))  # something was clamped


@pytest.mark.parametrize("v,u", [(0, 3), (2, 1), (5, 4)])
def test_a_pure_sinusoid_peaks_at_its_frequency(v, u):
    h, w = 16, 12
    s = _sinusoid(h, w, v, u)
    amp, _ = amplitude_phase(s)
    peaks = set(map(tuple, (amp[0, 0] > amp[0, 0].max() * 0.5).nonzero().tolist()))
    assert peaks == {(v % h, u % w), ((-v) % h, (-u) % w)}
    assert amp[0, 0, v, u].item() == pytest.approx(h * w / 2, rel=1e-9)  # |X| = HW/2 for a cosine
    # the shifted spectrum has it at the centre plus the frequency
    shifted = amplitude_spectrum(s)[0, 0]
    assert shifted[h // 2 + v, w // 2 + u] == pytest.approx(h * w / 2, rel=1e-9)


def test_radial_frequency_closed_form():
    r = radial_frequency(8, 8)
    assert r[0, 0] == 0
    assert r[0, 2].item() == pytest.approx(2 / 8)
    assert r[4, 4].item() == pytest.approx(math.sqrt(0.5))  # the corner, both axes at Nyquist
    assert r.shape == (8, 8)


@pytest.mark.parametrize("cutoff", [0.0, 0.1, 0.25, 0.5, 0.8])
def test_low_plus_high_pass_at_one_cutoff_is_the_input(cutoff):
    x = _images() - 0.5
    torch.testing.assert_close(low_pass(x, cutoff) + high_pass(x, cutoff), x, atol=1e-12, rtol=0)


def test_filters_keep_the_energy_they_should_parseval():
    x = _images(h=16, w=16) - 0.5
    cutoff = 0.2
    r = radial_frequency(16, 16).double()
    power = torch.fft.fft2(x).abs().pow(2)
    low_energy_spectrum = (power * (r <= cutoff)).sum(dim=(-2, -1)) / (16 * 16)  # Parseval
    torch.testing.assert_close(low_pass(x, cutoff).pow(2).sum(dim=(-2, -1)), low_energy_spectrum)
    high_energy_spectrum = (power * (r > cutoff)).sum(dim=(-2, -1)) / (16 * 16)
    torch.testing.assert_close(high_pass(x, cutoff).pow(2).sum(dim=(-2, -1)), high_energy_spectrum)
    # the two parts are orthogonal: their energies add up to the input's
    total = x.pow(2).sum(dim=(-2, -1))
    torch.testing.assert_close(low_energy_spectrum + high_energy_spectrum, total)
    share = low_frequency_energy(x, cutoff)
    torch.testing.assert_close(share, low_energy_spectrum.sum(1) / total.sum(1))


def test_filters_pass_or_stop_a_sinusoid_by_its_radius():
    s = _sinusoid(16, 16, 2, 2)  # radius sqrt(2) * 2/16 = 0.177
    torch.testing.assert_close(low_pass(s, 0.2), s, atol=1e-12, rtol=0)
    assert high_pass(s, 0.2).abs().max() < 1e-12
    assert low_pass(s, 0.15).abs().max() < 1e-12
    torch.testing.assert_close(high_pass(s, 0.15), s, atol=1e-12, rtol=0)
    assert low_frequency_energy(s, 0.2).item() == pytest.approx(1.0)
    assert low_frequency_energy(s, 0.15).item() == pytest.approx(0.0, abs=1e-20)


def test_filters_do_not_modify_their_input():
    x = _images()
    before = x.clone()
    low_pass(x, 0.2), high_pass(x, 0.2), swap_amplitude_phase(x, x.flip(0)), amplitude_phase(x)
    assert torch.equal(x, before)


def test_mean_spectrum_and_radial_profile_of_a_sinusoid():
    s = torch.cat([_sinusoid(16, 16, 0, 4), _sinusoid(16, 16, 4, 0)])  # radius 4/16 = 0.25 both
    spec = mean_amplitude_spectrum(s)
    assert spec.shape == (16, 16)
    radius, profile = radial_profile(spec)
    assert radius.shape == profile.shape == (9,)
    assert int(profile.argmax()) == 4 and radius[4].item() == pytest.approx(0.25)
    # a constant spectrum has a constant profile (each ring is a mean)
    r2, flat = radial_profile(torch.ones(3, 16, 16), num_bins=5)
    torch.testing.assert_close(flat, torch.ones(3, 5))
    assert r2.shape == (5,)


def test_low_frequency_energy_of_zero_is_nan():
    assert torch.isnan(low_frequency_energy(torch.zeros(1, 1, 4, 4), 0.1)).all()


@pytest.mark.parametrize(
    "call,error",
    [
        (lambda: amplitude_phase(torch.rand(4, 4)), ValueError),
        (lambda: amplitude_phase(np.zeros((1, 1, 4, 4))), TypeError),
        (lambda: amplitude_phase(torch.zeros(1, 1, 4, 4, dtype=torch.int64)), TypeError),
        (lambda: amplitude_phase(torch.full((1, 1, 4, 4), float("nan"))), ValueError),
        (lambda: amplitude_phase(torch.zeros(0, 1, 4, 4)), ValueError),
        (lambda: low_pass(torch.rand(1, 1, 4, 4), -0.1), ValueError),
        (lambda: high_pass(torch.rand(1, 1, 4, 4), "0.1"), TypeError),
        (lambda: swap_amplitude_phase(torch.rand(1, 1, 4, 4), torch.rand(1, 1, 4, 5)), ValueError),
        (lambda: swap_amplitude_phase(torch.rand(1, 1, 4, 4), torch.rand(1, 1, 4, 4), clamp=1), TypeError),
        (lambda: from_amplitude_phase(-torch.rand(1, 1, 4, 4), torch.rand(1, 1, 4, 4)), ValueError),
        (lambda: radial_frequency(0, 4), ValueError),
        (lambda: radial_profile(torch.rand(4)), ValueError),
        (lambda: radial_profile(torch.rand(4, 4), num_bins=0), ValueError),
        (lambda: unit_norm(torch.rand(4, 4)), ValueError),
        (lambda: unit_norm(torch.zeros(1, 1, 4, 4, dtype=torch.int64)), TypeError),
    ],
)
def test_bad_input_is_refused(call, error):
    with pytest.raises(error):
        call()


def test_unit_norm_scales_each_item_to_norm_one_and_keeps_zero():
    x = _images(3)
    x[1] = 0.0
    before = x.clone()
    out = unit_norm(x)
    assert torch.equal(x, before)  # the input is left alone
    norms = out.flatten(1).norm(dim=1)
    torch.testing.assert_close(norms[[0, 2]], torch.ones(2, dtype=torch.float64))
    assert torch.equal(out[1], torch.zeros_like(out[1]))
    # the direction is kept: each item is a positive multiple of its input
    torch.testing.assert_close(out[0] * x[0].norm(), x[0])
