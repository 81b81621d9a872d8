"""The papermill runner on a real (tiny) chapter notebook in a temporary book."""

import json
import re

import nbformat
import pytest

from advinterp_lib.__main__ import main
from advinterp_lib.runs.chapters import find_chapter, list_chapters
from advinterp_lib.runs.runner import ChapterFailed, parse_override, run_chapter


def _chapter(book, fail=False):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("profile = 'quick'\nseed = 0\nn_queries = 6")
    params.metadata["tags"] = ["parameters"]
    body = (
        "import json, pathlib\n"
        "pathlib.Path('seen.json').write_text(json.dumps({'profile': profile, 'n_queries': n_queries}))"
    )
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
        run_chapter("01", "quick", {"n_querys": 3}, output_dir=tmp_path / "out", book_dir=tmp_path / "book")


def test_failing_chapter_keeps_partial_notebook(tmp_path):
    _chapter(tmp_path / "book", fail=True)
    with pytest.raises(ChapterFailed, match="RuntimeError: boom") as err:
        run_chapter("01", "quick", output_dir=tmp_path / "out", book_dir=tmp_path / "book", progress=False)
    assert err.value.output.is_file()
    executed = nbformat.read(err.value.output, as_version=4)
    assert any(o.get("ename") == "RuntimeError" for c in executed.cells for o in c.get("outputs", []))


