"""`ClientState`: the confirmed world, the pending commands overlaid on it, and observers.

- Events are applied strictly in ``seq`` order: an event whose seq is not ``last_seq + 1`` is a
  duplicate (ignored) or a gap (`GapError`: the link resyncs).
- The *view* is the confirmed world with every pending command's forecast effect applied in
  ``client_seq`` order (the same pure rules the server runs). It is recomputed lazily, only when
  read after a change, so a burst of events costs one recomputation.
- A command is checked once: `forecast` decides it against the view (refusing with
  `DomainError`) and applies its effect there, and `add_forecast` keeps that effect once the
  command has been queued; the rules run again for it only when the confirmed world under it
  changes.
- A pending command whose events have already arrived (its key was seen on an event) is no longer
  forecast, so its effect is never shown twice while its result is on the way.
- Observers receive one `Change` per `flush`, listing what changed since the previous flush.
- An incident a pending ``incident.create`` opens carries its local reference in the view
  (``Incident.local_ref``, ``L`` + the command's client_seq) until the server numbers it.
- AVL positions (`apply_positions`) are a latest-value stream beside the log: a fix newer than
  the one held sets ``Unit.position`` in the confirmed world and in the view, and is listed in
  `Change.positions` only (never in `Change.units`: the board ignores it). It touches no seq,
  no pending command and no outbox row, and is not written to the replica for itself: after a
  reconnect the server's catch-up gives every unit's newest fix again. A snapshot keeps the
  positions held for the units it still has.
- Radio key-ups (`apply_keyups`) are another latest-value stream: the newest key-up of each
  channel (`desktop.domain.keyups.is_newer_keyup`), held on the state (`keyups`), not in the
  world: no seq, no replica row, listed in `Change.keyups` (channels) only. A snapshot keeps
  them (they are not about the log); after a reconnect the server's catch-up gives them again.
- The floor's positions (`apply_presence`, a supervisor's or admin's only) are a third: each
  signed-in position by client id and what it has open (`desktop.domain.presence`), held on
  the state (`presence`), listed in `Change.presence`. A ``full`` frame (the server's catch-up
  after a resync) replaces them all; otherwise a frame adds, replaces and removes (``gone``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import msgspec
from msgspec.structs import replace

from desktop.domain.catalog import COMMANDS, EVENTS, decide
from desktop.domain.incidents import IncidentCreate
from desktop.domain.keyups import is_newer_keyup
from desktop.domain.kinds import CommandArgs, DecisionContext, DomainError
from desktop.domain.positions import is_newer, position_of
from desktop.domain.types import Incident, Position, Unit
from desktop.domain.wording import local_reference
from desktop.domain.world import Touched, World, collection_of, world_from_lists
from desktop.outbox import OutboxEntry
from desktop.protocol.messages import KeyUp, PositionFix, PositionPresence, PresenceBody

__all__ = ["Change", "ClientState", "Forecast", "GapError", "PendingCommand"]

_event_decoders = {name: msgspec.json.Decoder(kind.data) for name, kind in EVENTS.items()}
_args_decoders = {name: msgspec.json.Decoder(kind.args) for name, kind in COMMANDS.items()}


class GapError(Exception):
    """An event arrived out of order: the client must resync from ``last_seq``."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"event gap: expected seq {expected}, got {got}")
        self.expected = expected
        self.got = got


@dataclass(slots=True)
class Change:
    """What changed since the last notification. ``positions``: the units whose AVL position
    moved (and nothing else about them, unless they are in ``units`` too); ``keyups``: the
    radio channels whose newest key-up changed (`ClientState.keyups`); ``presence``: the floor's
    positions (by client id) that signed in, out or changed what they have open
    (`ClientState.presence`)."""

    incidents: set[str] = field(default_factory=set)
    units: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)
    premises: set[str] = field(default_factory=set)
    alarms: set[str] = field(default_factory=set)
    radio_log: set[str] = field(default_factory=set)
    positions: set[str] = field(default_factory=set)
    keyups: set[str] = field(default_factory=set)
    presence: set[str] = field(default_factory=set)
    pending: bool = False  # the set of pending commands changed
    attention: bool = False  # Needs attention changed
    reset: bool = False  # the whole world was replaced (snapshot)

    def __bool__(self) -> bool:
        return bool(
            self.incidents
            or self.units
            or self.calls
            or self.premises
            or self.alarms
            or self.radio_log
            or self.positions
            or self.keyups
            or self.presence
            or self.pending
            or self.attention
            or self.reset
        )

    def merge(self, other: Change) -> None:
        """Add what ``other`` says changed to this change."""
        self.incidents |= other.incidents
        self.units |= other.units
        self.calls |= other.calls
        self.premises |= other.premises
        self.alarms |= other.alarms
        self.radio_log |= other.radio_log
        self.positions |= other.positions
        self.keyups |= other.keyups
        self.presence |= other.presence
        self.pending |= other.pending
        self.attention |= other.attention
        self.reset |= other.reset

    def touch(self, touched: Touched) -> None:
        for kind, entity_id in touched:
            collection = collection_of(kind)
            if collection is not None:
                ids: set[str] = getattr(self, collection.field)
                ids.add(entity_id)


