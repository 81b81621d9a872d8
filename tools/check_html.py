"""Open every page of the built book in headless Chromium and check it as a reader would.

    python -m tools.check_html [_build/html] [--max-page-mb 12] [--pages PATTERN]

The pages are served from a local HTTP server on 127.0.0.1; every request to any other
host is blocked in the browser and reported as a failure (the book must be readable
offline). Per page it checks:

- no console errors (a short allow-list of known-harmless messages, each with its reason);
- every figure the executed notebook produced is on the page and decoded (natural width > 0);
- math is typeset (every ``.math`` element holds MathJax output);
- every markdown table is rendered (no paragraph of ``| a | b |`` rows left as text);
- no cell shows an error or a traceback;
- every internal link resolves (file and ``#anchor``);
- the page, with everything it loads, weighs less than ``--max-page-mb``;

and saves a screenshot to ``_build/screenshots/<page>.png`` for a person to look at.
Exit status 0 when every page passes, 1 otherwise (each problem printed).

Uses Debian's ``chromium`` and ``chromium-driver`` (no browser download): the driver is
found on PATH; ``make check-html`` installs both with apt-get when absent and root.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import http.server
import json
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

# Console messages that are not the book's fault, each with why it is harmless.
ALLOWED_CONSOLE = {
    "THEBE_JS_URL": "sphinx-book-theme declares THEBE_JS_URL twice on every page (default builds too)",
    "MathJax.Hub": "the widget manager probes for MathJax 2 (only LaTeX inside widget labels is affected)",
    "Queue": "the widget manager calls MathJax 2's Queue (only LaTeX inside widget labels is affected)",
    "favicon.ico": "the book has no favicon",
    "invalid theme mode": "pydata-sphinx-theme on a first visit (no stored light/dark choice) resets to auto",
}

# Where a traceback or error shows in a rendered cell (myst-nb / nbsphinx markup).
ERROR_SELECTORS = (
    ".output.traceback",
    ".output.error",
    "div.cell_output .traceback",
    ".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']",
)
ERROR_TEXT = ("Traceback (most recent call last)",)

MAX_SHOT_PX = 16000  # screenshots cover the whole page up to this height

FIGURES_JS = """
const imgs = Array.from(document.querySelectorAll('.cell_output img, .output img'));
return imgs.map(i => [i.getAttribute('src') || '', i.complete ? i.naturalWidth : 0]);
"""

MATH_JS = """
const math = Array.from(document.querySelectorAll('.math'));
const typeset = m => m.querySelector('mjx-container') || m.tagName.toLowerCase() === 'mjx-container';
return [math.length, math.filter(typeset).length];
"""

MATHJAX_DONE_JS = """
const done = arguments[arguments.length - 1];
if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) { done(false); }
else { MathJax.startup.promise.then(() => done(true), () => done(false)); }
"""

# A markdown table left as text: a paragraph of pipes with a |---| delimiter row (a cell's
# ``display(Markdown(table))`` rendered as CommonMark, which has no tables; its typographer
# may turn the delimiter's --- into an em dash).
RAW_TABLES_JS = """
return Array.from(document.querySelectorAll('p')).filter(
  p => /^\\s*\\|/.test(p.textContent) && /\\|\\s*:?(-{3,}|[\u2013\u2014]+):?\\s*\\|/.test(p.textContent)).length;
"""

LINKS_JS = """
return Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'));
"""


@dataclass
class PageReport:
    page: str
    problems: list[str] = field(default_factory=list)
    figures: int = 0
    math: int = 0
    weight_bytes: int = 0
    screenshot: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (a free port) for the duration; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def chromium_driver(width: int = 1280, height: int = 1600):
    """A headless Chromium driven by Debian's chromedriver, with performance logging on
    and requests to anything but 127.0.0.1 blocked."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver_path = shutil.which("chromedriver")
    if driver_path is None:
        raise RuntimeError("chromedriver is not on PATH: `apt-get install chromium chromium-driver` (Debian)")
    options = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(arg)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser:
        options.binary_location = browser
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.execute_cdp_cmd("Network.enable", {})
    # Host names other than 127.0.0.1 do not resolve (--host-resolver-rules); TLS and web
    # sockets are blocked outright. Every attempt still shows in the performance log,
    # which check_page turns into a failure.
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["https://*", "ws://*", "wss://*"]})
    return driver


