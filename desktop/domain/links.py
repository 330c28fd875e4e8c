"""Links between incidents, with NENA EIDO semantics: a related incident (``parent``/``child``)
and a merge (``replacing``/``replaced``) of two incidents that turn out to be one emergency.

Command: ``incident.link``. Event: ``incident.linked``. A link is recorded on both incidents
and in both timelines. A merge also closes the replaced incident ("merged into F2612-000123");
it must have no unit committed to it (move them first).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from msgspec.structs import replace

from desktop.domain.checks import committed_units, find_incident, open_incident
from desktop.domain.incidents import IncidentClosed
from desktop.domain.kinds import (
    CommandArgs,
    CommandKind,
    DecisionContext,
    DomainError,
    EventData,
    EventKind,
    Lines,
)
from desktop.domain.types import IncidentLink, LinkRelation
from desktop.domain.wording import incident_label
from desktop.protocol.errors import ErrorCode

if TYPE_CHECKING:
    from desktop.domain.world import Touched, World

__all__ = [
    "COMMANDS",
    "EVENTS",
    "INVERSE",
    "LINK_WORDS",
    "IncidentLinkTo",
    "IncidentLinked",
    "merged_into",
]

#: The relation the other incident holds for each relation (EIDO: the link seen from each end).
INVERSE: dict[LinkRelation, LinkRelation] = {
    "child": "parent",
    "parent": "child",
    "replaced": "replacing",
    "replacing": "replaced",
}


def merged_into(label: str) -> str:
    """The disposition of an incident merged into the incident ``label``."""
    return f"merged into {label}"


class IncidentLinkTo(CommandArgs):
    """Make ``incident_id`` the ``relation`` of ``target_id``: ``child`` (a related incident,
    the target its parent) or ``replaced`` (merged into the target, which replaces it)."""

    incident_id: str
    target_id: str
    relation: Literal["child", "replaced"]


class IncidentLinked(EventData):
    """``incident_id`` is ``relation`` of ``target_id`` (and the target the inverse)."""

    incident_id: str
    target_id: str
    relation: LinkRelation


def _link(world: World, args: IncidentLinkTo, ctx: DecisionContext) -> list[EventData]:
    if args.incident_id == args.target_id:
        raise DomainError(ErrorCode.INVALID_COMMAND, "an incident cannot be linked to itself")
    incident = find_incident(world, args.incident_id)
    target = find_incident(world, args.target_id)
    if any(link.incident_id == target.id for link in incident.links):
        raise DomainError(
            ErrorCode.NO_CHANGE,
            f"{incident_label(incident)} is already linked to {incident_label(target)}",
        )
    events: list[EventData] = []
    if args.relation == "replaced":
        incident = open_incident(world, incident.id)
        target = open_incident(world, target.id)
        committed = committed_units(world, incident.id)
        if committed:
            raise DomainError(
                ErrorCode.UNITS_STILL_ASSIGNED,
                f"{incident_label(incident)} still has {', '.join(committed)}; "
                "move or clear them before merging",
            )
    events.append(
        IncidentLinked(incident_id=incident.id, target_id=target.id, relation=args.relation)
    )
    if args.relation == "replaced":
        events.append(
            IncidentClosed(incident_id=incident.id, disposition=merged_into(incident_label(target)))
        )
    return events


def _link_words(world: World, args: IncidentLinkTo) -> str:
    def named(incident_id: str) -> str:
        incident = world.incidents.get(incident_id)
        return incident_label(incident) if incident is not None else incident_id[:8]

    verb = "merge" if args.relation == "replaced" else "link"
    joint = "into" if args.relation == "replaced" else "as a child of"
    return f"{verb} {named(args.incident_id)} {joint} {named(args.target_id)}"


def _linked(world: World, data: IncidentLinked, at: float) -> Touched:
    touched: Touched = []
    ends = (
        (data.incident_id, data.target_id, data.relation),
        (data.target_id, data.incident_id, INVERSE[data.relation]),
    )
    for holder, other, relation in ends:
        incident = world.incidents.get(holder)
        if incident is None:
            continue
        link = IncidentLink(incident_id=other, relation=relation, at=at)
        world.incidents[holder] = replace(incident, links=[*incident.links, link])
        touched.append(("incident", holder))
    return touched


#: Each relation in words, the other incident's label as ``{other}``: the timeline's wording
#: and Incident detail's.
LINK_WORDS: dict[LinkRelation, str] = {
    "child": "Linked as a child of {other}",
    "parent": "Child incident {other} linked",
    "replaced": "Merged into {other}",
    "replacing": "{other} merged into this incident",
}


def _linked_lines(world: World, data: IncidentLinked) -> Lines:
    def named(incident_id: str) -> str:
        incident = world.incidents.get(incident_id)
        return incident_label(incident) if incident is not None else incident_id[:8]

    return [
        (data.incident_id, LINK_WORDS[data.relation].format(other=named(data.target_id))),
        (data.target_id, LINK_WORDS[INVERSE[data.relation]].format(other=named(data.incident_id))),
    ]


COMMANDS: tuple[CommandKind[Any], ...] = (
    CommandKind("incident.link", IncidentLinkTo, "calltaker", _link, _link_words),
)
EVENTS: tuple[EventKind[Any], ...] = (
    EventKind("incident.linked", IncidentLinked, _linked, _linked_lines),
)
