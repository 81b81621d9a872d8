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

The claims are specs in :mod:`advinterp_lib.report.claims` (:data:`CLAIMS`); the rules
that judge them, and the operands they read, in :mod:`advinterp_lib.report.rules`.
This module loads the results, judges every claim on every profile present, and
renders the comparison (markdown for chapter 15, text and JSON for
``python -m advinterp_lib report``).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__, roots
from ..runs.profiles import PROFILE_NAMES
from ..runs.results import read_results
from ..tables import markdown_table
from . import paper
from .claims import (
    ADV_KEY,
    CH12_MODEL_PATHS,
    CLAIM_KINDS,
    CLAIMS,
    CONSIS_BOUND,
    FINDING,
    REPRODUCTION,
    SANITY,
    Claim,
    build_claims,
)
from .rules import (
    NO_RESULT,
    NOT_COMPARABLE,
    NOT_REPRODUCED,
    REPRODUCED,
    VERDICTS,
    At,
    HistogramMean,
    MatchesPaper,
    Negative,
    Ordered,
    Positive,
    RatioAbove,
    RelativeChangeWithin,
    lookup,
)

# Re-exported: chapter 15 and ``python -m advinterp_lib report`` need one import.
__all__ = [
    "ADV_KEY",
    "CH12_MODEL_PATHS",
    "CLAIMS",
    "CLAIM_KINDS",
    "FINDING",
    "MEASURE_COMMANDS",
    "NOT_COMPARABLE",
    "NOT_REPRODUCED",
    "NO_RESULT",
    "PROFILE_DATA",
    "REPRODUCED",
    "REPRODUCTION",
    "SANITY",
    "VERDICTS",
    "At",
    "Claim",
    "Finding",
    "HistogramMean",
    "MatchesPaper",
    "Negative",
    "Ordered",
    "Positive",
    "RatioAbove",
    "RelativeChangeWithin",
    "Report",
    "ResultSet",
    "ResultsVersionWarning",
    "RunRecord",
    "build_claims",
    "build_report",
    "canonical_keys",
    "judge",
    "load_results",
    "lookup",
    "report_json",
    "verdict_table",
    "verdict_counts_by_group",
    "runs_table",
    "TABLE1_MODELS",
    "table1_comparison",
    "paper_shares",
    "figure5_histograms",
    "paper_table3_markdown",
    "describe_profile",
    "describe_base_model_spread",
    "imagenet_note",
]


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
_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "chapter": str,
    "profile": str,
    "numbers": dict,
    "device": str,
    "date": str,
    "library_version": str,
    "wall_time_s": (int, float),
}


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
        return {
            "profile": self.profile,
            "chapter": self.chapter,
            "path": str(self.path),
            "device": self.device,
            "date": self.date,
            "wall_time_s": self.wall_time_s,
            "seed": self.seed,
            "library_version": self.library_version,
            "stale": self.stale,
        }


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
            raise ValueError(
                f"{path}: field {name!r} should be {getattr(kind, '__name__', 'a number')}, "
                f"got {type(record[name]).__name__}"
            )
    if record["profile"] != profile:
        raise ValueError(f"{path} says profile {record['profile']!r} but lies in the folder of profile {profile!r}")
    if record["chapter"] != path.stem:
        raise ValueError(f"{path} says chapter {record['chapter']!r}, its file name says {path.stem!r}")
    ours, theirs = _version_key(__version__), _version_key(record["library_version"])
    return RunRecord(
        profile=profile,
        chapter=path.stem,
        number=path.stem[:2],
        path=path,
        numbers=record["numbers"],
        device=record["device"],
        date=record["date"],
        wall_time_s=float(record["wall_time_s"]),
        seed=record.get("seed"),
        library_version=record["library_version"],
        stale=ours is None or ours != theirs,
    )


