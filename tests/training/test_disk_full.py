"""A write that finds no room (disk full, quota, file-size limit) says what was being
written and leaves the previous file intact; the library's one atomic-write path
(advinterp_lib.atomic) is used for every file it writes.

The fault is real, not mocked: a child process runs under a file-size limit
(RLIMIT_FSIZE), so the kernel refuses the write (EFBIG) exactly where a full disk
refuses it (ENOSPC); both are handled alike.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from advinterp_lib.training.checkpoint import load_checkpoint, save_checkpoint

ROOT = Path(__file__).resolve().parents[2]
resource = pytest.importorskip("resource")  # POSIX


def _run_limited(code: str, limit_bytes: int, *args: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a child whose files may not grow past ``limit_bytes``."""
    prelude = textwrap.dedent(
        f"""
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write then fails with EFBIG, as with ENOSPC
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit_bytes}, resource.RLIM_INFINITY))
        """
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_checkpoint_that_finds_no_room_says_what_and_keeps_the_previous_one(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"model": {"w": torch.zeros(10)}, "epoch": 1})
    done = _run_limited(
        """
        import sys, torch
        from advinterp_lib.training.checkpoint import save_checkpoint
        save_checkpoint(sys.argv[1], {"model": {"w": torch.zeros(200_000)}, "epoch": 2})
        """,
        100_000,
        str(path),
    )
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("advinterp_lib.atomic.WriteFailedError"), done.stderr[-2000:]
    assert "inline_container" not in last  # not torch's message
    assert f"saving the checkpoint {path}" in last and "0.8 MB of tensors: model, epoch" in last
    assert "the previous checkpoint" in last and "is intact" in last
    assert load_checkpoint(path)["epoch"] == 1  # and it is
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temp file left


def test_an_atomic_text_write_that_finds_no_room_names_the_file(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("old")
    done = _run_limited(
        """
        import sys
        from advinterp_lib.atomic import WriteFailedError, atomic_write_text
        try:
            atomic_write_text("x" * 200_000, sys.argv[1])
        except WriteFailedError as err:
            print(err.errno, err)
        """,
        100_000,
        str(path),
    )
    assert done.returncode == 0, done.stderr
    assert f"writing {path} failed" in done.stdout and f"{path} is unchanged" in done.stdout
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_training_metrics_go_through_the_atomic_write_path(tmp_path):
    """training.robustness once had its own mkstemp write (files private, 0600): its
    metrics now get the mode open() would give, like every other file."""
    from advinterp_lib.training.robustness import train_with_metrics

    old = os.umask(0o002)
    try:
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(2 * 26 * 26, 10))
        g = torch.Generator().manual_seed(0)
        x, y = torch.rand(8, 1, 28, 28, generator=g), torch.arange(8) % 10
        train_with_metrics(
            model,
            x,
            y,
            epochs=1,
            eval_images=x[:4],
            eval_labels=y[:4],
            checkpoint_dir=tmp_path,
            batch_size=8,
            progress=False,
            pgd_steps=1,
        )
        path = tmp_path / "metrics.json"
        assert json.loads(path.read_text())["epochs"][0]["epoch"] == 1
        assert stat.S_IMODE(path.stat().st_mode) == 0o664
    finally:
        os.umask(old)


def test_no_module_writes_files_beside_the_atomic_path():
    """One atomic-write path: no module of the library calls mkstemp, os.replace or
    torch.save on a path of its own (advinterp_lib/atomic.py is the one place)."""
    offenders = []
    for path in sorted((ROOT / "advinterp_lib").rglob("*.py")):
        if path.name == "atomic.py":
            continue
        text = path.read_text()
        for needle in ("mkstemp(", "os.replace(", "torch.save("):
            if needle in text:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offenders == []