def expected_figures(site: Path, page: Path) -> int | None:
    """How many images the executed notebook behind ``page`` produced (from
    ``_build/jupyter_execute``), or None for a page without a notebook."""
    rel = page.relative_to(site).with_suffix(".ipynb")
    executed = site.parent / "jupyter_execute" / rel
    if not executed.is_file():
        return None
    nb = json.loads(executed.read_text(encoding="utf-8"))
    count = 0
    for cell in nb.get("cells", []):
        if "remove-output" in cell.get("metadata", {}).get("tags", []) or "remove-cell" in cell.get("metadata", {}).get(
            "tags", []
        ):
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if any(k.startswith("image/") for k in data):
                count += 1
    return count


def _requests(driver) -> list[tuple[str, int]]:
    """(url, encoded bytes) of every request the page made since the last call."""
    urls: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message.get("method") == "Network.requestWillBeSent":
            urls[params["requestId"]] = params["request"]["url"]
        elif message.get("method") == "Network.loadingFinished":
            sizes[params["requestId"]] = int(params.get("encodedDataLength", 0))
    return [(url, sizes.get(rid, 0)) for rid, url in urls.items()]


def _link_problem(site: Path, page: Path, href: str, anchors_of) -> str | None:
    parsed = urlparse(href)
    if parsed.scheme in ("http", "https", "mailto", "javascript", "data") or href.startswith("//"):
        return None  # outgoing links are the reader's choice to follow; requests are checked separately
    target_rel, fragment = urldefrag(href)
    target = page if not target_rel else (page.parent / unquote(target_rel)).resolve()
    if target.is_dir():
        target = target / "index.html"
    if not str(target).startswith(str(site.resolve())) or not target.is_file():
        return f"broken link {href!r}"
    if fragment and target.suffix == ".html" and fragment not in anchors_of(target):
        return f"broken anchor {href!r}"
    return None


@functools.cache
def _anchors(path: Path) -> frozenset[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return frozenset(value for _, value in re.findall(r"""\s(?:id|name)=(["'])(.+?)\1""", text))


def check_page(
    driver,
    base_url: str,
    site: Path,
    page: Path,
    *,
    max_bytes: int,
    screenshots: Path | None = None,
    wait_s: float = 20.0,
) -> PageReport:
    """Load ``page`` (a file under ``site``) through the local server and check it."""
    from selenium.webdriver.support.ui import WebDriverWait

    rel = page.relative_to(site).as_posix()
    report = PageReport(rel)
    driver.get_log("browser")
    _requests(driver)  # drop what earlier pages left in the logs
    driver.get(urljoin(base_url, rel))
    WebDriverWait(driver, wait_s).until(lambda d: d.execute_script("return document.readyState") == "complete")
    # MathJax typesets after load: wait for its startup promise (when it is on the page)
    driver.set_script_timeout(wait_s)
    with contextlib.suppress(Exception):
        driver.execute_async_script(MATHJAX_DONE_JS)
    # a redirect page (the book's index.html) lands elsewhere: check the page shown
    shown = urlparse(driver.current_url).path.lstrip("/")
    if shown and shown != rel and (site / unquote(shown)).is_file():
        page, rel = site / unquote(shown), unquote(shown)
        report.page = f"{report.page} -> {rel}"
    # console
    for entry in driver.get_log("browser"):
        if entry.get("level") != "SEVERE":
            continue
        text = entry.get("message", "")
        if not any(key in text for key in ALLOWED_CONSOLE):
            report.problems.append(f"console error: {text[:300]}")
    # requests: nothing leaves this machine; weight of everything the page loaded
    local = urlparse(base_url).netloc
    loaded: set[Path] = set()
    for url, _ in _requests(driver):
        parsed = urlparse(url)
        if parsed.scheme in ("data", "blob", "about", "chrome", "devtools"):
            continue
        if parsed.netloc != local:
            report.problems.append(f"external request: {url[:200]}")
        elif (site / unquote(parsed.path).lstrip("/")).is_file():
            loaded.add(site / unquote(parsed.path).lstrip("/"))
    # weight from the files themselves: the browser cache hides repeat loads' sizes
    total = sum(p.stat().st_size for p in loaded)
    report.weight_bytes = total
    if total > max_bytes:
        report.problems.append(f"page weighs {total / 2**20:.1f} MB with its assets, over {max_bytes / 2**20:.1f} MB")
    # figures
    images = driver.execute_script(FIGURES_JS)
    report.figures = sum(1 for _, w in images if w and w > 0)
    for src, width in images:
        if not width:
            report.problems.append(f"figure not decoded: {src[:120] or '(no src)'}")
    expected = expected_figures(site, page)
    if expected is not None and report.figures < expected:
        report.problems.append(f"{report.figures} figures on the page, the notebook produced {expected}")
    # math
    n_math, n_typeset = driver.execute_script(MATH_JS)
    report.math = n_typeset
    if n_typeset < n_math:
        report.problems.append(f"math not typeset: {n_math - n_typeset} of {n_math} formulas left as TeX")
    # markdown tables left as text
    raw_tables = driver.execute_script(RAW_TABLES_JS)
    if raw_tables:
        report.problems.append(f"{raw_tables} markdown table(s) shown as text, not rendered")
    # errors and tracebacks in cells
    for selector in ERROR_SELECTORS:
        found = driver.find_elements("css selector", selector)
        if found:
            report.problems.append(f"{len(found)} cell output(s) match {selector!r} (an error shown on the page)")
    body = driver.find_element("tag name", "body").text
    for text in ERROR_TEXT:
        if text in body:
            report.problems.append(f"the page shows {text!r}")
    # internal links
    for href in sorted(set(driver.execute_script(LINKS_JS))):
        problem = _link_problem(site.resolve(), page.resolve(), href, _anchors)
        if problem:
            report.problems.append(problem)
    if screenshots is not None:
        shot = screenshots / (rel.replace("/", "__").removesuffix(".html") + ".png")
        shot.parent.mkdir(parents=True, exist_ok=True)
        height = min(int(driver.execute_script("return document.documentElement.scrollHeight")), MAX_SHOT_PX)
        width = int(driver.execute_script("return document.documentElement.scrollWidth"))
        png = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})  # fmt: skip
        shot.write_bytes(base64.b64decode(png["data"]))
        report.screenshot = str(shot)
    return report


