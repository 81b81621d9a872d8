"""A Fourier view of images and adversarial perturbations.

Every image channel ``x[n, c]`` (``H x W``) is a sum of 2-D sinusoids,
``X = fft2(x)``; ``|X|`` is the **amplitude** of each frequency and ``angle(X)`` its
**phase** (where the sinusoid's crests sit). Oppenheim & Lim (1981) showed that the
phase carries most of an image's structure: an image rebuilt from its own phase and
another image's amplitude still looks like itself. Chapter 14 asks the same of
adversarial perturbations.

Conventions (all functions are batched over ``[N, C, H, W]`` and never modify their
input):

- frequencies are those of :func:`torch.fft.fftfreq`, in cycles per pixel, in
  ``[-1/2, 1/2)`` along each axis; the **radius** of a frequency is
  ``sqrt(fy^2 + fx^2)`` (:func:`radial_frequency`), from 0 (the mean) to
  ``sqrt(1/2) ≈ 0.707`` (the corner of the spectrum);
- spectra returned for plotting are ``fftshift``-ed (zero frequency in the centre);
- filters are ideal (a hard radial cut-off): :func:`low_pass` keeps radii
  ``<= cutoff``, :func:`high_pass` keeps radii ``> cutoff``, so
  ``low_pass(x, r) + high_pass(x, r) == x`` exactly (up to float rounding). The masks
  are symmetric under ``f -> -f``, so a real input gives a real output.
"""

from __future__ import annotations

import torch

from ..validation import check_int, check_number

__all__ = [
    "amplitude_phase",
    "from_amplitude_phase",
    "swap_amplitude_phase",
    "scramble_phase",
    "average_amplitude",
    "radial_frequency",
    "amplitude_spectrum",
    "mean_amplitude_spectrum",
    "radial_profile",
    "low_pass",
    "high_pass",
    "low_frequency_energy",
    "unit_norm",
]


def _check_batch(x: object, name: str) -> torch.Tensor:
    """A finite float tensor [N, C, H, W] (any range: perturbations are signed)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor [N, C, H, W], got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"{name} must have shape [N, C, H, W], got {x.dim()}-D shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}); expected N, C, H, W >= 1")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a float tensor, got dtype {x.dtype}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} must be finite, got NaN or inf values")
    return x


def amplitude_phase(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Amplitude and phase of every channel's 2-D DFT.

    Args:
        x: float [N, C, H, W] (images or signed perturbations).

    Returns:
        ``(amplitude, phase)``, each [N, C, H, W] in ``x``'s dtype, unshifted (index
        ``[0, 0]`` is the zero frequency): ``amplitude >= 0``, ``phase`` in ``(-pi, pi]``.

    Raises:
        TypeError / ValueError: not a finite float tensor [N, C, H, W].
    """
    spectrum = torch.fft.fft2(_check_batch(x, "x"))
    return spectrum.abs().to(x.dtype), spectrum.angle().to(x.dtype)


