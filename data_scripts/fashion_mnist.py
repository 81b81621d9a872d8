"""Prepare Fashion-MNIST under the data root, in torchvision's layout.

Result: ``<root>/FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``,
decompressed, each checked against the SHA-256 of its decompressed content
(``SHA256``). Sources, in order (DESIGN.md, "Data"):

1. already prepared under the root: nothing to do;
2. the files of the Debian package ``dataset-fashion-mnist``
   (``/usr/share/datasets/fashion-mnist/*-ubyte.gz``);
3. running as root with apt-get: ``apt-get install -y dataset-fashion-mnist``,
   then as 2;
4. the official download, ``torchvision.datasets.FashionMNIST(download=True)``,
   which checks the MD5 of each downloaded ``.gz`` itself;
5. otherwise DataNotFoundError naming the command to run.

Why SHA-256 of the decompressed files: Debian recompressed the archives, so their
``.gz`` MD5s differ from the ones torchvision knows (``train-images-idx3-ubyte.gz``:
Debian f78720b4..., torchvision/Zalando 8d4fb7e6...), while the decompressed bytes
are identical. The four SHA-256s below were computed here from the Debian files
(``zcat FILE.gz | sha256sum``, package dataset-fashion-mnist) and agree with
SHA-256s of the decompressed upstream archives published elsewhere; the sizes
match the idx headers (16 + 60000 * 784 bytes, and so on).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

from advinterp_lib import roots
from advinterp_lib.data import DataNotFoundError
from advinterp_lib.data.fashion_mnist import FILES, raw_dir
from data_scripts import apt_install
from data_scripts.files import (
    ChecksumMismatchError,
    copy_file,
    gunzip_file,
    install_files,
    sha256_of,
    stamp_matches,
    write_stamp,
)

NAME = "fashion-mnist"
DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")

#: SHA-256 of each decompressed file (see the module docstring for their origin).
SHA256: Mapping[str, str] = MappingProxyType(
    {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    }
)
RAW_FILES: tuple[str, ...] = tuple(name for pair in FILES.values() for name in pair)
STAMP = ".advinterp-verified.json"


def is_prepared(root: str | os.PathLike[str] | None = None, *, log: Callable[[str], None] = print) -> bool:
    """Whether all four files are under ``raw_dir(root)`` with the right SHA-256.

    Instant when a stamp shows the files unchanged since they were last verified;
    otherwise hashes them (about 0.2 s) and, if right, writes the stamp. A file
    with the wrong checksum is reported through ``log`` and makes this False.
    """
    folder = raw_dir(root)
    if not all((folder / name).is_file() for name in RAW_FILES):
        return False
    if stamp_matches(folder / STAMP, folder, RAW_FILES, sha256=dict(SHA256)):
        return True
    for name in RAW_FILES:
        if sha256_of(folder / name) != SHA256[name]:
            log(f"{NAME}: {folder / name} has the wrong SHA-256; rejecting it")
            return False
    write_stamp(folder / STAMP, folder, RAW_FILES, sha256=dict(SHA256))
    return True


def _sources_in(folder: Path, suffix: str) -> dict[str, Path] | None:
    """``{name: folder/(name + suffix)}`` if all four exist, else None."""
    paths = {name: folder / (name + suffix) for name in RAW_FILES}
    return paths if all(p.is_file() for p in paths.values()) else None


def _install(
    sources: dict[str, Path],
    root: Path,
    transfer: Callable[[Path, Path], str],
    log: Callable[[str], None],
) -> None:
    folder = raw_dir(root)
    for name, src in sources.items():
        log(f"{NAME}: {src} -> {folder / name}")
    install_files(sources, folder, transfer=transfer, expected_sha256=dict(SHA256))
    write_stamp(folder / STAMP, folder, RAW_FILES, sha256=dict(SHA256))
    log(f"{NAME}: prepared at {folder} (SHA-256 of all four files checked)")


def _download(root: Path, log: Callable[[str], None]) -> None:
    """torchvision's download into a temporary folder beside the result, then the
    same checked, all-or-nothing install as from Debian's files."""
    import torchvision

    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fashion-mnist-download-", dir=root) as tmp:
        log(f"{NAME}: downloading with torchvision into {tmp}")
        torchvision.datasets.FashionMNIST(tmp, train=True, download=True)
        sources = _sources_in(raw_dir(tmp), "")
        if sources is None:
            raise RuntimeError(f"torchvision's download left no complete set in {raw_dir(tmp)}")
        _install(sources, root, copy_file, log)


def prepare_fashion_mnist(
    root: str | os.PathLike[str] | None = None,
    *,
    source_dir: str | os.PathLike[str] = DEBIAN_DIR,
    use_apt: bool = True,
    download: bool = True,
    log: Callable[[str], None] = print,
) -> str:
    """Make Fashion-MNIST available under ``root`` (see the module docstring).

    Args:
        root: the data root; None means ``roots.data_root()``.
        source_dir: where the ``*-ubyte.gz`` files of the Debian package are.
        use_apt: may install the Debian package with apt-get (only when running as
            root and apt-get exists; the package installs into ``DEBIAN_DIR``).
        download: may download with torchvision.
        log: receives one line per step (default ``print``).

    Returns:
        Where the data came from: ``"already prepared"``, ``"debian"``, ``"apt"``
        or ``"download"``.

    Raises:
        ChecksumMismatchError: a source file's decompressed content is not the
            known Fashion-MNIST file; nothing under ``root`` was changed.
        DataNotFoundError: no source was available; the message says what to run.
    """
    root = roots.data_root() if root is None else Path(root)
    source_dir = Path(source_dir)
    if is_prepared(root, log=log):
        log(f"{NAME}: already prepared at {raw_dir(root)}")
        return "already prepared"
    tried = []
    sources = _sources_in(source_dir, ".gz")
    if sources is not None:
        _install(sources, root, gunzip_file, log)
        return "debian"
    tried.append(f"no Debian files {source_dir}/*-ubyte.gz")
    failure = apt_install([DEBIAN_PACKAGE], log, allowed=use_apt)
    if failure is None:
        sources = _sources_in(source_dir, ".gz")
        if sources is not None:
            _install(sources, root, gunzip_file, log)
            return "apt"
        failure = f"apt-get installed {DEBIAN_PACKAGE}, but not into {source_dir}"
    tried.append(failure)
    if download:
        try:
            _download(root, log)
            return "download"
        except ChecksumMismatchError:
            raise
        except (OSError, RuntimeError, ValueError) as err:  # network, HTTP, archive errors
            tried.append(f"download failed: {type(err).__name__}: {err}")
    else:
        tried.append("download disabled")
    raise DataNotFoundError(
        f"Fashion-MNIST is not prepared under {raw_dir(root)} and no source worked ("
        + "; ".join(tried)
        + f"). Run `sudo apt-get install {DEBIAN_PACKAGE}` and then "
        f"`python -m data_scripts {NAME}`, or `python -m data_scripts {NAME}` when online."
    )
