"""Adversarial sets in shards: content, resumption after SIGKILL, damaged shards."""

import json
import math
import os
import runpy
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from advinterp_lib.artifacts.store import generate_adversarial_set, iter_shards, load_adversarial_set
from advinterp_lib.attacks.advset import AdversarialSetRecipe
from advinterp_lib.attacks.ensemble import ensemble_attack, least_likely_targets
from advinterp_lib.data import AdversarialSet

ROOT = Path(__file__).resolve().parents[2]


def _models():
    torch.manual_seed(0)
    return [
        nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 5)),
        nn.Sequential(nn.Flatten(), nn.Linear(64, 5)),
    ]


def _data(n=20):
    g = torch.Generator().manual_seed(1)
    return torch.rand(n, 1, 8, 8, generator=g), torch.randint(0, 5, (n,), generator=g)


RECIPE_FIELDS = ("k", "step_size", "steps", "eps", "loss", "random_start")


def _generate(directory, **kw):
    """The set of ``_data()`` by ``_models()``; ``kw`` overrides the recipe's fields
    (k=3, steps=4, step_size=5/255) and the store's arguments (shard_size=6, batch_size=5)."""
    x, y = _data()
    recipe = dict(k=3, step_size=5 / 255, steps=4) | {k: v for k, v in kw.items() if k in RECIPE_FIELDS}
    params = dict(shard_size=6, batch_size=5, progress=False) | {k: v for k, v in kw.items() if k not in RECIPE_FIELDS}
    return generate_adversarial_set(_models(), x, y, directory, AdversarialSetRecipe(**recipe), **params)


def _mtimes(directory):
    return {p.name: p.stat().st_mtime_ns for p in Path(directory).glob("shard_*.pt")}


def _same(a: AdversarialSet, b: AdversarialSet) -> bool:
    return all(torch.equal(getattr(a, f), getattr(b, f)) for f in ("images_uint8", "source_index", "labels", "targets"))


def test_shards_hold_the_attack_of_each_image_toward_its_least_likely_classes(tmp_path):
    s = _generate(tmp_path)
    x, y = _data()
    assert len(s) == 20 * 3 and (s.k, s.num_sources) == (3, 20)
    assert sorted(p.name for p in tmp_path.glob("shard_*.pt")) == [
        "shard_00000000-00000006.pt",
        "shard_00000006-00000012.pt",
        "shard_00000012-00000018.pt",
        "shard_00000018-00000020.pt",
    ]
    targets = least_likely_targets(_models(), x, 3, exclude=y)
    assert torch.equal(s.source_index, torch.arange(20).repeat_interleave(3))
    assert torch.equal(s.labels, y.repeat_interleave(3))
    assert torch.equal(s.targets, targets.reshape(-1))
    assert (s.targets != s.labels).all()
    # the stored pixels are the attack's output rounded to 0..255
    expected = ensemble_attack(_models(), x.repeat_interleave(3, 0), s.targets, steps=4)
    assert s.images_uint8.dtype == torch.uint8
    assert (s.images_uint8.float() - expected * 255).abs().max() <= 0.5 + 1e-3
    image, label, target, source = s[4]
    assert torch.equal(image, s.images[4]) and image.dtype == torch.float32
    assert (label, target, source) == (int(y[1]), int(targets[1, 1]), 1)
    # every shard loads with weights_only=True and iterates in order
    shards = list(iter_shards(tmp_path))
    assert [int(sh["source_index"][0]) for sh in shards] == [0, 6, 12, 18]
    for p in tmp_path.glob("shard_*.pt"):
        assert set(torch.load(p, weights_only=True)) == {
            "images",
            "source_index",
            "label",
            "target",
        }


def test_a_finished_set_is_reused_without_touching_any_shard(tmp_path):
    first = _generate(tmp_path)
    before = _mtimes(tmp_path)
    again = _generate(tmp_path)
    assert _mtimes(tmp_path) == before and _same(first, again)


def test_a_truncated_or_altered_shard_is_detected_and_redone(tmp_path):
    reference = _generate(tmp_path / "reference")
    d = tmp_path / "damaged"
    _generate(d)
    truncated, flipped = d / "shard_00000006-00000012.pt", d / "shard_00000012-00000018.pt"
    truncated.write_bytes(truncated.read_bytes()[:300])
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0xFF  # still a readable file, but not what was written
    flipped.write_bytes(bytes(data))
    before = _mtimes(d)
    time.sleep(0.01)
    with pytest.raises(ValueError, match="damaged"):
        load_adversarial_set(d)
    again = _generate(d)
    after = _mtimes(d)
    assert after[truncated.name] != before[truncated.name]
    assert after[flipped.name] != before[flipped.name]
    for name in ("shard_00000000-00000006.pt", "shard_00000018-00000020.pt"):
        assert after[name] == before[name]
    assert _same(again, reference)


