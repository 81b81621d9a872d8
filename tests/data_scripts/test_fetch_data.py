"""data_scripts: preparing Fashion-MNIST and WordNet 3.0 from the Debian packages'
real files into temporary roots, with apt-get and downloads disabled."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import pytest
import torch

from advinterp_lib.data import DataNotFoundError, load
from advinterp_lib.data.fashion_mnist import raw_dir
from advinterp_lib.data.wordnet import corpus_dir, open_wordnet
from data_scripts import fashion_mnist as fm
from data_scripts import wordnet as wn
from data_scripts.__main__ import main
from data_scripts.files import (
    ChecksumMismatchError,
    atomic_write_text,
    gunzip_atomic,
    replace_folder,
    sha256_of,
)

OFFLINE = {"use_apt": False, "download": False}


def _quiet(_line: str) -> None:
    pass


def _states(folder: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime_ns) of every file in ``folder``: changes if a file is rewritten."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}


def _flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


# --- files.py -------------------------------------------------------------------


def test_sha256_of_agrees_with_hashlib(tmp_path):
    path = tmp_path / "x.bin"
    data = bytes(range(256)) * 10_000  # 2.5 MB: several read chunks
    path.write_bytes(data)
    assert sha256_of(path) == hashlib.sha256(data).hexdigest()


def test_gunzip_atomic_checks_content_and_leaves_target_on_mismatch(tmp_path):
    src = tmp_path / "a.gz"
    src.write_bytes(gzip.compress(b"new content"))
    dst = tmp_path / "a"
    dst.write_bytes(b"old content")
    with pytest.raises(ChecksumMismatchError, match=re.escape(str(src))):
        gunzip_atomic(src, dst, expected_sha256="0" * 64)
    assert dst.read_bytes() == b"old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "a.gz"]  # no temp left
    digest = gunzip_atomic(src, dst, expected_sha256=hashlib.sha256(b"new content").hexdigest())
    assert dst.read_bytes() == b"new content" and digest == sha256_of(dst)


def test_atomic_write_text_and_replace_folder(tmp_path):
    atomic_write_text(tmp_path / "t.txt", "hello\n")
    assert (tmp_path / "t.txt").read_text() == "hello\n"
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "f").write_text("old")
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "g").write_text("new")
    replace_folder(tmp_path / "new", tmp_path / "old")
    assert [p.name for p in (tmp_path / "old").iterdir()] == ["g"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old", "t.txt"]


# --- Fashion-MNIST --------------------------------------------------------------


@pytest.fixture(scope="module")
def fashion_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fashion")
    assert fm.prepare_fashion_mnist(root, log=_quiet, **OFFLINE) == "debian"
    return root


def test_prepared_files_are_torchvisions_layout_with_known_checksums(fashion_root):
    folder = fashion_root / "FashionMNIST" / "raw"
    for name, digest in fm.SHA256.items():
        assert sha256_of(folder / name) == digest
    assert not [p for p in folder.iterdir() if ".tmp-" in p.name]


def test_prepared_data_loads_with_expected_shapes_range_and_class_counts(fashion_root):
    for split, n in (("train", 60_000), ("test", 10_000)):
        data = load("fashion-mnist", split, root=fashion_root)
        assert data.images.shape == (n, 1, 28, 28) and data.images.dtype == torch.float32
        assert data.images.min() == 0 and data.images.max() == 1
        assert torch.bincount(data.labels, minlength=10).tolist() == [n // 10] * 10


def test_second_prepare_does_nothing(fashion_root):
    folder = raw_dir(fashion_root)
    before = _states(folder)
    assert fm.prepare_fashion_mnist(fashion_root, log=_quiet, **OFFLINE) == "already prepared"
    assert _states(folder) == before


def test_lost_stamp_triggers_a_full_check_not_a_rewrite(fashion_root):
    folder = raw_dir(fashion_root)
    (folder / fm.STAMP).unlink()
    data_files = {k: v for k, v in _states(folder).items() if k != fm.STAMP}
    assert fm.prepare_fashion_mnist(fashion_root, log=_quiet, **OFFLINE) == "already prepared"
    assert (folder / fm.STAMP).is_file()
    assert {k: v for k, v in _states(folder).items() if k != fm.STAMP} == data_files


def test_tampered_prepared_file_is_rejected_and_replaced(tmp_path):
    assert fm.prepare_fashion_mnist(tmp_path, log=_quiet, **OFFLINE) == "debian"
    target = raw_dir(tmp_path) / "train-images-idx3-ubyte"
    _flip_byte(target, 16 + 784 * 123 + 400)  # one pixel of image 123
    assert not fm.is_prepared(tmp_path, log=_quiet)
    assert fm.prepare_fashion_mnist(tmp_path, log=_quiet, **OFFLINE) == "debian"
    assert sha256_of(target) == fm.SHA256[target.name]


def test_tampered_source_is_refused_and_nothing_is_written(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in fm.RAW_FILES:
        (source / f"{name}.gz").symlink_to(fm.DEBIAN_DIR / f"{name}.gz")
    bad = source / "t10k-labels-idx1-ubyte.gz"
    labels = bytearray(gzip.decompress(bad.read_bytes()))
    labels[8 + 5000] = (labels[8 + 5000] + 1) % 10  # relabel one test image
    bad.unlink()
    bad.write_bytes(gzip.compress(bytes(labels)))
    root = tmp_path / "root"
    with pytest.raises(ChecksumMismatchError, match=re.escape(str(bad))):
        fm.prepare_fashion_mnist(root, source_dir=source, log=_quiet, **OFFLINE)
    assert list(raw_dir(root).iterdir()) == []


def test_missing_sources_raise_an_error_naming_the_commands(tmp_path):
    with pytest.raises(DataNotFoundError) as info:
        fm.prepare_fashion_mnist(tmp_path / "root", source_dir=tmp_path, log=_quiet, **OFFLINE)
    assert isinstance(info.value, FileNotFoundError)
    assert "sudo apt-get install dataset-fashion-mnist" in str(info.value)
    assert "python -m data_scripts fashion-mnist" in str(info.value)
    assert not (tmp_path / "root" / "FashionMNIST").exists()


def test_command_line_prepares_then_finds_prepared(tmp_path):
    argv = ["fashion-mnist", "--root", str(tmp_path), "--no-apt", "--no-download"]
    assert main(argv) == 0
    before = _states(raw_dir(tmp_path))
    assert main(argv) == 0
    assert _states(raw_dir(tmp_path)) == before


# --- WordNet --------------------------------------------------------------------


@pytest.fixture(scope="module")
def wordnet_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wordnet")
    assert wn.prepare_wordnet(root, log=_quiet, **OFFLINE) == "debian"
    return root


def test_wordnet_is_laid_out_for_nltk_and_reads_as_3_0(wordnet_root):
    folder = wordnet_root / "nltk_data" / "corpora" / "wordnet"
    assert folder == corpus_dir(wordnet_root)
    for name in wn.COPIED:
        assert (folder / name).read_bytes() == (wn.DEBIAN_DIR / name).read_bytes()
    assert open_wordnet(folder).get_version() == "3.0"
    assert [p.name for p in folder.parent.iterdir()] == ["wordnet"]  # no staging left


def test_lexnames_has_the_45_rows_of_the_manual_page(wordnet_root):
    rows = (corpus_dir(wordnet_root) / "lexnames").read_text().splitlines()
    assert len(rows) == 45
    parsed = [row.split("\t") for row in rows]
    assert [int(number) for number, _, _ in parsed] == list(range(45))
    category = {"noun": "1", "verb": "2", "adj": "3", "adv": "4"}
    assert all(cat == category[name.split(".")[0]] for _, name, cat in parsed)
    manual = Path("/usr/share/man/man5/lexnames.5WN.gz")
    if not manual.is_file():
        pytest.skip("lexnames(5WN) manual page not installed")
    # The manual's table rows: "NN<TAB>name<TAB>contents".
    table = re.findall(r"^(\d\d)\t(\S+)\s*\t", gzip.decompress(manual.read_bytes()).decode(), re.M)
    assert [(number, name) for number, name, _ in parsed] == table


def test_second_wordnet_prepare_does_nothing(wordnet_root):
    before = _states(corpus_dir(wordnet_root))
    assert wn.prepare_wordnet(wordnet_root, log=_quiet, **OFFLINE) == "already prepared"
    assert _states(corpus_dir(wordnet_root)) == before


def _debian_copy(tmp_path: Path, name: str, edit) -> Path:
    """A source folder of symlinks to Debian's WordNet files, except ``name``, which
    holds ``edit(original bytes)``."""
    source = tmp_path / "src"
    source.mkdir()
    for each in wn.COPIED:
        (source / each).symlink_to(wn.DEBIAN_DIR / each)
    (source / name).unlink()
    (source / name).write_bytes(edit((wn.DEBIAN_DIR / name).read_bytes()))
    return source


def test_a_source_that_is_not_wordnet_3_0_is_refused_and_nothing_is_written(tmp_path):
    def claim_3_1(text: bytes) -> bytes:
        assert b"WordNet 3.0 Copyright" in text
        return text.replace(b"WordNet 3.0 Copyright", b"WordNet 3.1 Copyright")

    source = _debian_copy(tmp_path, "data.adj", claim_3_1)
    root = tmp_path / "root"
    with pytest.raises(ValueError, match="version: got '3.1'"):
        wn.prepare_wordnet(root, source_dir=source, log=_quiet, **OFFLINE)
    assert list((root / "nltk_data" / "corpora").iterdir()) == []


def test_a_source_with_a_broken_sense_index_is_refused(tmp_path):
    def drop_dog(text: bytes) -> bytes:
        lines = text.splitlines(keepends=True)
        kept = [line for line in lines if not line.startswith(b"dog%1:05:00::")]
        assert len(kept) == len(lines) - 1
        return b"".join(kept)

    source = _debian_copy(tmp_path, "index.sense", drop_dog)
    root = tmp_path / "root"
    with pytest.raises(ValueError, match="sense key"):
        wn.prepare_wordnet(root, source_dir=source, log=_quiet, **OFFLINE)
    assert list((root / "nltk_data" / "corpora").iterdir()) == []


def test_a_broken_prepared_copy_is_rejected_and_replaced(tmp_path):
    assert wn.prepare_wordnet(tmp_path, log=_quiet, **OFFLINE) == "debian"
    adj = corpus_dir(tmp_path) / "data.adj"
    adj.write_bytes(adj.read_bytes().replace(b"WordNet 3.0 Copyright", b"WordNet 2.1 Copyright"))
    assert wn.prepare_wordnet(tmp_path, log=_quiet, **OFFLINE) == "debian"  # not "already"
    assert adj.read_bytes() == (wn.DEBIAN_DIR / "data.adj").read_bytes()
    assert wn.is_prepared(tmp_path, log=_quiet)


def test_missing_wordnet_sources_raise_an_error_naming_the_commands(tmp_path):
    with pytest.raises(DataNotFoundError) as info:
        wn.prepare_wordnet(tmp_path / "root", source_dir=tmp_path, log=_quiet, **OFFLINE)
    message = str(info.value)
    assert "sudo apt-get install wordnet-base wordnet-sense-index" in message
    assert "python -m data_scripts wordnet" in message


# --- no room to write: the path and the space needed, not a raw ENOSPC ---------------------


@pytest.mark.skipif(
    not all((fm.DEBIAN_DIR / f"{n}.gz").is_file() for n in fm.RAW_FILES),
    reason="needs the files of the Debian package dataset-fashion-mnist",
)
def test_disk_full_during_fashion_mnist_names_the_path_and_the_space_needed(tmp_path):
    """`python -m data_scripts fashion-mnist` in a child whose files may not grow past
    10 MB (RLIMIT_FSIZE: the kernel refuses the write with EFBIG as a full disk does with
    ENOSPC): one line naming the file and the 55 MB needed, exit 1, nothing installed."""
    import subprocess
    import sys

    root = tmp_path / "data"
    prelude = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (10_000_000, resource.RLIM_INFINITY))\n"
        "from data_scripts.__main__ import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", prelude, "fashion-mnist", "--root", str(root), "--no-apt", "--no-download"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("fashion-mnist: error:")]
    assert f"writing {raw_dir(root)}/" in line and "File too large" in line
    assert "need 55.0 MB" in line and "nothing under" in line
    assert not raw_dir(root).exists() or not list(raw_dir(root).iterdir())  # nothing half-installed
