"""Per neuron, the top q of real images and the top q of adversarial images, with concepts.

The paper's "x activates n" means "x is among the top 1% of images by n's response".
:func:`concept_top_activations` streams the real images and the adversarial set
through the model once each (with :func:`~advinterp_lib.interpret.topk.top_activating_images`,
the adversarial images numbered after the real ones), and keeps, per channel of the
layer, the top ``fraction`` of each source together with each image's concept. An
adversarial image keeps the concept of its source image (the paper: it still "contains"
what the real image shows). Memory is O(channels x k), whatever the number of images.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

from ..interpret.topk import TopActivations, top_activating_images, top_count
from ..models.layers import last_conv_layer
from ..validation import check_images

__all__ = ["ConceptActivations", "concept_top_activations"]


@dataclass(frozen=True, eq=False)
class ConceptActivations:
    """The top images of every channel, real and adversarial, with their concepts.

    Attributes:
        real: :class:`TopActivations` of the real images ([C, k_real]; indices into
            the real images).
        adversarial: :class:`TopActivations` of the adversarial images ([C, k_adv];
            indices are ``num_real + position`` in the adversarial set).
        real_concepts: int64 [C, k_real], the concept of each top real image.
        adversarial_concepts: int64 [C, k_adv], the concept (the source image's) of
            each top adversarial image.
        num_concepts: K, concepts are in ``range(K)``.
        num_real: how many real images were streamed (the adversarial index offset).
    """

    real: TopActivations
    adversarial: TopActivations
    real_concepts: torch.Tensor
    adversarial_concepts: torch.Tensor
    num_concepts: int
    num_real: int

    @property
    def layer(self) -> str:
        return self.real.layer

    @property
    def channels(self) -> int:
        return self.real.channels

    def adversarial_positions(self) -> torch.Tensor:
        """int64 [C, k_adv]: positions of the top adversarial images in the adversarial set."""
        return self.adversarial.indices - self.num_real


def _check_concepts(concepts: torch.Tensor, n: int | None, num_concepts: int, name: str) -> torch.Tensor:
    if not isinstance(concepts, torch.Tensor) or concepts.dtype not in (
        torch.int64,
        torch.int32,
        torch.int16,
        torch.uint8,
    ):
        raise TypeError(
            f"{name}: expected an integer tensor [N], got {getattr(concepts, 'dtype', type(concepts).__name__)}"
        )
    if concepts.dim() != 1 or (n is not None and concepts.shape[0] != n):
        raise ValueError(
            f"{name}: expected shape [{n if n is not None else 'N'}] (one per image), got {tuple(concepts.shape)}"
        )
    if concepts.numel() and (int(concepts.min()) < 0 or int(concepts.max()) >= num_concepts):
        raise ValueError(
            f"{name}: expected concepts in [0, {num_concepts - 1}], got min {int(concepts.min())} max "
            f"{int(concepts.max())}"
        )
    return concepts.to(torch.int64).cpu()


def _checked_images(images: object, name: str, model: nn.Module) -> torch.Tensor | Iterable:
    """A tensor is checked now; an iterable of batches is checked batch by batch as it streams."""
    if isinstance(images, torch.Tensor):
        return check_images(images, name, model=model)
    if not isinstance(images, Iterable) or isinstance(images, (str, bytes)):
        raise TypeError(f"{name} must be a tensor [N, C, H, W] or an iterable of batches, got {type(images).__name__}")

    def batches() -> Iterator[torch.Tensor]:
        for i, batch in enumerate(images):
            if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], torch.Tensor):
                batch = batch[0]  # (images, labels) from a DataLoader
            yield check_images(batch, f"{name} (batch {i})", model=model)

    return batches()


def concept_top_activations(
    model: nn.Module,
    real_images: torch.Tensor | Iterable,
    real_concepts: torch.Tensor,
    adversarial_images: torch.Tensor | Iterable,
    adversarial_concepts: torch.Tensor,
    *,
    num_concepts: int,
    layer: str | None = None,
    fraction: float = 0.01,
    reduction: str = "max",
    batch_size: int = 256,
    progress: bool = False,
) -> ConceptActivations:
    """Stream real and adversarial images once; keep each channel's top ``fraction`` of each.

    Args:
        model: the network; ``layer`` a ``named_modules()`` name with a [B, C, h, w]
            output (default: ``model.last_conv``, the paper's last conv layer).
        real_images: float [N, C, H, W] in [0, 1], or an iterable of such batches.
        real_concepts: int [N], the concept (class) of each real image, in [0, K).
        adversarial_images: float [M, C, H, W] in [0, 1] (e.g. ``AdversarialSet.images``),
            or an iterable of batches.
        adversarial_concepts: int [M], the concept of each adversarial image's *source*
            (``AdversarialSet.labels``).
        num_concepts: K.
        fraction: q in (0, 1]; k_real = ceil(q N), k_adv = ceil(q M) (paper: 1%).
        reduction: ``"max"`` (default, as NetDissect) or ``"mean"`` over positions.

    Returns:
        :class:`ConceptActivations`.

    Raises:
        ValueError/TypeError: unknown layer; bad images; concepts of the wrong shape,
            type or range; ``num_concepts < 1``; ``fraction`` outside (0, 1].
    """
    if isinstance(num_concepts, bool) or not isinstance(num_concepts, int) or num_concepts < 1:
        raise ValueError(f"num_concepts: expected an int >= 1, got {num_concepts!r}")
    real_images = _checked_images(real_images, "real_images", model)
    adversarial_images = _checked_images(adversarial_images, "adversarial_images", model)
    n_real = len(real_images) if isinstance(real_images, torch.Tensor) else len(real_concepts)
    n_adv = len(adversarial_images) if isinstance(adversarial_images, torch.Tensor) else len(adversarial_concepts)
    real_c = _check_concepts(real_concepts, n_real, num_concepts, "real_concepts")
    adv_c = _check_concepts(adversarial_concepts, n_adv, num_concepts, "adversarial_concepts")
    layer = last_conv_layer(model) if layer is None else layer
    k_real, k_adv = top_count(n_real, fraction), top_count(n_adv, fraction)
    real = top_activating_images(
        model,
        real_images,
        layer,
        k=k_real,
        num_images=n_real,
        reduction=reduction,
        batch_size=batch_size,
        progress=progress,
    )
    adv = top_activating_images(
        model,
        adversarial_images,
        layer,
        k=k_adv,
        num_images=n_adv,
        offset=n_real,
        reduction=reduction,
        batch_size=batch_size,
        progress=progress,
    )
    if real.num_images != n_real or adv.num_images != n_adv:
        raise ValueError(
            f"streamed {real.num_images} real and {adv.num_images} adversarial images, "
            f"but got {n_real} and {n_adv} concepts"
        )
    return ConceptActivations(
        real=real,
        adversarial=adv,
        real_concepts=real_c[real.indices],
        adversarial_concepts=adv_c[adv.indices - n_real],
        num_concepts=num_concepts,
        num_real=n_real,
    )
