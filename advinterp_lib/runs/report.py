"""The reproduction report: our results beside the paper's numbers, claim by claim.

Every chapter that measures something writes ``results/<profile>/NN_slug.json``
(:mod:`advinterp_lib.runs.results`). :func:`load_results` reads them for every
profile present; :func:`build_report` sets them against :data:`CLAIMS`, a list of
claim specs (chapter, JSON path, the paper's value, a rule), and gives each claim
one of four verdicts:

- ``reproduced`` / ``not reproduced``: the claim's rule, applied to our numbers;
- ``not comparable``: a number the paper measured on other data (ImageNet, MNIST)
  than the profile's (Fashion-MNIST), or a number the paper's text does not give;
- ``no result yet``: the chapter has not run under this profile, or its results do
  not hold the claim's JSON path.

The rules, stated once here and in chapter 15:

- :class:`MatchesPaper` (a number of the paper): only on the paper's own data;
  reproduced when the paper's value lies in our confidence interval, or within
  ``max(abs_tol, rel_tol * |paper|)`` of our value.
- :class:`Ordered` (a direction, e.g. consis_adv < consis): reproduced when the
  interval of the difference lies above 0 (where a chapter stores one), else when our
  two intervals are separated in the claimed direction (``smaller.high < larger.low``);
  where a chapter stored no interval, when the point estimates are in that order
  (the finding says so).
- :class:`ChangeSmaller` ("consis barely moves while consis_adv rises markedly"):
  reproduced when the moving quantity rises by more than the stable one changes,
  ``after_m - before_m > |after_s - before_s|``.
- :class:`RatioAbove` (e.g. FGSM's rho over DeepFool's > 1): reproduced when our
  ratio exceeds the threshold.

Adding a chapter's claims is a few lines in :func:`build_claims`.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__, roots
from . import paper as paper_values
from .profiles import PROFILE_NAMES
from .results import read_results

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
NOT_COMPARABLE = "not comparable"
NO_RESULT = "no result yet"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, NOT_COMPARABLE, NO_RESULT)

# The data each profile measures (see advinterp_lib.runs.profiles).
PROFILE_DATA: dict[str, str] = {"quick": "Fashion-MNIST", "full": "Fashion-MNIST", "imagenet": "ImageNet"}

# The command that fills in a profile's results (NN: each chapter's number).
MEASURE_COMMANDS: dict[str, tuple[str, ...]] = {
    "quick": ("make book",),
    "full": ("python -m advinterp_lib run NN --profile full",),
    "imagenet": (
        "python -m advinterp_lib run 11 --profile imagenet",
        "python -m advinterp_lib run 12 --profile imagenet",
    ),
}

_RESULT_NAME = re.compile(r"^(\d\d)_[A-Za-z0-9_]+$")
_REQUIRED = {"chapter": str, "profile": str, "numbers": dict, "device": str, "date": str,
             "library_version": str, "wall_time_s": (int, float)}


class ResultsVersionWarning(UserWarning):
    """A results file was written by another version of advinterp_lib (shown anyway)."""


# ----------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class RunRecord:
    """One chapter's results file under one profile.

    ``number`` is the chapter's two digits (``"11"``), ``chapter`` its ``NN_slug``;
    ``stale`` is True when ``library_version`` differs from this library's.
    """

    profile: str
    chapter: str
    number: str
    path: Path
    numbers: dict[str, Any]
    device: str
    date: str
    wall_time_s: float
    seed: int | None
    library_version: str
    stale: bool

    def to_dict(self) -> dict[str, Any]:
        """The run's facts, without its numbers (JSON-ready)."""
        return {"profile": self.profile, "chapter": self.chapter, "path": str(self.path), "device": self.device,
                "date": self.date, "wall_time_s": self.wall_time_s, "seed": self.seed,
                "library_version": self.library_version, "stale": self.stale}


@dataclass(frozen=True)
class ResultSet:
    """Every profile's results under ``root``.

    ``runs[profile][number]`` is a :class:`RunRecord`; ``missing_profiles`` lists the
    requested profiles with no results file at all; ``warnings`` the messages of the
    :class:`ResultsVersionWarning` s (and of duplicate files) raised while loading.
    """

    root: Path
    runs: dict[str, dict[str, RunRecord]]
    missing_profiles: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def profiles(self) -> tuple[str, ...]:
        return tuple(self.runs)


def _version_key(version: str) -> tuple[int, ...] | None:
    parts = re.findall(r"\d+", version.split("+")[0])
    return tuple(int(p) for p in parts) if parts else None


