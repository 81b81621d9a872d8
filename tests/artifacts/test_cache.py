"""The artifact cache builds once per config, survives kills, and loads safely."""

import json
import os
import stat

import pytest
import torch

from advinterp_lib.artifacts.cache import ArtifactCache, atomic_torch_save, config_key
from advinterp_lib.atomic import atomic_write_text, file_sha256


def test_key_is_stable_and_order_independent():
    assert config_key("model", {"a": 1, "b": [1, 2]}) == config_key("model", {"b": [1, 2], "a": 1})
    assert config_key("model", {"a": 1}) != config_key("model", {"a": 2})
    assert config_key("model", {"a": 1}) != config_key("advset", {"a": 1})
    assert len(config_key("model", {})) == 16


def test_key_rejects_unserialisable_config_and_bad_kind():
    with pytest.raises(TypeError, match="JSON"):
        config_key("model", {"x": object()})
    with pytest.raises(ValueError, match="kind"):
        config_key("../escape", {})


def test_builds_once_then_reuses(tmp_path):
    cache = ArtifactCache(tmp_path)
    calls = []

    def build(work):
        calls.append(work)
        assert work.is_dir()
        return {"w": torch.arange(3.0)}

    first = cache.get_or_build("model", {"arch": "x"}, build)
    second = cache.get_or_build("model", {"arch": "x"}, build)
    assert len(calls) == 1
    assert torch.equal(first["w"], second["w"])
    folder = cache.folder("model", {"arch": "x"})
    assert json.loads((folder / "config.json").read_text())["config"] == {"arch": "x"}
    assert not (folder / "work").exists()  # work folder removed after success


def test_work_folder_survives_a_failed_build(tmp_path):
    """A builder that checkpoints into its work folder finds the checkpoint next time."""
    cache = ArtifactCache(tmp_path)

    def crashing(work):
        (work / "epoch1.pt").write_text("checkpoint")
        raise KeyboardInterrupt  # a kill mid-build

    with pytest.raises(KeyboardInterrupt):
        cache.get_or_build("model", {"k": 1}, crashing)
    assert not cache.contains("model", {"k": 1})

    def resuming(work):
        assert (work / "epoch1.pt").read_text() == "checkpoint"
        return {"done": torch.ones(1)}

    assert cache.get_or_build("model", {"k": 1}, resuming)["done"].item() == 1.0


def test_corrupt_artifact_is_reported_not_used(tmp_path):
    cache = ArtifactCache(tmp_path)
    cache.get_or_build("model", {"k": 2}, lambda work: {"w": torch.zeros(100)})
    path = cache.folder("model", {"k": 2}) / "artifact.pt"
    path.write_bytes(path.read_bytes()[:50])  # truncated
    with pytest.raises(RuntimeError, match="cannot be read"):
        cache.load("model", {"k": 2})


def test_cache_refuses_pickled_code(tmp_path):
    """weights_only loading: an artifact holding an arbitrary object is refused, even
    with a matching checksum recorded beside it."""
    cache = ArtifactCache(tmp_path)
    folder = cache.folder("model", {"k": 3})
    atomic_torch_save({"obj": ArtifactCache(tmp_path)}, folder / "artifact.pt")
    record = {"kind": "model", "config": {"k": 3}, "sha256": file_sha256(folder / "artifact.pt")}
    atomic_write_text(json.dumps(record), folder / "config.json")
    with pytest.raises(RuntimeError, match="cannot be read"):
        cache.load("model", {"k": 3})


def test_missing_artifact_is_a_key_error(tmp_path):
    with pytest.raises(KeyError, match="no cached"):
        ArtifactCache(tmp_path).load("model", {"nothing": 0})


def test_build_must_return_a_dict(tmp_path):
    with pytest.raises(TypeError, match="dict"):
        ArtifactCache(tmp_path).get_or_build("model", {}, lambda work: [1, 2])


def test_atomic_save_leaves_no_temp_files(tmp_path):
    atomic_torch_save({"a": torch.ones(2)}, tmp_path / "x.pt")
    assert [p.name for p in tmp_path.iterdir()] == ["x.pt"]


def _build_in_another_process(root, log, delay):  # module level: picklable for spawn
    import time

    from advinterp_lib.artifacts.cache import ArtifactCache

    def build(work_dir):
        with open(log, "a") as f:
            f.write("built\n")
        time.sleep(delay)
        return {"x": torch.arange(3)}

    ArtifactCache(root).get_or_build("model", {"a": 1}, build)


def test_two_processes_needing_one_artifact_build_it_once(tmp_path):
    import multiprocessing as mp

    log = tmp_path / "builds.log"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_build_in_another_process, args=(tmp_path / "cache", log, 1.5)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    assert log.read_text().splitlines() == ["built"]
    assert torch.equal(ArtifactCache(tmp_path / "cache").load("model", {"a": 1})["x"], torch.arange(3))


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_atomic_writes_get_the_mode_open_would_give(tmp_path, umask):
    """mkstemp's temp file is private (0600); the written file follows the umask as open() does."""
    old = os.umask(umask)
    try:
        for name, write in (
            ("a.txt", lambda p: atomic_write_text("x", p)),
            ("b.pt", lambda p: atomic_torch_save({"a": 1}, p)),
        ):
            path = write(tmp_path / name)
            assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, name
    finally:
        os.umask(old)


@pytest.mark.parametrize("umask", [0o002, 0o022])
def test_a_cache_entry_gets_the_mode_open_would_give(tmp_path, umask):
    """artifact.pt goes through the one atomic-write path: a cache shared by a group
    (umask 002) gets group-readable and -writable entries, not mkstemp's private 0600."""
    old = os.umask(umask)
    try:
        cache = ArtifactCache(tmp_path)
        cache.get_or_build("model", {"k": 4}, lambda work: {"w": torch.ones(3)})
        folder = cache.folder("model", {"k": 4})
        for name in ("artifact.pt", "config.json"):
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o666 & ~umask, name
    finally:
        os.umask(old)


@pytest.mark.parametrize("bad", [dict(k=10), dict(n=10.5), dict(n=0), dict(train_size=5), dict(archs=["lenet"])])
def test_a_bad_adversarial_set_call_writes_nothing_in_the_cache(tmp_path, bad):
    """Validate first, write after: a bad argument is refused before a model is trained
    or a manifest written, so the corrected call is not refused as a different
    configuration of the same folder. (A bad attack parameter never gets this far: the
    recipe refuses it when it is made, tests/attacks/test_advset.py.)"""
    from advinterp_lib.artifacts import adversarial_set
    from advinterp_lib.attacks.advset import AdversarialSetRecipe

    recipe = AdversarialSetRecipe(k=bad.pop("k", 2), step_size=0.02, steps=1)
    args = dict(archs=["vgg"], n=10, train_size=100, train_epochs=1, cache=ArtifactCache(tmp_path)) | bad
    with pytest.raises((TypeError, ValueError), match=next(iter(bad), "k")):
        adversarial_set(args.pop("archs"), recipe, **args)
    assert list(tmp_path.iterdir()) == []