def load_results(root: str | Path | None = None, *, profiles: Sequence[str] | None = None) -> ResultSet:
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
                msg = (
                    f"{path} was written by advinterp_lib {rec.library_version}, this is {__version__}: "
                    f"shown, but rerun the chapter to refresh it"
                )
                warnings.warn(msg, ResultsVersionWarning, stacklevel=2)
                notes.append(msg)
            old = by_number.get(rec.number)
            if old is not None:
                keep, drop = (rec, old) if rec.date >= old.date else (old, rec)
                msg = (
                    f"two results for chapter {rec.number} under {profile!r}: "
                    f"using {keep.path.name}, ignoring {drop.path.name}"
                )
                warnings.warn(msg, UserWarning, stacklevel=2)
                notes.append(msg)
                rec = keep
            by_number[rec.number] = rec
        runs[profile] = dict(sorted(by_number.items()))
    return ResultSet(root=root, runs=runs, missing_profiles=tuple(missing), warnings=tuple(notes))


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
        return {
            "key": c.key,
            "kind": c.kind,
            "chapter": c.chapter,
            "group": c.group,
            "statement": c.statement,
            "source": c.source,
            "profile": self.profile,
            "verdict": self.verdict,
            "ours": self.ours,
            "values": self.values,
            "intervals": {k: list(v) for k, v in self.intervals.items()},
            "paper": c.paper,
            "paper_value": c.paper_value,
            "paper_data": c.paper_data,
            "rule": type(c.rule).__name__,
            "detail": self.detail,
            "why": c.why,
            "result_file": None if self.run is None else str(self.run.path),
        }


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
        return Finding(
            claim,
            profile,
            NO_RESULT,
            "",
            {},
            {},
            f"no results of chapter {claim.chapter} under {profile!r}; run: "
            f"python -m advinterp_lib run {claim.chapter} --profile {profile}",
            None,
        )
    out = claim.rule.judge(
        canonical_keys(run.numbers), paper_value=claim.paper_value, comparable=comparable, where=str(run.path)
    )
    return Finding(claim, profile, out.verdict, out.ours, out.values, out.intervals, out.detail, run)


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
        raise KeyError(
            f"no finding for claim {key!r} under profile {profile!r} (profiles with results: "
            f"{', '.join(self.profiles) or 'none'})"
        )

    def markdown(
        self,
        profile: str,
        groups: Sequence[str] | None = None,
        *,
        kinds: Sequence[str] | None = None,
        all_rows: bool = False,
    ) -> str:
        """The findings of ``profile`` (only ``groups`` and ``kinds`` where given) as a
        markdown table: chapter, claim, ours, the paper's (and its data), verdict, and the
        rule's reason. Claims not comparable and without a value of ours are left out
        unless ``all_rows``."""
        rows = ["| ch. | claim | ours | paper (data) | verdict | how judged |", "|---|---|---|---|---|---|"]
        for f in self.findings_for(profile):
            if groups is not None and f.claim.group not in groups:
                continue
            if kinds is not None and f.claim.kind not in kinds:
                continue
            if not all_rows and f.verdict == NOT_COMPARABLE and not f.ours:
                continue
            cells = (
                f.claim.chapter,
                f.claim.statement,
                f.ours or "–",
                f"{f.claim.paper} ({f.claim.paper_data})",
                f"**{f.verdict}**",
                f.detail,
            )
            rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        return "\n".join(rows)

    def counts(self, profile: str, kind: str | None = REPRODUCTION) -> dict[str, int]:
        """How many claims of ``kind`` (default: reproductions, the ones the verdict counts;
        None: every claim) got each verdict under ``profile``."""
        found = [f for f in self.findings_for(profile) if kind is None or f.claim.kind == kind]
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
            "counts_by_kind": {p: {k: self.counts(p, k) for k in CLAIM_KINDS} for p in self.profiles},
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
            rows = [("ch", "kind", "claim", "ours", "paper", "verdict")]
            rows += [
                (
                    f.claim.chapter,
                    f.claim.kind,
                    _clip(f.claim.statement, width),
                    _clip(f.ours or "-", 52),
                    _clip(f.claim.paper, 24),
                    f.verdict,
                )
                for f in found
                if all(f is not h for h in hidden)
            ]
            lines += _table(rows)
            groups = sorted({f.claim.group for f in hidden})
            for g in groups:
                n = sum(f.claim.group == g for f in hidden)
                lines.append(f"({g}: {n} more of the paper's numbers measured on other data, not comparable here)")
            for kind in CLAIM_KINDS:
                counts = ", ".join(f"{n} {v}" for v, n in self.counts(profile, kind).items() if n) or "none"
                note = " (not counted)" if kind == SANITY else ""
                lines.append(f"{kind}s{note}: {counts}")
            if self.missing_chapters.get(profile):
                lines.append(f"chapters without results: {', '.join(self.missing_chapters[profile])}")
            lines.append("")
            lines.append("runs:")
            runs = [("chapter", "device", "date", "wall time", "version")]
            runs += [
                (
                    r.chapter,
                    _clip(r.device, 40),
                    r.date,
                    f"{r.wall_time_s:.0f} s",
                    r.library_version + (" (other version)" if r.stale else ""),
                )
                for r in self.results.runs[profile].values()
            ]
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


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
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