def test_an_unfinished_set_cannot_be_loaded(tmp_path):
    _generate(tmp_path)
    (tmp_path / "shard_00000012-00000018.pt").unlink()
    with pytest.raises(ValueError, match="unfinished"):
        load_adversarial_set(tmp_path)
    with pytest.raises(FileNotFoundError, match="manifest"):
        load_adversarial_set(tmp_path / "nothing")


def test_a_folder_of_another_configuration_is_refused(tmp_path):
    _generate(tmp_path)
    with pytest.raises(ValueError, match="different configuration.*k"):
        _generate(tmp_path, k=2)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["config"]["k"] == 3 and len(manifest["shards"]) == 4


def test_deterministic_given_the_seed(tmp_path):
    a = _generate(tmp_path / "a", eps=0.1, random_start=True, seed=5)
    b = _generate(tmp_path / "b", eps=0.1, random_start=True, seed=5)
    c = _generate(tmp_path / "c", eps=0.1, random_start=True, seed=6)
    assert _same(a, b) and not torch.equal(a.images_uint8, c.images_uint8)


def test_bad_input_is_refused(tmp_path):
    x, y = _data()
    recipe = AdversarialSetRecipe(k=2, step_size=5 / 255, steps=4)
    with pytest.raises(ValueError, match=r"k must be .*<= num_classes - 1 = 4"):
        generate_adversarial_set(_models(), x, y, tmp_path, AdversarialSetRecipe(k=5, step_size=0.02, steps=4))
    with pytest.raises(ValueError, match="at least one model"):
        generate_adversarial_set([], x, y, tmp_path, recipe, progress=False)
    with pytest.raises(ValueError, match=r"labels must be class indices in \[0, 5\)"):
        generate_adversarial_set(_models(), x, y + 5, tmp_path, recipe, progress=False)
    bad = x.clone()
    bad[3, 0, 0, 0] = math.nan
    with pytest.raises(ValueError, match="NaN"):
        generate_adversarial_set(_models(), bad, y, tmp_path, recipe, progress=False)
    with pytest.raises(TypeError, match="recipe must be an AdversarialSetRecipe"):
        generate_adversarial_set(_models(), x, y, tmp_path, {"k": 2}, progress=False)
    assert not list(tmp_path.iterdir())  # nothing written before the checks pass


# --- a real kill: SIGKILL a generating process, then resume --------------------------------

_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import torch
    from torch import nn
    from advinterp_lib.artifacts.store import generate_adversarial_set
    from advinterp_lib.attacks.advset import AdversarialSetRecipe

    torch.set_num_threads(1)

    class Slow(nn.Module):  # a real model that takes its time, so a kill lands mid-run
        def __init__(self, inner):
            super().__init__()
            self.inner = inner
        def forward(self, x):
            time.sleep(0.02)
            return self.inner(x)

    torch.manual_seed(0)
    models = [Slow(nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 5))),
              nn.Sequential(nn.Flatten(), nn.Linear(64, 5))]
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(40, 1, 8, 8, generator=g), torch.randint(0, 5, (40,), generator=g)
    generate_adversarial_set(models, x, y, sys.argv[1], AdversarialSetRecipe(k=2, step_size=5 / 255, steps=5),
                             shard_size=8, batch_size=8, progress=False)
    """
)


def _start(script, directory):
    return subprocess.Popen(
        [sys.executable, str(script), str(directory)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_killed_generation_resumes_without_redoing_finished_shards(tmp_path):
    script = tmp_path / "generate.py"
    script.write_text(_SCRIPT)
    killed_dir = tmp_path / "killed"
    proc = _start(script, killed_dir)
    deadline = time.monotonic() + 60
    while not list(killed_dir.glob("shard_*.pt")):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no shard appeared within 60 s"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    finished = _mtimes(killed_dir)
    assert 1 <= len(finished) < 5, "the kill must land while shards are still missing"

    resumed = _start(script, killed_dir)
    assert resumed.wait(timeout=120) == 0, resumed.stderr.read().decode()
    after = _mtimes(killed_dir)
    assert len(after) == 5
    assert {name: after[name] for name in finished} == finished  # not redone
    # an uninterrupted run of the same script (here, with the same single thread)
    threads, argv = torch.get_num_threads(), sys.argv
    try:
        sys.argv = [str(script), str(tmp_path / "reference")]
        runpy.run_path(str(script), run_name="__main__")
    finally:
        torch.set_num_threads(threads)
        sys.argv = argv
    assert _same(load_adversarial_set(killed_dir), load_adversarial_set(tmp_path / "reference"))
    assert not [p for p in os.listdir(killed_dir) if p.endswith(".tmp")]  # a kill's leftovers are cleared


# --- two processes asked for one set at once -------------------------------------------------

_CONCURRENT = textwrap.dedent(
    """
    import os, sys, time
    import torch
    from torch import nn
    import advinterp_lib.artifacts.store as store
    from advinterp_lib.attacks.advset import AdversarialSetRecipe

    torch.set_num_threads(1)
    directory, log, go = sys.argv[1], sys.argv[2], sys.argv[3]
    attack_rows = store.least_likely_rows

    def logged(models, images, *args, **kw):  # the real attack, with a line per shard computed
        with open(log, "a") as f:  # a shard's images identify it: their sum, to 6 digits
            f.write(f"{os.getpid()} {float(images.sum()):.6f}\\n")
        return attack_rows(models, images, *args, **kw)

    store.least_likely_rows = logged

    class Slow(nn.Module):  # a real model that takes its time, so the two runs overlap
        def __init__(self, inner):
            super().__init__()
            self.inner = inner
        def forward(self, x):
            time.sleep(0.01)
            return self.inner(x)

    torch.manual_seed(0)
    models = [Slow(nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 5))),
              nn.Sequential(nn.Flatten(), nn.Linear(64, 5))]
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(48, 1, 8, 8, generator=g), torch.randint(0, 5, (48,), generator=g)
    open(f"{go}.ready.{os.getpid()}", "w").close()
    while not os.path.exists(go):  # both start together
        time.sleep(0.001)
    s = store.generate_adversarial_set(models, x, y, directory, AdversarialSetRecipe(k=2, step_size=5 / 255, steps=20),
                                       shard_size=8, batch_size=8, progress=False)
    assert len(s) == 96
    """
)


def test_two_processes_generating_one_set_neither_crash_nor_compute_a_shard_twice(tmp_path):
    """The attack of issue 18: two processes on one folder. Before the lock, the second
    deleted the first's shard being written (FileNotFoundError) and both computed
    every shard; now the second waits for the folder's lock and finds the set done."""
    script, log, go = tmp_path / "generate.py", tmp_path / "shards.log", tmp_path / "go"
    script.write_text(_CONCURRENT)
    directory = tmp_path / "set"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(directory), str(log), str(go)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("go.ready.*"))) < 2:  # both imported torch and wait at the start line
        assert all(p.poll() is None for p in procs), [p.stderr.read().decode()[-2000:] for p in procs]
        assert time.monotonic() < deadline, "the two processes did not start within 120 s"
        time.sleep(0.01)
    go.touch()
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read().decode()[-3000:]
    shards = [line.split()[1] for line in log.read_text().splitlines()]
    assert len(shards) == 6 and len(set(shards)) == 6  # every one of the 6 shards computed exactly once
    assert len(load_adversarial_set(directory)) == 96
    assert not list(directory.glob(".*.tmp"))


