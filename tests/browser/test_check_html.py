"""The browser check of the rendered book catches each failure mode it promises to.

Small crafted pages, one per failure (a missing figure, a traceback in a cell, an
unresolved link or anchor, an external request, raw TeX, a page too heavy, fewer
figures than the executed notebook produced), plus one page that must pass — all opened
in the real headless Chromium from Debian through the same code `make check-html` runs
(`tools/check_html.py`).
"""

import json
import struct
import zlib

import pytest

from tools.check_html import check_site

# Run by `make check-html` (which installs Debian's chromium and its driver), not by
# `make unit`: pytest's default options deselect the browser marker.
pytestmark = pytest.mark.browser


def _png(path, width=4, height=3):
    """A valid RGB PNG of the given size (written by hand: no image library needed)."""
    raw = b"".join(b"\x00" + b"\x80\x20\x20" * width for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def _page(body):
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>t</title></head><body>{body}</body></html>"


PAGES = {
    "good.html": "<h1 id='top'>Good</h1><div class='cell_output'><img src='_images/fig.png'></div>"
                 "<a href='other.html#sec'>other</a> <a href='#top'>top</a> <a href='https://example.org'>out</a>",
    "other.html": "<h2 id='sec'>Section</h2>",
    "missing_figure.html": "<div class='cell_output'><img src='_images/nope.png'></div>",
    "traceback.html": "<div class='cell_output'><div class='output traceback'><pre>Traceback (most recent call last):\n"
                      "  File ...\nValueError: boom</pre></div></div>",
    "broken_link.html": "<a href='nowhere.html'>gone</a> <a href='other.html#missing'>no anchor</a>",
    "external.html": "<div class='cell_output'><img src='http://cdn.example.com/fig.png'></div>",
    "raw_math.html": "<p><span class='math notranslate nohighlight'>\\(x^2\\)</span></p>",
    "fewer_figures.html": "<div class='cell_output'><img src='_images/fig.png'></div>",
    "raw_table.html": "<div class='cell_output'><p>| a | b |\n|---|---:|\n| 1 | 2 |</p></div>",
    "raw_table_dashes.html": "<div class='cell_output'><p>| a | b |\n|\u2014|\u2014|\n| 1 | 2 |</p></div>",
    "table.html": "<table><tr><td>| a |</td></tr></table><p>a | b, and ---| in prose</p>",
}  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("build")
    html = root / "html"
    (html / "_images").mkdir(parents=True)
    _png(html / "_images" / "fig.png")
    for name, body in PAGES.items():
        (html / name).write_text(_page(body), encoding="utf-8")
    # the executed notebook behind fewer_figures.html produced two figures
    image_output = {"output_type": "display_data", "data": {"image/png": "iVBOR"}, "metadata": {}}
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [image_output, image_output]}]}
    (root / "jupyter_execute").mkdir()
    (root / "jupyter_execute" / "fewer_figures.ipynb").write_text(json.dumps(nb))
    return html


@pytest.fixture(scope="module")
def reports(site, tmp_path_factory):
    shots = tmp_path_factory.mktemp("shots")
    return {r.page: r for r in check_site(site, screenshots=shots)}, shots


def test_a_good_page_passes_and_is_photographed(reports):
    by_page, shots = reports
    good = by_page["good.html"]
    assert good.ok, good.problems
    assert good.figures == 1
    assert (shots / "good.png").stat().st_size > 0
    assert by_page["other.html"].ok
    assert by_page["table.html"].ok, by_page["table.html"].problems  # a rendered table, pipes in prose


@pytest.mark.parametrize(
    "page, expected",
    [
        ("missing_figure.html", "figure not decoded: _images/nope.png"),
        ("traceback.html", "an error shown on the page"),
        ("broken_link.html", "broken link 'nowhere.html'"),
        ("broken_link.html", "broken anchor 'other.html#missing'"),
        ("external.html", "external request: http://cdn.example.com/fig.png"),
        ("raw_math.html", "math not typeset: 1 of 1"),
        ("fewer_figures.html", "1 figures on the page, the notebook produced 2"),
        ("raw_table.html", "1 markdown table(s) shown as text"),
        ("raw_table_dashes.html", "1 markdown table(s) shown as text"),  # --- typeset as an em dash
    ],
)
def test_each_failure_mode_is_caught(reports, page, expected):
    by_page, _ = reports
    problems = by_page[page].problems
    assert any(expected in p for p in problems), problems


def test_a_page_over_the_weight_limit_fails(site):
    (report,) = check_site(site, pattern="good.html", max_page_mb=1e-4)
    assert any("over 0.0 MB" in p for p in report.problems), report.problems


def test_an_empty_site_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no HTML pages"):
        check_site(tmp_path)
