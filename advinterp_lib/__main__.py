"""Command line: ``python -m advinterp_lib {run,profiles,chapters,report,ablation,prepare}``."""

from __future__ import annotations

import argparse
import json
import sys

from .runs.chapters import list_chapters
from .runs.profiles import PROFILES, chapter_parameters
from .runs.runner import ChapterFailed, parse_override, run_chapter


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m advinterp_lib", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute a chapter with papermill under a profile")
    run.add_argument("chapter", help="number (01), slug, or NN_slug")
    run.add_argument("--profile", default="quick", choices=list(PROFILES))
    run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="override one parameter (value read as plain YAML, of the type of its default); "
        "repeatable; not profile or results_dir",
    )
    run.add_argument("--output-dir", default=None, help="where the executed notebook goes (default runs/<profile>/)")
    run.add_argument(
        "--results-dir",
        default=None,
        help="where a chapter with a results_dir parameter writes results/<profile>/ (default results/)",
    )
    run.add_argument("--book-dir", default=None, help="the book folder to find the chapter in (default book/)")
    prof = sub.add_parser("profiles", help="list profiles and each chapter's parameters")
    prof.add_argument("--profile", default=None, choices=list(PROFILES))
    prof.add_argument("--json", action="store_true", help="machine-readable output")
    sub.add_parser("chapters", help="list the book's chapters")
    abl = sub.add_parser(
        "ablation",
        help="chapter 12's ablation over seeds for some architectures, merged into "
        "results/<profile>/12_...json (resumes from the cache)",
    )
    abl.add_argument("--profile", default="full", choices=list(PROFILES))
    abl.add_argument(
        "--arch",
        default=None,
        help="comma-separated architectures (default: the profile's ablation_archs, "
        "or every zoo architecture where it lists none, as the full profile does)",
    )
    abl.add_argument(
        "--finetune-only",
        action="store_true",
        help="only fine-tune and cache the models (no shared set, no measurements, nothing written): "
        "a second process beside a full run",
    )
    abl.add_argument(
        "--reverse",
        action="store_true",
        help="walk the models from the other end (a second process beside a first; "
        "with --finetune-only the fine-tunes, else the measurements)",
    )
    pre = sub.add_parser(
        "prepare",
        help="build and cache a chapter's models and attack sets ahead of its run (a second process "
        "beside `run`; nothing measured or written to results/)",
    )
    pre.add_argument("chapter", choices=["12"], help="the chapter (two digits)")
    pre.add_argument("--profile", default="full", choices=list(PROFILES))
    pre.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                     help="the same overrides as the chapter's `run`, so the cache keys match")  # fmt: skip
    pre.add_argument("--reverse", action="store_true", help="walk the artifacts from the other end")
    rep = sub.add_parser("report", help="our results beside the paper's numbers, a verdict per claim")
    rep.add_argument("--profile", default=None, choices=list(PROFILES), help="only this profile (default: all)")
    rep.add_argument("--json", action="store_true", help="machine-readable output")
    rep.add_argument("--all", action="store_true", help="also list claims not comparable on the profile's data")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        try:
            overrides = dict(parse_override(k, v) for k, v in args.parameter)
            out = run_chapter(args.chapter, args.profile, overrides, output_dir=args.output_dir,
                              results_dir=args.results_dir, book_dir=args.book_dir)  # fmt: skip
        except (ValueError, TypeError, ChapterFailed) as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        print(f"executed notebook: {out}")
        return 0
    if args.command == "profiles":
        names = [args.profile] if args.profile else list(PROFILES)
        table = {n: {ch: chapter_parameters(n, ch) for ch in PROFILES[n]} for n in names}
        if args.json:
            print(json.dumps(table, indent=2))
        else:
            for name, chapters in table.items():
                print(f"[{name}]" + ("" if chapters else "  (no chapters yet)"))
                for ch, params in chapters.items():
                    shown = ", ".join(f"{k}={v!r}" for k, v in params.items() if k != "profile")
                    print(f"  {ch}: {shown}")
        return 0
    if args.command == "report":
        import warnings

        from .report import build_report, report_json

        try:
            with warnings.catch_warnings():  # the report lists them itself
                warnings.simplefilter("ignore")
                report = build_report(profiles=[args.profile] if args.profile else None)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        print(report_json(report) if args.json else report.format_text(all_rows=args.all), end="")
        return 0
    if args.command == "ablation":
        import time

        from .runs.ablation import ablation_finetunes, ablation_study, command_archs, record_ablation

        start = time.perf_counter()
        try:
            params = chapter_parameters(args.profile, "12")
            archs = args.arch.split(",") if args.arch else command_archs(params)
            if args.finetune_only:
                models = ablation_finetunes(params, archs=archs, reverse=args.reverse, progress=True)
                print(f"{len(models)} fine-tunes cached in {(time.perf_counter() - start) / 60:.1f} min")
                return 0
            study = ablation_study(params, archs=archs, reverse=args.reverse, progress=True)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        path = record_ablation(args.profile, study, wall_time_s=time.perf_counter() - start)
        print(f"ablation of {', '.join(study['archs'])} written to {path}")
        return 0
    if args.command == "prepare":
        import time

        from .runs.prepare import PREPARE

        start = time.perf_counter()
        try:
            params = chapter_parameters(args.profile, args.chapter)
            overrides = dict(parse_override(k, v) for k, v in args.parameter)
            unknown = sorted(set(overrides) - set(params))
            if unknown:
                raise ValueError(f"chapter {args.chapter} has no parameters {unknown}")
            params.update(overrides)
            built = PREPARE[args.chapter](params, reverse=args.reverse, progress=True)
        except (ValueError, TypeError, KeyError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        print(
            f"{len(built)} artifacts of chapter {args.chapter} cached in {(time.perf_counter() - start) / 60:.1f} min"
        )
        return 0
    if args.command == "chapters":
        for c in list_chapters():
            print(f"{c.name}\t{c.path}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
