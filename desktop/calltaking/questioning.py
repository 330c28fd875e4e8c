"""What questioning puts on the incident's record: the commands for each answer, determinant
and instruction step, and their wording (one home for each). Qt-free.

The call-taker's questioning (`desktop.cards.flow.Questioning`) belongs to one incident once it
is saved. From then on `CaseRecord`:

- `answered`: the answer as a narrative note at once ("Breathing: No"), and, when the
  determinant changed, the incident's type, priority and alarm set to it by an ordinary
  ``incident.update`` and the new determinant noted;
- `logged`: a pre-arrival instruction's step or reminder as a note (the timeline shows it with
  its time);
- `opening`: the note the incident is created with: the chief complaint and the answers given
  before it was saved.
"""

from __future__ import annotations

from collections.abc import Sequence

from desktop.cards.flow import Asked, Questioning
from desktop.cards.model import Determinant
from desktop.cards.scripts import Logged
from desktop.domain.incidents import IncidentAddNote, IncidentUpdate
from desktop.domain.kinds import CommandArgs

__all__ = [
    "CaseRecord",
    "answer_words",
    "determinant_words",
    "instruction_words",
    "opening_words",
]


def answer_words(asked: Asked) -> str:
    """An answer in the narrative: ``"Breathing: No"``."""
    return f"{asked.question.short}: {asked.words}"


def determinant_words(determinant: Determinant) -> str:
    """``"Determinant 09-E-1 ECHO, P1 MEDICAL: Not breathing: cardiac arrest"`` (+ send now)."""
    urgent = " · SEND NOW" if determinant.send_now else ""
    return (
        f"Determinant {determinant.code} {determinant.level}, P{determinant.priority} "
        f"{determinant.type}: {determinant.summary}{urgent}"
    )


def opening_words(flow: Questioning) -> str:
    """The note an incident saved from questioning starts with: complaint, answers, determinant."""
    lines = [f"Chief complaint: {flow.card.title}"]
    lines += [answer_words(a) for a in flow.asked()]
    lines.append(determinant_words(flow.determinant()))
    return "\n".join(lines)


def instruction_words(title: str, logged: Logged) -> str:
    """A step or reminder of a pre-arrival instruction in the narrative."""
    return f"Instructions · {title} · {logged.text}"


class CaseRecord:
    """The record of ``flow`` on incident ``incident_id`` (module docstring)."""

    def __init__(self, incident_id: str, flow: Questioning) -> None:
        self.incident_id = incident_id
        self._noted = flow.determinant()

    def note(self, text: str) -> IncidentAddNote:
        return IncidentAddNote(incident_id=self.incident_id, text=text)

    def answered(self, flow: Questioning, asked: Asked) -> list[CommandArgs]:
        """The commands for ``asked`` just given (or changed)."""
        commands: list[CommandArgs] = [self.note(answer_words(asked))]
        return commands + self.determined(flow)

    def determined(self, flow: Questioning) -> list[CommandArgs]:
        """The commands when the determinant of ``flow`` differs from the one last recorded
        (an answer taken back, the complaint changed): none when it is the same."""
        determinant = flow.determinant()
        if determinant == self._noted:
            return []
        before, self._noted = self._noted, determinant
        changed = {
            name: getattr(determinant, name)
            for name in ("type", "priority", "alarm")
            if getattr(determinant, name) != getattr(before, name)
        }
        commands: list[CommandArgs] = []
        if changed:
            commands.append(IncidentUpdate(incident_id=self.incident_id, **changed))
        commands.append(self.note(determinant_words(determinant)))
        return commands

    def logged(self, title: str, lines: Sequence[Logged]) -> list[CommandArgs]:
        return [self.note(instruction_words(title, line)) for line in lines]
