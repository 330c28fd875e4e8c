"""The call aggregate: 911 calls offered to the call-taking positions, answered by one of them,
linked to an incident, released, or abandoned and called back.

Commands: ``call.offer`` and ``call.end`` (the call-handling equipment: role ``telephony``),
``call.answer``, ``call.link``, ``call.release``, ``call.mark_called_back`` (call-takers).
Events: ``call.offered``, ``call.answered``, ``call.linked``, ``call.released``,
``call.abandoned``, ``call.called_back``.

A call is offered to every position; the first ``call.answer`` the server decides wins and
every later one is refused ``already_answered`` (the single writer makes the race exact). The
call's ``times`` and the linked incident's ``call_received``/``call_answered`` are the NFORS
interval stamps the supervisor's statistics are derived from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from msgspec.structs import replace

from desktop.domain.caller_location import CallerLocation
from desktop.domain.checks import NAME_MAX, REASON_MAX, check_name, open_incident
from desktop.domain.kinds import (
    CommandArgs,
    CommandKind,
    DecisionContext,
    DomainError,
    EventData,
    EventKind,
    Lines,
    no_lines,
)
from desktop.domain.types import CLASSES_OF_SERVICE, Call, CallStatus, Incident
from desktop.domain.wording import ani_text, call_label, incident_label
from desktop.protocol.errors import ErrorCode

if TYPE_CHECKING:
    from desktop.domain.world import Touched, World

__all__ = [
    "COMMANDS",
    "ENDED_STATUSES",
    "EVENTS",
    "MAX_LOCATIONS",
    "CallAbandoned",
    "CallAnswer",
    "CallAnswered",
    "CallCalledBack",
    "CallEnd",
    "CallLink",
    "CallLinked",
    "CallMarkCalledBack",
    "CallOffer",
    "CallOffered",
    "CallRelease",
    "CallReleased",
    "callback_list",
    "calls_answered_by",
    "check_linkable",
    "find_call",
    "link_events",
    "needs_follow_up",
    "ringing_calls",
]

#: The most caller locations one offer may carry (a PIDF-LO document with several tuples).
MAX_LOCATIONS = 16
#: Statuses after which the caller is no longer on the line.
ENDED_STATUSES = frozenset({CallStatus.RELEASED, CallStatus.ABANDONED})


def find_call(world: World, call_id: str) -> Call:
    call = world.calls.get(call_id)
    if call is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no call {call_id}")
    return call


def ringing_calls(world: World) -> list[Call]:
    """The calls waiting to be answered, the oldest (longest ringing) first."""
    ringing = [c for c in world.calls.values() if c.status is CallStatus.RINGING]
    return sorted(ringing, key=lambda c: (c.times.get("received", 0.0), c.id))


def callback_list(world: World) -> list[Call]:
    """Abandoned calls nobody has called back yet, the oldest first."""
    waiting = [
        c
        for c in world.calls.values()
        if c.status is CallStatus.ABANDONED and "called_back" not in c.times
    ]
    return sorted(waiting, key=lambda c: (c.times.get("received", 0.0), c.id))


def calls_answered_by(world: World, user: str) -> list[Call]:
    """The calls ``user`` answered that are still on the line (answered or linked), oldest
    answer first: what that call-taker's panel is working on."""
    mine = [
        c
        for c in world.calls.values()
        if c.answered_by == user and c.status in (CallStatus.ANSWERED, CallStatus.LINKED)
    ]
    return sorted(mine, key=lambda c: (c.times.get("answered", 0.0), c.id))


def needs_follow_up(incident: Incident) -> bool:
    """True when the incident's address was kept without verification (a forced override):
    someone must confirm where it is."""
    location = incident.location
    return location.forced and not location.verified


# --- commands ----------------------------------------------------------------------------------


class CallOffer(CommandArgs):
    """Offer a new call to every call-taking position. ``call_id``: the offering side's id
    (a UUID). ``locations``: the caller's locations as delivered; ``location_error``: why a
    location document could not be read (the call is still offered)."""

    call_id: str
    ani: str = ""
    class_of_service: str = "unknown"
    caller_name: str = ""
    locations: list[CallerLocation] = []
    location_error: str = ""
    source: str = ""
    sip_call_id: str = ""
    emergency_call_id: str = ""
    emergency_incident_id: str = ""


