"""advinterp_lib.tables.markdown_table: the layout, escaping, alignment and bad input."""

import doctest

import pytest

from advinterp_lib import tables
from advinterp_lib.tables import markdown_table


def test_the_docstring_example_holds():
    assert doctest.testmod(tables).failed == 0


def test_cells_never_break_the_table():
    table = markdown_table(["a", "b"], [["x|y", "two\nlines"], [1, 2.5]])
    assert table.splitlines() == ["| a | b |", "|---|---|", "| x\\|y | two lines |", "| 1 | 2.5 |"]


def test_alignment_letters_and_an_empty_body():
    assert markdown_table(["l", "r", "c", "d"], [], align="lrc-") == "| l | r | c | d |\n|:---|---:|:---:|---|"


@pytest.mark.parametrize(
    ("headers", "rows", "align", "match"),
    [
        ([], [], None, "at least one column"),
        (["a", "b"], [["only one"]], None, r"rows\[0\]: expected 2 cells"),
        (["a", "b"], [], "l", "one of"),
        (["a"], [], "x", "one of"),
    ],
)
def test_bad_tables_are_refused(headers, rows, align, match):
    with pytest.raises(ValueError, match=match):
        markdown_table(headers, rows, align=align)
