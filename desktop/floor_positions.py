"""What a supervisor reads of the floor's positions (issue #16): one row per signed-in
position, and the shadow of one of them (what it has open and is typing), from the presence
the server sends (`desktop.state.ClientState.presence`) and this workstation's own world.

Pure: the Supervisor panel shows these (ui/widgets/floor_positions.py); the words live here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from desktop.domain.presence import DRAFT_FIELDS, draft_label, idle_s
from desktop.domain.types import Call, Incident
from desktop.domain.wording import call_label, incident_label, place
from desktop.domain.world import World
from desktop.protocol.messages import ActivityBody, PositionPresence

__all__ = [
    "NARRATIVE_SHOWN",
    "NOTHING_OPEN",
    "PositionRow",
    "ShadowView",
    "open_words",
    "position_rows",
    "shadow_view",
]

#: What a position with nothing open shows.
NOTHING_OPEN = "nothing open"
#: How many of the open incident's newest narrative lines the shadow shows.
NARRATIVE_SHOWN = 6


@dataclass(frozen=True, slots=True)
class PositionRow:
    """One line of the positions overview. ``panel`` is the dock name with the keyboard."""

    client_id: str
    user: str
    role: str
    workstation: str
    open: str
    panel: str
    idle_s: float


@dataclass(frozen=True, slots=True)
class ShadowView:
    """What the supervisor sees of the shadowed position: whom (``title``), what it has open
    (``open``, then ``details`` lines), its newest narrative lines, and its drafts in
    `DRAFT_FIELDS` order as (words, text). ``gone``: the position has signed out."""

    title: str
    open: str
    details: tuple[str, ...]
    narrative: tuple[str, ...]
    drafts: tuple[tuple[str, str], ...]
    panel: str
    gone: bool = False


def _incident_words(incident: Incident) -> str:
    where = place(incident.location)
    return f"{incident_label(incident)} · P{incident.priority} {incident.type} · {where}"


def _call_words(call: Call) -> str:
    return f"call {call_label(call)} ({call.status.value})"


def open_words(activity: ActivityBody, world: World) -> str:
    """What the position has open, in words: its incident, else its call, else
    `NOTHING_OPEN` (an id this workstation does not hold is said as such)."""
    if activity.incident_id:
        incident = world.incidents.get(activity.incident_id)
        return _incident_words(incident) if incident else "an incident not yet seen here"
    if activity.call_id:
        call = world.calls.get(activity.call_id)
        return _call_words(call) if call else "a call not yet seen here"
    return NOTHING_OPEN


def position_rows(
    presence: Mapping[str, PositionPresence], world: World, now: float
) -> list[PositionRow]:
    """Every position, by user then workstation."""
    rows = [
        PositionRow(
            client_id=p.client_id,
            user=p.user,
            role=p.role,
            workstation=p.workstation,
            open=open_words(p.activity, world),
            panel=p.activity.panel,
            idle_s=idle_s(p.activity, p.signed_in_at, now),
        )
        for p in presence.values()
    ]
    return sorted(rows, key=lambda row: (row.user, row.workstation, row.client_id))


def _ordered_drafts(drafts: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    order = {field: index for index, field in enumerate(DRAFT_FIELDS)}
    fields = sorted(drafts, key=lambda field: (order.get(field, len(order)), field))
    return tuple((draft_label(field), drafts[field]) for field in fields)


def _details(activity: ActivityBody, world: World) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The open incident's (or call's) detail lines and its newest narrative lines."""
    incident = world.incidents.get(activity.incident_id or "")
    if incident is not None:
        units = ", ".join(incident.units) or "no unit assigned"
        details = (f"Status {incident.status.value} · units {units}",)
        narrative = tuple(
            f"{entry.author}: {entry.text}" for entry in incident.narrative[-NARRATIVE_SHOWN:]
        )
        return details, narrative
    call = world.calls.get(activity.call_id or "")
    if call is not None and call.caller_name:
        return (f"Caller {call.caller_name}",), ()
    return (), ()


def shadow_view(position: PositionPresence | None, world: World, who: str = "") -> ShadowView:
    """The shadow of ``position`` (None: it has signed out; ``who`` names it then)."""
    if position is None:
        return ShadowView(
            title=f"{who} signed out" if who else "signed out",
            open=NOTHING_OPEN,
            details=(),
            narrative=(),
            drafts=(),
            panel="",
            gone=True,
        )
    activity = position.activity
    details, narrative = _details(activity, world)
    return ShadowView(
        title=f"Shadowing {position.user} ({position.role}) at {position.workstation}",
        open=open_words(activity, world),
        details=details,
        narrative=narrative,
        drafts=_ordered_drafts(activity.drafts),
        panel=activity.panel,
    )