def book_pages(site: Path, pattern: str = "**/*.html") -> list[Path]:
    """The book's own pages under ``site`` (not Sphinx's search/genindex/_static pages)."""
    skip = {"search.html", "genindex.html", "py-modindex.html"}
    return sorted(
        p
        for p in site.glob(pattern)
        if p.name not in skip and not any(part.startswith("_") for part in p.relative_to(site).parts)
    )


def check_site(
    site: str | Path, *, pattern: str = "**/*.html", max_page_mb: float = 12.0, screenshots: str | Path | None = None
) -> list[PageReport]:
    """Check every page of ``site`` (see the module docstring); return one report per page.

    Raises:
        FileNotFoundError: ``site`` has no pages.
    """
    site = Path(site)
    pages = book_pages(site, pattern)
    if not pages:
        raise FileNotFoundError(f"no HTML pages under {site} (run `make book` first)")
    driver = chromium_driver()
    try:
        with serve(site) as base_url:
            return [
                check_page(
                    driver,
                    base_url,
                    site,
                    p,
                    max_bytes=int(max_page_mb * 2**20),
                    screenshots=Path(screenshots) if screenshots else None,
                )
                for p in pages
            ]
    finally:
        driver.quit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.check_html", description=__doc__.split("\n\n")[0])
    parser.add_argument("site", nargs="?", default="_build/html")
    parser.add_argument("--pages", default="**/*.html", help="glob of pages under SITE (default: all)")
    parser.add_argument("--max-page-mb", type=float, default=12.0)
    parser.add_argument("--screenshots", default=None, help="folder for screenshots (default: SITE/../screenshots)")
    args = parser.parse_args(argv)
    site = Path(args.site)
    shots = Path(args.screenshots) if args.screenshots else site.parent / "screenshots"
    reports = check_site(site, pattern=args.pages, max_page_mb=args.max_page_mb, screenshots=shots)
    for r in reports:
        status = "ok  " if r.ok else "FAIL"
        print(f"{status} {r.page}: {r.figures} figures, {r.math} formulas, {r.weight_bytes / 2**20:.1f} MB")
        for problem in r.problems:
            print(f"     - {problem}")
    failed = [r for r in reports if not r.ok]
    print(f"{len(reports) - len(failed)}/{len(reports)} pages pass; screenshots in {shots}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