def from_amplitude_phase(amplitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`amplitude_phase`: ``real(ifft2(amplitude * exp(i phase)))``.

    Amplitude and phase taken from real images (even and odd under ``f -> -f``) give a
    real signal; the real part drops the rounding-level imaginary rest.

    Args:
        amplitude, phase: float [N, C, H, W] of the same shape; amplitude >= 0.

    Returns:
        float [N, C, H, W] (not clamped).

    Raises:
        TypeError / ValueError: shapes differ, negative amplitude, non-finite values.
    """
    _check_batch(amplitude, "amplitude")
    _check_batch(phase, "phase")
    if amplitude.shape != phase.shape:
        raise ValueError(
            f"amplitude and phase must have the same shape, got {tuple(amplitude.shape)} and {tuple(phase.shape)}"
        )
    if (amplitude < 0).any():
        raise ValueError("amplitude must be >= 0")
    return torch.fft.ifft2(torch.polar(amplitude, phase)).real.to(amplitude.dtype)


def swap_amplitude_phase(
    phase_source: torch.Tensor, amplitude_source: torch.Tensor, *, clamp: bool = True
) -> torch.Tensor:
    """Images with the phase of ``phase_source`` and the amplitude of ``amplitude_source``.

    ``swap_amplitude_phase(x, x)`` is ``x`` (up to float rounding).

    Args:
        phase_source, amplitude_source: float images [N, C, H, W], the same shape.
        clamp: clamp the result to [0, 1] so it is an image a model accepts (the
            mixed spectrum is generally not the spectrum of an image in [0, 1]; the
            clamp is a small extra change, and the chapter says so).

    Returns:
        float [N, C, H, W] (in [0, 1] when ``clamp``).

    Raises:
        TypeError / ValueError: not finite float tensors [N, C, H, W] of one shape.
    """
    _check_batch(phase_source, "phase_source")
    _check_batch(amplitude_source, "amplitude_source")
    if phase_source.shape != amplitude_source.shape:
        raise ValueError(
            f"phase_source and amplitude_source must have the same shape, got "
            f"{tuple(phase_source.shape)} and {tuple(amplitude_source.shape)}"
        )
    if not isinstance(clamp, bool):
        raise TypeError(f"clamp must be a bool, got {type(clamp).__name__}")
    amplitude, _ = amplitude_phase(amplitude_source)
    _, phase = amplitude_phase(phase_source)
    out = from_amplitude_phase(amplitude, phase)
    return out.clamp(0.0, 1.0) if clamp else out


def scramble_phase(x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Keep every channel's amplitude, replace its phase by that of white noise.

    The noise is real, so its phase is odd under ``f -> -f`` and the result is real;
    the amplitude is kept, so (Parseval) every channel's energy ``sum x^2`` is too.

    Args:
        x: float [N, C, H, W] (e.g. a perturbation).
        generator: the noise's random source (CPU generator).

    Returns:
        float [N, C, H, W], not clamped.
    """
    amplitude, _ = amplitude_phase(x)
    noise = torch.rand(x.shape, generator=generator, dtype=torch.float64).to(device=x.device)
    _, phase = amplitude_phase(noise)
    return from_amplitude_phase(amplitude, phase.to(x.dtype))


def average_amplitude(x: torch.Tensor) -> torch.Tensor:
    """Keep every channel's phase, replace its amplitude by the batch's mean amplitude
    spectrum (the mean over images and channels, per frequency): what is left of each
    image is *where* its sinusoids sit, not how strong each one is in that image.

    Args:
        x: float [N, C, H, W].

    Returns:
        float [N, C, H, W], not clamped; ``x`` itself for a single one-channel image.
    """
    amplitude, phase = amplitude_phase(x)
    mean = amplitude.mean(dim=(0, 1), keepdim=True).expand_as(amplitude).contiguous()
    return from_amplitude_phase(mean, phase)


def radial_frequency(height: int, width: int, *, device: torch.device | str | None = None) -> torch.Tensor:
    """The radius ``sqrt(fy^2 + fx^2)`` (cycles per pixel) of every DFT index.

    Args:
        height, width: the image size, >= 1.

    Returns:
        float32 [H, W], unshifted (matches :func:`amplitude_phase`'s layout); 0 at
        ``[0, 0]``, at most ``sqrt(0.5)``.
    """
    height = check_int(height, "height", minimum=1)
    width = check_int(width, "width", minimum=1)
    fy = torch.fft.fftfreq(height, device=device)
    fx = torch.fft.fftfreq(width, device=device)
    return torch.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)


def amplitude_spectrum(x: torch.Tensor) -> torch.Tensor:
    """``|fft2(x)|`` for plotting: [N, C, H, W], ``fftshift``-ed (zero frequency at
    ``[H // 2, W // 2]``)."""
    amplitude, _ = amplitude_phase(x)
    return torch.fft.fftshift(amplitude, dim=(-2, -1))


def mean_amplitude_spectrum(x: torch.Tensor) -> torch.Tensor:
    """The amplitude spectrum averaged over images and channels: [H, W], shifted.

    Args:
        x: float [N, C, H, W], e.g. perturbations ``x_adv - x``.
    """
    return amplitude_spectrum(x).mean(dim=(0, 1))


