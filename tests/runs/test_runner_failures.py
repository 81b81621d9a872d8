"""A failing papermill run: non-zero exit, the partial notebook kept, the failing cell
named; a rerun reuses the artifacts the failed run had already cached.

Crafted three-cell chapters in a temporary book (never a real chapter)."""

from __future__ import annotations

import nbformat
import pytest

from advinterp_lib.__main__ import main
from advinterp_lib.runs.runner import ChapterFailed, run_chapter

BUILD = """\
import pathlib, torch
from advinterp_lib.artifacts.cache import ArtifactCache
log = pathlib.Path(build_log)

def build(work):
    log.write_text(log.read_text() + "built\\n" if log.exists() else "built\\n")
    return {"weights": torch.arange(n_queries)}

state = ArtifactCache().get_or_build("tiny-test-model", {"n": n_queries}, build)
"""


def _book(book, *, fail: bool, log):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(f"profile = 'quick'\nseed = 0\nn_queries = 6\nbuild_log = {str(log)!r}")
    params.metadata["tags"] = ["parameters"]
    last = "\n# the claim\nassert state['weights'].sum() > 1000, 'claim fails'" if fail else "print('done')"
    nb.cells = [params, nbformat.v4.new_code_cell(BUILD), nbformat.v4.new_code_cell(last)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (book / "part").mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, book / "part" / "01_tiny_chapter.ipynb")


@pytest.fixture
def env(tmp_path, monkeypatch):
    # the kernel inherits the environment: the cache goes to a temporary folder
    monkeypatch.setenv("ADVINTERP_CACHE", str(tmp_path / "cache"))
    return tmp_path


def _failing_book(book):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("profile = 'quick'\nseed = 0\nn_queries = 6")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("\n# the claim\nassert x > 1, 'claim fails'"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (book / "part").mkdir(parents=True)
    nbformat.write(nb, book / "part" / "01_tiny_chapter.ipynb")


def test_a_failing_run_names_the_cell_and_keeps_the_partial_notebook(env):
    _failing_book(env / "book")
    with pytest.raises(ChapterFailed) as err:
        run_chapter("01", "quick", output_dir=env / "out", book_dir=env / "book", progress=False)
    failed = err.value
    assert failed.cell == 2  # the third cell of the chapter file (0-based), not papermill's index
    assert failed.first_line == "# the claim"
    assert failed.error == "AssertionError: claim fails"
    message = str(failed)
    assert "cell 2 of 01_tiny_chapter.ipynb" in message and "`# the claim`" in message
    assert str(failed.output) in message
    executed = nbformat.read(failed.output, as_version=4)
    outputs = [o for c in executed.cells for o in c.get("outputs", [])]
    assert any(o.get("ename") == "AssertionError" for o in outputs)  # the traceback is kept
    assert [c.get("execution_count") for c in executed.cells if c.cell_type == "code"][-1] is not None


def test_the_command_line_exits_non_zero_and_says_where(env, capsys):
    _failing_book(env / "book")
    status = main(["run", "01", "--book-dir", str(env / "book"), "--output-dir", str(env / "out")])
    err = capsys.readouterr().err
    assert status == 1
    assert "cell 2 of 01_tiny_chapter.ipynb" in err and "`# the claim`" in err
    assert "AssertionError: claim fails" in err
    assert (env / "out" / "01_tiny_chapter.ipynb").is_file()


def test_a_rerun_after_a_failure_reuses_the_cached_artifacts(env):
    log = env / "builds.txt"
    _book(env / "book", fail=True, log=log)
    with pytest.raises(ChapterFailed, match="claim fails"):
        run_chapter("01", "quick", output_dir=env / "out", book_dir=env / "book", progress=False)
    assert log.read_text() == "built\n"  # the failed run built (and cached) the model

    _book(env / "book", fail=False, log=log)  # the chapter is fixed; the model is not rebuilt
    out = run_chapter("01", "quick", output_dir=env / "out", book_dir=env / "book", progress=False)
    assert out.is_file()
    assert log.read_text() == "built\n"
