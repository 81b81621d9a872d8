"""``python -m data_scripts [fashion-mnist|wordnet|all|web-assets] [--root DIR]``: prepare data
(``all``: every data set) or the rendered book's browser assets (``web-assets``).

Exit status 0 when every requested data set is prepared, 1 otherwise (the reason
and the command to run are printed to stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from advinterp_lib import roots
from advinterp_lib.data import DataNotFoundError
from data_scripts.broden import fetch_broden
from data_scripts.fashion_mnist import prepare_fashion_mnist
from data_scripts.imagenet import prepare_imagenet_val
from data_scripts.web_assets import prepare_web_assets
from data_scripts.wordnet import prepare_wordnet

PREPARERS = {"fashion-mnist": prepare_fashion_mnist, "wordnet": prepare_wordnet}
# Prepared only when named (not by "all"): the book build's browser assets.
EXTRAS = {"web-assets": prepare_web_assets}
# The paper's data, also only when named: `imagenet --archive ILSVRC2012_img_val.tar --labels
# ILSVRC2012_devkit_t12.tar.gz` (the user's copies) and `broden [--archive broden1_224.zip]`.
PAPER_SCALE = ("imagenet", "broden")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data_scripts",
        description="Prepare the book's data sets under the data root "
        "(already prepared -> Debian package files -> apt-get as root -> download).",
    )
    parser.add_argument(
        "dataset", nargs="?", default="all", choices=[*PREPARERS, *EXTRAS, "all", *PAPER_SCALE],
        help="what to prepare (default: all)",
    )  # fmt: skip
    parser.add_argument(
        "--root", metavar="DIR", default=None,
        help=f"data root (default: $ADVINTERP_DATA or <project>/data, here {roots.data_root()})",
    )  # fmt: skip
    parser.add_argument("--no-apt", action="store_true", help="never run apt-get")
    parser.add_argument("--no-download", action="store_true", help="never download")
    parser.add_argument(
        "--archive", default=None, help="imagenet: ILSVRC2012_img_val.tar; broden: a local broden1_224.zip"
    )
    parser.add_argument(
        "--labels", default=None, help="imagenet: the devkit .tar.gz, a val-labels file, or LOC_val_solution.csv"
    )
    parser.add_argument(
        "--md5", default=None, help="imagenet/broden: expected MD5 of --archive (imagenet: 'none' skips the check)"
    )
    parser.add_argument(
        "--insecure-skip-checksum",
        action="store_true",
        help="broden: use the zip WITHOUT checking its MD5 (only if the known MD5 is wrong)",
    )
    args = parser.parse_args(argv)
    if args.dataset in PAPER_SCALE:
        md5 = {} if args.md5 is None else {"expected_md5": None if args.md5 == "none" else args.md5}
        try:
            if args.dataset == "imagenet":
                prepare_imagenet_val(args.archive, args.labels, args.root, **md5)
            else:
                fetch_broden(
                    args.root,
                    archive=args.archive,
                    download_allowed=not args.no_download,
                    insecure_skip_checksum=args.insecure_skip_checksum,
                    **md5,
                )
        except (DataNotFoundError, ValueError, OSError) as err:
            print(f"{args.dataset}: error: {err}", file=sys.stderr)
            return 1
        return 0

    names = list(PREPARERS) if args.dataset == "all" else [args.dataset]
    status = 0
    for name in names:
        try:
            {**PREPARERS, **EXTRAS}[name](args.root, use_apt=not args.no_apt, download=not args.no_download)
        except (DataNotFoundError, ValueError, OSError) as err:  # OSError: e.g. no room (names path and size)
            print(f"{name}: error: {err}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
