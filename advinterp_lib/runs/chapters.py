"""The book's chapters on disk: ``book/<part>/NN_<slug>.ipynb``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .. import roots

_NAME = re.compile(r"^(\d\d)_([a-z0-9_]+)\.ipynb$")


@dataclass(frozen=True)
class Chapter:
    number: str  # two digits, "01"
    slug: str  # "looking_inside_a_cnn"
    path: Path

    @property
    def name(self) -> str:
        """``NN_slug``: the chapter's id in results and run outputs."""
        return f"{self.number}_{self.slug}"


def list_chapters(book_dir: str | Path | None = None) -> list[Chapter]:
    """Every chapter notebook under ``book_dir`` (default ``<project>/book``), by number."""
    book = Path(book_dir) if book_dir is not None else roots.project_root() / "book"
    found = []
    for path in sorted(book.glob("*/*.ipynb")):
        m = _NAME.match(path.name)
        if m and ".ipynb_checkpoints" not in path.parts:
            found.append(Chapter(m.group(1), m.group(2), path))
    return sorted(found, key=lambda c: c.number)


def find_chapter(spec: str, book_dir: str | Path | None = None) -> Chapter:
    """A chapter by number (``"1"``, ``"01"``), slug, or ``NN_slug``.

    Raises ValueError listing the chapters that exist.
    """
    chapters = list_chapters(book_dir)
    spec = spec.strip().removesuffix(".ipynb")
    for c in chapters:
        if spec in (c.number, c.slug, c.name) or (spec.isdigit() and int(spec) == int(c.number)):
            return c
    known = ", ".join(c.name for c in chapters) or "none found"
    raise ValueError(f"unknown chapter {spec!r}; chapters: {known}")
