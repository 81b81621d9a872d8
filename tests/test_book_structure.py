"""The book's chapters follow the conventions of DESIGN.md ("Notebooks")."""

import ast
from pathlib import Path

import nbformat
import pytest
import yaml

from advinterp_lib.runs.chapters import list_chapters
from advinterp_lib.runs.profiles import chapter_parameters

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = list_chapters(ROOT / "book")


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = []
    for part in toc["parts"]:
        files += [c["file"] for c in part["chapters"]]
    return toc, files


def test_toc_lists_exactly_the_written_chapters():
    toc, files = _toc_files()
    assert (ROOT / f"{toc['root']}.md").is_file()
    on_disk = {str(c.path.relative_to(ROOT).with_suffix("")) for c in CHAPTERS}
    chapters = [f for f in files if f in on_disk]
    others = [f for f in files if f not in chapters]
    assert set(chapters) == on_disk
    assert all((ROOT / f"{f}.md").is_file() or (ROOT / f"{f}.ipynb").is_file() for f in others), (
        "non-chapter pages (markdown, or an unnumbered notebook such as an appendix) exist"
    )
    files = chapters
    assert files == sorted(files, key=lambda f: Path(f).name), "chapters in number order"


def test_chapter_numbers_are_unique():
    numbers = [c.number for c in CHAPTERS]
    assert len(numbers) == len(set(numbers)) and numbers


def _states_claims(node: ast.AST) -> bool:
    """An assert, or a call of ``runs.chapter_claims.assert_claims``."""
    called = isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "assert_claims"
    return isinstance(node, ast.Assert) or called


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)
def test_chapter_notebook_conventions(chapter):
    nb = nbformat.read(chapter.path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "commit notebooks stripped"
    first = code[0]
    assert "parameters" in first.metadata.get("tags", []), "first code cell is the parameters cell"
    # the defaults in the notebook are the quick profile
    values = {}
    for stmt in ast.parse(first.source).body:
        assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1, "parameters cell: one `name = literal` per line"
        values[stmt.targets[0].id] = ast.literal_eval(stmt.value)
    assert values == chapter_parameters("quick", chapter.number)
    asserts = [c for c in code if any(_states_claims(n) for n in ast.walk(ast.parse(c.source)))]
    assert asserts, "an assert cell states the chapter's claims"


#: The longest code cell a chapter may have (non-blank lines), the parameters cell aside:
#: papermill reads one such cell, and it lists every knob a profile sets.
MAX_CELL_LINES = 25


def test_chapters_are_short_calls_and_share_no_function():
    """Chapters read as prose, short calls and figures: every code cell but the parameters
    cell is at most MAX_CELL_LINES non-blank lines, and no function is defined in two
    chapters (a shared one belongs in the library, with a test)."""
    long_cells, defined = [], {}
    for chapter in CHAPTERS:
        for cell in nbformat.read(chapter.path, as_version=4).cells:
            if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
                continue
            lines = sum(1 for line in cell.source.splitlines() if line.strip())
            if lines > MAX_CELL_LINES:
                long_cells.append(f"{chapter.name}: {lines} lines: {cell.source.splitlines()[0]!r}")
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    defined.setdefault(node.name, []).append(chapter.name)
    assert long_cells == []
    assert {name: chapters for name, chapters in defined.items() if len(chapters) > 1} == {}
