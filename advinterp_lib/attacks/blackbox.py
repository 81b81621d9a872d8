"""Black-box attack through a surrogate model (Papernot et al. 2017).

The attacker cannot see the target model's weights, gradients or even its
probabilities: only the *label* it gives to an image it is shown (the "oracle"). The
attack:

1. Start from a small seed set :math:`S_0` of in-domain images (e.g. 150 test images).
2. Round :math:`\\rho`: ask the oracle to label the images it has not labelled yet,
   train the surrogate :math:`F` on :math:`S_\\rho` with those labels.
3. Grow the set by *Jacobian-based dataset augmentation*: for every
   :math:`x \\in S_\\rho`, add
   :math:`x + \\lambda_\\rho \\, \\mathrm{sign}(\\nabla_x F_{O(x)}(x))` -- a step in the
   direction in which the surrogate's score for the oracle's label changes most, which
   is where the oracle's decision boundary is most likely to be near. With
   ``flip_every = tau`` the step's sign alternates, :math:`\\lambda_\\rho = \\lambda
   (-1)^{\\lfloor \\rho / \\tau \\rfloor}` (the paper's periodic step size).
4. Attack the surrogate (white box: FGSM by default) and hand the adversarial images to
   the oracle: *transferability* does the rest.

Each round costs as many oracle queries as images were added, so with :math:`R` rounds
and no cap the attacker spends :math:`|S_0| \\cdot 2^{R-1}` queries in all;
``max_new_per_round`` caps it (the paper's reservoir sampling: augment only a random
subset of the set).

The surrogate here is *warm-started*: the same network keeps training on the growing
set from round to round (as in the cleverhans implementation of the paper), with
:func:`advinterp_lib.training.train`. Training a model puts this module above the
training layer (which itself uses the white-box attacks): ``advinterp_lib.attacks``
does not import it.

Measurement (the experimenter's view, not the attacker's) uses the oracle model
directly and is not counted as queries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..models.state import predicted_labels
from ..training import train
from ..validation import check_images, check_labels
from .base import attack_mode, check_budget, check_count, model_device, num_classes_of
from .fgsm import fgsm

#: A white-box attack run on the surrogate: (model, x, y) -> x_adv, untargeted, y the true labels.
SurrogateAttack = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


def substitute_cnn(
    num_classes: int = 10, in_channels: int = 1, image_size: int = 28, *, width: int = 32, hidden: int = 200
) -> nn.Module:
    """Papernot et al.'s MNIST substitute (their architecture A, the defaults): two 3x3
    convolutions (``width``, ``2 * width`` channels) each with 2x2 max pooling, two
    fully connected layers of ``hidden`` units. ``width=16, hidden=100`` trains about
    four times faster on a CPU and is enough for Fashion-MNIST.

    Input float [N, in_channels, image_size, image_size] in [0, 1] (no normalisation
    layer: the attacker trains it from scratch on [0, 1] pixels); output logits
    [N, num_classes]. Separate ReLU modules, none in place (hooks stay correct).
    """
    side = image_size // 4
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * width * side * side, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )


class LabelOracle:
    """Label-only access to a model, counting every image it is asked about.

    ``oracle(x)`` returns the model's top-1 labels (int64 [N], on ``x``'s device) for
    float images ``x`` [N, C, H, W] in [0, 1] and adds N to :attr:`queries`. Nothing
    else -- no logits, no probabilities, no gradients -- leaves the oracle. The model
    runs in eval mode under ``no_grad``; its previous mode is restored.
    """

    def __init__(self, model: nn.Module, *, batch_size: int = 512) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self._model = model
        self._batch_size = check_count(batch_size, "batch_size")
        self._queries = 0

    @property
    def queries(self) -> int:
        """How many images the oracle has labelled so far."""
        return self._queries

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x)
        labels = predicted_labels(self._model, x, batch_size=self._batch_size)
        self._queries += x.shape[0]
        return labels

    def __repr__(self) -> str:
        return f"LabelOracle(queries={self._queries})"


def jacobian_augmentation(surrogate: nn.Module, x: torch.Tensor, labels: torch.Tensor, step: float) -> torch.Tensor:
    """Papernot's augmentation step: ``clip(x + step * sign(d log F_label(x) / dx), 0, 1)``.

    The sign of the gradient of the surrogate's log-probability equals that of its
    probability (the paper's :math:`J_F(x)[O(x)]`), without the softmax's vanishing
    gradients. ``step`` may be negative (the paper's periodic step size).

    Args:
        surrogate: a classifier (logits [N, K]); run in eval mode, restored afterwards.
        x: float images [N, C, H, W] in [0, 1].
        labels: int64 [N], the oracle's labels of ``x``.
        step: lambda in [-1, 1] pixel units (the paper: 0.1 on MNIST).

    Returns:
        New images, float [N, C, H, W] in [0, 1], on ``x``'s device.
    """
    check_images(x)
    if isinstance(step, bool) or not isinstance(step, (int, float)) or not -1 <= step <= 1:
        raise ValueError(f"step must be a number in [-1, 1] (pixel units), got {step!r}")
    device = model_device(surrogate, x.device)
    with attack_mode(surrogate):
        check_labels(labels, x.shape[0], num_classes_of(surrogate, x.to(device)), name="labels")
        xd = x.detach().to(device).requires_grad_(True)
        score = F.log_softmax(surrogate(xd), dim=1).gather(1, labels.to(device)[:, None]).sum()
        (grad,) = torch.autograd.grad(score, xd)
    return (x.detach() + step * grad.sign().to(x.device)).clamp(0, 1)


@dataclass(frozen=True)
class BlackBoxRound:
    """One round of the surrogate attack (all rates in [0, 1], on the evaluation images).

    Attributes:
        round: 0, 1, ...
        training_size: images the surrogate was trained on this round.
        new_queries: oracle queries spent this round; ``queries``: spent so far.
        step: the augmentation step lambda that grew the set after this round.
        agreement: fraction of evaluation images on which surrogate and oracle agree.
        surrogate_accuracy: the surrogate's accuracy on the true labels.
        oracle_accuracy: the oracle's accuracy on the clean evaluation images.
        oracle_adv_accuracy: the oracle's accuracy on the adversarial images.
        surrogate_success: among images the surrogate classifies correctly, the
            fraction the white-box attack on it misclassifies (on the surrogate).
        transfer_success: among images the oracle classifies correctly, the fraction
            whose adversarial version (crafted on the surrogate) the oracle misclassifies.
    """

    round: int
    training_size: int
    new_queries: int
    queries: int
    step: float
    agreement: float
    surrogate_accuracy: float
    oracle_accuracy: float
    oracle_adv_accuracy: float
    surrogate_success: float
    transfer_success: float


@dataclass(frozen=True, eq=False)
class BlackBoxResult:
    """What :func:`blackbox_attack` found.

    Attributes:
        rounds: one :class:`BlackBoxRound` per round.
        surrogate: the final surrogate (eval mode).
        images: the surrogate's final training set, float [S, C, H, W] in [0, 1].
        labels: the oracle's labels of ``images``, int64 [S].
        x_adv: the last round's adversarial evaluation images, float [N, C, H, W].
        queries: all oracle queries spent.
    """

    rounds: tuple[BlackBoxRound, ...]
    surrogate: nn.Module
    images: torch.Tensor
    labels: torch.Tensor
    x_adv: torch.Tensor
    queries: int

    def table(self) -> dict[str, list[Any]]:
        """The rounds as columns (JSON types): ``{"round": [...], "queries": [...], ...}``."""
        rows = [asdict(r) for r in self.rounds]
        return {key: [row[key] for row in rows] for key in rows[0]}


def blackbox_attack(
    oracle_model: nn.Module,
    seed_images: torch.Tensor,
    eval_images: torch.Tensor,
    eval_labels: torch.Tensor,
    *,
    make_surrogate: Callable[[], nn.Module],
    rounds: int = 4,
    step: float = 0.1,
    flip_every: int | None = None,
    max_new_per_round: int | None = None,
    attack: SurrogateAttack | None = None,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    progress: bool = True,
) -> BlackBoxResult:
    """Papernot et al.'s practical black-box attack, end to end.

    The attacker's side touches the oracle only through a :class:`LabelOracle` (labels
    only, queries counted); the evaluation uses ``oracle_model`` directly.

    Args:
        oracle_model: the target classifier (logits [N, K]); its weights are never read.
        seed_images: the attacker's initial in-domain images, float [S0, C, H, W] in [0, 1].
        eval_images: images to attack each round, float [N, C, H, W] in [0, 1]
            (disjoint from the seed images for an honest measurement).
        eval_labels: their true labels, int [N].
        make_surrogate: builds the untrained surrogate (any classifier with K outputs);
            called once, under ``torch.manual_seed(seed)``.
        rounds: substitute training rounds, >= 1 (the paper: 6 on MNIST).
        step: the augmentation step lambda in (0, 1] pixel units (the paper: 0.1).
        flip_every: tau, alternate the step's sign every tau rounds; None: never.
        max_new_per_round: cap on images added (and queries spent) per round by
            augmenting a random subset of the set; None: augment every image.
        attack: the white-box attack on the surrogate, ``attack(model, x, y) -> x_adv``
            (untargeted, y the true labels); default FGSM with eps = 0.3 (the paper's
            MNIST budget).
        epochs, batch_size, lr: surrogate training per round (Adam, via
            :func:`advinterp_lib.training.train`).
        seed: seeds the surrogate's initialisation, training and subset draws.
        progress: show a tqdm bar over rounds.

    Returns:
        A :class:`BlackBoxResult`.

    Raises:
        ValueError / TypeError: bad images or labels, non-positive counts, a step
            outside (0, 1], a surrogate whose class count differs from the oracle's.
    """
    step = _check_arguments(
        seed_images,
        eval_images,
        make_surrogate,
        rounds=rounds,
        step=step,
        flip_every=flip_every,
        max_new_per_round=max_new_per_round,
        epochs=epochs,
        batch_size=batch_size,
    )
    if attack is None:
        attack = _default_attack

    device = model_device(oracle_model, eval_images.device)
    with attack_mode(oracle_model):
        num_classes = num_classes_of(oracle_model, eval_images[:1].to(device))
    check_labels(eval_labels, eval_images.shape[0], num_classes, name="eval_labels")
    eval_images = eval_images.detach().cpu()
    eval_labels = eval_labels.detach().cpu().to(torch.int64)
    surrogate = _build_surrogate(make_surrogate, seed, device, eval_images[:1], num_classes)

    oracle = LabelOracle(oracle_model)
    oracle_clean = predicted_labels(oracle_model, eval_images)  # experimenter's view: not counted
    generator = torch.Generator().manual_seed(seed)

    images = seed_images.detach().cpu()
    labels = torch.empty(0, dtype=torch.int64)
    history: list[BlackBoxRound] = []
    x_adv = eval_images
    for r in tqdm(range(rounds), desc="surrogate rounds", unit="round", disable=not progress):
        new = images[labels.shape[0] :]
        before = oracle.queries
        labels = torch.cat([labels, oracle(new)])
        _train_surrogate(
            surrogate, images, labels, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed + r, device=device
        )
        rates, x_adv = _evaluate_round(surrogate, oracle_model, attack, eval_images, eval_labels, oracle_clean, device)
        lam = _round_step(step, r, flip_every)
        history.append(
            BlackBoxRound(
                round=r,
                training_size=images.shape[0],
                new_queries=oracle.queries - before,
                queries=oracle.queries,
                step=float(lam),
                **rates,
            )
        )
        if r < rounds - 1:  # grow the set for the next round
            grown = _grow_set(surrogate, images, labels, lam, max_new_per_round, generator, device)
            images = torch.cat([images, grown])

    return BlackBoxResult(
        rounds=tuple(history),
        surrogate=surrogate.eval(),
        images=images,
        labels=labels,
        x_adv=x_adv,
        queries=oracle.queries,
    )


def _check_arguments(
    seed_images: torch.Tensor,
    eval_images: torch.Tensor,
    make_surrogate: object,
    *,
    rounds: int,
    step: float,
    flip_every: int | None,
    max_new_per_round: int | None,
    epochs: int,
    batch_size: int,
) -> float:
    """Refuse :func:`blackbox_attack`'s bad images, counts, step or surrogate factory; return the checked step."""
    check_images(seed_images, "seed_images")
    check_images(eval_images, "eval_images")
    for name, value in (("rounds", rounds), ("epochs", epochs), ("batch_size", batch_size)):
        check_count(value, name)
    step = check_budget(step, "step")
    if step == 0:
        raise ValueError("step must be > 0, got 0")
    if flip_every is not None:
        check_count(flip_every, "flip_every")
    if max_new_per_round is not None:
        check_count(max_new_per_round, "max_new_per_round")
    if not callable(make_surrogate):
        raise TypeError(f"make_surrogate must be a callable returning a model, got {type(make_surrogate).__name__}")
    return step


def _default_attack(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The default white-box attack on the surrogate: FGSM with eps = 0.3 (the paper's MNIST budget)."""
    return fgsm(model, x, y, eps=0.3)


def _build_surrogate(
    make_surrogate: Callable[[], nn.Module], seed: int, device: torch.device, probe: torch.Tensor, num_classes: int
) -> nn.Module:
    """The untrained surrogate, built under ``manual_seed(seed)``, on ``device``, checked to score ``num_classes``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        surrogate = make_surrogate()
    if not isinstance(surrogate, nn.Module):
        raise TypeError(f"make_surrogate must return a torch.nn.Module, got {type(surrogate).__name__}")
    surrogate = surrogate.to(device)
    with attack_mode(surrogate):
        if num_classes_of(surrogate, probe.to(device)) != num_classes:
            raise ValueError(f"the surrogate must score the oracle's {num_classes} classes")
    return surrogate


def _train_surrogate(
    surrogate: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    device: torch.device,
) -> None:
    """One round's training of the (warm-started) surrogate on the labelled set; leaves it in eval mode."""
    train(
        surrogate,
        images,
        labels,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        device=device,
        checkpoint_dir=None,
        progress=False,
    )
    surrogate.eval()


def _evaluate_round(
    surrogate: nn.Module,
    oracle_model: nn.Module,
    attack: SurrogateAttack,
    eval_images: torch.Tensor,
    eval_labels: torch.Tensor,
    oracle_clean: torch.Tensor,
    device: torch.device,
) -> tuple[dict[str, float], torch.Tensor]:
    """Attack the surrogate on the evaluation images: (the round's rates by field name, the adversarial images)."""
    surrogate_clean = predicted_labels(surrogate, eval_images)
    x_adv = attack(surrogate, eval_images.to(device), eval_labels.to(device)).detach().cpu()
    surrogate_adv = predicted_labels(surrogate, x_adv)
    oracle_adv = predicted_labels(oracle_model, x_adv)
    right_s = surrogate_clean == eval_labels
    right_o = oracle_clean == eval_labels
    rates = {
        "agreement": _rate(surrogate_clean == oracle_clean),
        "surrogate_accuracy": _rate(right_s),
        "oracle_accuracy": _rate(right_o),
        "oracle_adv_accuracy": _rate(oracle_adv == eval_labels),
        "surrogate_success": _rate(surrogate_adv[right_s] != eval_labels[right_s]),
        "transfer_success": _rate(oracle_adv[right_o] != eval_labels[right_o]),
    }
    return rates, x_adv


def _round_step(step: float, r: int, flip_every: int | None) -> float:
    """The augmentation step of round ``r``: ``step``, its sign flipped every ``flip_every`` rounds."""
    return step * (-1) ** (r // flip_every) if flip_every is not None else step


def _grow_set(
    surrogate: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    lam: float,
    max_new_per_round: int | None,
    generator: torch.Generator,
    device: torch.device,
) -> torch.Tensor:
    """One augmentation round's new images (CPU): every image, or a random ``max_new_per_round`` of them, moved."""
    pick = torch.arange(images.shape[0])
    if max_new_per_round is not None and images.shape[0] > max_new_per_round:
        pick = torch.randperm(images.shape[0], generator=generator)[:max_new_per_round].sort().values
    grown = jacobian_augmentation(surrogate, images[pick].to(device), labels[pick].to(device), lam)
    return grown.cpu()


def _rate(flags: torch.Tensor) -> float:
    """The share of true flags; 0 for no flags."""
    return flags.float().mean().item() if flags.numel() else 0.0


__all__ = [
    "BlackBoxResult",
    "BlackBoxRound",
    "LabelOracle",
    "SurrogateAttack",
    "blackbox_attack",
    "jacobian_augmentation",
    "substitute_cnn",
]
