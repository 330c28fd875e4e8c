"""Entry point of the ``dispatch-desktop`` console script.

For now it only answers ``--version`` and ``--help``; the Qt workstation shell (QApplication,
qasync loop, excepthook, shutdown sequence) comes next. Run without arguments it prints the help.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from desktop import __version__

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``dispatch-desktop``."""
    parser = argparse.ArgumentParser(
        prog="dispatch-desktop",
        description="Computer-Aided Dispatch workstation for 911 dispatch centres.",
    )
    parser.add_argument("--version", action="version", version=f"dispatch-desktop {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``); print the help and return 0 when it is empty."""
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
