"""Prepare WordNet 3.0 for nltk under the data root.

Result: ``<root>/nltk_data/corpora/wordnet/`` with the files nltk's reader needs
(``advinterp_lib.data.wordnet.FILES``: ``data.*``, ``index.*``, ``index.sense``,
``*.exc``, ``cntlist.rev``, ``lexnames``). Sources, in order (DESIGN.md, "Data"):

1. already prepared under the root: nothing to do;
2. the files of the Debian packages ``wordnet-base`` and ``wordnet-sense-index``
   (``/usr/share/wordnet/``);
3. running as root with apt-get: ``apt-get install -y wordnet-base
   wordnet-sense-index``, then as 2;
4. the official download, ``nltk.download("wordnet")`` (nltk checks the archive
   against the MD5 in its index);
5. otherwise DataNotFoundError naming the command to run.

Debian does not ship the ``lexnames`` file that nltk reads at start-up; its 45 rows
(lexicographer file number, name, syntactic category) are fixed by WordNet 3.0 and
listed in the lexnames(5WN) manual page that wordnet-base installs, so they are
written from ``LEXNAMES`` below. The copy is assembled in a staging folder and only
moved into place after nltk has opened it and reported version 3.0, so a failure
leaves nothing half-written. WordNet's files are not checked against fixed
checksums: Debian's and nltk's copies of 3.0 differ in packaging details; the
check is that nltk reads the copy as WordNet 3.0 with ImageNet's offsets.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import nltk
from nltk.corpus.reader.wordnet import WordNetError

from advinterp_lib import roots
from advinterp_lib.data import DataNotFoundError
from advinterp_lib.data.wordnet import FILES, VERSION, corpus_dir, nltk_data_dir, open_wordnet
from data_scripts import apt_install
from data_scripts.files import replace_folder, stamp_matches, write_stamp

NAME = "wordnet"
DEBIAN_PACKAGES = ("wordnet-base", "wordnet-sense-index")
DEBIAN_DIR = Path("/usr/share/wordnet")
STAMP = ".advinterp-verified.json"

#: The 45 lexicographer files of WordNet 3.0, in file-number order (00..44), with
#: their syntactic category (1 noun, 2 verb, 3 adjective, 4 adverb), from the
#: lexnames(5WN) manual page.
LEXNAMES: tuple[tuple[str, int], ...] = (
    ("adj.all", 3), ("adj.pert", 3), ("adv.all", 4), ("noun.Tops", 1),
    ("noun.act", 1), ("noun.animal", 1), ("noun.artifact", 1), ("noun.attribute", 1),
    ("noun.body", 1), ("noun.cognition", 1), ("noun.communication", 1),
    ("noun.event", 1), ("noun.feeling", 1), ("noun.food", 1), ("noun.group", 1),
    ("noun.location", 1), ("noun.motive", 1), ("noun.object", 1), ("noun.person", 1),
    ("noun.phenomenon", 1), ("noun.plant", 1), ("noun.possession", 1),
    ("noun.process", 1), ("noun.quantity", 1), ("noun.relation", 1),
    ("noun.shape", 1), ("noun.state", 1), ("noun.substance", 1), ("noun.time", 1),
    ("verb.body", 2), ("verb.change", 2), ("verb.cognition", 2),
    ("verb.communication", 2), ("verb.competition", 2), ("verb.consumption", 2),
    ("verb.contact", 2), ("verb.creation", 2), ("verb.emotion", 2), ("verb.motion", 2),
    ("verb.perception", 2), ("verb.possession", 2), ("verb.social", 2),
    ("verb.stative", 2), ("verb.weather", 2), ("adj.ppl", 3),
)  # fmt: skip

#: Files copied from a source; ``lexnames`` is written from ``LEXNAMES``.
COPIED: tuple[str, ...] = tuple(name for name in FILES if name != "lexnames")


def lexnames_text() -> str:
    """The ``lexnames`` file: ``NN<TAB>name<TAB>category`` per line."""
    return "".join(f"{i:02d}\t{name}\t{cat}\n" for i, (name, cat) in enumerate(LEXNAMES))


def verify_wordnet(folder: Path) -> None:
    """Open the WordNet copy in ``folder`` with nltk and check that it is WordNet
    3.0 as ImageNet uses it.

    Raises:
        ValueError: the version is not 3.0, the lexicographer files are not the
            45 of ``LEXNAMES``, or a known synset or sense key is wrong.
        DataNotFoundError: a file is missing.
    """
    # The licence header of data.adj (before its first synset, at byte 1740) names
    # the version: a cheap first check that spares opening (about 1 s) a copy that
    # is plainly another version.
    header = (folder / "data.adj").read_bytes()[:1740].decode("ascii", "replace")
    if f"WordNet {VERSION} Copyright" not in header:
        found = re.search(r"WordNet (\S+) Copyright", header)
        raise ValueError(
            f"{folder}: not WordNet {VERSION} as expected: version: got "
            f"{found and found.group(1)!r}, expected {VERSION!r}"
        )
    reader = open_wordnet(folder)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No WordNet synset found")  # None instead
        tabby = reader.synset_from_pos_and_offset("n", 2123045)
    try:
        dog = reader.lemma_from_key("dog%1:05:00::").synset().name()
    except WordNetError:
        dog = None
    checks = {
        "version": (reader.get_version(), VERSION),
        "lexnames": (list(reader._lexnames), [name for name, _ in LEXNAMES]),
        "wnid n02123045": (tabby and tabby.name(), "tabby.n.01"),
        "sense key dog%1:05:00::": (dog, "dog.n.01"),
    }
    wrong = [f"{what}: got {got!r}, expected {want!r}" for what, (got, want) in checks.items() if got != want]
    if wrong:
        raise ValueError(f"{folder}: not WordNet {VERSION} as expected: " + "; ".join(wrong))


def is_prepared(root: str | os.PathLike[str] | None = None, *, log: Callable[[str], None] = print) -> bool:
    """Whether a verified WordNet 3.0 is under ``corpus_dir(root)``.

    Instant when a stamp shows the files unchanged since they were verified;
    otherwise opens the copy with nltk (about 1 s) and, if right, writes the stamp.
    """
    folder = corpus_dir(root)
    if not all((folder / name).is_file() for name in FILES):
        return False
    if stamp_matches(folder / STAMP, folder, FILES, version=VERSION):
        return True
    try:
        verify_wordnet(folder)
    except (ValueError, OSError) as err:
        log(f"{NAME}: the copy at {folder} failed its check ({err}); rejecting it")
        return False
    write_stamp(folder / STAMP, folder, FILES, version=VERSION)
    return True


def _install(open_source: Callable[[str], BinaryIO], origin: str, root: Path, log: Callable[[str], None]) -> None:
    """Copy ``COPIED`` (each opened by ``open_source(name)``) and write ``lexnames``
    into a staging folder, verify it, then move it onto ``corpus_dir(root)``."""
    target = corpus_dir(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    log(f"{NAME}: copying {len(COPIED)} files from {origin} and writing lexnames")
    staging = Path(tempfile.mkdtemp(prefix=".wordnet-staging-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the data is for every user
    try:
        for name in COPIED:
            with open_source(name) as src, open(staging / name, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        (staging / "lexnames").write_text(lexnames_text(), encoding="utf-8")
        verify_wordnet(staging)
        write_stamp(staging / STAMP, staging, FILES, version=VERSION)
        replace_folder(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(f"{NAME}: prepared at {target} (nltk reads it as WordNet {VERSION})")


def _has_debian_files(folder: Path) -> bool:
    return all((folder / name).is_file() for name in COPIED)


def _download(root: Path, log: Callable[[str], None]) -> None:
    """``nltk.download("wordnet")`` into a temporary folder, then the same checked
    install as from Debian's files."""
    nltk_dir = nltk_data_dir(root)
    nltk_dir.mkdir(parents=True, exist_ok=True)
    if str(nltk_dir.resolve()) not in nltk.data.path:
        nltk.data.path.append(str(nltk_dir.resolve()))
    with tempfile.TemporaryDirectory(prefix=".wordnet-download-", dir=nltk_dir) as tmp:
        log(f"{NAME}: downloading with nltk into {tmp}")
        if not nltk.download(NAME, download_dir=tmp, raise_on_error=True):
            raise RuntimeError("nltk.download('wordnet') reported failure")
        unpacked, archive = Path(tmp, "corpora", NAME), Path(tmp, "corpora", f"{NAME}.zip")
        if _has_debian_files(unpacked):
            _install(lambda name: open(unpacked / name, "rb"), str(unpacked), root, log)
            return
        if not archive.is_file():
            raise RuntimeError(f"nltk.download('wordnet') left neither {unpacked} nor {archive}")
        # Only the named members are read, so nothing in the archive can choose
        # where a file is written.
        with zipfile.ZipFile(archive) as zf:
            _install(lambda name: zf.open(f"{NAME}/{name}"), str(archive), root, log)


