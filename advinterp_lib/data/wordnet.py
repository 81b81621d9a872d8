"""WordNet 3.0 through nltk, read from the prepared copy under the data root.

WordNet 3.0 is the version whose noun offsets ImageNet's wnids use
(``n02123045`` = offset 2123045 = ``tabby.n.01``). ``python -m data_scripts wordnet``
lays it out as nltk expects, ``<root>/nltk_data/corpora/wordnet/``. The reader is
built directly on that folder, so it never picks up another WordNet from nltk's
search path; nltk 3.10 refuses to open a corpus outside its data path
("Security Violation ... Unauthorized path"), so ``<root>/nltk_data`` is appended
to ``nltk.data.path`` (once) before opening it.
"""

from __future__ import annotations

import functools
import os
import re
import warnings
from pathlib import Path

import nltk
from nltk.corpus.reader.wordnet import Synset, WordNetCorpusReader, WordNetError

from advinterp_lib import roots
from advinterp_lib.data import DataNotFoundError

VERSION = "3.0"

#: Files the nltk reader needs, all under ``corpus_dir(root)``.
FILES: tuple[str, ...] = (
    "data.adj", "data.adv", "data.noun", "data.verb",
    "index.adj", "index.adv", "index.noun", "index.verb", "index.sense",
    "adj.exc", "adv.exc", "noun.exc", "verb.exc",
    "cntlist.rev", "lexnames",
)  # fmt: skip

_PREPARE_HINT = "run `make data` (or `python -m data_scripts wordnet`)"
_WNID = re.compile(r"n(\d{8})")


def nltk_data_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """``<root>/nltk_data``, an nltk data folder; ``root=None`` means
    ``roots.data_root()``."""
    return (roots.data_root() if root is None else Path(root)) / "nltk_data"


def corpus_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """``<root>/nltk_data/corpora/wordnet``, where the WordNet 3.0 files live."""
    return nltk_data_dir(root) / "corpora" / "wordnet"


class WordNet30Reader(WordNetCorpusReader):
    """nltk's WordNet reader, without its start-up map "from WordNet 3.0".

    On construction nltk builds a map from WordNet 3.0 offsets (those of the Open
    Multilingual Wordnet) to the loaded version. Its test compares the version
    ("3.0") with the corpus name "wordnet", which never matches, so it always opens
    whatever corpus is called "wordnet" on nltk's search path (maybe another copy,
    maybe none: LookupError) and reads both sense indexes (about 1 s). The map only
    serves the multilingual functions, which need an OMW reader that we never pass;
    for WordNet 3.0 it would be the identity anyway, which nltk writes as None.
    """

    def map_wn(self, version: str = "wordnet") -> None:
        return None


def open_wordnet(folder: Path) -> WordNetCorpusReader:
    """A new (uncached) nltk reader over the WordNet files in ``folder``.

    ``folder`` must lie in an nltk data folder as ``<nltk_data>/corpora/<name>``;
    ``<nltk_data>`` is appended to ``nltk.data.path`` if absent. Prefer
    ``wordnet()``, which caches; this is for checking a freshly prepared copy.

    Raises:
        DataNotFoundError: a file of ``FILES`` is missing from ``folder``.
    """
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise DataNotFoundError(
            f"WordNet {VERSION} not found: missing {folder / missing[0]}"
            + (f" (and {len(missing) - 1} more files)" if len(missing) > 1 else "")
            + f". To prepare it, {_PREPARE_HINT}; or pass root= / set ADVINTERP_DATA "
            "to where it is."
        )
    allowed = str(folder.resolve().parents[1])
    if allowed not in nltk.data.path:
        nltk.data.path.append(allowed)
    with warnings.catch_warnings():
        # Without the Open Multilingual Wordnet nltk warns that its multilingual
        # functions are unavailable; the book uses English only.
        warnings.filterwarnings("ignore", message="The multilingual functions")
        return WordNet30Reader(str(folder.resolve()), None)


@functools.lru_cache(maxsize=8)
def _cached_wordnet(folder: str) -> WordNetCorpusReader:
    reader = open_wordnet(Path(folder))
    version = reader.get_version()
    if version != VERSION:
        raise ValueError(
            f"{folder}: expected WordNet {VERSION} (the version ImageNet's wnids use), "
            f"found {version}; {_PREPARE_HINT} to replace it"
        )
    return reader


def wordnet(root: str | os.PathLike[str] | None = None) -> WordNetCorpusReader:
    """The nltk reader for the WordNet 3.0 prepared under ``root``; built once per
    root (about 1 s) and cached.

    Args:
        root: the data root; None means ``roots.data_root()``.

    Raises:
        DataNotFoundError: WordNet is not prepared under ``root``.
        ValueError: the prepared copy is not WordNet 3.0.
    """
    return _cached_wordnet(str(corpus_dir(root).resolve()))


def synset(name: str, root: str | os.PathLike[str] | None = None) -> Synset:
    """The WordNet 3.0 synset called ``name``, e.g. ``"sandal.n.01"``.

    Raises:
        TypeError: ``name`` is not a str.
        ValueError: no such synset (or not of the form ``lemma.pos.NN``); the
            message names it.
        DataNotFoundError: WordNet is not prepared under ``root``.
    """
    if not isinstance(name, str):
        raise TypeError(f"name: expected a synset name (str), got {type(name).__name__}")
    reader = wordnet(root)
    try:
        return reader.synset(name)
    except (WordNetError, ValueError, KeyError) as err:
        raise ValueError(
            f"name: no WordNet {VERSION} synset {name!r} (expected 'lemma.pos.NN', "
            f"e.g. 'sandal.n.01'): {err}"
        ) from err


def synset_from_wnid(wnid: str, root: str | os.PathLike[str] | None = None) -> Synset:
    """The noun synset of an ImageNet wnid: ``"n02123045"`` -> ``tabby.n.01``.

    A wnid is ``n`` followed by the synset's 8-digit byte offset in WordNet 3.0's
    ``data.noun``.

    Raises:
        TypeError: ``wnid`` is not a str.
        ValueError: ``wnid`` is not ``n`` + 8 digits, or no synset has that offset.
        DataNotFoundError: WordNet is not prepared under ``root``.
    """
    if not isinstance(wnid, str):
        raise TypeError(f"wnid: expected a str like 'n02123045', got {type(wnid).__name__}")
    match = _WNID.fullmatch(wnid)
    if match is None:
        raise ValueError(f"wnid: expected 'n' and 8 digits, e.g. 'n02123045', got {wnid!r}")
    reader = wordnet(root)
    with warnings.catch_warnings():
        # nltk warns and returns None for an offset where no synset starts.
        warnings.filterwarnings("ignore", message="No WordNet synset found")
        try:
            found = reader.synset_from_pos_and_offset("n", int(match.group(1)))
        except (WordNetError, ValueError) as err:
            found, reason = None, f": {err}"
        else:
            reason = ""
    if found is None:
        raise ValueError(
            f"wnid: no WordNet {VERSION} noun synset starts at offset "
            f"{int(match.group(1))} (wnid {wnid!r}){reason}"
        )
    return found


def wnid_of(synset: Synset) -> str:
    """The ImageNet wnid of a noun synset: ``tabby.n.01`` -> ``"n02123045"``.

    Raises:
        ValueError: ``synset`` is not a noun.
    """
    if synset.pos() != "n":
        raise ValueError(f"synset: expected a noun synset, got {synset.name()!r}")
    return f"n{synset.offset():08d}"
