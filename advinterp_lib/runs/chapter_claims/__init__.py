"""Each chapter's asserted claims, as functions of its results' ``numbers``.

A chapter ends with a cell that asserts what it claims; nbval fails the chapter when a
claim stops holding. The claims live here, one function per chapter in the module of
its part of the book, so that they are judged the same way on any run: the chapter's
own (:func:`assert_claims`, in its last cell) and the committed full-scale run
(:func:`describe_claim_checks`, shown beside it; ``tests/runs/test_chapter_claims*.py``
judges every committed run and shows each claim failing on numbers that contradict it).

Each function takes a run's ``numbers`` (the dict the chapter writes to its results
JSON, or that JSON read back) and returns :class:`ClaimCheck` s in the order the chapter
states them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..prose import committed_results
from . import attacks, beyond, consistency, interpretability, training
from .check import ClaimCheck

__all__ = ["ClaimCheck", "CHAPTER_CLAIMS", "claim_checks", "assert_claims", "describe_claim_checks"]

#: The claim functions by chapter (``NN_slug``), from each part's module.
CHAPTER_CLAIMS: dict[str, Callable[[Mapping[str, Any]], list[ClaimCheck]]] = {
    **interpretability.CLAIMS,
    **attacks.CLAIMS,
    **training.CLAIMS,
    **consistency.CLAIMS,
    **beyond.CLAIMS,
}


def claim_checks(chapter: str, numbers: Mapping[str, Any]) -> list[ClaimCheck]:
    """The chapter's claims judged on ``numbers``.

    Raises:
        KeyError: a chapter without registered claims (naming the ones with claims).
    """
    if chapter not in CHAPTER_CLAIMS:
        raise KeyError(f"no claims registered for {chapter!r}; chapters with claims: {sorted(CHAPTER_CLAIMS)}")
    return CHAPTER_CLAIMS[chapter](numbers)


def assert_claims(chapter: str, numbers: Mapping[str, Any]) -> str:
    """Judge the chapter's claims on this run; a one-line summary when all hold.

    Raises:
        AssertionError: listing every claim that does not hold, with its numbers.
    """
    checks = claim_checks(chapter, numbers)
    failed = [c for c in checks if not c.holds]
    if failed:
        raise AssertionError(
            f"{len(failed)} of the chapter's {len(checks)} claims do not hold:\n" + "\n".join(f"- {c}" for c in failed)
        )
    return f"claims hold ({len(checks)} checks)"


def describe_claim_checks(
    chapter: str, record: Mapping[str, Any] | None = None, *, profile: str = "full", root: str | Path | None = None
) -> str:
    """Markdown: how many of the chapter's claims hold in a results record (default: the
    committed ``profile`` run) and which do not, then every claim with the models or
    variants it was judged on; empty when there is no such run."""
    record = record if record is not None else committed_results(chapter, profile, root=root)
    if record is None:
        return ""
    checks = claim_checks(chapter, record["numbers"])
    failed = [c for c in checks if not c.holds]
    run = f"the committed {record.get('profile', profile)} run"
    text = f"Of the chapter's {len(checks)} asserted claims, {len(checks) - len(failed)} hold in {run}"
    if failed:
        text += "; these do **not**:\n\n" + "\n".join(f"- {c}" for c in failed)
    else:
        text += "."
    return text + "\n\nThe claims, each with what it was judged on:\n\n" + _claims_list(checks)


def _claims_list(checks: list[ClaimCheck]) -> str:
    """One line per distinct claim, in the order stated, naming its subjects (a subject
    where it does not hold is marked)."""
    subjects: dict[str, list[str]] = {}
    for c in checks:
        names = subjects.setdefault(c.claim, [])
        if c.subject:
            names.append(c.subject if c.holds else f"**not** {c.subject}")
        elif not c.holds:
            names.append("**does not hold**")
    return "\n".join(f"- {claim}" + (f" ({', '.join(names)})" if names else "") for claim, names in subjects.items())
