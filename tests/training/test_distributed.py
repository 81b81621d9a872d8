"""Distributed training: two gloo processes on the CPU, launched for real by torchrun,
train to the weights of one process on the same global batch; the sharded robustness
evaluation counts every image once; the command line trains and writes its files."""

import functools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from advinterp_lib.training import evaluate_robustness, evaluate_robustness_distributed, train
from advinterp_lib.training.distributed import (
    all_reduce_sum,
    broadcast_from_rank0,
    init_distributed,
    local_slice,
    rank_and_world,
)

# Shared by this file and the torchrun processes.
COMMON = textwrap.dedent(
    """
    import torch
    from advinterp_lib.data import load
    from advinterp_lib.models.zoo import AlexNetSmall

    def make_data(n=130):
        data = load("fashion-mnist", "train").subset(n, seed=0)
        test = load("fashion-mnist", "test").subset(32, seed=0)
        return data.images, data.labels, test.images, test.labels

    def make_model():
        # A zoo AlexNet without dropout: no batch-dependent layer and no randomness,
        # so the slices' averaged gradient is the global batch's gradient.
        torch.manual_seed(0)
        return AlexNetSmall(dropout=0.0)

    def objectives():
        from advinterp_lib.training import ConsistentAdversarialTraining, PGDTraining, cross_entropy
        return {
            "standard": cross_entropy,
            "pgd": PGDTraining(eps=0.1, step_size=0.05, steps=2, random_start=False),
            "consistent": ConsistentAdversarialTraining(eps_step=0.03, steps=2, target="least_likely"),
        }

    # Odd global batch: slices of 32 and 31 images, and a last batch of 4 (2 + 2).
    # SGD, whose step is proportional to the gradient (Adam's first steps are about
    # lr * sign(gradient), which turns rounding in a near-zero gradient into +-lr).
    RUN = dict(epochs=2, batch_size=63, lr=0.05, optimizer="sgd", schedule="constant", seed=0,
               device="cpu", progress=False)
    """
)
_ns: dict = {}
exec(COMMON, _ns)
make_model, objectives, RUN = _ns["make_model"], _ns["objectives"], _ns["RUN"]
AlexNetSmall = _ns["AlexNetSmall"]
make_data = functools.cache(_ns["make_data"])

WORKER = COMMON + textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from advinterp_lib.training import evaluate_robustness_distributed, train
    from advinterp_lib.training.distributed import (
        all_reduce_sum, broadcast_from_rank0, broadcast_state, init_distributed, rank_and_world)

    torch.set_num_threads(1)
    out = Path(sys.argv[1])
    device = init_distributed()
    rank, world = rank_and_world()
    x, y, xt, yt = make_data()
    result = {"world": world, "device": str(device)}
    result["sum"] = all_reduce_sum(torch.tensor([rank + 1.0, 10.0 * rank]))
    result["broadcast"] = broadcast_from_rank0({"rank": rank})
    torch.manual_seed(rank + 1)  # different weights on each process, then rank 0's
    result["state"] = broadcast_state(AlexNetSmall(dropout=0.0)).state_dict()
    for name, objective in objectives().items():
        model = make_model()
        history = train(model, x, y, objective=objective, **RUN)
        result[name] = {"state": model.state_dict(), "loss": history.loss, "train_acc": history.train_acc}
    # Interrupted after epoch 1 and resumed (rank 0 alone reads the checkpoint).
    model = make_model()
    train(model, x, y, checkpoint_dir=out / "ckpt", stop_after_epochs=1, **RUN)
    model = make_model()
    history = train(model, x, y, checkpoint_dir=out / "ckpt", **RUN)
    result["resumed"] = {"state": model.state_dict(), "loss": history.loss}
    result["robustness"] = evaluate_robustness_distributed(
        model, xt, yt, fgsm_eps=0.1, pgd_steps=2, pgd_random_start=False, topk=(1, 3), batch_size=16)
    torch.save(result, out / f"rank{rank}.pt")
    """
)


def _torchrun(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"torchrun failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run faster on one thread, and a busy machine cannot slow them down
    by oversubscription (the torchrun processes get OMP_NUM_THREADS=1)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def fashion_mnist_ready():
    from advinterp_lib.data import DataNotFoundError, load

    try:
        load("fashion-mnist", "test")
    except DataNotFoundError as err:
        pytest.skip(f"Fashion-MNIST is not prepared: {err}")


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory, fashion_mnist_ready):
    """The worker's results, one dict per rank."""
    folder = tmp_path_factory.mktemp("ddp")
    (folder / "worker.py").write_text(WORKER)
    _torchrun([str(folder / "worker.py"), str(folder)], cwd=folder)
    return [torch.load(folder / f"rank{r}.pt", weights_only=True) for r in range(2)]


