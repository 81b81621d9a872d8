"""Execute a chapter with a profile's parameters through papermill.

``python -m advinterp_lib run 01 --profile full -p train_epochs 5`` writes the
executed notebook to ``runs/<profile>/<NN_slug>.ipynb``; the chapter itself writes
``results/<profile>/<NN_slug>.json``. A failing run keeps the partially executed
notebook and names the failing cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .. import roots
from .chapters import Chapter, find_chapter
from .profiles import chapter_parameters


class ChapterFailed(RuntimeError):
    """A chapter's notebook raised; the partial notebook is kept at ``output``.

    Attributes:
        chapter, output: the chapter and the partially executed notebook.
        cell: index of the failing cell in the chapter's notebook (0-based, as in
            the .ipynb file; None if unknown).
        first_line: the first non-blank line of the failing cell's source.
        error: ``"ExceptionName: message"``.
    """

    def __init__(
        self, chapter: Chapter, output: Path, detail: str, *,
        cell: int | None = None, first_line: str = "", error: str = "",
    ):
        super().__init__(f"chapter {chapter.name} failed: {detail}\npartially executed notebook kept at {output}")
        self.chapter, self.output = chapter, output
        self.cell, self.first_line, self.error = cell, first_line, error


def _chapter_cell_index(executed: Path, exec_index: int) -> int | None:
    """The failing cell's index in the chapter file: papermill's index counts the
    injected-parameters cell (and, in the saved notebook, an error banner cell)."""
    try:
        import nbformat

        cells = nbformat.read(executed, as_version=4).cells
    except Exception:  # the partial notebook could not be read: say less, not wrong
        return None
    injected = [
        i for i, c in enumerate(cells) if "injected-parameters" in c.get("metadata", {}).get("tags", [])
    ]
    return exec_index - 1 if injected and injected[0] < exec_index else exec_index


def parse_override(key: str, text: str) -> tuple[str, Any]:
    """``-p key value``: the value is read as YAML, so ``5`` is an int, ``[a, b]`` a list."""
    try:
        return key, yaml.safe_load(text)
    except yaml.YAMLError:
        return key, text


def run_chapter(
    spec: str,
    profile: str = "quick",
    overrides: Mapping[str, Any] | None = None,
    *,
    output_dir: str | Path | None = None,
    kernel_name: str = "python3",
    progress: bool = True,
    book_dir: str | Path | None = None,
) -> Path:
    """Run one chapter under ``profile`` with ``overrides`` and return the executed
    notebook's path. Raises ValueError for an unknown chapter, profile or parameter,
    and :class:`ChapterFailed` when a cell raises."""
    import papermill as pm  # heavy import, only when running

    chapter = find_chapter(spec, book_dir)
    params = chapter_parameters(profile, chapter.number)
    for key, value in (overrides or {}).items():
        if key not in params:
            raise ValueError(
                f"chapter {chapter.name} has no parameter {key!r}; its parameters: {', '.join(params)}"
            )
        params[key] = value
    out_dir = Path(output_dir) if output_dir is not None else roots.project_root() / "runs" / profile
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / f"{chapter.name}.ipynb"
    try:
        pm.execute_notebook(
            str(chapter.path),
            str(output),
            parameters=params,
            cwd=str(chapter.path.parent),
            kernel_name=kernel_name,
            progress_bar=progress,
        )
    except pm.PapermillExecutionError as err:
        cell = _chapter_cell_index(output, err.cell_index)
        first_line = next((line.strip() for line in (err.source or "").splitlines() if line.strip()), "")
        error = f"{err.ename}: {err.evalue}"
        where = f"cell {cell} of {chapter.path.name}" if cell is not None else f"cell In [{err.exec_count}]"
        detail = f"{where} (In [{err.exec_count}]), which begins `{first_line}`: {error}"
        raise ChapterFailed(chapter, output, detail, cell=cell, first_line=first_line, error=error) from None
    return output
