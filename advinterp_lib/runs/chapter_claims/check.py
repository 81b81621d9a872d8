"""One asserted claim of a chapter, judged on a run's numbers."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ClaimCheck"]


@dataclass(frozen=True)
class ClaimCheck:
    """``claim`` (in words) about ``subject`` (a model, a variant, or ``""`` for the
    chapter as a whole) and whether it ``holds`` in the numbers it was judged on;
    ``detail`` names the numbers behind the verdict (shown when it fails)."""

    subject: str
    claim: str
    holds: bool
    detail: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "holds", bool(self.holds))

    def __str__(self) -> str:
        where = f"{self.subject}: " if self.subject else ""
        return f"{where}{self.claim}" + (f" ({self.detail})" if self.detail else "")