def _load_record(path: Path, profile: str) -> RunRecord:
    record = read_results(profile, path.stem, root=path.parent.parent)  # ValueError naming the file
    for name, kind in _REQUIRED.items():
        if name not in record:
            raise ValueError(f"{path} is not a complete results file: field {name!r} is missing")
        if not isinstance(record[name], kind) or isinstance(record[name], bool):
            raise ValueError(f"{path}: field {name!r} should be {getattr(kind, '__name__', 'a number')}, "
                             f"got {type(record[name]).__name__}")
    if record["profile"] != profile:
        raise ValueError(f"{path} says profile {record['profile']!r} but lies in the folder of profile {profile!r}")
    if record["chapter"] != path.stem:
        raise ValueError(f"{path} says chapter {record['chapter']!r}, its file name says {path.stem!r}")
    ours, theirs = _version_key(__version__), _version_key(record["library_version"])
    return RunRecord(profile=profile, chapter=path.stem, number=path.stem[:2], path=path,
                     numbers=record["numbers"], device=record["device"], date=record["date"],
                     wall_time_s=float(record["wall_time_s"]), seed=record.get("seed"),
                     library_version=record["library_version"], stale=ours is None or ours != theirs)


def load_results(
    root: str | Path | None = None, *, profiles: Sequence[str] | None = None
) -> ResultSet:
    """Read ``<root>/<profile>/NN_slug.json`` for each of ``profiles``.

    ``root`` defaults to :func:`advinterp_lib.roots.results_root`; ``profiles`` to
    every known profile (quick, full, imagenet). A profile without results is listed
    in ``missing_profiles``, not an error. Files whose name is not ``NN_slug.json``
    are ignored. A file written by another library version is kept and announced by a
    :class:`ResultsVersionWarning`; two files of one chapter keep the latest (by its
    ``date``) with a warning.

    Raises:
        ValueError: an unknown profile name, or a malformed results file (the message
            names the file and what is wrong).
    """
    root = Path(root) if root is not None else roots.results_root()
    wanted = tuple(PROFILE_NAMES) if profiles is None else tuple(profiles)
    unknown = [p for p in wanted if p not in PROFILE_NAMES]
    if unknown:
        raise ValueError(f"profiles: unknown profile(s) {unknown}; known: {', '.join(PROFILE_NAMES)}")
    runs: dict[str, dict[str, RunRecord]] = {}
    missing, notes = [], []
    for profile in wanted:
        folder = root / profile
        paths = sorted(p for p in folder.glob("*.json") if _RESULT_NAME.match(p.stem)) if folder.is_dir() else []
        if not paths:
            missing.append(profile)
            continue
        by_number: dict[str, RunRecord] = {}
        for path in paths:
            rec = _load_record(path, profile)
            if rec.stale:
                msg = (f"{path} was written by advinterp_lib {rec.library_version}, this is {__version__}: "
                       f"shown, but rerun the chapter to refresh it")
                warnings.warn(msg, ResultsVersionWarning, stacklevel=2)
                notes.append(msg)
            old = by_number.get(rec.number)
            if old is not None:
                keep, drop = (rec, old) if rec.date >= old.date else (old, rec)
                msg = (f"two results for chapter {rec.number} under {profile!r}: "
                       f"using {keep.path.name}, ignoring {drop.path.name}")
                warnings.warn(msg, UserWarning, stacklevel=2)
                notes.append(msg)
                rec = keep
            by_number[rec.number] = rec
        runs[profile] = dict(sorted(by_number.items()))
    return ResultSet(root=root, runs=runs, missing_profiles=tuple(missing), warnings=tuple(notes))


# ----------------------------------------------------------------------------- operands


