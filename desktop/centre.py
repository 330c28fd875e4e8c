"""The centre's operating rules a workstation needs before it opens: timers, run cards and the
radio plan.

They are files a centre tunes (`resources/README.md`). `load_centre_rules` reads and checks
them together, so a broken file stops the workstation at start-up with one message naming the
file and the field, instead of failing later in front of a dispatcher.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from desktop.radio_plan import RadioPlan, RadioPlanError, load_radio_plan
from desktop.runcards import RunCardError, RunCards
from desktop.timers import TimerConfig, TimerConfigError, load_timer_config

__all__ = ["CentreRules", "CentreRulesError", "load_centre_rules"]


class CentreRulesError(ValueError):
    """A rules file is missing, not JSON, or breaks a rule; the message says which and where."""


@dataclass(frozen=True)
class CentreRules:
    """Timer thresholds, run cards and the radio plan, checked."""

    timers: TimerConfig
    runcards: RunCards
    radio: RadioPlan


def load_centre_rules(
    timers_path: str | Path | None = None,
    runcards_path: str | Path | None = None,
    radio_path: str | Path | None = None,
) -> CentreRules:
    """Read the three files (defaults: ``resources/timers.json``, ``resources/runcards.json``,
    ``resources/radio.json``).

    Raises `CentreRulesError` with every problem found, one per line."""
    problems: list[str] = []
    timers: TimerConfig | None = None
    runcards: RunCards | None = None
    radio: RadioPlan | None = None
    try:
        timers = load_timer_config(timers_path)
    except TimerConfigError as exc:
        problems.append(str(exc))
    try:
        runcards = RunCards.load(runcards_path)
    except RunCardError as exc:
        problems.append(str(exc))
    try:
        radio = load_radio_plan(radio_path)
    except RadioPlanError as exc:
        problems.append(str(exc))
    if timers is None or runcards is None or radio is None:
        raise CentreRulesError("\n".join(problems))
    return CentreRules(timers, runcards, radio)