class SliceWise:
    """The objective of the global batch as two processes compute it: each half of the
    batch on its own (an adversarial example crafted on the half), the halves' losses
    weighted by their share of the batch."""

    def __init__(self, objective, world=2):
        self.objective, self.world = objective, world
        self.__qualname__ = getattr(objective, "__qualname__", type(objective).__qualname__)

    def __call__(self, model, x, y):
        return sum(
            len(xs) / len(x) * self.objective(model, xs, ys)
            for xs, ys in zip(x.tensor_split(self.world), y.tensor_split(self.world), strict=True)
        )


def _one_process(objective_of, names):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        x, y, _, _ = make_data()
        result = {}
        for name, objective in objectives().items():
            if name not in names:
                continue
            model = make_model()
            history = train(model, x, y, objective=objective_of(objective), distributed=False, **RUN)
            result[name] = {"state": model.state_dict(), "loss": history.loss, "train_acc": history.train_acc}
        return result
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def one_process_run(fashion_mnist_ready):
    """One process, the objective on the whole global batch."""
    return _one_process(lambda objective: objective, ("standard", "pgd", "consistent"))


@pytest.fixture(scope="module")
def one_process_slicewise_run(fashion_mnist_ready):
    """One process, the objective computed per half-batch (:class:`SliceWise`)."""
    return _one_process(SliceWise, ("pgd", "consistent"))


# How far two processes may land from one process on the same global batch, as a
# max |difference| of any weight (the weights move by about 2e-2 in these 6 steps).
# Standard training: float rounding only (the slices' mean gradients are averaged
# instead of one mean over 63 images); measured 1.5e-8. PGD training: the attack's
# sign(gradient) can flip where rounding changes a near-zero gradient; measured 7e-6.
# Consistent training: its least-likely targets and sign steps on each half differ
# more from those on the whole batch; measured 7e-4, so we bound it relative to the
# distance moved, and check it exactly against the slice-wise twin instead.
GLOBAL_ATOL = {"standard": 1e-6, "pgd": 1e-4}
CONSISTENT_RELATIVE = 0.1
# Against the slice-wise twin (adversarial examples crafted per half in one process):
# rounding only (gradients summed by DDP instead of by autograd); measured <= 8e-7.
SLICEWISE_ATOL = 1e-5


def _max_difference(a: dict, b: dict) -> float:
    assert list(a) == list(b)
    return max((a[k] - b[k]).abs().max().item() for k in a)


def _moved(state: dict) -> float:
    return _max_difference(state, make_model().state_dict())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["standard", "pgd", "consistent"])
def test_two_processes_train_the_weights_of_one_process_with_the_same_global_batch(
    name, two_process_run, one_process_run
):
    single = one_process_run[name]
    for rank in (0, 1):
        ddp = two_process_run[rank][name]
        assert two_process_run[rank]["world"] == 2
        diff = _max_difference(ddp["state"], single["state"])
        if name in GLOBAL_ATOL:
            assert diff <= GLOBAL_ATOL[name], f"{name}, rank {rank}: max |difference| {diff:.2e}"
        else:
            assert diff <= CONSISTENT_RELATIVE * _moved(single["state"]), f"{name}, rank {rank}: {diff:.2e}"
        # The history is global: the loss and accuracy over all images of the epoch.
        assert ddp["loss"] == pytest.approx(single["loss"], rel=1e-3 if name == "consistent" else 1e-5)
        assert ddp["train_acc"] == pytest.approx(single["train_acc"], abs=2 / 130, nan_ok=True)
    # Both processes hold identical weights (DDP keeps the replicas in step).
    for key, value in two_process_run[0][name]["state"].items():
        assert torch.equal(value, two_process_run[1][name]["state"][key]), key


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pgd", "consistent"])
def test_adversarial_examples_are_crafted_on_each_processes_slice(name, two_process_run, one_process_slicewise_run):
    diff = _max_difference(two_process_run[0][name]["state"], one_process_slicewise_run[name]["state"])
    assert diff <= SLICEWISE_ATOL, f"{name}: max |difference| {diff:.2e}"


@pytest.mark.slow
def test_the_weights_move_at_all(two_process_run):
    """Guards the equality test against a vacuous pass (nothing trained)."""
    for name in ("standard", "pgd", "consistent"):
        assert _moved(two_process_run[0][name]["state"]) > 1e-2


@pytest.mark.slow
def test_collectives_sum_and_broadcast_across_processes(two_process_run):
    for rank in (0, 1):
        assert two_process_run[rank]["sum"].tolist() == [3.0, 10.0]
        assert two_process_run[rank]["broadcast"] == {"rank": 0}
    torch.manual_seed(1)
    rank0 = AlexNetSmall(dropout=0.0).state_dict()
    for rank in (0, 1):
        for key, value in rank0.items():
            assert torch.equal(two_process_run[rank]["state"][key], value), (rank, key)


@pytest.mark.slow
def test_a_resumed_distributed_run_equals_the_uninterrupted_one(two_process_run):
    for rank in (0, 1):
        resumed, whole = two_process_run[rank]["resumed"], two_process_run[rank]["standard"]
        for key, value in whole["state"].items():
            assert torch.equal(resumed["state"][key], value), (rank, key)
        assert resumed["loss"] == whole["loss"]


