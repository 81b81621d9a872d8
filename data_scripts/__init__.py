"""Fetch and prepare the book's data sets under the data root.

Run from the repository root::

    python -m data_scripts [fashion-mnist|wordnet|all] [--root DIR]

Each data set is found in this order (DESIGN.md, "Data"): already prepared under
the root; the files of its Debian package; the Debian package installed with
apt-get (only when running as root); the official download; otherwise an error
that names the command to run. A second run finds everything prepared and does
nothing. The loaders in ``advinterp_lib.data`` read what these scripts write and
never download.

One module per data set (``fashion_mnist``, ``wordnet``), ``files`` for hashing and
atomic writes; the apt-get step that several data sets share lives here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence


def can_use_apt() -> bool:
    """Whether apt-get can install packages here: running as root, apt-get on PATH."""
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def apt_install(packages: Sequence[str], log: Callable[[str], None] = print, *, allowed: bool = True) -> str | None:
    """``apt-get install -y PACKAGES`` when ``allowed`` and ``can_use_apt()``; if the
    install fails (typically "Unable to locate package" on a machine whose package
    lists were never fetched), ``apt-get update`` and try once more. apt-get's own
    output goes to the terminal.

    Returns:
        None when the packages are installed, else a one-line reason (not allowed,
        not possible, or failed) for the caller's error message; the caller goes on
        to its next source.
    """
    if not allowed:
        return "apt-get disabled"
    if not can_use_apt():
        return "apt-get not used (not running as root, or no apt-get)"
    install = ["apt-get", "install", "-y", "-q", *packages]
    log(f"running: {' '.join(install)}")
    if subprocess.run(install, check=False).returncode == 0:
        return None
    log("apt-get install failed; running: apt-get update, then trying again")
    subprocess.run(["apt-get", "update", "-q"], check=False)
    result = subprocess.run(install, check=False)
    if result.returncode == 0:
        return None
    return f"`{' '.join(install)}` failed with exit status {result.returncode}"