# ----------------------------------------------------------------------- chapter 15's parts


def verdict_table(report: Report) -> str:
    """Per profile with results and kind of claim, how many claims got each verdict, as
    markdown; then one row of dashes per requested profile without results."""
    rows: list[list[object]] = []
    for p in report.profiles:
        for kind in CLAIM_KINDS:
            counts = report.counts(p, kind)
            label = kind + (" (not counted)" if kind == SANITY else "")
            rows.append([p, PROFILE_DATA[p], len(report.results.runs[p]), label, *(counts[v] for v in VERDICTS)])
    rows += [[p, PROFILE_DATA[p], "none", "", *("–" for _ in VERDICTS)] for p in report.missing_profiles]
    return markdown_table(["profile", "data", "chapters with results", "kind", *VERDICTS], rows)


def verdict_counts_by_group(report: Report, profile: str) -> tuple[list[str], dict[str, list[int]]]:
    """The groups of :data:`CLAIMS` (in order) and, per verdict, how many claims of each
    group got it under ``profile``."""
    groups = list(dict.fromkeys(c.group for c in CLAIMS))
    found = report.findings_for(profile)
    return groups, {v: [sum(f.verdict == v and f.claim.group == g for f in found) for g in groups] for v in VERDICTS}


def runs_table(report: Report, profile: str) -> str:
    """The results files behind ``profile``'s numbers as markdown: chapter, device,
    date, wall time and library version (flagged when another version wrote it).

    Raises:
        KeyError: ``profile`` has no results.
    """
    rows = [[r.chapter, r.device, r.date, f"{r.wall_time_s:.0f} s",
             r.library_version + (" (other version: rerun)" if r.stale else "")]
            for r in report.results.runs[profile].values()]  # fmt: skip
    return markdown_table(["chapter", "device", "date", "wall time", "library version"], rows)


#: Table 1's models: (claim key, the paper's name), standard then -Adv.
TABLE1_MODELS: tuple[tuple[str, str], ...] = (
    *((arch, name) for arch, name in paper.ZOO_TO_PAPER.items()),
    *((ADV_KEY.format(arch=arch), f"{name}-Adv") for arch, name in paper.ZOO_TO_PAPER.items()),
)


def table1_comparison(report: Report, profile: str) -> tuple[str, dict[str, float]]:
    """Table 1 under ``profile`` beside the paper's, and the share consis_adv / consis of
    each model that has both of ours.

    Returns:
        (markdown, ``{paper's model name: share}``).
    """
    rows, share = [], {}
    for key, name in TABLE1_MODELS:
        c, a = report.finding(profile, f"table1.{key}.consis"), report.finding(profile, f"table1.{key}.consis_adv")
        rows.append([name, c.ours or "–", a.ours or "–", c.claim.paper, a.claim.paper])
        if c.value is not None and a.value is not None:
            share[name] = a.value / c.value
    headers = ["model", "consis(n), ours", "consis_adv(n), ours", "consis(n), paper", "consis_adv(n), paper"]
    return markdown_table(headers, rows), share


