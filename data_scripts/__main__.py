"""``python -m data_scripts [fashion-mnist|wordnet|all] [--root DIR]``: prepare data.

Exit status 0 when every requested data set is prepared, 1 otherwise (the reason
and the command to run are printed to stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from advinterp_lib import roots
from advinterp_lib.data import DataNotFoundError
from data_scripts.fashion_mnist import prepare_fashion_mnist
from data_scripts.wordnet import prepare_wordnet

PREPARERS = {"fashion-mnist": prepare_fashion_mnist, "wordnet": prepare_wordnet}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data_scripts",
        description="Prepare the book's data sets under the data root "
        "(already prepared -> Debian package files -> apt-get as root -> download).",
    )
    parser.add_argument(
        "dataset", nargs="?", default="all", choices=[*PREPARERS, "all"],
        help="what to prepare (default: all)",
    )  # fmt: skip
    parser.add_argument(
        "--root", metavar="DIR", default=None,
        help=f"data root (default: $ADVINTERP_DATA or <project>/data, here {roots.data_root()})",
    )  # fmt: skip
    parser.add_argument("--no-apt", action="store_true", help="never run apt-get")
    parser.add_argument("--no-download", action="store_true", help="never download")
    args = parser.parse_args(argv)

    names = list(PREPARERS) if args.dataset == "all" else [args.dataset]
    status = 0
    for name in names:
        try:
            PREPARERS[name](args.root, use_apt=not args.no_apt, download=not args.no_download)
        except (DataNotFoundError, ValueError) as err:
            print(f"{name}: error: {err}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
