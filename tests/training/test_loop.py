"""The training loop: it learns, it is deterministic, it resumes bit for bit (also
after a SIGKILL), evaluate/predict are exact, and bad input is explained."""

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from advinterp_lib.training import (
    CheckpointError,
    TrainHistory,
    cross_entropy,
    evaluate,
    load_checkpoint,
    predict,
    train,
)

# Shared by this file and the child process of the SIGKILL test.
COMMON = textwrap.dedent(
    """
    import torch
    from torch import nn

    def make_data(n=256, seed=0):
        # Two classes: the bright half of an 8x8 image is the top (0) or the bottom (1).
        g = torch.Generator().manual_seed(seed)
        y = torch.arange(n) % 2
        x = torch.rand(n, 1, 8, 8, generator=g) * 0.5
        x[y == 0, :, :4] += 0.5
        x[y == 1, :, 4:] += 0.5
        return x.clamp(0, 1), y

    def make_model():
        # BatchNorm (buffers) and Dropout (randomness) make resuming non-trivial.
        return nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.3),
            nn.Flatten(), nn.Linear(4 * 8 * 8, 2),
        )
    """
)
_ns: dict = {}
exec(COMMON, _ns)
make_data, make_model = _ns["make_data"], _ns["make_model"]

FAST = {"batch_size": 32, "progress": False}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run faster on one thread (no synchronisation between threads),
    and a busy CI machine cannot slow them down by oversubscription."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _fresh_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return make_model()