def paper_shares() -> dict[str, float]:
    """consis_adv / consis of each model of the paper's Table 1."""
    return {name: paper.TABLE1[name]["consis_adv"] / paper.TABLE1[name]["consis"] for _, name in TABLE1_MODELS}


def figure5_histograms(report: Report, profile: str, arch: str = "resnet") -> tuple[Any, Any] | None:
    """Figure 5's histograms under ``profile``: chapter 11's of ``arch`` (``{"edges",
    "real", "adversarial"}``) and chapter 12's of its consistent-AT model (the same
    layout, None before chapter 12 has run); None where chapter 11 stored none."""
    runs = report.results.runs.get(profile, {})
    std = lookup(canonical_keys(runs["11"].numbers), f"histograms.{arch}") if "11" in runs else None
    adv_path = f"histograms.{CH12_MODEL_PATHS['adv'].format(arch=arch)}"
    adv = lookup(canonical_keys(runs["12"].numbers), adv_path) if "12" in runs else None
    return None if std is None else (std, adv)


def describe_base_model_spread(report: Report, profile: str, *, bound: float = CONSIS_BOUND) -> str:
    """How far apart the files of ``profile`` put consis(n) of each standard model, and
    what consistent-AT does to consis from each: chapter 11, chapter 12 and chapter 12's
    ablation over seeds may hold different trainings of one recipe (a cache rebuilt
    between runs, another CPU). "consis barely moves" compares each -Adv model with the
    standard model it was fine-tuned from; where trainings of that standard model alone
    differ by more than ``bound`` (of the smallest value), the text says so. Empty where
    every architecture's files agree, or chapter 12 has no results under ``profile``."""
    runs = report.results.runs.get(profile, {})
    if "12" not in runs:
        return ""
    ch11 = canonical_keys(runs["11"].numbers) if "11" in runs else {}
    ch12 = canonical_keys(runs["12"].numbers)
    same, apart, wide = [], [], False
    for arch, name in paper.ZOO_TO_PAPER.items():
        std, adv = (f"table1.{CH12_MODEL_PATHS[m].format(arch=arch)}.consis" for m in ("standard", "adv"))
        ablation = f"ablation_over_seeds.archs.{arch}.rows"
        found = {
            "chapter 11": lookup(ch11, f"table1.{arch}.consis"),
            "chapter 12": lookup(ch12, std),
            "the ablation": lookup(ch12, f"{ablation}.standard.consis.mean"),
        }
        values = {where: v for where, v in found.items() if v is not None}
        if len(set(values.values())) < 2:
            same += [name] if len(values) > 1 else []
            continue
        spread = (max(values.values()) - min(values.values())) / min(values.values())
        wide |= spread > bound
        changes = []
        if (a := lookup(ch12, adv)) is not None:
            changes.append(f"{(a - values['chapter 12']) / values['chapter 12']:+.1%} from chapter 12's")
        if (r := lookup(ch12, f"{ablation}.consistent-AT.relative_change_consis")) is not None:
            changes.append(f"{r['mean']:+.1%} [{r['low']:+.1%}, {r['high']:+.1%}] over seeds from the ablation's")
        apart.append(f"{name}: " + ", ".join(f"{v:.3f} ({w})" for w, v in values.items()) + f", {spread:.0%} apart"
                     + (f"; consistent-AT moved consis by {' and by '.join(changes)}" if changes else ""))  # fmt: skip
    if not apart:
        return ""
    text = ["**Trainings of one standard model.** Chapters 11 and 12 and chapter 12's ablation measure consis(n)"
            " of the standard models on the same test images, and their files may come from different trainings"
            " of the same recipe (another run, another CPU)."]  # fmt: skip
    if same:
        text.append(f"{', '.join(same)}: the same value in every file.")
    text.append("; ".join(apart) + ".")
    if wide:
        text.append(
            f'Trainings of one standard model differ by more than the {bound:.0%} within which "consis barely'
            ' moves" must stay. Each such verdict compares a -Adv model with the standard model it was'
            " fine-tuned from, so it stands; but the size, even the sign, of the change depends on which"
            " training of the standard model it starts from, and no run here varies that training's seed."
        )
    return " ".join(text)


