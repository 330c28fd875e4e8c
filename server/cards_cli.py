"""``dispatch-server cards check DIR``: check a protocol card set before a centre uses it.

    dispatch-server cards check DIR

Prints one line per problem, ``FILE: PATH: what is wrong`` (the file relative to DIR, the JSON
path in it), then a summary: the set's version, how many cards and scripts, and whether a
medical director has approved it (`desktop.cards.library.approval_words`). Exit code 0 when the
set checks, 1 when it has problems, 2 when DIR is not a directory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_cards_command", "run_cards"]

PROG = "dispatch-server"


def add_cards_command(commands: Any) -> None:
    """Register ``cards`` (``cards check DIR``) on the sub-command parser."""
    cards = commands.add_parser("cards", help="check a protocol card set")
    actions = cards.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="report every problem of the card set in DIR")
    check.add_argument("directory", type=Path, metavar="DIR")


def run_cards(args: argparse.Namespace) -> int:
    from desktop.cards.check import check_directory
    from desktop.cards.library import approval_words

    directory: Path = args.directory
    if not directory.is_dir():
        print(f"{PROG}: {directory} is not a directory", file=sys.stderr)
        return 2
    library, problems = check_directory(directory)
    for problem in problems:
        print(problem)
    if library is None:
        print(f"{len(problems)} problem(s): the set could not be read")
        return 1
    verdict = "checks" if not problems else f"has {len(problems)} problem(s)"
    print(
        f"{directory}: {len(library.cards)} cards, {len(library.scripts)} scripts: {verdict}. "
        f"{approval_words(library.set)}."
    )
    return 0 if not problems else 1