def _assert_same_state(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:  # parameters and buffers (BatchNorm statistics, step counts)
        assert torch.equal(sa[key], sb[key]), key


def _records_without_time(history: TrainHistory) -> list[tuple]:
    return [(r.epoch, r.loss, r.train_acc) for r in history.records]


# ------------------------------------------------------------------- it learns


def test_loss_decreases_on_a_separable_problem():
    x, y = make_data()
    model = _fresh_model()
    history = train(model, x, y, epochs=5, lr=1e-2, **FAST)
    assert [r.epoch for r in history.records] == [1, 2, 3, 4, 5]
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert history.train_acc[-1] > 0.95
    assert all(r.seconds > 0 and r.images_per_s > 0 for r in history.records)
    assert not model.training  # left in eval mode
    x_test, y_test = make_data(seed=1)
    assert evaluate(model, x_test, y_test)["top1"] > 0.95


def test_history_round_trips_through_a_dict():
    x, y = make_data(64)
    history = train(_fresh_model(), x, y, epochs=2, **FAST)
    assert TrainHistory.from_dict(history.to_dict()) == history
    assert history.to_dict()["records"][0]["epoch"] == 1


@pytest.mark.parametrize("optimizer, schedule", [("sgd", "cosine"), ("adamw", "constant")])
def test_other_optimizers_and_schedules_learn(optimizer, schedule):
    x, y = make_data()
    history = train(
        _fresh_model(),
        x,
        y,
        epochs=4,
        lr=5e-2 if optimizer == "sgd" else 1e-2,
        optimizer=optimizer,
        schedule=schedule,
        **FAST,
    )
    assert history.loss[-1] < 0.5 * history.loss[0]


def test_any_objective_of_the_same_shape():
    def squared_error(model, x, y):  # regress one-hot targets: not cross-entropy
        return ((model(x).softmax(1) - nn.functional.one_hot(y, 2).float()) ** 2).sum(1).mean()

    x, y = make_data()
    history = train(_fresh_model(), x, y, epochs=5, lr=1e-2, objective=squared_error, **FAST)
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert history.train_acc[-1] > 0.9


def test_train_acc_is_nan_when_the_objective_never_sees_the_clean_batch():
    def on_a_copy(model, x, y):
        return cross_entropy(model, x.clone(), y)

    x, y = make_data(64)
    history = train(_fresh_model(), x, y, epochs=1, objective=on_a_copy, **FAST)
    assert math.isnan(history.train_acc[0]) and math.isfinite(history.loss[0])


# ---------------------------------------------------------------- determinism


def test_same_seed_same_weights_other_seed_other_weights():
    x, y = make_data()
    a, b, c = _fresh_model(), _fresh_model(), _fresh_model()
    train(a, x, y, epochs=2, seed=1, **FAST)
    train(b, x, y, epochs=2, seed=1, **FAST)
    train(c, x, y, epochs=2, seed=2, **FAST)
    _assert_same_state(a, b)
    assert not torch.equal(a[0].weight, c[0].weight)


def test_the_callers_random_state_is_untouched():
    x, y = make_data(64)
    model = _fresh_model()
    torch.manual_seed(123)
    before = torch.get_rng_state()
    train(model, x, y, epochs=1, **FAST)
    assert torch.equal(torch.get_rng_state(), before)


def test_resume_after_an_interruption_equals_an_uninterrupted_run(tmp_path):
    x, y = make_data()
    reference = _fresh_model()
    h_ref = train(reference, x, y, epochs=3, **FAST)

    interrupted = _fresh_model()
    h1 = train(interrupted, x, y, epochs=3, checkpoint_dir=tmp_path, stop_after_epochs=1, **FAST)
    assert len(h1) == 1 and load_checkpoint(tmp_path / "checkpoint.pt")["epoch"] == 1

    resumed = _fresh_model(seed=99)  # a new process builds a new model: the checkpoint wins
    h2 = train(resumed, x, y, epochs=3, checkpoint_dir=tmp_path, **FAST)
    _assert_same_state(resumed, reference)
    assert _records_without_time(h2) == _records_without_time(h_ref)
    assert h2.records[0] == h1.records[0]  # epoch 1 comes from the checkpoint

    # All epochs done: the call only loads the weights and the history.
    finished = _fresh_model(seed=7)
    h3 = train(finished, x, y, epochs=3, checkpoint_dir=tmp_path, **FAST)
    _assert_same_state(finished, reference)
    assert h3 == h2
    assert not finished.training


def test_resume_with_different_arguments_is_refused(tmp_path):
    x, y = make_data(64)
    train(_fresh_model(), x, y, epochs=2, checkpoint_dir=tmp_path, stop_after_epochs=1, **FAST)
    with pytest.raises(ValueError, match="different run.*'lr'"):
        train(_fresh_model(), x, y, epochs=2, lr=1e-2, checkpoint_dir=tmp_path, **FAST)
    x2, y2 = make_data(64, seed=5)
    with pytest.raises(ValueError, match="different run.*'data'"):
        train(_fresh_model(), x2, y2, epochs=2, checkpoint_dir=tmp_path, **FAST)


def test_a_truncated_checkpoint_stops_the_resume(tmp_path):
    x, y = make_data(64)
    train(_fresh_model(), x, y, epochs=2, checkpoint_dir=tmp_path, stop_after_epochs=1, **FAST)
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        train(_fresh_model(), x, y, epochs=2, checkpoint_dir=tmp_path, **FAST)


CHILD = COMMON + textwrap.dedent(
    """
    import sys, time
    from advinterp_lib.training import train
    torch.set_num_threads(int(sys.argv[2]))
    torch.manual_seed(0)
    x, y = make_data(800)
    model = make_model()
    # Slow each step down (without changing any number) so the kill lands mid-run.
    model.register_forward_pre_hook(lambda module, args: time.sleep(0.005))
    train(model, x, y, epochs=int(sys.argv[3]), batch_size=16, progress=False,
          checkpoint_dir=sys.argv[1])
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_resume_after_sigkill_equals_an_uninterrupted_run(tmp_path):
    epochs = 10
    checkpoint = tmp_path / "checkpoint.pt"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), str(torch.get_num_threads()), str(epochs)],
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        deadline = time.monotonic() + 120
        while not checkpoint.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert checkpoint.exists(), f"the child wrote no checkpoint (exit code {child.poll()})"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    done = load_checkpoint(checkpoint)["epoch"]
    assert 1 <= done < epochs  # killed mid-run

    x, y = make_data(800)
    resumed = _fresh_model(seed=99)
    h_resumed = train(resumed, x, y, epochs=epochs, batch_size=16, progress=False, checkpoint_dir=tmp_path)
    reference = _fresh_model()
    h_ref = train(reference, x, y, epochs=epochs, batch_size=16, progress=False)
    _assert_same_state(resumed, reference)
    assert _records_without_time(h_resumed) == _records_without_time(h_ref)


# ------------------------------------------------------------ evaluate, predict


def _identity_logits_model() -> nn.Module:
    """Logits = the five pixels of a [1, 1, 5] image."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(5, 5, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(torch.eye(5))
    return model


def test_evaluate_topk_on_hand_set_logits():
    logits = torch.tensor(
        [
            [0.9, 0.1, 0.2, 0.3, 0.4],  # label 0 ranks 1st
            [0.1, 0.9, 0.8, 0.7, 0.2],  # label 2 ranks 2nd
            [0.5, 0.4, 0.3, 0.2, 0.1],  # label 4 ranks 5th
            [0.2, 0.3, 0.6, 0.1, 0.5],  # label 4 ranks 2nd
        ]
    )
    labels = torch.tensor([0, 2, 4, 4])
    images = logits.view(4, 1, 1, 5)
    acc = evaluate(_identity_logits_model(), images, labels, topk=(1, 2, 3, 5), batch_size=3)
    assert acc == {"top1": 1 / 4, "top2": 3 / 4, "top3": 3 / 4, "top5": 1.0}
    assert evaluate(_identity_logits_model(), images, labels, topk=2) == {"top2": 3 / 4}
    with pytest.raises(ValueError, match="topk must be <= num_classes = 5"):
        evaluate(_identity_logits_model(), images, labels, topk=(1, 6))


def test_predict_returns_cpu_logits_and_restores_the_mode():
    x, _ = make_data(70)
    model = _fresh_model()
    model.train()
    logits = predict(model, x, batch_size=32)
    assert model.training and all(m.training for m in model.modules())
    model.eval()
    with torch.no_grad():
        expected = model(x)
    assert logits.device.type == "cpu" and logits.shape == (70, 2)
    torch.testing.assert_close(logits, expected)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "images, labels, error, message",
    [
        (lambda x: x * 255, None, ValueError, "looks like 0..255"),
        (lambda x: (x - 0.5) / 0.25, None, ValueError, "looks normalised"),
        (lambda x: x.masked_fill(x > 0.99, math.nan), None, ValueError, "NaN"),
        (lambda x: (x * 255).to(torch.uint8), None, TypeError, "float\\(\\) / 255"),
        (lambda x: x[:, 0], None, ValueError, r"\[N, C, H, W\].*unsqueeze"),
        (lambda x: x.numpy(), None, TypeError, "torch.Tensor"),
        (None, lambda y: y + 1, ValueError, r"labels must be class indices in \[0, 2\), got values in \[1, 2\]"),
        (None, lambda y: y - 1, ValueError, r"labels must be class indices >= 0, got values in \[-1, 0\]"),
        (None, lambda y: y.float(), TypeError, "integer"),
        (None, lambda y: y[:-1], ValueError, r"labels must have shape \[16\] \(one label per image\)"),
    ],
)
def test_bad_data_is_explained(images, labels, error, message):
    x, y = make_data(16)
    x = images(x) if images else x
    y = labels(y) if labels else y
    with pytest.raises(error, match=message):
        train(_fresh_model(), x, y, epochs=1, **FAST)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"epochs": 0}, ValueError, "epochs must be >= 1"),
        ({"epochs": 1.5}, TypeError, "epochs must be an int"),
        ({"epochs": 2, "stop_after_epochs": 3}, ValueError, "stop_after_epochs must be <= epochs"),
        ({"epochs": 1, "lr": -1.0}, ValueError, "lr must be"),
        ({"epochs": 1, "optimizer": "adagrad"}, ValueError, "unknown optimizer 'adagrad'.*adam, adamw, sgd"),
        ({"epochs": 1, "schedule": "step"}, ValueError, "unknown schedule 'step'.*onecycle"),
    ],
)
def test_bad_arguments_are_explained(kwargs, error, message):
    x, y = make_data(16)
    with pytest.raises(error, match=message):
        train(_fresh_model(), x, y, progress=False, **kwargs)


