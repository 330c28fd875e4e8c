"""`ScriptRun`: a pre-arrival instruction being read to a caller, step by step. Qt-free.

The call-taker reads the step shown and advances with one key (`advance`); after the last step
the script goes back to its ``repeat_from`` step, or ends. Every step shown, and every reminder,
is a `Logged` line for the incident's timeline, stamped with the clock given (the caller of
`advance` and `due` passes its own clock, so tests drive minutes of CPR in no time).

CPR: a ``compressions`` step is a cycle of ``count`` compressions at the script's
``metronome_bpm``; advancing past it counts the cycle (`cycles`, `compressions`). From the
first compressions step on, `due` gives a reminder to switch rescuers every ``switch_every_s``
seconds (2 minutes): fatigue makes compressions shallow within about that time.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop.cards.model import Script, Step

__all__ = ["Logged", "ScriptRun", "beat_interval_s"]


@dataclass(frozen=True, slots=True)
class Logged:
    """A line for the timeline: ``at`` (the clock given) and its ``text``."""

    at: float
    text: str


def beat_interval_s(script: Script) -> float | None:
    """Seconds between metronome beats (None: the script has no metronome)."""
    return 60.0 / script.metronome_bpm if script.metronome_bpm else None


class ScriptRun:
    """``script`` read from ``started_at`` (module docstring)."""

    def __init__(self, script: Script, started_at: float) -> None:
        self.script = script
        self.index = 0
        self.cycles = 0
        self.compressions = 0
        self.ended = False
        self._compressing_since: float | None = None
        self._reminders = 0
        self.log: list[Logged] = [Logged(started_at, f"Started: {script.title}")]
        self._show(started_at)

    @property
    def step(self) -> Step:
        return self.script.steps[self.index]

    @property
    def compressing(self) -> bool:
        """The step shown is a compressions cycle (the metronome beats)."""
        return not self.ended and self.step.kind == "compressions"

    def where(self) -> str:
        """ "Step 5 of 7" (and the cycle count once compressions began)."""
        text = f"Step {self.index + 1} of {len(self.script.steps)}"
        if self.cycles:
            cycles = "1 cycle" if self.cycles == 1 else f"{self.cycles} cycles"
            text += f" · {cycles}, {self.compressions} compressions"
        return text

    def advance(self, now: float) -> list[Logged]:
        """The step shown was read: go to the next (or back to ``repeat_from``, or end).
        Returns what this logs."""
        if self.ended:
            return []
        mark = len(self.log)
        if self.step.kind == "compressions":
            self.cycles += 1
            self.compressions += self.step.count
            self.log.append(
                Logged(now, f"Compressions cycle {self.cycles} done ({self.compressions} in all)")
            )
        if self.index + 1 < len(self.script.steps):
            self.index += 1
        elif self.script.repeat_from is not None:
            self.index = self.script.repeat_from
        else:
            self.ended = True
            self.log.append(Logged(now, f"Finished: {self.script.title}"))
            return self.log[mark:]
        self._show(now)
        return self.log[mark:]

    def stop(self, now: float) -> list[Logged]:
        """The call-taker stopped the script (help arrived, another script)."""
        if self.ended:
            return []
        self.ended = True
        self.log.append(Logged(now, f"Stopped: {self.script.title} at step {self.index + 1}"))
        return self.log[-1:]

    def due(self, now: float) -> list[Logged]:
        """Reminders due by ``now``: switch rescuers every ``switch_every_s`` of compressions."""
        every = self.script.switch_every_s
        if self.ended or every is None or self._compressing_since is None:
            return []
        out: list[Logged] = []
        while now - self._compressing_since >= every * (self._reminders + 1):
            self._reminders += 1
            minutes = every * self._reminders / 60
            out.append(
                Logged(
                    self._compressing_since + every * self._reminders,
                    f"{minutes:g} min of compressions: switch rescuers now if someone else can "
                    "take over, without stopping",
                )
            )
        self.log.extend(out)
        return out

    def _show(self, now: float) -> None:
        step = self.step
        if step.kind == "compressions" and self._compressing_since is None:
            self._compressing_since = now
        self.log.append(Logged(now, f"Step {self.index + 1}: {step.text}"))