def lookup(numbers: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` of a chapter's numbers (``"histograms.resnet"``), None when absent."""
    node: Any = numbers
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} should be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class At:
    """The number at a dotted path of a chapter's ``numbers`` (``"table1.resnet.consis"``)."""

    path: str

    @property
    def label(self) -> str:
        return self.path

    def get(self, numbers: Mapping[str, Any], where: str) -> float | None:
        value = lookup(numbers, self.path)
        return None if value is None else _number(value, f"{where}: numbers.{self.path}")


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
        hist = lookup(numbers, self.path)
        if hist is None or not isinstance(hist, Mapping) or self.series not in hist or "edges" not in hist:
            return None
        edges = [_number(e, f"{where}: numbers.{self.path}.edges") for e in hist["edges"]]
        counts = [_number(c, f"{where}: numbers.{self.path}.{self.series}") for c in hist[self.series]]
        if len(edges) != len(counts) + 1 or sum(counts) <= 0:
            raise ValueError(f"{where}: numbers.{self.path} should hold B + 1 edges and B counts with a positive "
                             f"sum, got {len(edges)} edges and counts summing to {sum(counts)}")
        centres = [(a + b) / 2 for a, b in zip(edges, edges[1:])]
        return sum(c * m for c, m in zip(counts, centres)) / sum(counts)


Operand = At | HistogramMean


def _interval(numbers: Mapping[str, Any], path: str | None, where: str) -> tuple[float, float] | None:
    if path is None:
        return None
    ci = lookup(numbers, path)
    if ci is None:
        return None
    if not isinstance(ci, Mapping) or "low" not in ci or "high" not in ci:
        raise ValueError(f"{where}: numbers.{path} should be an interval with 'low' and 'high', got {ci!r}")
    low, high = (_number(ci[k], f"{where}: numbers.{path}.{k}") for k in ("low", "high"))
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
    """A number of the paper: reproduced when the paper's value lies in our interval
    (``ci``, a path to ``{low, high}``) or within ``max(abs_tol, rel_tol * |paper|)``
    of our value. Judged only on the paper's data; elsewhere not comparable."""

    value: Operand
    ci: str | None = None
    rel_tol: float = 0.10
    abs_tol: float = 0.0
    kind = "value"

    def judge(self, numbers: Mapping[str, Any], *, paper_value: float | None, comparable: bool,
              where: str) -> Outcome:
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
        inside = ci is not None and ci[0] <= paper_value <= ci[1]
        ok = inside or abs(ours - paper_value) <= tol
        how = "the paper's value lies in our interval" if inside else (
            f"|ours - paper| = {_fmt(abs(ours - paper_value))} {'<=' if ok else '>'} tolerance {_fmt(tol)}")
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

    def judge(self, numbers: Mapping[str, Any], *, paper_value: float | None, comparable: bool,
              where: str) -> Outcome:
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
            how = (f"the interval of the difference{_fmt_ci(cd)} "
                   f"{'lies above 0' if ok else 'does not lie above 0'}")
        elif ca is not None and cb is not None:
            ok = ca[1] < cb[0]
            how = ("the intervals are separated in the claimed direction" if ok else
                   "the point estimates are in the claimed order but the intervals overlap" if a < b else
                   "the order is reversed")
        else:
            ok = a < b
            how = f"point estimates (no interval stored): {'in' if ok else 'not in'} the claimed order"
        return Outcome(REPRODUCED if ok else NOT_REPRODUCED, shown if ok else shown.replace(" < ", " vs "),
                       values, intervals, how)


@dataclass(frozen=True)
class ChangeSmaller:
    """One quantity barely moves while another rises: reproduced when
    ``moving_after - moving_before > |stable_after - stable_before|``."""

    stable: tuple[Operand, Operand]
    moving: tuple[Operand, Operand]
    kind = "direction"

    def judge(self, numbers: Mapping[str, Any], *, paper_value: float | None, comparable: bool,
              where: str) -> Outcome:
        ops = (*self.stable, *self.moving)
        vals = [o.get(numbers, where) for o in ops]
        if any(v is None for v in vals):
            return _absent([o.label for o, v in zip(ops, vals) if v is None], where)
        s0, s1, m0, m1 = vals
        ds, dm = s1 - s0, m1 - m0
        ok = dm > abs(ds)
        shown = f"Δ {_fmt(ds):s} vs Δ {_fmt(dm):s}"
        how = f"the rise {_fmt(dm)} {'exceeds' if ok else 'does not exceed'} the size {_fmt(abs(ds))} of the change"
        return Outcome(REPRODUCED if ok else NOT_REPRODUCED, shown, dict(zip((o.label for o in ops), vals)), {}, how)


@dataclass(frozen=True)
class RatioAbove:
    """``numerator / denominator > threshold``: reproduced when our ratio exceeds it."""

    numerator: Operand
    denominator: Operand
    threshold: float = 1.0
    kind = "direction"

    def judge(self, numbers: Mapping[str, Any], *, paper_value: float | None, comparable: bool,
              where: str) -> Outcome:
        a, b = self.numerator.get(numbers, where), self.denominator.get(numbers, where)
        if a is None or b is None:
            return _absent([o.label for o, v in ((self.numerator, a), (self.denominator, b)) if v is None], where)
        if b == 0:
            raise ValueError(f"{where}: numbers.{self.denominator.label} is 0; the ratio is undefined")
        r = a / b
        ok = r > self.threshold
        how = f"ratio {_fmt(r)} {'>' if ok else '<='} {_fmt(self.threshold)}"
        return Outcome(REPRODUCED if ok else NOT_REPRODUCED, f"{_fmt(r)} ({_fmt(a)} / {_fmt(b)})",
                       {self.numerator.label: a, self.denominator.label: b}, {}, how)


Rule = MatchesPaper | Ordered | ChangeSmaller | RatioAbove


@dataclass(frozen=True)
class Claim:
    """One claim the report checks.

    Attributes:
        key: unique id, e.g. ``"table1.resnet.order"``.
        chapter: the two-digit chapter whose results hold the numbers (``"11"``).
        group: what the claim belongs to (``"Table 1"``, ``"DeepFool rho"``...).
        statement: the claim in words.
        source: who claims it (the paper and where).
        rule: how the verdict is reached (:class:`MatchesPaper`, :class:`Ordered`, ...).
        paper: the paper's number(s) as text.
        paper_value: the number :class:`MatchesPaper` compares with (None: unknown).
        paper_data: the data the paper measured it on.
        why: what we think explains a difference, shown when not reproduced / not comparable.
    """

    key: str
    chapter: str
    group: str
    statement: str
    source: str
    rule: Rule
    paper: str
    paper_value: float | None = None
    paper_data: str = paper_values.PAPER_DATA
    why: str = ""


@dataclass(frozen=True)
class Finding:
    """A claim judged on one profile's results."""

    claim: Claim
    profile: str
    verdict: str
    ours: str
    values: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    detail: str
    run: RunRecord | None

    @property
    def value(self) -> float | None:
        """Our number for a :class:`MatchesPaper` claim (None where absent or for other rules)."""
        rule = self.claim.rule
        return self.values.get(rule.value.label) if isinstance(rule, MatchesPaper) else None

    def to_dict(self) -> dict[str, Any]:
        c = self.claim
        return {"key": c.key, "chapter": c.chapter, "group": c.group, "statement": c.statement,
                "source": c.source, "profile": self.profile, "verdict": self.verdict, "ours": self.ours,
                "values": self.values, "intervals": {k: list(v) for k, v in self.intervals.items()},
                "paper": c.paper, "paper_value": c.paper_value, "paper_data": c.paper_data,
                "rule": type(c.rule).__name__, "detail": self.detail, "why": c.why,
                "result_file": None if self.run is None else str(self.run.path)}


# The imagenet profile names torchvision's nets (advinterp_lib.models.imagenet.ARCHS);
# the claims use the zoo's names, which mirror them.
ARCH_ALIASES: dict[str, str] = {"vgg16": "vgg", "resnet18": "resnet"}


def canonical_keys(numbers: Any) -> Any:
    """``numbers`` with every key naming a torchvision net (``"vgg16"``, ``"resnet18-Adv"``)
    renamed to the zoo's name (``"vgg"``, ``"resnet-Adv"``), unless that name is taken."""
    if isinstance(numbers, Mapping):
        out: dict[str, Any] = {}
        for key, value in numbers.items():
            base, sep, rest = str(key).partition("-")
            new = ARCH_ALIASES.get(base, base) + sep + rest if base in ARCH_ALIASES else key
            out[new if new not in numbers else key] = canonical_keys(value)
        return out
    if isinstance(numbers, list):
        return [canonical_keys(v) for v in numbers]
    return numbers


def judge(claim: Claim, profile: str, run: RunRecord | None) -> Finding:
    """Judge ``claim`` on ``run`` (the results of ``claim.chapter`` under ``profile``,
    None when absent). Raises ValueError when the file holds a malformed number at
    the claim's path (the message names the file)."""
    if profile not in PROFILE_DATA:
        raise ValueError(f"profile: expected one of {list(PROFILE_DATA)}, got {profile!r}")
    comparable = PROFILE_DATA[profile] == claim.paper_data
    if run is None:
        if isinstance(claim.rule, MatchesPaper) and not comparable:
            return Finding(claim, profile, NOT_COMPARABLE, "", {}, {}, "measured on other data than the paper's", None)
        return Finding(claim, profile, NO_RESULT, "", {}, {},
                       f"no results of chapter {claim.chapter} under {profile!r}; run: "
                       f"python -m advinterp_lib run {claim.chapter} --profile {profile}", None)
    out = claim.rule.judge(canonical_keys(run.numbers), paper_value=claim.paper_value, comparable=comparable,
                           where=str(run.path))
    return Finding(claim, profile, out.verdict, out.ours, out.values, out.intervals, out.detail, run)


# ----------------------------------------------------------------------------- the claims

# Chapter 12's result layout that the claims below read:
#   numbers.table1.<model>.{consis, consis_adv, consis_ci, consis_adv_ci}   (chapter 11's layout)
#   numbers.table3.<model>.{real, fgsm}.{top1, top3, top5}                   (fractions in [0, 1];
#                                                                             top5 on ImageNet only)
#   numbers.histograms.<model>.{edges, real, adversarial}                    (chapter 11's layout)
# where <model> is CH12_MODEL_PATHS["standard"] or ["adv"] filled with the zoo arch: chapter 12
# nests its rows by arch, then by variant ("consistent-AT" is the paper's -Adv). Claim keys
# stay as ADV_KEY names.
CH12_MODEL_PATHS: dict[str, str] = {"standard": "{arch}.standard", "adv": "{arch}.consistent-AT"}
ADV_KEY = "{arch}-Adv"  # how claim keys name the paper's "-Adv" models (table1.resnet-Adv.consis, ...)


def build_claims() -> tuple[Claim, ...]:
    """The claim specs, built from :mod:`~advinterp_lib.runs.paper` and the path templates above."""
    claims: list[Claim] = []
    table1, table3 = paper_values.TABLE1, paper_values.TABLE3
    k_note = ("ImageNet has 1,000 concepts and Fashion-MNIST 10: a neuron spread evenly over K concepts scores "
              "about 1/K, so the absolute values cannot match; the comparison of consis with consis_adv carries over")
    for arch, name in paper_values.ZOO_TO_PAPER.items():
        # Chapter 11: Table 1, standard rows.
        for metric in ("consis", "consis_adv"):
            claims.append(Claim(
                f"table1.{arch}.{metric}", "11", "Table 1", f"{name}: {metric}(n)", "Dong et al., Table 1",
                MatchesPaper(At(f"table1.{arch}.{metric}"), ci=f"table1.{arch}.{metric}_ci"),
                _fmt(table1[name][metric]), table1[name][metric], why=k_note))
        claims.append(Claim(
            f"table1.{arch}.order", "11", "Table 1", f"{name}: consis_adv(n) < consis(n)", "Dong et al., Table 1",
            Ordered(At(f"table1.{arch}.consis_adv"), At(f"table1.{arch}.consis"),
                    f"table1.{arch}.consis_adv_ci", f"table1.{arch}.consis_ci"),
            f"{_fmt(table1[name]['consis_adv'])} < {_fmt(table1[name]['consis'])}",
            why="A small perturbation bound keeps more of the source's features, and with few top images per "
                "neuron the intervals are wide"))
    # Chapter 11: Figure 5's shape on the standard ResNet.
    claims.append(Claim(
        "figure5.resnet.standard", "11", "Figure 5",
        "ResNet-18: the consis_adv(n) histogram lies left of the consis(n) histogram", "Dong et al., Figure 5",
        Ordered(HistogramMean("histograms.resnet", "adversarial"), HistogramMean("histograms.resnet", "real")),
        "consis_adv left of consis (shape only)"))
    short_ft = ("Our -Adv models are fine-tuned briefly (a few thousand images in the quick profile), and the "
                "consistent loss's x* maximises the loss, not the feature distance (the presentation's critique)")
    for arch, name in paper_values.ZOO_TO_PAPER.items():
        adv, adv_name = ADV_KEY.format(arch=arch), f"{name}-Adv"
        sp, ap = (CH12_MODEL_PATHS[m].format(arch=arch) for m in ("standard", "adv"))  # paths in 12's numbers
        # Chapter 12: Table 1, -Adv rows, and the effect of the consistent loss.
        for metric in ("consis", "consis_adv"):
            claims.append(Claim(
                f"table1.{adv}.{metric}", "12", "Table 1", f"{adv_name}: {metric}(n)", "Dong et al., Table 1",
                MatchesPaper(At(f"table1.{ap}.{metric}"), ci=f"table1.{ap}.{metric}_ci"),
                _fmt(table1[adv_name][metric]), table1[adv_name][metric], why=k_note))
        claims.append(Claim(
            f"table1.{arch}.adv_raises_consis_adv", "12", "Table 1",
            f"{name}: consistent-AT raises consis_adv(n)", "Dong et al., Table 1",
            Ordered(At(f"table1.{sp}.consis_adv"), At(f"table1.{ap}.consis_adv"),
                    f"table1.{sp}.consis_adv_ci", f"table1.{ap}.consis_adv_ci"),
            f"{_fmt(table1[name]['consis_adv'])} < {_fmt(table1[adv_name]['consis_adv'])}", why=short_ft))
        claims.append(Claim(
            f"table1.{arch}.consis_barely_moves", "12", "Table 1",
            f"{name}: consistent-AT moves consis(n) less than consis_adv(n)", "Dong et al., Table 1",
            ChangeSmaller((At(f"table1.{sp}.consis"), At(f"table1.{ap}.consis")),
                          (At(f"table1.{sp}.consis_adv"), At(f"table1.{ap}.consis_adv"))),
            f"Δ {_fmt(table1[adv_name]['consis'] - table1[name]['consis'])} vs "
            f"Δ {_fmt(table1[adv_name]['consis_adv'] - table1[name]['consis_adv'])}", why=short_ft))
        # Chapter 12: Table 3 (top-5 on ImageNet; Fashion-MNIST's ten classes get top-3).
        for key, path, model in ((arch, sp, name), (adv, ap, adv_name)):
            for kind, column in (("real", "real"), ("fgsm", "adv")):
                for top in ("top1", "top5"):
                    claims.append(Claim(
                        f"table3.{key}.{kind}.{top}", "12", "Table 3",
                        f"{model}: {'FGSM' if kind == 'fgsm' else 'real'} {top.replace('top', 'top-')} accuracy",
                        "Dong et al., Table 3", MatchesPaper(At(f"table3.{path}.{kind}.{top}"), abs_tol=0.02),
                        f"{table3[model][f'{column}_{top}']:.2f} %", table3[model][f"{column}_{top}"] / 100,
                        why="ImageNet's 1,000 classes against Fashion-MNIST's 10, and a different FGSM budget"))
        claims.append(Claim(
            f"table3.{arch}.costs_clean_accuracy", "12", "Table 3",
            f"{name}: consistent-AT costs real top-1 accuracy", "Dong et al., Table 3",
            Ordered(At(f"table3.{ap}.real.top1"), At(f"table3.{sp}.real.top1")),
            f"{table3[adv_name]['real_top1']:.2f} % < {table3[name]['real_top1']:.2f} %", why=short_ft))
        claims.append(Claim(
            f"table3.{arch}.raises_fgsm_accuracy", "12", "Table 3",
            f"{name}: consistent-AT raises FGSM top-1 accuracy", "Dong et al., Table 3",
            Ordered(At(f"table3.{sp}.fgsm.top1"), At(f"table3.{ap}.fgsm.top1")),
            f"{table3[name]['adv_top1']:.2f} % < {table3[adv_name]['adv_top1']:.2f} %", why=short_ft))
    sp, ap = (CH12_MODEL_PATHS[m].format(arch="resnet") for m in ("standard", "adv"))
    claims.append(Claim(
        "figure5.resnet.adv_shift", "12", "Figure 5",
        "ResNet-18-Adv's consis_adv(n) histogram lies right of ResNet-18's", "Dong et al., Figure 5",
        Ordered(HistogramMean(f"histograms.{sp}", "adversarial"), HistogramMean(f"histograms.{ap}", "adversarial")),
        "-Adv's consis_adv moves right (shape only)", why=short_ft))
    # Chapter 9: the trade-off of the paper's Table 3, on chapter 9's consistent-AT fine-tune,
    # and Madry et al.'s PGD adversarial training.
    for arch, name in paper_values.ZOO_TO_PAPER.items():
        row = f"accuracy.{arch}"
        claims.append(Claim(
            f"ch9.{arch}.consistent_costs_clean", "09", "Trade-off",
            f"{name}: consistent-AT lowers clean top-1 (ch. 9)", "Dong et al., Table 3",
            Ordered(At(f"{row}.consistent-AT.clean.top1"), At(f"{row}.standard.clean.top1")),
            "real top-1 falls for every -Adv model", why=short_ft))
        claims.append(Claim(
            f"ch9.{arch}.consistent_raises_fgsm", "09", "Trade-off",
            f"{name}: consistent-AT raises FGSM top-1 (ch. 9)", "Dong et al., Table 3",
            Ordered(At(f"{row}.standard.fgsm.top1"), At(f"{row}.consistent-AT.fgsm.top1")),
            "FGSM top-1 rises for every -Adv model", why=short_ft))
        claims.append(Claim(
            f"ch9.{arch}.pgd_at_raises_pgd", "09", "Madry PGD-AT",
            f"{name}: PGD-AT raises top-1 accuracy under PGD", "Madry et al. 2018",
            Ordered(At(f"{row}.standard.pgd.top1"), At(f"{row}.PGD-AT.pgd.top1")),
            "PGD-AT robust to PGD (number not in our notes)", paper_data="MNIST",
            why="A few PGD steps and a short fine-tune are a weak version of Madry et al.'s training"))
        claims.append(Claim(
            f"ch9.{arch}.pgd_at_accuracy", "09", "Madry PGD-AT",
            f"{name}: PGD-AT top-1 accuracy under PGD", "Madry et al. 2018",
            MatchesPaper(At(f"{row}.PGD-AT.pgd.top1"), abs_tol=0.02),
            "unknown (not in our notes)", paper_values.MADRY_PGD_AT_ACCURACY, paper_data="MNIST",
            why="Our notes hold no number of Madry et al.; their eps, data and training differ from ours"))
    # Chapter 6: the DeepFool paper's robustness rho.
    rho = paper_values.DEEPFOOL_RHO
    for arch, name in paper_values.ZOO_TO_PAPER.items():
        m = f"models.{arch}"
        claims.append(Claim(
            f"ch6.{arch}.deepfool_rho", "06", "DeepFool rho", f"{name}: DeepFool rho_adv",
            "Moosavi-Dezfooli et al. 2016, Table 1", MatchesPaper(At(f"{m}.deepfool_rho")),
            f"{rho['deepfool']}", float(rho["deepfool"]), paper_data=str(rho["data"]),
            why="A different data set and network: rho depends on both"))
        claims.append(Claim(
            f"ch6.{arch}.fgsm_overestimates", "06", "DeepFool rho",
            f"{name}: FGSM's minimal perturbation exceeds DeepFool's (rho ratio > 1)",
            "Moosavi-Dezfooli et al. 2016, Table 1",
            RatioAbove(At(f"{m}.fgsm_rho"), At(f"{m}.deepfool_rho"), 1.0),
            f"{rho['fgsm']} / {rho['deepfool']} = {float(rho['fgsm']) / float(rho['deepfool']):.3g}",
            paper_data=str(rho["data"]),
            why="Fashion-MNIST's black background clips FGSM's negative steps, which shrinks its L2 norm"))
    order = {"Table 1": 0, "Figure 5": 1, "Table 3": 2, "Trade-off": 3, "Madry PGD-AT": 4, "DeepFool rho": 5}
    claims.sort(key=lambda c: (order.get(c.group, 99), c.chapter))
    keys = [c.key for c in claims]
    if len(keys) != len(set(keys)):
        raise RuntimeError(f"duplicate claim keys: {sorted(k for k in keys if keys.count(k) > 1)}")
    return tuple(claims)


CLAIMS: tuple[Claim, ...] = build_claims()


# ----------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class Report:
    """Every claim judged on every profile that has results.

    Attributes:
        results: the loaded :class:`ResultSet`.
        findings: one :class:`Finding` per (profile present, claim).
        missing_profiles: requested profiles with no results at all.
        missing_chapters: per profile present, the chapters the claims read that have no results.
    """

    results: ResultSet
    findings: tuple[Finding, ...]
    missing_profiles: tuple[str, ...]
    missing_chapters: dict[str, tuple[str, ...]]

    @property
    def profiles(self) -> tuple[str, ...]:
        return self.results.profiles

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.results.warnings

    def findings_for(self, profile: str) -> list[Finding]:
        return [f for f in self.findings if f.profile == profile]

    def finding(self, profile: str, key: str) -> Finding:
        """The finding of claim ``key`` under ``profile``; KeyError naming both when absent."""
        for f in self.findings:
            if f.profile == profile and f.claim.key == key:
                return f
        raise KeyError(f"no finding for claim {key!r} under profile {profile!r} (profiles with results: "
                       f"{', '.join(self.profiles) or 'none'})")

    def markdown(self, profile: str, groups: Sequence[str] | None = None, *, all_rows: bool = False) -> str:
        """The findings of ``profile`` (only ``groups`` where given) as a markdown table:
        chapter, claim, ours, the paper's (and its data), verdict, and the rule's reason.
        Claims not comparable and without a value of ours are left out unless ``all_rows``."""
        rows = ["| ch. | claim | ours | paper (data) | verdict | how judged |", "|---|---|---|---|---|---|"]
        for f in self.findings_for(profile):
            if groups is not None and f.claim.group not in groups:
                continue
            if not all_rows and f.verdict == NOT_COMPARABLE and not f.ours:
                continue
            cells = (f.claim.chapter, f.claim.statement, f.ours or "–", f"{f.claim.paper} ({f.claim.paper_data})",
                     f"**{f.verdict}**", f.detail)
            rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        return "\n".join(rows)

    def counts(self, profile: str) -> dict[str, int]:
        """How many claims got each verdict under ``profile``."""
        found = self.findings_for(profile)
        return {v: sum(f.verdict == v for f in found) for v in VERDICTS}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: profiles, runs, findings, missing profiles (with the command that
        measures each), missing chapters, warnings."""
        return {
            "library_version": __version__,
            "results_root": str(self.results.root),
            "profiles": list(self.profiles),
            "missing_profiles": {p: list(MEASURE_COMMANDS[p]) for p in self.missing_profiles},
            "missing_chapters": {p: list(c) for p, c in self.missing_chapters.items()},
            "runs": [r.to_dict() for runs in self.results.runs.values() for r in runs.values()],
            "counts": {p: self.counts(p) for p in self.profiles},
            "findings": [f.to_dict() for f in self.findings],
            "warnings": list(self.warnings),
        }

    def format_text(self, width: int = 50, *, all_rows: bool = False) -> str:
        """The comparison as plain-text tables, one per profile (for a terminal).

        Claims that are not comparable and for which we hold no value (e.g. ImageNet
        top-5 accuracies under a Fashion-MNIST profile) are counted per group instead of
        listed, unless ``all_rows``."""
        lines: list[str] = []
        for profile in self.profiles:
            lines.append(f"== profile {profile} ({PROFILE_DATA[profile]}) ==")
            found = self.findings_for(profile)
            hidden = [] if all_rows else [f for f in found if f.verdict == NOT_COMPARABLE and not f.ours]
            rows = [("ch", "claim", "ours", "paper", "verdict")]
            rows += [(f.claim.chapter, _clip(f.claim.statement, width), _clip(f.ours or "-", 52),
                      _clip(f.claim.paper, 24), f.verdict) for f in found if all(f is not h for h in hidden)]
            lines += _table(rows)
            groups = sorted({f.claim.group for f in hidden})
            for g in groups:
                n = sum(f.claim.group == g for f in hidden)
                lines.append(f"({g}: {n} more of the paper's numbers measured on other data, not comparable here)")
            counts = ", ".join(f"{n} {v}" for v, n in self.counts(profile).items() if n)
            lines.append(f"verdicts: {counts}")
            if self.missing_chapters.get(profile):
                lines.append(f"chapters without results: {', '.join(self.missing_chapters[profile])}")
            lines.append("")
            lines.append("runs:")
            runs = [("chapter", "device", "date", "wall time", "version")]
            runs += [(r.chapter, _clip(r.device, 40), r.date, f"{r.wall_time_s:.0f} s",
                      r.library_version + (" (other version)" if r.stale else ""))
                     for r in self.results.runs[profile].values()]
            lines += _table(runs)
            lines.append("")
        for profile in self.missing_profiles:
            lines.append(f"profile {profile}: no results yet; measure with:")
            lines += [f"    {cmd}" for cmd in MEASURE_COMMANDS[profile]]
        for msg in self.warnings:
            lines.append(f"warning: {msg}")
        return "\n".join(lines).rstrip() + "\n"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    out.insert(1, "  ".join("-" * w for w in widths))
    return out


def build_report(
    root: str | Path | None = None,
    *,
    profiles: Sequence[str] | None = None,
    claims: Sequence[Claim] | None = None,
) -> Report:
    """Load the results under ``root`` (default: the project's ``results/``) for
    ``profiles`` (default: all) and judge ``claims`` (default :data:`CLAIMS`) on each
    profile that has results. Raises ValueError as :func:`load_results` and
    :func:`judge` do (unknown profile, malformed file)."""
    claims = CLAIMS if claims is None else tuple(claims)
    results = load_results(root, profiles=profiles)
    findings: list[Finding] = []
    missing_chapters: dict[str, tuple[str, ...]] = {}
    for profile, runs in results.runs.items():
        findings += [judge(c, profile, runs.get(c.chapter)) for c in claims]
        missing_chapters[profile] = tuple(sorted({c.chapter for c in claims} - set(runs)))
    return Report(results, tuple(findings), results.missing_profiles, missing_chapters)


def report_json(report: Report) -> str:
    """:meth:`Report.to_dict` as indented JSON text."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