def prepare_wordnet(
    root: str | os.PathLike[str] | None = None,
    *,
    source_dir: str | os.PathLike[str] = DEBIAN_DIR,
    use_apt: bool = True,
    download: bool = True,
    log: Callable[[str], None] = print,
) -> str:
    """Make WordNet 3.0 available to nltk under ``root`` (see the module docstring).

    Args:
        root: the data root; None means ``roots.data_root()``.
        source_dir: where the Debian packages' WordNet files are.
        use_apt: may install the Debian packages with apt-get (only when running as
            root and apt-get exists; they install into ``DEBIAN_DIR``).
        download: may download with ``nltk.download``.
        log: receives one line per step (default ``print``).

    Returns:
        Where the data came from: ``"already prepared"``, ``"debian"``, ``"apt"``
        or ``"download"``.

    Raises:
        ValueError: a source is not WordNet 3.0 (nothing under ``root`` changed).
        DataNotFoundError: no source was available; the message says what to run.
    """
    root = roots.data_root() if root is None else Path(root)
    source_dir = Path(source_dir)
    if is_prepared(root, log=log):
        log(f"{NAME}: already prepared at {corpus_dir(root)}")
        return "already prepared"

    def from_folder(name: str) -> BinaryIO:
        return open(source_dir / name, "rb")

    tried = []
    if _has_debian_files(source_dir):
        _install(from_folder, str(source_dir), root, log)
        return "debian"
    tried.append(f"no WordNet files in {source_dir}")
    failure = apt_install(DEBIAN_PACKAGES, log, allowed=use_apt)
    if failure is None:
        if _has_debian_files(source_dir):
            _install(from_folder, str(source_dir), root, log)
            return "apt"
        failure = f"apt-get installed {' '.join(DEBIAN_PACKAGES)}, but not into {source_dir}"
    tried.append(failure)
    if download:
        try:
            _download(root, log)
            return "download"
        except (OSError, RuntimeError, ValueError, KeyError) as err:  # network, index, archive
            tried.append(f"download failed: {type(err).__name__}: {err}")
    else:
        tried.append("download disabled")
    raise DataNotFoundError(
        f"WordNet {VERSION} is not prepared under {corpus_dir(root)} and no source worked ("
        + "; ".join(tried)
        + f"). Run `sudo apt-get install {' '.join(DEBIAN_PACKAGES)}` and then "
        f"`python -m data_scripts {NAME}`, or `python -m data_scripts {NAME}` when online."
    )
