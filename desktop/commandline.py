"""The dispatcher's command line without Qt: parse a line into commands, complete the token being
typed, recall earlier lines.

Grammar (verbs in any case; units and incidents separated by spaces or commas):

    NEW <type> [P<n>|<n>] <address...>      DISP <unit>... <incident>      (also DP, DISPATCH)
    ER|OS|TR|AH|AV|AQ|OOS <unit>...         NOTE <incident> <text...>
    CLOSE <incident> <disposition...>       ALARM <incident> <level>   (2, 2nd...: 1-5)
    GO [UNIT|INCIDENT] <unit|incident>      (also FIND: select it on every panel)
    LINK <incident> <parent>                MERGE <incident> <into>   (EIDO links)
    RL <unit|radio id> <text...>            CH <incident> <channel...|->   (radio)

A ``<type>`` is one word: a run card's type code (``FIRE-STRUCTURE``, ``MEDICAL``), in any case.
Given the run cards' types (``incident_types``), `parse` takes no other and says which codes
were meant ("STRUCTURE FIRE" is refused with FIRE-STRUCTURE suggested), and `complete` offers
the codes by any of their words (``STRU`` -> ``FIRE-STRUCTURE``). The priority, ``P1``-``P5``,
comes right after the type (3 when omitted, and the summary says it was the default); a
priority written anywhere else in the line is refused rather than read as part of the address.

An ``<incident>`` is its number (``F2611-000123``, ``F2611-123``), the number's numeric tail
(``123``, ``000123``), the local reference this workstation gave it until the server numbers it
(``L17``: `desktop.domain.wording.incident_reference`), or at least 6 leading characters of its
id; a short form fitting several incidents names the one open one among them, if only one is
open. A ``<unit>`` is a unit id in any case.

`parse` checks syntax and resolves references against the world it is given (the optimistic
view); what a command may do (may this unit go on scene?) is for the command kinds' rules
(`desktop.domain.catalog.decide`), which `DispatchService.submit_all` runs. `parse` and
`complete` never submit, never change the world and never raise on any text: every failure is a
`Problem` with a message for the dispatcher. GO gives a `Go` (what to select), not commands.

RL logs radio traffic (`desktop.radio_log.read_radio_line`); a status phrase in it comes back
as the `Ok`'s ``offer``, which the command line offers for one-key confirmation. CH puts an
incident on a channel of the radio plan (``-`` takes it off).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal, NamedTuple, TypeAlias

from desktop.domain.checks import PRIORITIES
from desktop.domain.incidents import IncidentAddNote, IncidentClose, IncidentCreate, IncidentUpdate
from desktop.domain.kinds import CommandArgs
from desktop.domain.links import IncidentLinkTo
from desktop.domain.radio import RadioAssignChannel
from desktop.domain.types import (
    AVAILABLE_STATUSES,
    Incident,
    IncidentStatus,
    LocationArgs,
    Unit,
    UnitStatus,
)
from desktop.domain.units import ALLOWED_TRANSITIONS, UnitDispatch, UnitSetStatus
from desktop.domain.wording import STATUS_WORDS, incident_label, ordinal
from desktop.domain.world import World
from desktop.ids import uuid7
from desktop.radio_log import RadioLineProblem, read_radio_line
from desktop.radio_plan import RadioPlan

__all__ = [
    "VERBS",
    "Go",
    "Offer",
    "Ok",
    "Parsed",
    "Problem",
    "Verb",
    "complete",
    "find_incident",
    "find_unit",
    "parse",
]

DEFAULT_PRIORITY: Final = 3
COMPLETION_LIMIT: Final = 50
ID_PREFIX_MIN: Final = 6


@dataclass(frozen=True, slots=True)
class Offer:
    """What the line suggests doing next (a status the radio traffic named): ``commands`` if
    the dispatcher confirms, ``words`` to offer them."""

    commands: list[CommandArgs]
    words: str

    @property
    def prompt(self) -> str:
        """How it is offered: ``Enter sets E12 on scene · Esc: no``."""
        return f"Enter sets {self.words} · Esc: no"


@dataclass(frozen=True, slots=True)
class Ok:
    """The line is understood: submit ``commands`` in order; ``summary`` confirms what they do;
    ``offer`` is a follow-up to propose once they are submitted."""

    commands: list[CommandArgs]
    summary: str
    offer: Offer | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """The line is not understood. ``position`` is the offset in the text of the offending token
    (the text's length when something is missing at the end; None for an empty line)."""

    message: str
    position: int | None


@dataclass(frozen=True, slots=True)
class Go:
    """The line asks to select an entity (``entity``: "incident" or "unit", by ``entity_id``)
    on every panel; nothing is submitted. ``summary`` says what is selected."""

    entity: Literal["incident", "unit"]
    entity_id: str
    summary: str


Parsed: TypeAlias = Ok | Go | Problem


@dataclass(frozen=True, slots=True)
class Verb:
    """One verb, for the help popup: ``usage`` line, one-line ``help``, accepted ``aliases``."""

    name: str
    usage: str
    help: str
    aliases: tuple[str, ...] = ()


#: The statuses a verb sets (DP comes only with DISP), in the order the help lists them.
_STATUS_VERB_ORDER: Final = (
    UnitStatus.ER,
    UnitStatus.OS,
    UnitStatus.TR,
    UnitStatus.AH,
    UnitStatus.AV,
    UnitStatus.AQ,
    UnitStatus.OOS,
)
_NEW_HELP = (
    "open an incident: a run card's type code (Tab completes), priority 3 unless given "
    "(a bare <n> only before a house number)"
)

#: Every verb by name, in help order.
VERBS: Final[Mapping[str, Verb]] = MappingProxyType(
    {
        "NEW": Verb("NEW", "NEW <type> [P<n>] <address>", _NEW_HELP),
        "DISP": Verb("DISP", "DISP <unit>... <incident>", "dispatch units", ("DP", "DISPATCH")),
        **{
            code.value: Verb(
                code.value, f"{code.value} <unit>...", f"mark units {STATUS_WORDS[code]}"
            )
            for code in _STATUS_VERB_ORDER
        },
        "NOTE": Verb("NOTE", "NOTE <incident> <text>", "add a line to an incident's narrative"),
        "CLOSE": Verb("CLOSE", "CLOSE <incident> <disposition>", "close an incident"),
        "ALARM": Verb(
            "ALARM", "ALARM <incident> <level>", "strike an alarm level (2 or 2nd: second alarm)"
        ),
        "GO": Verb(
            "GO", "GO <incident|unit>", "select an incident or a unit on every panel", ("FIND",)
        ),
        "LINK": Verb("LINK", "LINK <incident> <parent>", "link an incident as a child of another"),
        "MERGE": Verb(
            "MERGE",
            "MERGE <incident> <into>",
            "merge a duplicate incident into another (closes it)",
        ),
        "RL": Verb(
            "RL",
            "RL <unit> <text>",
            "log radio traffic (a status it names is offered: Enter confirms)",
            ("RADIO",),
        ),
        "CH": Verb("CH", "CH <incident> <channel>", "put an incident on a radio channel (- none)"),
    }
)
#: Every accepted spelling of a verb (its name, its aliases) -> its name.
_VERB_OF: Final = {w: v.name for v in VERBS.values() for w in (v.name, *v.aliases)}
_STATUS_VERBS: Final = {code.value: code for code in _STATUS_VERB_ORDER}
_FREE_TEXT: Final = {"NOTE": "some text", "CLOSE": "a disposition"}

_TOKEN = re.compile(r"[^\s,]+")
_DIGITS = re.compile(r"[0-9]+")
_PRIORITY = re.compile(r"[Pp]([0-9]{1,4})")
_GO_KINDS: Final = {"UNIT": "unit", "INCIDENT": "incident", "INC": "incident"}
_ALARM_LEVEL = re.compile(r"([1-5])(?:st|nd|rd|th|ST|ND|RD|TH)?")


class _Token(NamedTuple):
    text: str
    start: int


def _tokens(text: str) -> list[_Token]:
    return [_Token(m.group(), m.start()) for m in _TOKEN.finditer(text)]


def parse(
    text: str,
    world: World,
    now: float,
    *,
    incident_types: Collection[str] = (),
    radio: RadioPlan | None = None,
) -> Parsed:
    """Turn one typed line into commands for ``world``, or say what is wrong with it.

    ``now`` is the caller's clock; no v1 verb depends on it. NEW and RL take a fresh id from
    `desktop.ids.uuid7` on every call, so parse a line once and submit that result.
    ``incident_types`` are the types NEW accepts (the run cards'); empty: any one word.
    ``radio`` is the radio plan: the channels CH accepts and the phrases RL recognises (None:
    any channel, no proposals).
    """
    tokens = _tokens(text)
    if not tokens:
        return Problem("type a command, e.g. DISP E12 123", None)
    verb, args, end = _VERB_OF.get(tokens[0].text.upper()), tokens[1:], len(text)
    if verb is None:
        return _unknown_verb(tokens[0], world)
    if verb == "NEW":
        return _parse_new(text, args, incident_types)
    if verb == "GO":
        return _parse_go(args, world, end)
    if verb == "DISP":
        return _parse_dispatch(args, world, end)
    if verb in _FREE_TEXT:
        return _parse_free_text(verb, text, args, world)
    if verb == "ALARM":
        return _parse_alarm(args, world, end)
    if verb in ("LINK", "MERGE"):
        return _parse_link(verb, args, world, end)
    if verb == "RL":
        return _parse_radio_log(text, args, world, radio)
    if verb == "CH":
        return _parse_channel(text, args, world, radio)
    return _parse_status(_STATUS_VERBS[verb], args, world, end)


def _unknown_verb(token: _Token, world: World) -> Problem:
    unit = _unit(world, token)
    if isinstance(unit, Unit):
        return Problem(f"start with a verb: {unit.id} is a unit, e.g. OS {unit.id}", token.start)
    close = difflib.get_close_matches(token.text.upper(), list(_VERB_OF), n=3, cutoff=0.6)
    if close:
        names = " or ".join(dict.fromkeys(_VERB_OF[word] for word in close))
        return Problem(f"unknown verb '{token.text}' — did you mean {names}?", token.start)
    return Problem(f"unknown verb '{token.text}' — verbs are {', '.join(VERBS)}", token.start)


def _parse_new(text: str, args: list[_Token], incident_types: Collection[str]) -> Parsed:
    if len(args) > 1 and _PRIORITY.fullmatch(args[0].text):
        args = [args[1], args[0], *args[2:]]  # forgive "NEW P1 FIRE <address>"
    if len(args) < 2:
        example = "FIRE-STRUCTURE" if incident_types else "FIRE"
        return Problem(
            f"NEW needs a type and an address, e.g. NEW {example} P1 1 Market St", len(text)
        )
    kind = _incident_type(args[0], args[1:], incident_types)
    if isinstance(kind, Problem):
        return kind
    rest, priority, given = args[1:], DEFAULT_PRIORITY, True
    explicit = _PRIORITY.fullmatch(rest[0].text)
    if explicit:
        priority, rest = int(explicit[1]), rest[1:]
        if priority not in PRIORITIES:
            return Problem(f"no priority {explicit[0].upper()}: {_PRIORITY_RANGE}", args[1].start)
    elif len(rest) > 1 and re.fullmatch("[0-9]", rest[0].text) and _DIGITS.match(rest[1].text):
        priority, rest = int(rest[0].text), rest[1:]  # "NEW FIRE 1 555 Mission St"
        if priority not in PRIORITIES:
            return Problem(f"no priority {priority}: {_PRIORITY_RANGE}", args[1].start)
    else:
        given = False
    if not rest:
        return Problem("NEW needs an address after the priority", len(text))
    stray = next((t for t in rest if _PRIORITY.fullmatch(t.text)), None)
    if stray is not None:
        return Problem(
            f"{stray.text.upper()} looks like a priority: put it right after the type, "
            f"e.g. NEW {kind} {stray.text.upper()} <address>",
            stray.start,
        )
    address = text[rest[0].start :].strip()
    location = LocationArgs(address=address)
    command = IncidentCreate(incident_id=uuid7(), type=kind, priority=priority, location=location)
    shown = f"P{priority}" if given else f"P{priority} (default)"
    return Ok([command], f"new {kind} {shown} at {address}")


_PRIORITY_RANGE: Final = f"priorities are P{PRIORITIES.start}-P{PRIORITIES.stop - 1}"


def _incident_type(
    token: _Token, following: list[_Token], incident_types: Collection[str]
) -> str | Problem:
    """The type code ``token`` names (as the run cards spell it), or why it names none."""
    word = token.text.upper()
    if not incident_types:
        return word
    codes = {code.upper(): code for code in incident_types}
    if word in codes:
        return codes[word]
    # "STRUCTURE FIRE": the words of a code typed apart, in any order
    words = [word] + [t.text.upper() for t in following[:2] if not _PRIORITY.fullmatch(t.text)]
    for count in (3, 2):
        typed = set(words[:count])
        joined = [c for up, c in codes.items() if len(typed) == count and set(_parts(up)) == typed]
        if len(joined) == 1:
            return Problem(
                f"a type is one word: {joined[0]} (Tab completes it)",
                token.start,
            )
    meant = _types_like(word, codes)
    if meant:
        return Problem(
            f"no incident type {word}: did you mean {' or '.join(meant)}? (Tab completes)",
            token.start,
        )
    return Problem(f"no incident type {word}: Tab lists the run cards' types", token.start)


def _parts(code: str) -> list[str]:
    """The words of a type code: FIRE-STRUCTURE -> FIRE, STRUCTURE."""
    return [part for part in re.split(r"[-_/ ]+", code) if part]


def _types_like(word: str, codes: Mapping[str, str]) -> list[str]:
    """Up to three codes ``word`` may have meant: those with a word starting with it, else the
    closest spellings."""
    by_part = [c for up, c in codes.items() if any(p.startswith(word) for p in _parts(up))]
    if by_part:
        return by_part[:3]
    close = difflib.get_close_matches(word, list(codes), n=3, cutoff=0.6)
    return [codes[up] for up in close]


def _parse_dispatch(args: list[_Token], world: World, end: int) -> Parsed:
    if len(args) < 2:
        return Problem("DISP needs at least one unit and an incident", end)
    target = _incident(world, args[-1])
    if isinstance(target, Problem) and isinstance(_unit(world, args[-1]), Unit):
        return Problem(f"DISP needs an incident after the units — {args[-1].text} is a unit", end)
    if isinstance(target, Problem):
        return target
    if target.status is IncidentStatus.CLOSED:
        return Problem(f"incident {incident_label(target)} is closed", args[-1].start)
    units = _units(world, args[:-1])
    if isinstance(units, Problem):
        return units
    command = UnitDispatch(incident_id=target.id, unit_ids=units)
    return Ok([command], f"{', '.join(units)} dispatched to {incident_label(target)}")


def _parse_status(status: UnitStatus, args: list[_Token], world: World, end: int) -> Parsed:
    if not args:
        return Problem(f"{status} needs at least one unit", end)
    units = _units(world, args)
    if isinstance(units, Problem):
        return units
    commands: list[CommandArgs] = [UnitSetStatus(unit_id=unit, status=status) for unit in units]
    return Ok(commands, f"{', '.join(units)} {STATUS_WORDS[status]} ({status})")


def _parse_free_text(verb: str, text: str, args: list[_Token], world: World) -> Parsed:
    if len(args) < 2:
        return Problem(f"{verb} needs an incident and {_FREE_TEXT[verb]}", len(text))
    incident = _incident(world, args[0])
    if isinstance(incident, Problem):
        return incident
    label, rest = incident_label(incident), text[args[1].start :].strip()
    if verb == "NOTE":
        return Ok([IncidentAddNote(incident_id=incident.id, text=rest)], f"note added to {label}")
    if incident.status is IncidentStatus.CLOSED:
        return Problem(f"incident {label} is already closed", args[0].start)
    return Ok([IncidentClose(incident_id=incident.id, disposition=rest)], f"{label} closed: {rest}")


def _parse_alarm(args: list[_Token], world: World, end: int) -> Parsed:
    if len(args) != 2:
        return Problem("ALARM needs an incident and a level, e.g. ALARM 123 2", end)
    incident = _incident(world, args[0])
    if isinstance(incident, Problem):
        return incident
    label = incident_label(incident)
    if incident.status is IncidentStatus.CLOSED:
        return Problem(f"incident {label} is closed", args[0].start)
    level = _ALARM_LEVEL.fullmatch(args[1].text)
    if level is None:
        return Problem(f"'{args[1].text}' is not an alarm level: 1-5, or 1st-5th", args[1].start)
    alarm = int(level[1])
    command = IncidentUpdate(incident_id=incident.id, alarm=alarm)
    return Ok([command], f"{label}: {ordinal(alarm)} alarm")


def _parse_link(verb: str, args: list[_Token], world: World, end: int) -> Parsed:
    if len(args) != 2:
        return Problem(f"{verb} needs two incidents, e.g. {verb} 124 123", end)
    found = [_incident(world, token) for token in args]
    for incident in found:
        if isinstance(incident, Problem):
            return incident
    child, other = found
    assert not isinstance(child, Problem) and not isinstance(other, Problem)
    if child.id == other.id:
        return Problem(f"{verb} needs two different incidents", args[1].start)
    relation: Literal["child", "replaced"] = "child" if verb == "LINK" else "replaced"
    command = IncidentLinkTo(incident_id=child.id, target_id=other.id, relation=relation)
    joint = "linked as a child of" if verb == "LINK" else "merged into"
    return Ok([command], f"{incident_label(child)} {joint} {incident_label(other)}")


def _parse_radio_log(
    text: str, args: list[_Token], world: World, radio: RadioPlan | None
) -> Parsed:
    if not args:
        return Problem("RL needs who spoke and what was said, e.g. RL E12 on scene", len(text))
    line = read_radio_line(text[args[0].start :], world, radio, offset=args[0].start)
    if isinstance(line, RadioLineProblem):
        return Problem(line.message, line.start)
    offer = line.proposal
    return Ok(
        [line.command],
        line.summary,
        None if offer is None else Offer([offer.command()], offer.words),
    )


def _parse_channel(text: str, args: list[_Token], world: World, radio: RadioPlan | None) -> Parsed:
    if len(args) < 2:
        return Problem("CH needs an incident and a channel, e.g. CH 123 FIRE TAC 2", len(text))
    incident = _incident(world, args[0])
    if isinstance(incident, Problem):
        return incident
    label, wanted = incident_label(incident), " ".join(t.text for t in args[1:]).upper()
    if wanted == "-":
        return Ok([RadioAssignChannel(incident_id=incident.id, channel="")], f"{label}: no channel")
    channel = radio.channel(wanted) if radio is not None else None
    if radio is not None and channel is None:
        names = ", ".join(c.name for c in radio.channels)
        return Problem(f"no channel {wanted} — channels are {names}", args[1].start)
    name = channel.name if channel is not None else wanted
    return Ok([RadioAssignChannel(incident_id=incident.id, channel=name)], f"{label} on {name}")


def _parse_go(args: list[_Token], world: World, end: int) -> Parsed:
    wanted = _GO_KINDS.get(args[0].text.upper()) if len(args) == 2 else None
    if wanted is not None:
        args = args[1:]
    if len(args) != 1:
        return Problem("GO needs one incident or unit, e.g. GO 123 or GO E12", end)
    token = args[0]
    unit = _unit(world, token) if wanted != "incident" else None
    incident = _incident(world, token) if wanted != "unit" else None
    if isinstance(unit, Unit) and isinstance(incident, Incident):
        return Problem(
            f"{token.text} names unit {unit.id} and incident {incident_label(incident)}: "
            f"GO UNIT {token.text} or GO INCIDENT {token.text}",
            token.start,
        )
    if isinstance(unit, Unit):
        return Go("unit", unit.id, f"unit {unit.id} selected")
    if isinstance(incident, Incident):
        return Go("incident", incident.id, f"incident {incident_label(incident)} selected")
    if unit is None or (incident is not None and "ambiguous" in incident.message):
        return incident or Problem(f"no incident {token.text}", token.start)
    if incident is None:
        return unit
    return Problem(f"no incident or unit {token.text}", token.start)


def find_incident(world: World, text: str) -> Incident | Problem:
    """The incident ``text`` names, as the command line reads an ``<incident>`` (the find
    fields use it too)."""
    token = _tokens(text)
    if len(token) != 1:
        return Problem("type one incident number, e.g. 123 or L17", None)
    return _incident(world, token[0])


def find_unit(world: World, text: str) -> Unit | Problem:
    """The unit ``text`` names, as the command line reads a ``<unit>``."""
    token = _tokens(text)
    if len(token) != 1:
        return Problem("type one unit id, e.g. E12", None)
    return _unit(world, token[0])


def _unit(world: World, token: _Token) -> Unit | Problem:
    """The unit ``token`` names: its exact id, else the one id equal to it ignoring case."""
    unit = world.units.get(token.text)
    if unit is not None:
        return unit
    folded = token.text.casefold()
    found = sorted(u.id for u in world.units.values() if u.id.casefold() == folded)
    if len(found) == 1:
        return world.units[found[0]]
    if found:
        return Problem(f"unit {token.text} is ambiguous: {', '.join(found)}", token.start)
    return Problem(f"no unit {token.text.upper()}", token.start)


def _units(world: World, tokens: list[_Token]) -> list[str] | Problem:
    """The ids ``tokens`` name, in order, each once."""
    ids: list[str] = []
    for token in tokens:
        unit = _unit(world, token)
        if isinstance(unit, Problem):
            return unit
        if unit.id not in ids:
            ids.append(unit.id)
    return ids


def _incident(world: World, token: _Token) -> Incident | Problem:
    """The incident ``token`` names: its exact id or number, else the one incident whose number's
    tail or id's start it is (if it fits several, the one open incident among them)."""
    word = token.text.casefold()
    if token.text in world.incidents:
        return world.incidents[token.text]
    found = [i for i in world.incidents.values() if _names(i, word)]
    still_open = [i for i in found if i.status is not IncidentStatus.CLOSED]
    if len(still_open) == 1:
        return still_open[0]  # numbers' tails repeat over time: the open incident is meant
    if len(found) == 1:
        return found[0]
    if not found:
        return Problem(f"no incident {token.text}", token.start)
    names = [_reference(i) for i in sorted(found, key=_incident_order)]
    listed = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
    return Problem(f"incident {token.text} is ambiguous: {listed}", token.start)


def _names(incident: Incident, word: str) -> bool:
    """Whether casefolded ``word`` is ``incident``'s number, its number's tail, its local
    reference or its id's start."""
    if (incident.number or "").casefold() == word:
        return True
    if incident.local_ref is not None and incident.local_ref.casefold() == word:
        return True
    head, _, tail = (incident.number or "").casefold().rpartition("-")
    word_head, dash, word_tail = word.rpartition("-")
    digits = _DIGITS.fullmatch(tail) and _DIGITS.fullmatch(word_tail)
    if digits and (word_head == head or not dash) and word_tail.lstrip("0") == tail.lstrip("0"):
        return True
    return len(word) >= ID_PREFIX_MIN and incident.id.casefold().startswith(word)


def _reference(incident: Incident) -> str:
    """What to type to name ``incident`` for sure: its number or local reference, else (an
    unnumbered incident of another workstation) its whole id."""
    return incident.number or incident.local_ref or incident.id


def complete(text: str, world: World, *, incident_types: Collection[str] = ()) -> list[str]:
    """Candidates for the token ending ``text`` (an empty one after a separator), each a whole
    replacement token, best first, at most `COMPLETION_LIMIT`. First token: verbs. Units: natural
    order (E2 before E10), those that can take the verb's status first (for DISP, AV/AQ units).
    Incidents: numbers (the local reference, else the whole id, while the number is pending),
    open before closed, newest first; DISP, CLOSE and ALARM offer open ones only. After DISP's
    first unit: available units, incidents, other units. NEW: ``incident_types`` whose code
    starts with the prefix, then those with a later word starting with it; then P1-P5. GO:
    open incidents, then units. Free text gets no candidates."""
    tokens = _tokens(text)
    typing = bool(text) and _TOKEN.fullmatch(text[-1]) is not None  # the last token is unfinished
    prefix, index = (tokens[-1].text.casefold(), len(tokens) - 1) if typing else ("", len(tokens))
    if index == 0:
        return [name for name in VERBS if name.casefold().startswith(prefix)]
    verb = _VERB_OF.get(tokens[0].text.upper())
    named = {token.text.casefold() for token in tokens[1:index]}
    candidates: list[str] = []
    if verb == "NEW" and index == 1:
        candidates = _type_candidates(incident_types, prefix)
    elif verb == "NEW" and index == 2:
        candidates = [f"P{n}" for n in PRIORITIES if f"p{n}".startswith(prefix)]
    elif verb == "GO" and index in (1, 2):
        wanted = _GO_KINDS.get(tokens[1].text.upper()) if index == 2 else None
        if index == 1 or wanted is not None:
            if wanted != "unit":
                candidates = _incident_candidates(world, prefix, open_only=True)
            if wanted != "incident":
                candidates += [u.id for u in _unit_candidates(world, prefix, set())]
    elif verb in _FREE_TEXT and index == 1:
        candidates = _incident_candidates(world, prefix, open_only=verb == "CLOSE")
    elif verb in ("ALARM", "CH") and index == 1:
        candidates = _incident_candidates(world, prefix, open_only=True)
    elif verb == "RL" and index == 1:
        candidates = [u.id for u in _unit_candidates(world, prefix, set())]
    elif verb in ("LINK", "MERGE") and index in (1, 2):
        candidates = _incident_candidates(world, prefix, open_only=verb == "MERGE")
    elif verb == "DISP":
        units = _unit_candidates(world, prefix, named)
        incidents = _incident_candidates(world, prefix, open_only=True) if index > 1 else []
        candidates = [u.id for u in units if u.status in AVAILABLE_STATUSES] + incidents
        candidates += [u.id for u in units if u.status not in AVAILABLE_STATUSES]
    elif verb in _STATUS_VERBS:
        units, target = _unit_candidates(world, prefix, named), _STATUS_VERBS[verb]
        units.sort(key=lambda u: target not in ALLOWED_TRANSITIONS[u.status])  # stable
        candidates = [u.id for u in units]
    return candidates[:COMPLETION_LIMIT]


def _type_candidates(incident_types: Collection[str], prefix: str) -> list[str]:
    """Type codes starting with ``prefix``, then those with another word starting with it."""
    first = [c for c in incident_types if c.casefold().startswith(prefix)]
    later = [
        c
        for c in incident_types
        if c not in first and any(p.startswith(prefix) for p in _parts(c.casefold()))
    ]
    return sorted(first) + sorted(later)


def _unit_candidates(world: World, prefix: str, named: set[str]) -> list[Unit]:
    """Units whose id starts with ``prefix``, not ``named`` already, in natural order."""
    units = [u for u in world.units.values() if u.id.casefold().startswith(prefix)]
    units = [u for u in units if u.id.casefold() not in named]
    return sorted(units, key=lambda u: (_natural(u.id), u.id))


def _incident_candidates(world: World, prefix: str, open_only: bool) -> list[str]:
    digits = _DIGITS.fullmatch(prefix) is not None
    found: list[str] = []
    for incident in sorted(world.incidents.values(), key=_incident_order):
        if open_only and incident.status is IncidentStatus.CLOSED:
            continue
        reference = _reference(incident)
        tail = (incident.number or "").rpartition("-")[2]
        by_tail = digits and (tail.startswith(prefix) or tail.lstrip("0").startswith(prefix))
        if by_tail or reference.casefold().startswith(prefix):
            found.append(reference)
    return found


def _incident_order(incident: Incident) -> tuple[bool, float, str, str]:
    """Open before closed, then newest first."""
    closed = incident.status is IncidentStatus.CLOSED
    return (closed, -incident.times.get("created", 0.0), incident.number or "", incident.id)


def _natural(text: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key comparing runs of digits as numbers (E2 < E10) and letters ignoring case."""
    parts = re.split(r"([0-9]+)", text)  # text at even indexes, digits at odd ones
    return tuple(
        (1, len(part.lstrip("0")), part.lstrip("0")) if n % 2 else (0, 0, part.casefold())
        for n, part in enumerate(parts)
    )
