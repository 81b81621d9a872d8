"""The rules that judge a claim of the reproduction report, and the operands they read.

A chapter's results file (``results/<profile>/NN_slug.json``) holds its ``numbers``; an
operand picks one number out of them (:class:`At`, a dotted path; :class:`HistogramMean`,
the mean of a stored histogram), and a rule turns operands into a verdict:

- :class:`MatchesPaper` (a number of the paper): only on the paper's own data; an
  equivalence test: reproduced when our whole confidence interval lies within
  ``max(abs_tol, rel_tol * |paper|)`` of the paper's value (a noisier run cannot pass
  more easily: a wide interval leaves the band), or, where no interval is stored, when
  our value does.
- :class:`Ordered` (a direction, e.g. consis_adv < consis): reproduced when the
  interval of the difference lies above 0 (where a chapter stores one), else when our
  two intervals are separated in the claimed direction (``smaller.high < larger.low``);
  where a chapter stored no interval, when the point estimates are in that order
  (the finding says so).
- :class:`Positive` / :class:`Negative` (a stored difference, e.g. consistent-AT minus
  targeted-AT): reproduced when its interval lies above / below 0 (the point estimate,
  where none is stored).
- :class:`RelativeChangeWithin` ("consis barely moves"): reproduced when the change,
  relative to the baseline, stays within ``bound`` (5% by default) — the whole interval
  of the change where one is stored.
- :class:`RatioAbove` (e.g. FGSM's rho over DeepFool's > 1): reproduced when our
  ratio exceeds the threshold.

Every rule can fail; ``tests/report/test_rules.py`` shows a failing case for each.

The claims themselves are in :mod:`advinterp_lib.report.claims`; the report that applies
them to every profile's results in :mod:`advinterp_lib.report.report`.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
NOT_COMPARABLE = "not comparable"
NO_RESULT = "no result yet"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, NOT_COMPARABLE, NO_RESULT)


# ----------------------------------------------------------------------------- operands


KeyPath = str | tuple[str, ...]


def path_label(path: KeyPath) -> str:
    """A path as text: dotted, each key as it is (``("sensitivity", "sigma=0.5")`` ->
    ``"sensitivity.sigma=0.5"``)."""
    return path if isinstance(path, str) else ".".join(path)


def lookup(numbers: Mapping[str, Any], path: KeyPath, where: str = "numbers") -> Any:
    """The value at a dotted ``path`` of a chapter's numbers (``"histograms.resnet"``), None
    when absent. A key that is an integer indexes a list (``"ablation_curve.random order.-1"``:
    the curve's last point). A tuple of keys is the same path for keys that hold a dot
    themselves (``("sensitivity", "variants", "sigma=0.5")``).

    Absent (None) means a dict without the key or a list too short: the chapter has not
    measured it. A node of the wrong type on the way (``table3`` a list or a number where
    a dict of models belongs) is a malformed file, not a missing result: ValueError naming
    ``where`` (the file), the path so far, what was expected and what came.
    """
    node: Any = numbers
    walked = where
    for key in path.split(".") if isinstance(path, str) else path:
        if isinstance(node, list) and re.fullmatch(r"-?\d+", key):
            i = int(key)
            if not -len(node) <= i < len(node):
                return None
            node = node[i]
        elif isinstance(node, Mapping):
            if key not in node:
                return None
            node = node[key]
        else:
            expected = "a list or a dict" if re.fullmatch(r"-?\d+", key) else "a dict"
            raise ValueError(
                f"{walked} should be {expected} holding {key!r} (for {path}), got {type(node).__name__} {node!r:.60}"
            )
        walked = f"{walked}.{key}"
    return node


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} should be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class At:
    """The number at a dotted path of a chapter's ``numbers`` (``"table1.resnet.consis"``)."""

    path: KeyPath

    @property
    def label(self) -> str:
        return path_label(self.path)

    def get(self, numbers: Mapping[str, Any], where: str) -> float | None:
        value = lookup(numbers, self.path, f"{where}: numbers")
        return None if value is None else _number(value, f"{where}: numbers.{self.label}")


@dataclass(frozen=True)
class HistogramMean:
    """The mean of a stored histogram: ``<path>`` holds ``edges`` (B + 1 floats) and a
    ``series`` of B counts (chapter 11's layout); the mean of the bin centres weighted
    by the counts."""

    path: str
    series: str

    @property
    def label(self) -> str:
        return f"mean of {self.path}.{self.series}"

    def get(self, numbers: Mapping[str, Any], where: str) -> float | None:
        hist = lookup(numbers, self.path, f"{where}: numbers")
        if hist is not None and not isinstance(hist, Mapping):
            raise ValueError(
                f"{where}: numbers.{self.path} should be a histogram (a dict of edges and counts), "
                f"got {type(hist).__name__}"
            )
        if hist is None or self.series not in hist or "edges" not in hist:
            return None
        edges = [_number(e, f"{where}: numbers.{self.path}.edges") for e in hist["edges"]]
        counts = [_number(c, f"{where}: numbers.{self.path}.{self.series}") for c in hist[self.series]]
        if len(edges) != len(counts) + 1 or sum(counts) <= 0:
            raise ValueError(
                f"{where}: numbers.{self.path} should hold B + 1 edges and B counts with a positive "
                f"sum, got {len(edges)} edges and counts summing to {sum(counts)}"
            )
        centres = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
        return sum(c * m for c, m in zip(counts, centres, strict=True)) / sum(counts)


Operand = At | HistogramMean


def _interval(numbers: Mapping[str, Any], path: KeyPath | None, where: str) -> tuple[float, float] | None:
    if path is None:
        return None
    ci = lookup(numbers, path, f"{where}: numbers")
    if ci is None:
        return None
    if not isinstance(ci, Mapping) or "low" not in ci or "high" not in ci:
        raise ValueError(f"{where}: numbers.{path_label(path)} should be an interval with 'low' and 'high', got {ci!r}")
    low, high = (_number(ci[k], f"{where}: numbers.{path_label(path)}.{k}") for k in ("low", "high"))
    return low, high


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _fmt_ci(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f" [{_fmt(ci[0])}, {_fmt(ci[1])}]"


# ----------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Outcome:
    """What a rule found: the verdict, the numbers it used and one line on why."""

    verdict: str
    ours: str
    values: dict[str, float] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    detail: str = ""


def _absent(paths: Sequence[str], where: str) -> Outcome:
    return Outcome(NO_RESULT, "", detail=f"{Path(where).name} holds no {' / '.join(paths)}")


@dataclass(frozen=True)
class MatchesPaper:
    """A number of the paper, as an equivalence test: reproduced when our interval
    (``ci``, a path to ``{low, high}``) lies within ``max(abs_tol, rel_tol * |paper|)`` of
    the paper's value, or, without an interval, when our value does. Judged only on the
    paper's data; elsewhere not comparable."""

    value: Operand
    ci: str | None = None
    rel_tol: float = 0.10
    abs_tol: float = 0.0
    kind = "value"

    def judge(self, numbers: Mapping[str, Any], *, paper_value: float | None, comparable: bool, where: str) -> Outcome:
        ours = self.value.get(numbers, where)
        ci = _interval(numbers, self.ci, where)
        shown = "" if ours is None else _fmt(ours) + _fmt_ci(ci)
        values = {} if ours is None else {self.value.label: ours}
        intervals = {} if ci is None else {self.value.label: ci}
        if not comparable:
            return Outcome(NOT_COMPARABLE, shown, values, intervals, "measured on other data than the paper's")
        if paper_value is None:
            return Outcome(NOT_COMPARABLE, shown, values, intervals, "the paper's value is unknown to us")
        if ours is None:
            return _absent([self.value.label], where)
        tol = max(self.abs_tol, self.rel_tol * abs(paper_value))
        band = (paper_value - tol, paper_value + tol)
        if ci is not None:
            ok = band[0] <= ci[0] and ci[1] <= band[1]
            how = (
                f"our interval{_fmt_ci(ci)} {'lies' if ok else 'does not lie'} within the paper's "
                f"{_fmt(paper_value)} ± {_fmt(tol)}"
            )
        else:
            ok = abs(ours - paper_value) <= tol
            how = f"|ours - paper| = {_fmt(abs(ours - paper_value))} {'<=' if ok else '>'} tolerance {_fmt(tol)}"
        return Outcome(REPRODUCED if ok else NOT_REPRODUCED, shown, values, intervals, how)


@dataclass(frozen=True)
class Ordered:
    """A direction, ``smaller < larger``: reproduced when the stored interval of
    ``larger - smaller`` lies above 0; without one, when our two intervals are
    separated in that direction (``smaller.high < larger.low``); where an interval is
    not stored, when the point estimates are in that order."""

    smaller: Operand
    larger: Operand
    smaller_ci: str | None = None
    larger_ci: str | None = None
    difference_ci: str | None = None  # an interval of larger - smaller, where a chapter stores one
    kind = "direction"

    def judge(self, numbers: Mapping[str, Any], *, paper_value: float | None, comparable: bool, where: str) -> Outcome:
        a, b = self.smaller.get(numbers, where), self.larger.get(numbers, where)
        if a is None or b is None:
            return _absent([o.label for o, v in ((self.smaller, a), (self.larger, b)) if v is None], where)
        ca, cb = _interval(numbers, self.smaller_ci, where), _interval(numbers, self.larger_ci, where)
        cd = _interval(numbers, self.difference_ci, where)
        shown = f"{_fmt(a)}{_fmt_ci(ca)} < {_fmt(b)}{_fmt_ci(cb)}"
        values = {self.smaller.label: a, self.larger.label: b}
        intervals = {k: v for k, v in ((self.smaller.label, ca), (self.larger.label, cb)) if v is not None}
        if cd is not None:
            intervals["difference"] = cd
            ok = cd[0] > 0
            how = f"the interval of the difference{_fmt_ci(cd)} {'lies above 0' if ok else 'does not lie above 0'}"
        elif ca is not None and cb is not None:
            ok = ca[1] < cb[0]
            how = (
                "the intervals are separated in the claimed direction"
                if ok
                else "the point estimates are in the claimed order but the intervals overlap"
                if a < b
                else "the order is reversed"
            )
        else:
            ok = a < b
            how = f"point estimates (no interval stored): {'in' if ok else 'not in'} the claimed order"
        return Outcome(
            REPRODUCED if ok else NOT_REPRODUCED, shown if ok else shown.replace(" < ", " vs "), values, intervals, how
        )


@dataclass(frozen=True)
class Positive:
    """A stored difference is above 0: reproduced when its interval (``ci``) lies above 0,
    or, where none is stored, when the value does (the finding says so). :class:`Negative`
    is the mirror image."""

    value: Operand
    ci: KeyPath | None = None
    kind = "direction"
    sign = 1.0

    def judge(self, numbers: Mapping[str, Any], *, paper_value: float | None, comparable: bool, where: str) -> Outcome:
        v = self.value.get(numbers, where)
        if v is None:
            return _absent([self.value.label], where)
        ci = _interval(numbers, self.ci, where)
        shown = f"{_fmt(v)}{_fmt_ci(ci)}"
        side = "above" if self.sign > 0 else "below"
        if ci is not None:
            ok = ci[0] > 0 if self.sign > 0 else ci[1] < 0
            how = f"the interval{_fmt_ci(ci)} {'lies' if ok else 'does not lie'} {side} 0"
        else:
            ok = self.sign * v > 0
            how = f"point estimate (no interval stored): {'' if ok else 'not '}{side} 0"
        return Outcome(
            REPRODUCED if ok else NOT_REPRODUCED,
            shown,
            {self.value.label: v},
            {} if ci is None else {self.value.label: ci},
            how,
        )


@dataclass(frozen=True)
class Negative(Positive):
    """A stored difference is below 0 (e.g. consis_adv - consis): its interval lies below 0."""

    sign = -1.0


@dataclass(frozen=True)
class RelativeChangeWithin:
    """A quantity "barely moves": reproduced when ``|change| / |base| <= bound`` — for the
    whole interval of the change (``change_ci``) where one is stored, else for the point
    estimate. ``change`` is ``after - before``; ``base`` the value before."""

    change: Operand
    base: Operand
    change_ci: str | None = None
    bound: float = 0.05
    kind = "direction"

    def judge(self, numbers: Mapping[str, Any], *, paper_value: float | None, comparable: bool, where: str) -> Outcome:
        d, b = self.change.get(numbers, where), self.base.get(numbers, where)
        if d is None or b is None:
            return _absent([o.label for o, v in ((self.change, d), (self.base, b)) if v is None], where)
        if b == 0:
            raise ValueError(f"{where}: numbers.{self.base.label} is 0; a relative change is undefined")
        ci = _interval(numbers, self.change_ci, where)
        rel = d / abs(b)
        shown = f"Δ {rel:+.1%}" + ("" if ci is None else f" [{ci[0] / abs(b):+.1%}, {ci[1] / abs(b):+.1%}]")
        if ci is not None:
            worst = max(abs(ci[0]), abs(ci[1])) / abs(b)
            ok = worst <= self.bound
            how = (
                f"the interval of the change reaches {worst:.1%} of {_fmt(b)}: "
                f"{'within' if ok else 'beyond'} the bound {self.bound:.0%}"
            )
        else:
            ok = abs(rel) <= self.bound
            how = f"point estimate (no interval stored): {abs(rel):.1%} {'<=' if ok else '>'} {self.bound:.0%}"
        return Outcome(
            REPRODUCED if ok else NOT_REPRODUCED,
            shown,
            {self.change.label: d, self.base.label: b},
            {} if ci is None else {self.change.label: ci},
            how,
        )


@dataclass(frozen=True)
class RatioAbove:
    """``numerator / denominator > threshold``. Where both intervals are stored
    (``numerator_ci``, ``denominator_ci``), reproduced only when the numerator's lower
    bound exceeds ``threshold`` times the denominator's upper bound (the intervals are
    separated by the factor); else when the point estimates' ratio exceeds it."""

    numerator: Operand
    denominator: Operand
    threshold: float = 1.0
    numerator_ci: str | None = None
    denominator_ci: str | None = None
    kind = "direction"

    def judge(self, numbers: Mapping[str, Any], *, paper_value: float | None, comparable: bool, where: str) -> Outcome:
        a, b = self.numerator.get(numbers, where), self.denominator.get(numbers, where)
        if a is None or b is None:
            return _absent([o.label for o, v in ((self.numerator, a), (self.denominator, b)) if v is None], where)
        if b == 0:
            raise ValueError(f"{where}: numbers.{self.denominator.label} is 0; the ratio is undefined")
        r = a / b
        ca, cb = _interval(numbers, self.numerator_ci, where), _interval(numbers, self.denominator_ci, where)
        intervals = {k: v for k, v in ((self.numerator.label, ca), (self.denominator.label, cb)) if v is not None}
        if ca is not None and cb is not None:
            ok = ca[0] > self.threshold * cb[1]
            how = (
                f"lower bound {_fmt(ca[0])} {'>' if ok else '<='} {_fmt(self.threshold)} × upper bound {_fmt(cb[1])}"
                f" (ratio of the means {_fmt(r)})"
            )
        else:
            ok = r > self.threshold
            how = f"point estimates (no intervals stored): ratio {_fmt(r)} {'>' if ok else '<='} {_fmt(self.threshold)}"
        return Outcome(
            REPRODUCED if ok else NOT_REPRODUCED,
            f"{_fmt(r)} ({_fmt(a)}{_fmt_ci(ca)} / {_fmt(b)}{_fmt_ci(cb)})",
            {self.numerator.label: a, self.denominator.label: b},
            intervals,
            how,
        )


Rule = MatchesPaper | Ordered | Positive | Negative | RelativeChangeWithin | RatioAbove