def test_a_live_writers_temp_file_is_kept_and_a_dead_ones_removed(tmp_path):
    """Only stale temp files go: a dead pid's, or a pid-less one older than the lock.
    A file a live process is writing (here: this test's own pid) stays."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    tmp_path.mkdir(exist_ok=True)
    live = tmp_path / f".shard_00000000-00000006.pt.p{os.getpid()}-abc.tmp"
    gone = tmp_path / f".shard_00000006-00000012.pt.p{dead.pid}-abc.tmp"
    old_style = tmp_path / ".shard_00000012-00000018.pt.x1y2z3.tmp"
    for p in (live, gone, old_style):
        p.write_bytes(b"partial")
    os.utime(old_style, (time.time() - 60, time.time() - 60))
    _generate(tmp_path)
    assert live.exists() and not gone.exists() and not old_style.exists()


def test_a_bad_call_leaves_no_manifest_behind(tmp_path):
    """Validate first, write after: a call with a bad attack parameter used to write the
    manifest, then fail in the attack; the corrected call was refused as a different
    configuration."""
    x, y = _data()
    for bad, exc in (
        (dict(steps="4"), TypeError),
        (dict(step_size=-0.1), ValueError),
        (dict(step_size="a"), TypeError),
        (dict(eps=2.0), ValueError),
        (dict(random_start=True), ValueError),
        (dict(random_start="yes", eps=0.1), TypeError),
        (dict(loss="ce"), TypeError),
    ):
        name = next(iter(bad))
        with pytest.raises(exc, match=name):
            _generate(tmp_path, **bad)
        assert not (tmp_path / "manifest.json").exists(), bad
    assert len(_generate(tmp_path)) == 60  # the corrected call


@pytest.mark.parametrize("damage", ["truncated", "no config", "config lacks k", "not an object"])
def test_a_damaged_manifest_is_named_when_loading_and_rewritten_when_generating(tmp_path, damage):
    reference = _generate(tmp_path)
    manifest = tmp_path / "manifest.json"
    record = json.loads(manifest.read_text())
    if damage == "truncated":
        manifest.write_text(manifest.read_text()[:50])
    elif damage == "no config":
        manifest.write_text(json.dumps({"shards": record["shards"]}))
    elif damage == "config lacks k":
        del record["config"]["k"]
        manifest.write_text(json.dumps(record))
    else:
        manifest.write_text("[1, 2]")
    with pytest.raises(ValueError, match="manifest.json is damaged") as err:
        load_adversarial_set(tmp_path)
    assert "generate_adversarial_set again" in str(err.value)
    before = _mtimes(tmp_path)
    with pytest.warns(RuntimeWarning, match="new manifest"):
        again = _generate(tmp_path)
    assert _mtimes(tmp_path) == before and _same(again, reference)  # finished shards kept