def test_cli_profiles_lists_parameters(capsys):
    assert main(["profiles", "--profile", "quick", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["quick"]["01"]["profile"] == "quick"


# --- -p values are checked before any kernel starts (issue 18, item 1) ---------------------


def _payload_value(marker):
    """The attack: a !!binary value papermill would write unescaped into the parameters cell."""
    import base64

    code = f'x"; __import__("pathlib").Path("{marker}").write_text("pwned"); "'  # no single quote: bytes repr keeps it
    return "!!binary " + base64.b64encode(code.encode()).decode()


def test_a_binary_value_cannot_run_code_in_the_kernel(tmp_path, capsys):
    _chapter(tmp_path / "book")
    marker = tmp_path / "pwned"
    status = main(
        [
            "run",
            "01",
            "--book-dir",
            str(tmp_path / "book"),
            "--output-dir",
            str(tmp_path / "out"),
            "-p",
            "n_queries",
            _payload_value(marker),
        ]
    )
    err = capsys.readouterr().err
    assert status == 1 and "-p n_queries" in err and "binary" in err
    assert not marker.exists()
    assert not (tmp_path / "out").exists()  # refused before anything ran or was written


@pytest.mark.parametrize(
    "text, word",
    [
        ("!!binary aGVsbG8=", "binary"),
        ("!!python/object/apply:os.system [id]", "python/object/apply:os.system"),
        ("!custom 5", "!custom"),
        ("2020-01-01", "timestamp"),
        ("!!set {a, b}", "set"),
        ("[&a x, *a]", "aliases"),
        (".nan", "finite"),
        ("{1: a}", "keys"),
    ],
)
def test_only_plain_yaml_values_are_accepted(text, word):
    with pytest.raises(ValueError, match=re.escape(word)):
        parse_override("sigma", text)


def test_plain_values_of_every_kind_parse():
    assert parse_override("x", "1.5") == ("x", 1.5)
    assert parse_override("x", "true") == ("x", True)
    assert parse_override("x", "null") == ("x", None)
    assert parse_override("x", "{a: [1, 2.5]}") == ("x", {"a": [1, 2.5]})
    assert parse_override("x", "'2020-01-01'") == ("x", "2020-01-01")  # quoted: text
    assert parse_override("x", "[unclosed") == ("x", "[unclosed")  # not YAML: the text itself


def _typed_chapter(book):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        "profile = 'quick'\nseed = 0\nn_queries = 6\nagreement_queries = 2000\narchs = ['alexnet', 'vgg', 'resnet']"
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print(n_queries)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (book / "part").mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, book / "part" / "01_tiny_chapter.ipynb")


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("n_queries", "notanumber", "expects int"),
        ("n_queries", 2.5, "expects int"),
        ("n_queries", True, "expects int"),
        ("archs", "vgg", "expects list"),
        ("archs", ["vgg", 3], "expects list of str"),
        ("seed", None, "expects int"),
        ("n_queries", b"x", "bytes"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_parameter_expected_and_got(tmp_path, key, value, expected):
    _typed_chapter(tmp_path / "book")
    with pytest.raises(TypeError, match=re.escape(expected)) as err:
        run_chapter("01", "quick", {key: value}, output_dir=tmp_path / "out", book_dir=tmp_path / "book")
    assert f"'{key}'" in str(err.value) and "chapter 01_tiny_chapter" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_an_int_is_fine_where_a_float_is_expected():
    from advinterp_lib.runs.runner import check_overrides

    assert check_overrides("x", {"sigma": 1.0}, {"sigma": 2}) == {"sigma": 2}
    with pytest.raises(TypeError, match="'sigma' expects float"):
        check_overrides("x", {"sigma": 1.0}, {"sigma": "2"})


def test_real_chapters_check_against_their_parameters_cell(tmp_path, capsys):
    """`-p sigma notanumber` on chapter 10: an early clear error, not a late notebook failure."""
    from advinterp_lib.runs.runner import notebook_defaults

    defaults = notebook_defaults(find_chapter("10").path)
    assert isinstance(defaults["sigma"], float) and defaults["profile"] == "quick"
    status = main(["run", "10", "--output-dir", str(tmp_path / "out"), "-p", "sigma", "notanumber"])
    err = capsys.readouterr().err
    assert status == 1 and "'sigma' expects float (or int)" in err and "got str 'notanumber'" in err
    assert not (tmp_path / "out").exists()


# --- reserved parameters, results paths, folders (issue 18, item 2) -----------------------


def _results_chapter(book):
    """A chapter numbered 11 (its profile has results_dir) that writes its results as
    chapters do, through ChapterRun."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("profile = 'quick'\nseed = 0\nn_images = 1000\nresults_dir = None")
    params.metadata["tags"] = ["parameters"]
    body = (
        "from advinterp_lib.runs.results import ChapterRun\n"
        "ChapterRun('11_tiny', profile, seed, root=results_dir).write({'n_images': n_images})"
    )
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (book / "part").mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, book / "part" / "11_tiny.ipynb")


@pytest.mark.parametrize("key, value", [("profile", "full"), ("profile", "../../../x"), ("results_dir", "/tmp/x")])
def test_profile_and_results_dir_are_reserved(tmp_path, capsys, key, value):
    """`run 10 --profile quick -p profile full` once overwrote results/full/ with quick
    numbers, and `-p profile ../../../x` wrote outside results/."""
    _results_chapter(tmp_path / "book")
    status = main(
        [
            "run",
            "11",
            "--profile",
            "quick",
            "--book-dir",
            str(tmp_path / "book"),
            "--output-dir",
            str(tmp_path / "out"),
            "--results-dir",
            str(tmp_path / "results"),
            "-p",
            key,
            value,
        ]
    )
    err = capsys.readouterr().err
    assert status == 1 and f"-p {key} is not allowed" in err
    assert not (tmp_path / "out").exists() and not list(tmp_path.rglob("*.json"))


def test_the_results_file_carries_the_runs_profile(tmp_path):
    _results_chapter(tmp_path / "book")
    run_chapter(
        "11",
        "full",
        {"n_images": 3},
        output_dir=tmp_path / "out",
        results_dir=tmp_path / "results",
        book_dir=tmp_path / "book",
        progress=False,
    )
    (written,) = (tmp_path / "results").rglob("*.json")
    record = json.loads(written.read_text())
    assert written == tmp_path / "results" / "full" / "11_tiny.json"
    assert record["profile"] == "full" and record["numbers"] == {"n_images": 3}


def test_results_dir_only_for_chapters_that_have_it(tmp_path):
    _chapter(tmp_path / "book")
    with pytest.raises(ValueError, match="no results_dir parameter"):
        run_chapter("01", "quick", results_dir=tmp_path / "r", output_dir=tmp_path / "out", book_dir=tmp_path / "book")


def test_an_output_dir_that_cannot_be_created_is_named(tmp_path, capsys):
    _chapter(tmp_path / "book")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    status = main(["run", "01", "--book-dir", str(tmp_path / "book"), "--output-dir", str(blocker / "out")])
    err = capsys.readouterr().err
    assert status == 1 and f"--output-dir {blocker / 'out'} cannot be created" in err


# --- runs.imagenet_advset's -p, checked the same way -------------------------------------


@pytest.mark.parametrize(
    "key, value, word",
    [
        ("n_imags", "4", "no parameter 'n_imags'"),
        ("n_bootstrap", "4", "no parameter 'n_bootstrap'"),  # chapter 11's, but unused here: refused, not ignored
        ("n_images", "four", "'n_images' expects int"),
        ("archs", "!!binary aGVsbG8=", "binary"),
        ("profile", "full", "not allowed"),
    ],
)
def test_imagenet_advset_refuses_unknown_or_mistyped_parameters(capsys, key, value, word):
    from advinterp_lib.runs import imagenet_advset

    with pytest.raises(SystemExit) as exit_:
        imagenet_advset.main(["-p", key, value])
    assert exit_.value.code == 2 and word in capsys.readouterr().err
