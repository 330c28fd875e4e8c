"""Reading a line of radio traffic as a dispatcher types it: who spoke, what was said, and the
status change it suggests. Qt-free and pure; the command line's ``RL`` and the Radio panel's
entry both call `read_radio_line`.

A line is ``<speaker> <text…>`` (``E12 on scene, smoke showing``): the speaker is a unit id in
any case or the radio id bound to a unit (its PTT id, `desktop.domain.keyups.radio_ids`). A
speaker that is neither is refused with a message naming it, so the dispatcher corrects it (the
entry stays as typed: nothing is lost). The text is logged as heard.

**Proposals.** The first status phrase of the radio plan (`desktop.radio_plan.RadioPlan`,
``status_phrases``: "on scene", "en route", "available", "transporting"…) found in the text, on
word boundaries, proposes that unit status, if the unit may go to it from where it is
(`desktop.domain.units.ALLOWED_TRANSITIONS`) and is not there already. The proposal is only
offered: the dispatcher confirms it with one key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from desktop.domain.keyups import radio_ids
from desktop.domain.radio import RadioLog
from desktop.domain.types import UnitStatus
from desktop.domain.units import ALLOWED_TRANSITIONS, UnitSetStatus
from desktop.domain.wording import STATUS_WORDS
from desktop.domain.world import World
from desktop.ids import uuid7
from desktop.radio_plan import RadioPlan

__all__ = ["RadioLine", "RadioLineProblem", "StatusProposal", "read_radio_line"]

_SPEAKER = re.compile(r"\s*(\S+)\s*(.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class StatusProposal:
    """Set ``unit_id`` to ``status``, as the traffic said; ``words`` offers it."""

    unit_id: str
    status: UnitStatus
    words: str

    def command(self) -> UnitSetStatus:
        return UnitSetStatus(unit_id=self.unit_id, status=self.status)


@dataclass(frozen=True, slots=True)
class RadioLine:
    """A line understood: log ``command``; ``proposal`` is the status change it suggests."""

    command: RadioLog
    proposal: StatusProposal | None

    @property
    def summary(self) -> str:
        speaker = f"{self.command.unit_id}: " if self.command.unit_id else ""
        return f"Radio log · {speaker}{self.command.text}"


@dataclass(frozen=True, slots=True)
class RadioLineProblem:
    """The line is not understood; ``start`` is the offset of the offending word (None:
    nothing typed)."""

    message: str
    start: int | None


def read_radio_line(
    text: str, world: World, plan: RadioPlan | None, *, offset: int = 0
) -> RadioLine | RadioLineProblem:
    """Read ``text`` (module docstring); ``offset`` is where it starts in the typed line, so a
    problem points at the right word. With no ``plan`` nothing is proposed."""
    match = _SPEAKER.match(text)
    if match is None or not match.group(1):
        return RadioLineProblem("type who spoke and what was said, e.g. E12 on scene", None)
    word, said = match.group(1).rstrip(",:;"), match.group(2).strip().lstrip(",:;- ").strip()
    start = offset + match.start(1)
    if not word:
        return RadioLineProblem("start with who spoke, e.g. E12 on scene", start)
    unit_id = _speaker(world, word)
    if unit_id is None:
        return RadioLineProblem(
            f"{word.upper()} is not a unit on the roster nor a radio bound to one — "
            "correct it; the entry is kept",
            start,
        )
    if not said:
        return RadioLineProblem(f"what did {unit_id} say?", offset + len(text))
    command = RadioLog(entry_id=str(uuid7()), text=said, unit_id=unit_id)
    return RadioLine(command, None if plan is None else _proposal(world, plan, unit_id, said))


def _speaker(world: World, word: str) -> str | None:
    if word in world.units:
        return word
    folded = word.casefold()
    found = [unit_id for unit_id in world.units if unit_id.casefold() == folded]
    if len(found) == 1:
        return found[0]
    return radio_ids(world).get(word)


def _proposal(world: World, plan: RadioPlan, unit_id: str, said: str) -> StatusProposal | None:
    unit = world.units[unit_id]
    heard = said.casefold()
    found: list[tuple[int, int, UnitStatus]] = []
    for phrase, status in plan.status_phrases.items():
        hit = re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", heard)
        if hit is not None:
            found.append((hit.start(), -len(phrase), status))
    if not found:
        return None
    status = min(found)[2]
    if status == unit.status or status not in ALLOWED_TRANSITIONS.get(unit.status, ()):
        return None
    return StatusProposal(unit_id, status, f"{unit_id} {STATUS_WORDS[status]}")