def test_a_diverging_loss_stops_training():
    def nan_loss(model, x, y):
        return cross_entropy(model, x, y) * math.nan

    x, y = make_data(64)
    with pytest.raises(FloatingPointError, match="lower lr"):
        train(_fresh_model(), x, y, epochs=1, objective=nan_loss, **FAST)


def test_objective_must_return_a_scalar():
    x, y = make_data(64)
    with pytest.raises(TypeError, match="scalar"):
        train(
            _fresh_model(),
            x,
            y,
            epochs=1,
            objective=lambda m, x, y: nn.functional.cross_entropy(m(x), y, reduction="none"),
            **FAST,
        )


# ------------------------------------------------------------- real data (slow)


@pytest.fixture(scope="module")
def fashion_mnist():
    from advinterp_lib.data import DataNotFoundError, load

    try:
        return load("fashion-mnist", "train"), load("fashion-mnist", "test")
    except DataNotFoundError as err:
        pytest.skip(f"Fashion-MNIST is not prepared: {err}")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["alexnet", "vgg", "resnet"])
def test_zoo_models_learn_fashion_mnist(name, fashion_mnist):
    from advinterp_lib.models import build

    train_set, test_set = fashion_mnist
    small = train_set.subset(3000, seed=0)
    held_out = test_set.subset(1000, seed=0)
    torch.manual_seed(0)
    model = build(name)
    history = train(model, small.images, small.labels, epochs=2, progress=False)
    assert history.loss[1] < history.loss[0]
    # Chance is 0.10; the quick profile on all 60k images reaches >= 0.85.
    assert evaluate(model, held_out.images, held_out.labels)["top1"] > 0.60
