"""Untrusted files: hostile archives, tampered downloads, and loaders that never run code.

- every archive member that would land outside the target (``../x``, ``/abs``, a
  symlink or hard link pointing out) rejects the whole archive before anything is
  written;
- a download whose bytes differ from the known checksum is never moved into place;
- the library and data scripts load tensors only with ``torch.load(weights_only=True)``
  and never ``pickle``/``eval``/``exec`` outside data (checked on the source).
"""

from __future__ import annotations

import ast
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest
import torch

from data_scripts.files import ChecksumMismatchError, fetch_verified, sha256_of

archives = pytest.importorskip("data_scripts.archives")

ROOT = Path(__file__).resolve().parents[2]


def _tar(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> Path:
    data = data or {}
    with tarfile.open(path, "w:gz") as tf:
        for m in members:
            payload = data.get(m.name)
            if payload is not None:
                m.size = len(payload)
                tf.addfile(m, io.BytesIO(payload))
            else:
                tf.addfile(m)
    return path


def _file(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def _link(name: str, to: str, kind: bytes) -> tarfile.TarInfo:
    m = tarfile.TarInfo(name)
    m.type, m.linkname = kind, to
    return m


HOSTILE_TARS = {
    "dot-dot": [_file("ok.txt"), _file("../x")],
    "nested-dot-dot": [_file("ok.txt"), _file("a/../../x")],
    "absolute": [_file("ok.txt"), _file("/tmp/advinterp-abs-x")],
    "symlink-out": [_file("ok.txt"), _link("evil", "../../outside", tarfile.SYMTYPE)],
    "symlink-absolute": [_file("ok.txt"), _link("evil", "/etc", tarfile.SYMTYPE)],
    "symlink-then-write-through": [_link("d", "..", tarfile.SYMTYPE), _file("d/x")],
    "hardlink-out": [_file("ok.txt"), _link("evil", "/etc/passwd", tarfile.LNKTYPE)],
    "hardlink-dot-dot": [_file("ok.txt"), _link("evil", "../x", tarfile.LNKTYPE)],
    "device": [_file("ok.txt"), _link("dev", "", tarfile.CHRTYPE)],
}


@pytest.mark.parametrize("kind", list(HOSTILE_TARS))
def test_a_hostile_tar_is_refused_and_nothing_is_written(tmp_path, kind):
    members = HOSTILE_TARS[kind]
    data = {m.name: b"payload" for m in members if m.isfile()}
    archive = _tar(tmp_path / "hostile.tar.gz", members, data)
    target = tmp_path / "sandbox" / "target"
    target.mkdir(parents=True)
    with pytest.raises(archives.UnsafeArchiveError) as err:
        archives.safe_extract(archive, target)
    assert "refusing" in str(err.value) or "not a regular file" in str(err.value)
    # checked before the first byte: not even the harmless first member was written
    assert list(target.iterdir()) == []
    assert not (tmp_path / "sandbox" / "x").exists() and not (tmp_path / "x").exists()
    assert not Path("/tmp/advinterp-abs-x").exists()
    with pytest.raises(archives.UnsafeArchiveError):
        archives.archive_members(archive)


@pytest.mark.parametrize("name", ["../x", "/abs/x", "C:\\windows\\x", "a/../../x"])
def test_a_hostile_zip_is_refused_and_nothing_is_written(tmp_path, name):
    archive = tmp_path / "hostile.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", b"fine")
        zf.writestr(zipfile.ZipInfo(name), b"payload")
    target = tmp_path / "sandbox" / "target"
    target.mkdir(parents=True)
    with pytest.raises(archives.UnsafeArchiveError):
        archives.safe_extract(archive, target)
    assert list(target.iterdir()) == []
    assert not (tmp_path / "sandbox" / "x").exists()


def test_a_zip_symlink_is_refused(tmp_path):
    archive = tmp_path / "link.zip"
    info = zipfile.ZipInfo("evil")
    info.external_attr = 0o120777 << 16  # a Unix symlink entry
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(archives.UnsafeArchiveError, match="symlink"):
        archives.safe_extract(archive, tmp_path / "target")


def test_a_benign_tar_extracts_exactly_its_files(tmp_path):
    members = [_file("a.txt"), _file("sub/b.bin")]
    archive = _tar(tmp_path / "good.tar.gz", members, {"a.txt": b"alpha", "sub/b.bin": b"\x00\x01"})
    target = tmp_path / "target"
    assert archives.safe_extract(archive, target) == 2
    assert (target / "a.txt").read_bytes() == b"alpha"
    assert (target / "sub" / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(archives.archive_members(archive)) == ["a.txt", "sub/b.bin"]


# --- names that are the target itself; sizes and counts beyond the data set's ------------


@pytest.mark.parametrize("name", [".", "./", "", ".//."])
@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_a_member_named_as_the_target_itself_is_refused(tmp_path, kind, name):
    """A file member named "." was written as the target itself (a file where the
    folder should be)."""
    archive = tmp_path / f"dot.{kind}"
    if kind == "tar":
        with tarfile.open(archive, "w") as tf:
            info = tarfile.TarInfo(name)
            info.size = 7
            tf.addfile(info, io.BytesIO(b"payload"))
    else:
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr(zipfile.ZipInfo(name), b"payload")
    target = tmp_path / "target"
    with pytest.raises(archives.UnsafeArchiveError, match="target folder itself"):
        archives.safe_extract(archive, target)
    assert not target.exists()
    with pytest.raises(archives.UnsafeArchiveError, match=str(archive)):
        archives.archive_members(archive)


def test_a_zip_that_expands_beyond_its_data_set_is_refused(tmp_path):
    """A zip bomb in miniature: 2 MB of zeros compress to a few KB; the data set's
    limit (here 1 MB) refuses it before anything is written."""
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.bin", b"\0" * 2_000_000)
    assert archive.stat().st_size < 10_000
    limits = archives.ArchiveLimits(max_members=10, max_bytes=1_000_000, what="the test set (1 MB)")
    target = tmp_path / "target"
    with pytest.raises(
        archives.UnsafeArchiveError,
        match=r"bomb.zip: member .a.bin. declares 1.9 MiB.*more than the 1.0 MiB the test set",
    ) as err:
        archives.safe_extract(archive, target, limits=limits)
    assert "refusing" in str(err.value) and not target.exists()


def test_an_archive_with_more_members_than_its_data_set_is_refused(tmp_path):
    archive = _tar(tmp_path / "many.tar.gz", [_file(f"f{i}") for i in range(20)], {f"f{i}": b"x" for i in range(20)})
    limits = archives.ArchiveLimits(max_members=10, max_bytes=1_000_000, what="the test set")
    with pytest.raises(archives.UnsafeArchiveError, match=r"many.tar.gz: more than 10 members"):
        archives.archive_members(archive, limits=limits)
    with pytest.raises(archives.UnsafeArchiveError, match="more than 10 members"):
        archives.safe_extract(archive, tmp_path / "target", limits=limits)
    assert not (tmp_path / "target").exists()


def _tar_declaring(path: Path, size: int) -> Path:
    """A tar whose one member's header declares ``size`` bytes but holds 512."""
    info = tarfile.TarInfo("ILSVRC2012_val_00000001.JPEG")
    info.size = size
    path.write_bytes(info.tobuf(format=tarfile.GNU_FORMAT) + b"x" * 512 + b"\0" * 1024)
    return path


def test_a_tar_header_declaring_10_gib_is_refused_naming_the_archive(tmp_path):
    from data_scripts.imagenet import VAL_LIMITS

    archive = _tar_declaring(tmp_path / "ILSVRC2012_img_val.tar", 10 * 2**30)
    with pytest.raises(archives.UnsafeArchiveError, match=r"ILSVRC2012_img_val.tar: member .* declares 10.00 GiB"):
        archives.archive_members(archive, limits=VAL_LIMITS)
    # within a (larger) bound, the lie is caught while reading: an error naming the archive, not a bare ReadError
    with pytest.raises(ValueError, match=r"ILSVRC2012_img_val.tar: not a readable tar archive"):
        archives.safe_extract(
            archive, tmp_path / "target", limits=archives.ArchiveLimits(max_members=10, max_bytes=11 * 2**30)
        )
    assert not (tmp_path / "target").exists()


def test_a_truncated_tar_is_an_error_naming_the_archive(tmp_path):
    good = tmp_path / "good.tar"
    with tarfile.open(good, "w") as tf:  # uncompressed: cut in the middle of the first member
        for name in ("a.txt", "b.txt"):
            info = tarfile.TarInfo(name)
            info.size = 5000
            tf.addfile(info, io.BytesIO(b"a" * 5000))
    cut = tmp_path / "cut.tar"
    cut.write_bytes(good.read_bytes()[:3000])
    with pytest.raises(ValueError, match="cut.tar"):
        archives.safe_extract(cut, tmp_path / "target")


# --- downloads are verified before use ---------------------------------------------------


def test_a_verified_download_lands_and_a_tampered_one_never_does(tmp_path):
    original = tmp_path / "release.bin"
    original.write_bytes(bytes(range(256)) * 100)
    known = hashlib.sha256(original.read_bytes()).hexdigest()
    dst = tmp_path / "data" / "release.bin"
    assert fetch_verified(original.as_uri(), dst, expected_sha256=known) == known
    assert sha256_of(dst) == known

    tampered = tmp_path / "tampered.bin"
    raw = bytearray(original.read_bytes())
    raw[1234] ^= 0x01  # one flipped bit
    tampered.write_bytes(bytes(raw))
    fresh = tmp_path / "data" / "fresh.bin"
    with pytest.raises(ChecksumMismatchError, match=known):
        fetch_verified(tampered.as_uri(), fresh, expected_sha256=known)
    assert not fresh.exists()  # nothing was moved into place
    with pytest.raises(ChecksumMismatchError):
        fetch_verified(tampered.as_uri(), dst, expected_sha256=known)
    assert sha256_of(dst) == known  # the good copy is untouched
    assert [p.name for p in dst.parent.iterdir()] == ["release.bin"]  # no staging leftovers


def test_a_truncated_download_is_refused(tmp_path):
    original = tmp_path / "release.bin"
    original.write_bytes(b"x" * 10_000)
    known = sha256_of(original)
    short = tmp_path / "short.bin"
    short.write_bytes(b"x" * 9_999)
    with pytest.raises(ChecksumMismatchError):
        fetch_verified(short.as_uri(), tmp_path / "out.bin", expected_sha256=known)
    assert not (tmp_path / "out.bin").exists()


@pytest.mark.parametrize(
    "url, sha, word",
    [("http://example.org/x", "0" * 64, "https"), ("https://example.org/x", "abc", "expected_sha256")],
)
def test_unverifiable_downloads_are_refused_before_connecting(tmp_path, url, sha, word):
    with pytest.raises(ValueError, match=word):
        fetch_verified(url, tmp_path / "x", expected_sha256=sha)


# --- no code runs from files -------------------------------------------------------------


def _sources() -> list[Path]:
    return sorted((ROOT / "advinterp_lib").rglob("*.py")) + sorted((ROOT / "data_scripts").rglob("*.py"))


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    return "?"


def test_every_torch_load_uses_weights_only_and_nothing_unpickles_or_evals():
    problems, loads = [], 0
    for path in _sources():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                if any(n and n.split(".")[0] in ("pickle", "dill", "cloudpickle", "marshal", "shelve") for n in names):
                    problems.append(f"{where}: imports a pickle-like module")
            if not isinstance(node, ast.Call):
                continue
            name = _dotted(node.func)
            kw = {k.arg: k.value for k in node.keywords}
            if name == "torch.load":
                loads += 1
                flag = kw.get("weights_only")
                if not (isinstance(flag, ast.Constant) and flag.value is True):
                    problems.append(f"{where}: torch.load without weights_only=True")
            elif name in ("eval", "exec", "yaml.load", "yaml.unsafe_load", "pickle.load", "pickle.loads"):
                problems.append(f"{where}: {name}(...)")
            elif (
                name in ("np.load", "numpy.load")
                and not (isinstance(kw.get("allow_pickle"), ast.Constant) and kw["allow_pickle"].value is False)
                and "allow_pickle" in kw
            ):
                problems.append(f"{where}: np.load with allow_pickle")
    assert loads >= 3, "the scan found the library's torch.load calls"
    assert problems == []


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    """weights_only=True in action: a file holding a pickled callable does not load."""
    from advinterp_lib.training.checkpoint import CheckpointError, load_checkpoint

    path = tmp_path / "evil.pt"
    torch.save({"format": "advinterp-checkpoint-v1", "sha256": "", "state": {"f": print}}, path)
    with pytest.raises(CheckpointError, match="unreadable"):
        load_checkpoint(path)