class CallEnd(CommandArgs):
    """The caller hung up (``reason``: e.g. "caller hung up", "cancelled before answer")."""

    call_id: str
    reason: str = "caller hung up"


class CallAnswer(CommandArgs):
    call_id: str


class CallLink(CommandArgs):
    """Link an answered call to an incident (a duplicate call joins the incident it reports)."""

    call_id: str
    incident_id: str


class CallRelease(CommandArgs):
    """The call-taker is done with the caller."""

    call_id: str


class CallMarkCalledBack(CommandArgs):
    """An abandoned call was called back; it leaves the callback list."""

    call_id: str
    note: str = ""


# --- events ------------------------------------------------------------------------------------


class CallOffered(EventData):
    call: Call


class CallAnswered(EventData):
    """``by``: the call-taker who won the answer."""

    call_id: str
    by: str


class CallLinked(EventData):
    call_id: str
    incident_id: str


class CallReleased(EventData):
    """``by``: the call-taker who released it, or "" when the caller hung up."""

    call_id: str
    by: str = ""
    reason: str = ""


class CallAbandoned(EventData):
    """The caller hung up before the call was answered (``answered`` false) or after the
    answer, before it was linked to an incident."""

    call_id: str
    answered: bool = False
    reason: str = ""


class CallCalledBack(EventData):
    call_id: str
    note: str = ""


# --- rules -------------------------------------------------------------------------------------


def _check_short(field: str, value: str, limit: int = NAME_MAX) -> None:
    if len(value) > limit:
        raise DomainError(ErrorCode.INVALID_COMMAND, f"{field} must be at most {limit} characters")


def _offer(world: World, args: CallOffer, ctx: DecisionContext) -> list[EventData]:
    check_name("call_id", args.call_id)
    if args.call_id in world.calls:
        raise DomainError(ErrorCode.ALREADY_EXISTS, f"call {args.call_id} was already offered")
    if args.class_of_service not in CLASSES_OF_SERVICE:
        raise DomainError(
            ErrorCode.INVALID_COMMAND,
            f"class_of_service must be one of {', '.join(CLASSES_OF_SERVICE)}",
        )
    if len(args.locations) > MAX_LOCATIONS:
        raise DomainError(
            ErrorCode.INVALID_COMMAND, f"at most {MAX_LOCATIONS} caller locations per call"
        )
    for field in ("ani", "caller_name", "source"):
        _check_short(field, getattr(args, field))
    for field in ("sip_call_id", "emergency_call_id", "emergency_incident_id"):
        _check_short(field, getattr(args, field), 256)
    _check_short("location_error", args.location_error, REASON_MAX)
    call = Call(
        id=args.call_id,
        ani=args.ani,
        class_of_service=args.class_of_service,
        caller_name=args.caller_name,
        locations=list(args.locations),
        location_error=args.location_error,
        source=args.source,
        sip_call_id=args.sip_call_id,
        emergency_call_id=args.emergency_call_id,
        emergency_incident_id=args.emergency_incident_id,
        times={"received": ctx.now},
    )
    return [CallOffered(call=call)]


def _end(world: World, args: CallEnd, ctx: DecisionContext) -> list[EventData]:
    call = find_call(world, args.call_id)
    _check_short("reason", args.reason, REASON_MAX)
    if call.status in ENDED_STATUSES:
        raise DomainError(ErrorCode.NO_CHANGE, f"call from {ani_text(call.ani)} already ended")
    if call.status is CallStatus.LINKED:
        return [CallReleased(call_id=call.id, reason=args.reason)]
    answered = call.status is CallStatus.ANSWERED
    return [CallAbandoned(call_id=call.id, answered=answered, reason=args.reason)]


def _answer(world: World, args: CallAnswer, ctx: DecisionContext) -> list[EventData]:
    call = find_call(world, args.call_id)
    if call.status in ENDED_STATUSES:
        raise DomainError(
            ErrorCode.CALL_ENDED, f"the call from {ani_text(call.ani)} has ended ({call.status})"
        )
    if call.status is not CallStatus.RINGING:
        raise DomainError(ErrorCode.ALREADY_ANSWERED, f"{call.answered_by} answered it first")
    return [CallAnswered(call_id=call.id, by=ctx.actor)]


