"""The claims of part V, beyond the paper (see :mod:`advinterp_lib.runs.chapter_claims`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...studies import explanations_under_attack
from .check import ClaimCheck


def explanations_under_attack_claims(numbers: Mapping[str, Any]) -> list[ClaimCheck]:
    """Chapter 14: :func:`advinterp_lib.studies.explanations_under_attack.claim_checks`
    (the study's own statement of them, which its tests exercise)."""
    return [ClaimCheck(model, claim, holds) for model, claim, holds in explanations_under_attack.claim_checks(numbers)]


#: The claim functions of this part's chapters, by ``NN_slug``. Chapter 15 asserts the
#: report's structure, not a measurement, so it has none here.
CLAIMS: dict[str, Callable[[Mapping[str, Any]], list[ClaimCheck]]] = {
    "14_explanations_under_attack": explanations_under_attack_claims,
}
