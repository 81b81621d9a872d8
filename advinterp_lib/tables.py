"""Markdown tables: the one way the book and the library lay numbers out in rows.

    >>> print(markdown_table(["model", "top-1"], [["AlexNet", "91.2%"], ["VGG-16", "93.0%"]], align="lr"))
    | model | top-1 |
    |:---|---:|
    | AlexNet | 91.2% |
    | VGG-16 | 93.0% |

Cells are written with ``str()`` (format numbers before: the table does not guess how
many digits a number deserves); a ``|`` inside a cell is escaped and a line break becomes
a space, so a cell can never break the table. A notebook shows the result with
``display(Markdown(markdown_table(...)))``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["markdown_table"]

_ALIGN = {"l": ":---", "r": "---:", "c": ":---:", "-": "---"}


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\r\n", " ").replace("\n", " ")


def markdown_table(headers: Sequence[object], rows: Iterable[Sequence[object]], *, align: str | None = None) -> str:
    """A GitHub-flavoured markdown table.

    Args:
        headers: the column names, one per column (at least one).
        rows: each a sequence of exactly ``len(headers)`` cells.
        align: one letter per column, ``l`` (left), ``r`` (right), ``c`` (centre) or
            ``-`` (the renderer's default); ``None`` leaves every column at the default.

    Returns:
        The table, lines joined by ``\\n`` (no trailing newline).

    Raises:
        ValueError: no columns, a row of another width, or ``align`` of another length
            or with another letter.
    """
    headers = list(headers)
    if not headers:
        raise ValueError("headers: a table needs at least one column")
    if align is None:
        align = "-" * len(headers)
    if len(align) != len(headers) or any(a not in _ALIGN for a in align):
        raise ValueError(f"align: expected one of {''.join(_ALIGN)} per column ({len(headers)} columns), got {align!r}")
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |", "|" + "|".join(_ALIGN[a] for a in align) + "|"]
    for i, row in enumerate(rows):
        row = list(row)
        if len(row) != len(headers):
            raise ValueError(f"rows[{i}]: expected {len(headers)} cells (one per column), got {len(row)}: {row!r}")
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return "\n".join(lines)