@dataclass(slots=True)
class PendingCommand:
    """A queued command with its decoded args and the forecast of its effect."""

    entry: OutboxEntry
    args: CommandArgs
    touched: Touched = field(default_factory=list)
    forecast_error: DomainError | None = None


@dataclass(frozen=True, slots=True)
class Forecast:
    """Commands issued ``at`` a time, checked in order against the view of a ``generation`` of
    the state (each seeing the effect of those before it), their effect applied to it;
    ``touched`` is what each one touched."""

    at: float
    generation: int
    commands: tuple[CommandArgs, ...]
    touched: tuple[Touched, ...]


Observer = Callable[[Change], None]
#: Called for every applied event: (seq, kind, data JSON, at, key).
EventListener = Callable[[int, str, bytes, float, str | None], None]


class ClientState:
    """State held by one workstation. Not thread-safe: use it from the event loop's thread."""

    def __init__(self, actor: str = "", world: World | None = None, last_seq: int = 0) -> None:
        self.actor = actor
        self.confirmed = world if world is not None else World()
        self.last_seq = last_seq
        self._pending: dict[str, PendingCommand] = {}
        self._seen_keys: set[str] = set()
        self._view: World | None = self.confirmed
        self._generation = 0  # counts every change of the view's inputs (see `forecast`)
        self._change = Change()
        self._observers: list[Observer] = []
        self._event_listeners: list[EventListener] = []
        self.duplicate_events = 0
        self._positions: dict[str, Position] = {
            unit_id: unit.position
            for unit_id, unit in self.confirmed.units.items()
            if unit.position is not None
        }
        self._keyups: dict[str, KeyUp] = {}
        self._presence: dict[str, PositionPresence] = {}

    # --- events ----------------------------------------------------------------------------

    def apply_event(
        self,
        seq: int,
        kind: str,
        data: bytes,
        at: float,
        key: str | None = None,
        actor: str = "",
        acted_at: float | None = None,
    ) -> Touched:
        """Apply the event ``seq``, recorded at ``at`` and acted at ``acted_at`` (None: at
        ``at``); duplicates are ignored, gaps raise `GapError`. The world uses the action time.

        Events of a kind this client does not know (a newer server) advance ``last_seq`` only.
        """
        if seq <= self.last_seq:
            self.duplicate_events += 1
            return []
        if seq != self.last_seq + 1:
            raise GapError(self.last_seq + 1, seq)
        self.last_seq = seq
        if key is not None and key in self._pending:
            self._seen_keys.add(key)
        action_time = at if acted_at is None else acted_at
        for listener in self._event_listeners:
            listener(seq, kind, data, action_time, key)
        decoder = _event_decoders.get(kind)
        if decoder is None:
            return []
        touched = self.confirmed.apply(decoder.decode(data), action_time, actor, at)
        self._generation += 1
        self._change.touch(touched)
        if self._pending:
            self._view = None
        return touched

    def load_snapshot(self, seq: int, lists: Mapping[str, Sequence[bytes]]) -> None:
        """Replace the confirmed world with a snapshot at ``seq``: each collection's JSON lists
        (`desktop.domain.world.snapshot_lists` of every part, in order)."""
        world = world_from_lists(lists)
        self._positions = {k: v for k, v in self._positions.items() if k in world.units}
        for unit_id, position in self._positions.items():
            world.units[unit_id] = replace(world.units[unit_id], position=position)
        self.confirmed = world
        self._generation += 1
        self.last_seq = seq
        self._seen_keys.clear()
        self._view = None if self._pending else world
        self._change.reset = True

    # --- positions -------------------------------------------------------------------------

    def apply_positions(self, fixes: Iterable[PositionFix]) -> set[str]:
        """Take the AVL ``fixes`` that are newer than the position held for their unit (a unit
        not on this roster is skipped); return the units whose position moved (module
        docstring). The view's forecasts are kept: only ``Unit.position`` changes."""
        moved: set[str] = set()
        confirmed = self.confirmed
        view = self._view if self._view is not confirmed else None
        for fix in fixes:
            unit = confirmed.units.get(fix.unit_id)
            if unit is None or not is_newer(fix.at, self._positions.get(fix.unit_id)):
                continue
            position = self._positions[fix.unit_id] = position_of(fix)
            confirmed.units[fix.unit_id] = replace(unit, position=position)
            shown = view.units.get(fix.unit_id) if view is not None else None
            if view is not None and shown is not None:
                view.units[fix.unit_id] = replace(shown, position=position)
            moved.add(fix.unit_id)
        self._change.positions |= moved
        return moved

    @property
    def positions(self) -> Mapping[str, Position]:
        """The newest position known here of each unit on the roster that has one (read-only;
        it follows every `apply_positions`)."""
        return MappingProxyType(self._positions)

    # --- radio key-ups ---------------------------------------------------------------------

    def apply_keyups(self, keyups: Iterable[KeyUp]) -> set[str]:
        """Take the ``keyups`` newer (``at``) than the key-up held for their channel; return
        the channels whose key-up changed (module docstring). The world is not touched."""
        changed: set[str] = set()
        for keyup in keyups:
            if is_newer_keyup(keyup.at, self._keyups.get(keyup.channel)):
                self._keyups[keyup.channel] = keyup
                changed.add(keyup.channel)
        self._change.keyups |= changed
        return changed

    # --- the floor's positions (supervisors and admins) ------------------------------------

    def apply_presence(self, presence: PresenceBody) -> set[str]:
        """Take a ``presence`` frame (module docstring); return the client ids that changed."""
        changed: set[str] = set()
        if presence.full:
            listed = {position.client_id for position in presence.positions}
            changed |= set(self._presence) - listed
            self._presence = {k: v for k, v in self._presence.items() if k in listed}
        for client_id in presence.gone:
            if self._presence.pop(client_id, None) is not None:
                changed.add(client_id)
        for position in presence.positions:
            if self._presence.get(position.client_id) != position:
                self._presence[position.client_id] = position
                changed.add(position.client_id)
        self._change.presence |= changed
        return changed

    @property
    def presence(self) -> Mapping[str, PositionPresence]:
        """The floor's signed-in positions by client id, as the server last said (read-only;
        empty unless this position watches the floor)."""
        return MappingProxyType(self._presence)

    @property
    def keyups(self) -> Mapping[str, KeyUp]:
        """The newest key-up heard here on each channel, by channel (read-only; it follows
        every `apply_keyups`)."""
        return MappingProxyType(self._keyups)

    # --- pending commands ------------------------------------------------------------------

    def check(self, args: CommandArgs, now: float) -> None:
        """Raise `DomainError` if ``args`` cannot apply to the current view (nothing changes)."""
        decide(self.view, args, DecisionContext(actor=self.actor, now=now))

    def forecast(self, commands: Sequence[CommandArgs], now: float) -> Forecast:
        """Check ``commands``, issued at ``now``, in order against the current view (each seeing
        the effect of those before it) and apply their effect to it; raises the first refusal
        (`DomainError`), the view then as it was. The effect stays until `add_forecast` makes
        the commands pending or `drop_forecast` takes it back (their rows could not be
        queued): call one of them before anything else reads or changes the state."""
        view = self.view
        forked = view is self.confirmed
        if forked:  # the view must never be the confirmed world changed
            view = self._view = self.confirmed.fork()
        ctx = DecisionContext(actor=self.actor, now=now)
        touched: list[Touched] = []
        try:
            for args in commands:
                effect: Touched = []
                for data in decide(view, args, ctx):
                    effect.extend(view.apply(data, now, self.actor))
                touched.append(effect)
        except DomainError:
            if touched or forked:  # the view as it was: worked out again, or the world itself
                # (with nothing pending the view must be the confirmed world: a fork left in
                # its place would stop following the events that arrive)
                self._view = None if self._pending else self.confirmed
            raise
        return Forecast(now, self._generation, tuple(commands), tuple(touched))

    def add_forecast(self, forecast: Forecast, entries: Sequence[OutboxEntry]) -> None:
        """The commands of ``forecast`` were queued as ``entries``: they are pending, with the
        effect the forecast applied (no second check)."""
        for entry, args, touched in zip(entries, forecast.commands, forecast.touched, strict=True):
            self._pending[entry.key] = PendingCommand(entry, args, list(touched))
            self._change.touch(touched)
            if self._view is not None:
                _name_local(self._view, entry, args)
        self._change.pending = True
        if self._generation != forecast.generation:  # not expected: the state moved meanwhile
            self._view = None
        self._generation += 1

    def drop_forecast(self, forecast: Forecast) -> None:
        """The commands of ``forecast`` were not queued: take their effect back."""
        self._view = None if self._pending else self.confirmed

    def add_pending(self, entry: OutboxEntry) -> PendingCommand:
        """Overlay a queued command decoded from its outbox row (a recovered or retried one)."""
        args = _args_decoders[entry.kind].decode(entry.args)
        pending = PendingCommand(entry, args)
        view = self.view
        if view is self.confirmed:
            view = self._view = self.confirmed.fork()
        self._generation += 1
        self._forecast_into(view, pending)
        self._pending[entry.key] = pending
        self._change.touch(pending.touched)
        self._change.pending = True
        return pending

    def resolve_pending(self, key: str) -> PendingCommand | None:
        """The command ``key`` was answered (applied or rejected): stop overlaying it."""
        pending = self._pending.pop(key, None)
        self._seen_keys.discard(key)
        if pending is None:
            return None
        self._change.touch(pending.touched)
        self._change.pending = True
        self._view = None if self._pending else self.confirmed
        self._generation += 1
        return pending

    def pending(self) -> list[PendingCommand]:
        """Pending commands in client_seq order, each with its forecast (view recomputed)."""
        self.view  # noqa: B018 - refresh forecasts
        return list(self._pending.values())

    def pending_count(self) -> int:
        return len(self._pending)

    def is_pending(self, key: str) -> bool:
        return key in self._pending

    # --- the view --------------------------------------------------------------------------

    @property
    def view(self) -> World:
        """Confirmed world plus the forecast of every pending command."""
        if self._view is None:
            view = self.confirmed.fork()
            for pending in self._pending.values():
                if pending.entry.key in self._seen_keys:
                    pending.touched, pending.forecast_error = [], None
                    continue
                self._forecast_into(view, pending)
            self._view = view
        return self._view

    def incident(self, incident_id: str) -> Incident | None:
        return self.view.incidents.get(incident_id)

    def unit(self, unit_id: str) -> Unit | None:
        return self.view.units.get(unit_id)

    def _forecast_into(self, view: World, pending: PendingCommand) -> None:
        ctx = DecisionContext(actor=self.actor, now=pending.entry.issued_at)
        touched: Touched = []
        try:
            events = decide(view, pending.args, ctx)
        except DomainError as exc:
            pending.forecast_error = exc
        else:
            pending.forecast_error = None
            for data in events:
                touched.extend(view.apply(data, pending.entry.issued_at, self.actor))
            _name_local(view, pending.entry, pending.args)
        previous = pending.touched
        pending.touched = touched
        self._change.touch(previous)
        self._change.touch(touched)

    # --- observers -------------------------------------------------------------------------

    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Call ``observer`` on every flush with changes; returns an unsubscribe function."""
        self._observers.append(observer)
        return lambda: self._observers.remove(observer)

    def add_event_listener(self, listener: EventListener) -> None:
        """Call ``listener`` with every event received from now on, before it is applied
        (instrumentation: tests and bench/ui_latency.py watch the stream with it)."""
        self._event_listeners.append(listener)

    def note_attention_changed(self) -> None:
        self._change.attention = True

    def flush(self) -> Change:
        """Deliver accumulated changes to observers (no call if nothing changed)."""
        change, self._change = self._change, Change()
        if change:
            for observer in list(self._observers):
                observer(change)
        return change


def _name_local(view: World, entry: OutboxEntry, args: CommandArgs) -> None:
    """Give the incident ``args`` opened in ``view`` its local reference, while unnumbered."""
    if not isinstance(args, IncidentCreate):
        return
    incident = view.incidents.get(args.incident_id)
    if incident is not None and incident.number is None and incident.local_ref is None:
        local_ref = local_reference(entry.client_seq)
        view.incidents[args.incident_id] = replace(incident, local_ref=local_ref)