def paper_table3_markdown() -> str:
    """The paper's Table 3 (% on ImageNet val), with its FGSM budget in the heading."""
    columns = (("real_top1", "real top-1"), ("real_top5", "real top-5"), ("adv_top1", "FGSM top-1"),
               ("adv_top5", "FGSM top-5"))  # fmt: skip
    rows = [[label, *(f"{row[col]:.2f}" for row in paper.TABLE3.values())] for col, label in columns]
    return (f"**The paper's Table 3** (% on ImageNet val; FGSM ε = {255 * paper.TABLE3_FGSM_EPS:.0f}/255)\n\n"
            + markdown_table(["", *paper.TABLE3], rows))  # fmt: skip


def describe_profile(report: Report, profile: str) -> str:
    """What held under ``profile`` and what did not, written from the verdicts: per kind
    of claim the counts, then each claim that held or failed (with its numbers and, for a
    failure, the claim's explanation), and why the others are not comparable."""
    text = [f"### Profile `{profile}` ({PROFILE_DATA[profile]})"]
    for kind, title in ((REPRODUCTION, "Reproductions of the paper's claims"), (FINDING, "Our findings"),
                        (SANITY, "Sanity checks (not counted)")):  # fmt: skip
        found = [f for f in report.findings_for(profile) if f.claim.kind == kind]
        held = [f for f in found if f.verdict == REPRODUCED]
        failed = [f for f in found if f.verdict == NOT_REPRODUCED]
        other = [f for f in found if f.verdict == NOT_COMPARABLE]
        waiting = sorted({f.claim.chapter for f in found if f.verdict == NO_RESULT})
        yes, no = ("reproduced", "not reproduced") if kind == REPRODUCTION else ("hold", "do not hold")
        text += ["", f"**{title}.** Of {len(found)}, **{len(held)} {yes}**, **{len(failed)} {no}**, "
                 f"{len(other)} not comparable on this data, {len(found) - len(held) - len(failed) - len(other)} "
                 f"without a result yet" + (f" (chapters {', '.join(waiting)})." if waiting else ".")]  # fmt: skip
        if kind == SANITY:
            continue
        text += [f"- {f.claim.statement}: {f.ours} — {f.detail}." for f in held]
        if failed:
            text += ["", "What did not hold, and what we think explains it:"]
            text += [f"- {f.claim.statement}: {f.ours} — {f.detail}" + (f". {f.claim.why}." if f.claim.why else ".")
                     for f in failed]  # fmt: skip
        reasons: dict[str, list[str]] = {}
        for f in other:
            reasons.setdefault(f.claim.why or f.detail, []).append(f.claim.group)
        if reasons:
            text += ["", "Not comparable here, and why:"]
            text += [f"- {', '.join(dict.fromkeys(g))}: {why}." for why, g in reasons.items()]
    return "\n".join(text)


def imagenet_note(report: Report) -> str:
    """The ImageNet section's text: the count of verdicts and the Table 1, Figure 5 and
    Table 3 findings where the ``imagenet`` profile has results, else how to measure them."""
    if "imagenet" in report.profiles:
        counts = report.counts("imagenet")
        return (f"The `imagenet` profile has results from {len(report.results.runs['imagenet'])} chapters: "
                + ", ".join(f"{n} {v}" for v, n in counts.items() if n) + ".\n\n"
                + report.markdown("imagenet", ["Table 1", "Figure 5", "Table 3"]))  # fmt: skip
    commands = "\n".join(MEASURE_COMMANDS["imagenet"])
    return ("**ImageNet numbers are not yet measured.** No results file of the `imagenet` profile exists "
            "here (this book is built on a CPU without ImageNet). On a machine with a GPU, ILSVRC-2012 val "
            "and Broden prepared (see `data_scripts`), these commands measure Table 1, Figure 5 and "
            f"Table 3, after which this chapter sets them beside the paper's:\n\n```bash\n{commands}\n```")  # fmt: skip