def check_linkable(world: World, call_id: str, incident_id: str | None) -> Call:
    """The call ``call_id`` if it may be linked to an incident (``incident_id``, None: one
    being created): it was answered and is not linked yet. Raises `DomainError`."""
    call = find_call(world, call_id)
    if "answered" not in call.times:
        raise DomainError(ErrorCode.CALL_NOT_ANSWERED, "answer the call before linking it")
    if call.incident_id is not None:
        if call.incident_id == incident_id:
            raise DomainError(ErrorCode.NO_CHANGE, "the call is already linked to it")
        linked = world.incidents.get(call.incident_id)
        where = incident_label(linked) if linked is not None else call.incident_id
        raise DomainError(ErrorCode.ALREADY_EXISTS, f"the call is already linked to {where}")
    return call


def link_events(call: Call, incident_id: str) -> list[EventData]:
    """The events linking ``call`` to ``incident_id`` (after `check_linkable`)."""
    return [CallLinked(call_id=call.id, incident_id=incident_id)]


def _link(world: World, args: CallLink, ctx: DecisionContext) -> list[EventData]:
    incident = open_incident(world, args.incident_id)
    call = check_linkable(world, args.call_id, incident.id)
    return link_events(call, incident.id)


def _release(world: World, args: CallRelease, ctx: DecisionContext) -> list[EventData]:
    call = find_call(world, args.call_id)
    if call.status is CallStatus.RINGING:
        raise DomainError(ErrorCode.CALL_NOT_ANSWERED, "the call is still ringing")
    if call.status in ENDED_STATUSES:
        raise DomainError(ErrorCode.CALL_ENDED, f"the call has ended ({call.status})")
    return [CallReleased(call_id=call.id, by=ctx.actor)]


def _mark_called_back(
    world: World, args: CallMarkCalledBack, ctx: DecisionContext
) -> list[EventData]:
    call = find_call(world, args.call_id)
    _check_short("note", args.note, REASON_MAX)
    if call.status is not CallStatus.ABANDONED:
        raise DomainError(ErrorCode.INVALID_COMMAND, "only an abandoned call is called back")
    if "called_back" in call.times:
        raise DomainError(ErrorCode.NO_CHANGE, "the call was already called back")
    return [CallCalledBack(call_id=call.id, note=args.note)]


# --- what commands ask for, in words -----------------------------------------------------------


def _named(world: World, call_id: str) -> str:
    call = world.calls.get(call_id)
    return f"call {call_label(call)}" if call is not None else f"call {call_id[:8]}"


def _offer_words(world: World, args: CallOffer) -> str:
    return f"offer a call from {ani_text(args.ani)}"


def _end_words(world: World, args: CallEnd) -> str:
    return f"end {_named(world, args.call_id)} ({args.reason})"


def _answer_words(world: World, args: CallAnswer) -> str:
    return f"answer {_named(world, args.call_id)}"


def _link_words(world: World, args: CallLink) -> str:
    incident = world.incidents.get(args.incident_id)
    target = incident_label(incident) if incident is not None else args.incident_id[:8]
    return f"link {_named(world, args.call_id)} to {target}"


def _release_words(world: World, args: CallRelease) -> str:
    return f"release {_named(world, args.call_id)}"


def _called_back_words(world: World, args: CallMarkCalledBack) -> str:
    return f"mark {_named(world, args.call_id)} called back"


# --- effects -----------------------------------------------------------------------------------


def _with_time(call: Call, name: str, at: float) -> dict[str, float]:
    return call.times if name in call.times else {**call.times, name: at}


def _offered(world: World, data: CallOffered, at: float) -> Touched:
    call = data.call
    world.calls[call.id] = replace(call, times=_with_time(call, "received", at))
    return [("call", call.id)]


