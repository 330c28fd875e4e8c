"""`CardLibrary`: a card set loaded from its directory (`desktop.cards.model`), checked.

`CardLibrary.load` reads ``set.json``, ``cards/*.json`` and ``instructions/*.json``, runs every
check of `desktop.cards.check` and raises `CardSetError` listing every problem (file and JSON
path) when any is found: a workstation never questions a caller from a card set that does not
check. `approval_words` is what the product says wherever the cards are loaded: who approved
the set, or that it is a draft no medical director has approved.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from desktop.cards.model import Card, CardSet, Script
from desktop.resources import resource_path

__all__ = [
    "CardLibrary",
    "CardSetError",
    "Problem",
    "approval_words",
    "default_dir",
    "shipped_library",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a card set: the ``file`` (relative to the set's directory), the
    JSON ``path`` in it (``$.rules[2].when``) and what is wrong."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


class CardSetError(Exception):
    """A card set that does not check; ``problems`` lists why."""

    def __init__(self, directory: Path, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(
            f"the card set in {directory} has {len(problems)} problem(s):\n{lines}{more}"
        )


def default_dir() -> Path:
    """The shipped card set (``resources/cards``)."""
    return resource_path("cards")


@dataclass(frozen=True)
class CardLibrary:
    """A checked card set: ``set`` (set.json), ``cards`` by id (in number order) and
    ``scripts`` by id, from ``directory``."""

    directory: Path
    set: CardSet
    cards: dict[str, Card]
    scripts: dict[str, Script]

    @classmethod
    def load(cls, directory: str | Path | None = None) -> CardLibrary:
        """Load and check the set in ``directory`` (default: the shipped one). Raises
        `CardSetError` with every problem found."""
        from desktop.cards.check import check_directory

        where = Path(directory) if directory is not None else default_dir()
        library, problems = check_directory(where)
        if problems or library is None:
            raise CardSetError(where, problems)
        return library

    def card(self, card_id: str) -> Card:
        return self.cards[card_id]

    def ordered(self) -> list[Card]:
        """The cards by number."""
        return sorted(self.cards.values(), key=lambda c: c.number)


@functools.cache
def shipped_library() -> CardLibrary:
    """The shipped set, loaded and checked once per process (read-only once loaded)."""
    return CardLibrary.load()


def approval_words(card_set: CardSet) -> str:
    """The line said wherever the cards are loaded."""
    if card_set.status == "approved":
        return (
            f"Protocol cards {card_set.version}, approved by {card_set.approved_by} "
            f"on {card_set.approved_on}"
        )
    return (
        f"Protocol cards {card_set.version}: DRAFT, not approved by a medical director "
        "for live calls"
    )