def radial_profile(spectrum: torch.Tensor, *, num_bins: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Average a *shifted* spectrum over rings of equal radius.

    Args:
        spectrum: float [H, W] or [..., H, W], ``fftshift``-ed (as
            :func:`mean_amplitude_spectrum` returns it).
        num_bins: rings between radius 0 and ``sqrt(0.5)``; default ``max(H, W) // 2 + 1``
            rings of width ``1 / max(H, W)`` up to the Nyquist radius 1/2, and the
            corners beyond it in the last ring.

    Returns:
        ``(radius, profile)``: float [B] the ring centres in cycles per pixel, and
        [..., B] the mean value on each ring (NaN for an empty ring).

    Raises:
        TypeError / ValueError: not a float tensor with at least 2 dims; bad ``num_bins``.
    """
    if not isinstance(spectrum, torch.Tensor) or not spectrum.is_floating_point():
        raise TypeError(
            f"spectrum must be a float tensor [..., H, W], got {getattr(spectrum, 'dtype', type(spectrum).__name__)}"
        )
    if spectrum.dim() < 2:
        raise ValueError(f"spectrum must have shape [..., H, W], got {tuple(spectrum.shape)}")
    h, w = spectrum.shape[-2:]
    radius = torch.fft.fftshift(radial_frequency(h, w, device=spectrum.device))
    if num_bins is None:
        step = 1.0 / max(h, w)
        num_bins = max(h, w) // 2 + 1
        index = torch.round(radius / step).long().clamp(max=num_bins - 1)
        centres = torch.arange(num_bins, dtype=torch.float32) * step
    else:
        num_bins = check_int(num_bins, "num_bins", minimum=1)
        edges = torch.linspace(0.0, 0.5**0.5 + 1e-6, num_bins + 1)
        index = (torch.bucketize(radius.cpu(), edges, right=True) - 1).clamp(0, num_bins - 1).to(spectrum.device)
        centres = (edges[:-1] + edges[1:]) / 2
    flat = spectrum.reshape(-1, h * w)
    sums = torch.zeros(flat.shape[0], num_bins, dtype=flat.dtype, device=flat.device)
    sums.index_add_(1, index.flatten(), flat)
    counts = torch.bincount(index.flatten(), minlength=num_bins).to(flat.dtype)
    profile = sums / counts
    return centres, profile.reshape(*spectrum.shape[:-2], num_bins)


def _radial_mask(x: torch.Tensor, cutoff: float, keep_low: bool) -> torch.Tensor:
    cutoff = check_number(cutoff, "cutoff", minimum=0.0)
    radius = radial_frequency(x.shape[-2], x.shape[-1], device=x.device)
    return (radius <= cutoff) if keep_low else (radius > cutoff)


def low_pass(x: torch.Tensor, cutoff: float) -> torch.Tensor:
    """Keep the frequencies of radius ``<= cutoff`` (cycles per pixel) of every channel.

    Args:
        x: float [N, C, H, W] (an image or a signed perturbation).
        cutoff: >= 0; 0 keeps only the mean, ``>= sqrt(0.5)`` keeps everything.

    Returns:
        float [N, C, H, W], real; not clamped.

    Raises:
        TypeError / ValueError: bad ``x`` or ``cutoff``.
    """
    x = _check_batch(x, "x")
    mask = _radial_mask(x, cutoff, keep_low=True)
    return torch.fft.ifft2(torch.fft.fft2(x) * mask).real.to(x.dtype)


def high_pass(x: torch.Tensor, cutoff: float) -> torch.Tensor:
    """Keep the frequencies of radius ``> cutoff``: ``x - low_pass(x, cutoff)``.
    Arguments and errors as :func:`low_pass`."""
    x = _check_batch(x, "x")
    mask = _radial_mask(x, cutoff, keep_low=False)
    return torch.fft.ifft2(torch.fft.fft2(x) * mask).real.to(x.dtype)


def low_frequency_energy(x: torch.Tensor, cutoff: float) -> torch.Tensor:
    """The share of each image's energy (``sum |X|^2``, all channels) at radius
    ``<= cutoff``: float [N] in [0, 1] (NaN for an all-zero image).

    By Parseval, ``sum |X|^2 = H W sum x^2``, so this is also
    ``||low_pass(x, cutoff)||^2 / ||x||^2``.
    """
    x = _check_batch(x, "x")
    power = torch.fft.fft2(x).abs().pow(2)
    mask = _radial_mask(x, cutoff, keep_low=True)
    total = power.sum(dim=(1, 2, 3))
    low = (power * mask).sum(dim=(1, 2, 3))
    return torch.where(total > 0, low / total.clamp_min(1e-30), torch.full_like(total, float("nan")))


def unit_norm(x: torch.Tensor) -> torch.Tensor:
    """Each item scaled to unit L2 norm (over all its channels and pixels), so that
    perturbations of different sizes compare by the *shape* of their spectrum; an
    all-zero item stays zero.

    Args:
        x: float [N, C, H, W] (e.g. perturbations ``x_adv - x``).

    Returns:
        float [N, C, H, W], ``||out[n]||_2 == 1`` where ``x[n] != 0``.

    Raises:
        TypeError / ValueError: not a finite float tensor [N, C, H, W].
    """
    x = _check_batch(x, "x")
    return x / x.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
