"""Where data, cached artifacts and results live.

The only place the library reads the environment: ``ADVINTERP_DATA`` (prepared data
sets, default ``<project>/data``) and ``ADVINTERP_CACHE`` (trained models and other
artifacts, default ``<project>/.cache/advinterp``). Both are read when called, never
at import, so a test or a notebook can point them elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

_MARKERS = ("_toc.yml", "pyproject.toml")


def project_root() -> Path:
    """The book's checkout: the first folder above the working directory (or above
    this package, for an editable install) that holds ``_toc.yml`` and
    ``pyproject.toml``. Falls back to the working directory."""
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            if all((folder / m).is_file() for m in _MARKERS):
                return folder
    return Path.cwd()


def data_root() -> Path:
    """Prepared data sets (``ADVINTERP_DATA``, default ``<project>/data``)."""
    env = os.environ.get("ADVINTERP_DATA")
    return Path(env).expanduser().resolve() if env else project_root() / "data"


def cache_root() -> Path:
    """Cached artifacts (``ADVINTERP_CACHE``, default ``<project>/.cache/advinterp``)."""
    env = os.environ.get("ADVINTERP_CACHE")
    return Path(env).expanduser().resolve() if env else project_root() / ".cache" / "advinterp"


def results_root() -> Path:
    """Results JSON of chapter runs: ``<project>/results/<profile>/<chapter>.json``."""
    return project_root() / "results"
