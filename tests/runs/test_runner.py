"""The papermill runner on a real (tiny) chapter notebook in a temporary book."""

import json

import nbformat
import pytest

from advinterp_lib.__main__ import main
from advinterp_lib.runs.chapters import find_chapter, list_chapters
from advinterp_lib.runs.runner import ChapterFailed, parse_override, run_chapter


def _chapter(book, fail=False):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("profile = 'quick'\nseed = 0\nn_queries = 6")
    params.metadata["tags"] = ["parameters"]
    body = "import json, pathlib\npathlib.Path('seen.json').write_text(json.dumps({'profile': profile, 'n_queries': n_queries}))"
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    if fail:
        nb.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('boom')"))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    (book / "part").mkdir(parents=True, exist_ok=True)
    path = book / "part" / "01_tiny_chapter.ipynb"
    nbformat.write(nb, path)
    return path


def test_find_chapter_by_number_slug_or_name(tmp_path):
    _chapter(tmp_path)
    for spec in ("1", "01", "tiny_chapter", "01_tiny_chapter", "01_tiny_chapter.ipynb"):
        assert find_chapter(spec, tmp_path).name == "01_tiny_chapter"
    with pytest.raises(ValueError, match="chapters: 01_tiny_chapter"):
        find_chapter("07", tmp_path)
    assert [c.number for c in list_chapters(tmp_path)] == ["01"]


def test_parse_override_reads_yaml():
    assert parse_override("epochs", "5") == ("epochs", 5)
    assert parse_override("archs", "[vgg, resnet]") == ("archs", ["vgg", "resnet"])
    assert parse_override("name", "vgg") == ("name", "vgg")


def test_run_injects_profile_parameters_and_overrides(tmp_path):
    path = _chapter(tmp_path / "book")
    out = run_chapter(
        "01",
        "full",
        {"n_queries": 3},
        output_dir=tmp_path / "out",
        book_dir=tmp_path / "book",
        progress=False,
    )
    assert out.is_file()
    seen = json.loads((path.parent / "seen.json").read_text())
    assert seen == {"profile": "full", "n_queries": 3}


def test_unknown_parameter_is_refused(tmp_path):
    _chapter(tmp_path / "book")
    with pytest.raises(ValueError, match="no parameter 'n_querys'"):
        run_chapter(
            "01", "quick", {"n_querys": 3}, output_dir=tmp_path / "out", book_dir=tmp_path / "book"
        )


def test_failing_chapter_keeps_partial_notebook(tmp_path):
    _chapter(tmp_path / "book", fail=True)
    with pytest.raises(ChapterFailed, match="RuntimeError: boom") as err:
        run_chapter(
            "01", "quick", output_dir=tmp_path / "out", book_dir=tmp_path / "book", progress=False
        )
    assert err.value.output.is_file()
    executed = nbformat.read(err.value.output, as_version=4)
    assert any(
        o.get("ename") == "RuntimeError" for c in executed.cells for o in c.get("outputs", [])
    )


def test_cli_profiles_lists_parameters(capsys):
    assert main(["profiles", "--profile", "quick", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["quick"]["01"]["profile"] == "quick"
