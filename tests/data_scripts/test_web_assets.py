"""The book's browser assets: only the pinned release's listed files, never outside the folder."""

import io
import posixpath
import tarfile

import pytest

from data_scripts.files import ChecksumMismatchError, sha256_of
from data_scripts.web_assets import ASSETS, ENTRY_POINTS, WIDGET_MODULES, WIDGETS_PATHS_JS, Asset, extract_asset


def _tarball(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if data is None:  # a symlink pointing out of the target
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
                continue
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _asset(path, members):
    return Asset("pkg@1.0.0", path.name, sha256_of(path), members)


def test_only_the_listed_files_are_copied(tmp_path):
    tgz = _tarball(tmp_path / "pkg.tgz", {
        "package/es5/tex-chtml.js": b"mathjax", "package/es5/output/a/font.woff": b"font",
        "package/es5/other.js": b"not listed", "package/dist/x.js.map": b"source map",
        "package/es5/output/link": None,
    })  # fmt: skip
    asset = _asset(tgz, (("es5/tex-chtml.js", "mathjax/tex-chtml.js"), ("es5/output/", "mathjax/output/")))
    out = tmp_path / "out"
    written = extract_asset(tgz, asset, out)
    assert sorted(written) == ["mathjax/output/a/font.woff", "mathjax/tex-chtml.js"]
    assert (out / "mathjax/tex-chtml.js").read_bytes() == b"mathjax"
    assert not (out / "mathjax/output/link").exists()  # links are never written
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(written)


def test_a_member_escaping_the_folder_is_refused(tmp_path):
    tgz = _tarball(tmp_path / "evil.tgz", {"package/dist/../../../escape.js": b"x"})
    with pytest.raises(ValueError, match="would leave the assets folder"):
        extract_asset(tgz, _asset(tgz, (("dist/", "widgets/"),)), tmp_path / "out")
    assert not (tmp_path / "escape.js").exists()


def test_a_tampered_tarball_fails_its_checksum_before_use(tmp_path):
    tgz = _tarball(tmp_path / "pkg.tgz", {"package/require.js": b"define()"})
    asset = Asset("requirejs@2.3.7", "pkg.tgz", "0" * 64, (("require.js", "require.js"),))
    with pytest.raises(ChecksumMismatchError, match="pkg.tgz"):
        extract_asset(tgz, asset, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_listed_file_missing_from_the_release_is_an_error(tmp_path):
    tgz = _tarball(tmp_path / "pkg.tgz", {"package/README.md": b"readme"})
    with pytest.raises(ValueError, match="no member for 'require.js'"):
        extract_asset(tgz, _asset(tgz, (("require.js", "require.js"),)), tmp_path / "out")


def test_every_entry_point_comes_from_a_pinned_release():
    pinned = {dest for a in ASSETS for _, dest in a.members} | {"widgets-paths.js"}
    for entry in ENTRY_POINTS:
        assert any(entry == d or (d.endswith("/") and entry.startswith(d)) for d in pinned), entry
    assert all(len(a.sha256) == 64 and "@" in a.spec for a in ASSETS)


def _require_path(module_id):
    """Where require.js fetches ``module_id`` from, relative to _static/ (longest mapped prefix)."""
    for prefix in sorted(WIDGET_MODULES, key=len, reverse=True):
        if module_id == prefix or module_id.startswith(prefix + "/"):
            return WIDGET_MODULES[prefix] + module_id[len(prefix) :]
    return None  # resolved beside the page


@pytest.mark.parametrize("module_id", [
    # the named define()s of @jupyter-widgets/html-manager 1.0.6's embed-amd.js, each
    # taking "module" (its URL sets the bundle's public path)
    "@jupyter-widgets/html-manager/dist/libembed-amd", "@jupyter-widgets/controls",
    "@jupyter-widgets/base", "@jupyter-widgets/html-manager",
])  # fmt: skip
def test_every_widget_bundle_finds_its_fonts_in_our_widgets_folder(module_id):
    # webpack's public path is the folder of the module's URL; the fonts lie in widgets/
    path = _require_path(module_id)
    assert path is not None and posixpath.dirname(path) == "widgets", (module_id, path)
    assert f'"{module_id}"' in WIDGETS_PATHS_JS or any(
        f'"{p}"' in WIDGETS_PATHS_JS for p in WIDGET_MODULES if module_id.startswith(p)
    )