@pytest.mark.slow
def test_sharded_robustness_evaluation_equals_the_single_process_one(two_process_run):
    _, _, xt, yt = make_data()
    model = make_model()
    model.load_state_dict(two_process_run[0]["resumed"]["state"])
    expected = evaluate_robustness(
        model, xt, yt, fgsm_eps=0.1, pgd_steps=2, pgd_random_start=False, topk=(1, 3), batch_size=16
    )
    for rank in (0, 1):
        got = two_process_run[rank]["robustness"]
        assert got.keys() == expected.keys()
        for attack in expected:
            # Counts of 32 images; the replicas' weights are bitwise those of rank 0.
            assert got[attack] == pytest.approx(expected[attack], abs=1e-12), attack


# ------------------------------------------------- without a process group


def test_without_a_process_group_the_helpers_are_the_single_process_identity():
    assert rank_and_world() == (0, 1)
    assert broadcast_from_rank0({"a": 1}) == {"a": 1}
    assert torch.equal(all_reduce_sum(torch.tensor([1.0, 2.0])), torch.tensor([1.0, 2.0], dtype=torch.float64))


def test_local_slices_partition_a_batch_in_order():
    batch = torch.arange(63)
    parts = [local_slice(batch, r, 2) for r in range(2)]
    assert [len(p) for p in parts] == [32, 31]
    assert torch.equal(torch.cat(parts), batch)
    parts = [local_slice(torch.arange(10), r, 4) for r in range(4)]
    assert [len(p) for p in parts] == [3, 3, 2, 2]


def test_distributed_true_without_a_process_group_is_refused():
    x, y = torch.rand(8, 1, 28, 28), torch.arange(8) % 2
    with pytest.raises(ValueError, match="process group"):
        train(make_model(), x, y, epochs=1, distributed=True, progress=False)
    with pytest.raises(TypeError, match="distributed"):
        train(make_model(), x, y, epochs=1, distributed="yes", progress=False)


def test_init_outside_torchrun_names_torchrun():
    env_names = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "LOCAL_RANK")
    if any(n in os.environ for n in env_names):
        pytest.skip("running under torchrun")
    with pytest.raises(RuntimeError, match="torchrun"):
        init_distributed("gloo")


def test_sharded_evaluation_without_a_process_group_is_the_plain_one():
    model = make_model()
    x, y = torch.rand(6, 1, 28, 28), torch.arange(6) % 10
    kwargs = dict(fgsm_eps=0.1, pgd_steps=1, pgd_random_start=False)
    assert evaluate_robustness_distributed(model, x, y, **kwargs) == evaluate_robustness(model, x, y, **kwargs)


# ------------------------------------------------------------- command line


@pytest.mark.slow
def test_the_command_line_trains_and_writes_its_files(tmp_path, fashion_mnist_ready):
    out = tmp_path / "run"
    args = [
        "-m",
        "advinterp_lib.runs.distributed_training",
        "--arch",
        "alexnet",
        "--objective",
        "pgd",
        "--from-scratch",
        "--epochs",
        "1",
        "--out",
        str(out),
        "--train-size",
        "256",
        "--batch-size",
        "64",
        "--eval-size",
        "32",
        "--eval-pgd-steps",
        "1",
        "--profile",
        "quick",
        "--param",
        "steps=1",
        "--param",
        "step_size=0.1",
        "--no-progress",
    ]
    _torchrun(args, cwd=tmp_path)
    run = json.loads((out / "run.json").read_text())
    assert run["world_size"] == 2 and run["backend"] == "gloo"
    assert run["params"] == {"eps": 0.1, "step_size": 0.1, "steps": 1}
    records = json.loads((out / "metrics.json").read_text())["epochs"]
    assert [r["epoch"] for r in records] == [1]
    assert set(records[0]) >= {"loss", "clean", "fgsm", "pgd"}
    weights = torch.load(out / "model.pt", weights_only=True)
    checkpoint = torch.load(out / "checkpoint.pt", weights_only=True)["state"]
    assert checkpoint["epoch"] == 1
    assert all(torch.equal(weights[k], checkpoint["model"][k]) for k in weights)


def test_from_scratch_starts_from_the_seeds_weights_whatever_the_global_generator():
    """--from-scratch used to build the network from torch's unseeded global generator, so
    two identical runs started (and ended) with different weights."""
    import argparse

    from advinterp_lib.runs.distributed_training import _initial_model

    def initial(seed: int, noise: int) -> dict[str, torch.Tensor]:
        torch.manual_seed(noise)  # whatever the caller's generator holds
        args = argparse.Namespace(
            arch="resnet", seed=seed, from_scratch=True, no_sync_batchnorm=False, no_progress=True
        )
        return _initial_model(args, {}, 0, 1, torch.device("cpu")).state_dict()

    a, b, c = initial(3, 0), initial(3, 1), initial(4, 0)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