def _answered(world: World, data: CallAnswered, at: float) -> Touched:
    call = world.calls.get(data.call_id)
    if call is None:
        return []
    times = _with_time(call, "answered", at)
    world.calls[call.id] = replace(
        call, status=CallStatus.ANSWERED, answered_by=data.by, times=times
    )
    return [("call", call.id)]


def _linked(world: World, data: CallLinked, at: float) -> Touched:
    call = world.calls.get(data.call_id)
    if call is None:
        return []
    status = CallStatus.LINKED if call.status is CallStatus.ANSWERED else call.status
    world.calls[call.id] = replace(
        call, status=status, incident_id=data.incident_id, times=_with_time(call, "linked", at)
    )
    touched: Touched = [("call", call.id)]
    incident = world.incidents.get(data.incident_id)
    if incident is not None:
        times = dict(incident.times)
        for mine, theirs in (("call_received", "received"), ("call_answered", "answered")):
            if theirs in call.times and mine not in times:
                times[mine] = call.times[theirs]
        world.incidents[incident.id] = replace(
            incident, calls=[*incident.calls, call.id], times=times
        )
        touched.append(("incident", incident.id))
    return touched


def _ended(world: World, call_id: str, status: CallStatus, at: float) -> Touched:
    call = world.calls.get(call_id)
    if call is None:
        return []
    world.calls[call.id] = replace(call, status=status, times=_with_time(call, "ended", at))
    return [("call", call.id)]


def _released(world: World, data: CallReleased, at: float) -> Touched:
    return _ended(world, data.call_id, CallStatus.RELEASED, at)


def _abandoned(world: World, data: CallAbandoned, at: float) -> Touched:
    return _ended(world, data.call_id, CallStatus.ABANDONED, at)


def _called_back(world: World, data: CallCalledBack, at: float) -> Touched:
    call = world.calls.get(data.call_id)
    if call is None:
        return []
    times = _with_time(call, "called_back", at)
    world.calls[call.id] = replace(call, times=times, callback_note=data.note)
    return [("call", call.id)]


# --- what events did, in the timeline's words --------------------------------------------------


def _on_incident(world: World, call_id: str, text: str) -> Lines:
    """``text`` for the timeline of the incident ``call_id`` is linked to (none: no line)."""
    call = world.calls.get(call_id)
    if call is None or call.incident_id is None:
        return []
    return [(call.incident_id, text)]


def _linked_lines(world: World, data: CallLinked) -> Lines:
    call = world.calls.get(data.call_id)
    if call is None:
        return []
    text = f"Call linked: {call_label(call)}"
    if call.answered_by:
        text += f", answered by {call.answered_by}"
    return [(data.incident_id, text)]


def _released_lines(world: World, data: CallReleased) -> Lines:
    who = f"released by {data.by}" if data.by else (data.reason or "caller hung up")
    return _on_incident(world, data.call_id, f"Call ended: {who}")


def _called_back_lines(world: World, data: CallCalledBack) -> Lines:
    note = f": {data.note}" if data.note else ""
    return _on_incident(world, data.call_id, f"Caller called back{note}")


# --- the kinds ---------------------------------------------------------------------------------

COMMANDS: tuple[CommandKind[Any], ...] = (
    CommandKind("call.offer", CallOffer, "telephony", _offer, _offer_words),
    CommandKind("call.end", CallEnd, "telephony", _end, _end_words),
    CommandKind("call.answer", CallAnswer, "calltaker", _answer, _answer_words),
    CommandKind("call.link", CallLink, "calltaker", _link, _link_words),
    CommandKind("call.release", CallRelease, "calltaker", _release, _release_words),
    CommandKind(
        "call.mark_called_back",
        CallMarkCalledBack,
        "calltaker",
        _mark_called_back,
        _called_back_words,
    ),
)

EVENTS: tuple[EventKind[Any], ...] = (
    EventKind("call.offered", CallOffered, _offered, no_lines),
    EventKind("call.answered", CallAnswered, _answered, no_lines),
    EventKind("call.linked", CallLinked, _linked, _linked_lines),
    EventKind("call.released", CallReleased, _released, _released_lines),
    EventKind("call.abandoned", CallAbandoned, _abandoned, no_lines),
    EventKind("call.called_back", CallCalledBack, _called_back, _called_back_lines),
)
