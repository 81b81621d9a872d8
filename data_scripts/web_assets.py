"""The rendered book's browser assets, served from the book itself (no CDN at view time).

Jupyter Book 1 pages load MathJax, require.js and the ipywidgets HTML manager from
CDNs by default; offline, math stays raw TeX and widgets do not render. This module
fetches pinned npm releases once (``npm pack``, from the npm registry), checks each
tarball against a known SHA-256 before use, and copies just the files a page needs
into ``<project>/_web_assets/`` — a folder that ``_config.yml`` lists in
``html_static_path`` (Sphinx copies it into ``_build/html/_static/``) and that points
``mathjax_path`` and ``nb_ipywidgets_js`` at:

    _web_assets/mathjax/tex-chtml.js (+ output/ fonts)
    _web_assets/require.js, _web_assets/widgets-paths.js (see WIDGETS_PATHS_JS)
    _web_assets/widgets/embed-amd.js (+ its chunks and icon fonts)

It is deliberately not the book's ``_static/``: Jupyter Book adds a script tag for every
``.js`` file there, which would load MathJax twice and every widget chunk eagerly.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from advinterp_lib import roots
from advinterp_lib.data import DataNotFoundError
from data_scripts import apt_install
from data_scripts.files import check_sha256, replace_folder, sha256_of, stamp_matches, temp_path_beside, write_stamp


@dataclass(frozen=True)
class Asset:
    """One npm release and the files of it the book serves.

    ``members`` maps a path inside the tarball (under ``package/``; a trailing ``/``
    takes the folder's whole subtree) to a path under the assets folder.
    """

    spec: str
    tarball: str
    sha256: str
    members: tuple[tuple[str, str], ...]


ASSETS: tuple[Asset, ...] = (
    Asset(
        "mathjax@3.2.2", "mathjax-3.2.2.tgz",
        "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09",
        (("es5/tex-chtml.js", "mathjax/tex-chtml.js"),
         ("es5/output/chtml/fonts/woff-v2/", "mathjax/output/chtml/fonts/woff-v2/")),
    ),
    Asset(
        "@jupyter-widgets/html-manager@1.0.6", "jupyter-widgets-html-manager-1.0.6.tgz",
        "6c198ceb99ba7e7526990a1de16e8147ad7d3a714e3fb06741183623c04b5f6e",
        (("dist/", "widgets/"),),
    ),
    Asset(
        "requirejs@2.3.7", "requirejs-2.3.7.tgz",
        "31f3330c978fb28684622fe71165dc946432cf0210b2ea8a1ca0233e70f2737d",
        (("require.js", "require.js"),),
    ),
)  # fmt: skip

# The widget manager's bundles find their icon fonts beside the AMD module they are
# defined as (webpack's public path is the folder of ``module.uri``), and require.js
# resolves a module id beside the *page* by default: a 404 per font on widget pages.
# embed-amd.js defines four such modules (``@jupyter-widgets/base``, ``/controls``,
# ``/html-manager`` and ``/html-manager/dist/libembed-amd``). This script, loaded between
# require.js and embed-amd.js, maps each into our widgets/, so every public path is it.
#: Each AMD module id the widget bundles are defined as -> its file under widgets/.
WIDGET_MODULES = {
    "@jupyter-widgets/html-manager/dist": "widgets",
    "@jupyter-widgets/controls": "widgets/controls",
    "@jupyter-widgets/base": "widgets/base",
    "@jupyter-widgets/html-manager": "widgets/html-manager",
}
WIDGETS_PATHS_JS = (
    "// Written by data_scripts/web_assets.py: serve the widget manager's AMD modules (and so\n"
    "// their icon fonts) from this folder's widgets/ on every page, not from beside the page.\n"
    "(function () {\n"
    '  var here = new URL(".", document.currentScript.src).href;\n'
    "  require.config({paths: {\n"
    + ",\n".join(f'    "{module}": here + "{path}"' for module, path in WIDGET_MODULES.items())
    + "\n  }});\n})();\n"
)

#: The files a built page refers to; present and stamped means "prepared".
ENTRY_POINTS = ("mathjax/tex-chtml.js", "require.js", "widgets-paths.js", "widgets/embed-amd.js")


def assets_folder() -> Path:
    """``<project>/_web_assets``: the folder ``_config.yml`` lists in ``html_static_path``."""
    return roots.project_root() / "_web_assets"


def _selected(member: tarfile.TarInfo, members: tuple[tuple[str, str], ...]) -> str | None:
    """The destination of ``member`` (a path relative to the assets folder), or None."""
    name = member.name
    if not member.isfile() or not name.startswith("package/") or name.endswith(".map"):
        return None  # links, folders, source maps and anything outside package/ are never written
    inner = name[len("package/") :]
    for source, dest in members:
        if source.endswith("/") and inner.startswith(source):
            rest = inner[len(source) :]
        elif inner == source:
            rest = ""
        else:
            continue
        parts = Path(rest).parts
        if any(p in ("..", "") or p.startswith("/") for p in parts) or Path(rest).is_absolute():
            raise ValueError(f"refusing tarball member {name!r}: it would leave the assets folder")
        return dest + rest if source.endswith("/") else dest
    return None


def extract_asset(tarball: Path, asset: Asset, target: Path) -> list[str]:
    """Copy ``asset``'s files out of ``tarball`` (checked against ``asset.sha256`` first)
    into ``target``; return the written paths relative to ``target``.

    Raises:
        ChecksumMismatchError: the tarball is not the pinned release.
        ValueError: a selected member would escape ``target``, or a listed file is missing.
    """
    check_sha256(tarball, sha256_of(tarball), asset.sha256)
    written = []
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            dest = _selected(member, asset.members)
            if dest is None:
                continue
            out = target / dest
            out.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(out, "wb") as dst:  # type: ignore[union-attr]
                shutil.copyfileobj(src, dst)
            written.append(dest)
    for source, dest in asset.members:
        if not any(w == dest or (dest.endswith("/") and w.startswith(dest)) for w in written):
            raise ValueError(f"{tarball.name}: no member for {source!r}")
    return written


def _npm_pack(asset: Asset, folder: Path, *, use_apt: bool) -> Path:
    if shutil.which("npm") is None:
        apt_install(["npm"], allowed=use_apt)
    npm = shutil.which("npm")
    if npm is None:
        raise DataNotFoundError(
            "npm is needed once to fetch the book's MathJax / require.js / widget assets: "
            "`apt-get install npm` (Debian) or install Node.js, then rerun `make book`"
        )
    subprocess.run([npm, "pack", asset.spec, "--silent"], cwd=folder, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    path = folder / asset.tarball
    if not path.is_file():
        raise DataNotFoundError(f"`npm pack {asset.spec}` did not produce {asset.tarball}")
    return path


def prepare_web_assets(root: str | Path | None = None, *, use_apt: bool = True, download: bool = True) -> Path:
    """Make ``_web_assets/`` hold the pinned MathJax, require.js and widget manager files.

    Idempotent: a folder stamped with these releases is left alone. ``root`` is
    accepted for the data-preparer signature (the assets live in the project, not the
    data root); ``use_apt`` allows ``apt-get install npm`` (as root) when npm is
    missing. Returns the folder.

    Raises:
        DataNotFoundError: not prepared and ``download`` is False or npm is missing.
        ChecksumMismatchError: a fetched tarball is not the pinned release.
    """
    del root
    target = assets_folder()
    pins = {a.spec: a.sha256 for a in ASSETS}
    pins["widgets-paths.js"] = hashlib.sha256(WIDGETS_PATHS_JS.encode()).hexdigest()  # a new script re-prepares
    stamp = target / ".prepared.json"
    if stamp_matches(stamp, target, ENTRY_POINTS, pins=pins):
        return target
    if not download:
        raise DataNotFoundError(f"{target} is not prepared; run `python -m data_scripts web-assets`")
    staging = temp_path_beside(target)  # same file system, so the final move is a rename
    staging.mkdir(parents=True)
    try:
        with tempfile.TemporaryDirectory(prefix="web-assets-") as tmp:
            for asset in ASSETS:
                extract_asset(_npm_pack(asset, Path(tmp), use_apt=use_apt), asset, staging)
        (staging / "widgets-paths.js").write_text(WIDGETS_PATHS_JS, encoding="utf-8")
        write_stamp(staging / ".prepared.json", staging, ENTRY_POINTS, pins=pins)
        replace_folder(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
