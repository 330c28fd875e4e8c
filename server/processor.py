"""`CommandProcessor`: the single writer. Commands from every connection go through one queue.

Group commit: the processor takes every queued command (up to ``max_batch``) and, for each in
arrival order,

1. answers from the idempotency table when the key was seen before (the stored first result, no
   new event), or with ``key_conflict`` when another user used the key;
2. decides it with `server.handlers.handle` against a *fork* of the world, applying accepted
   events to the fork so later commands of the batch see earlier ones. The decision and its
   events are dated with the command's action time: its ``issued_at`` bounded by
   `desktop.domain.action_time.bound_action_time` (never in the future, never long before the
   workstation's last contact); each event also keeps when it was recorded.

It then writes all events, the results to keep (everything but transient errors) and the incident
number counters with ONE `Store.commit_batch`. On success the fork becomes the live world, every
event frame goes to ``broadcast`` (all connections) and each command's result to its origin, in
that order. If the commit fails with `StorageUnavailable` the fork is dropped and every fresh
command of the batch is answered ``storage_unavailable`` (transient: the client retries).

Several server instances may share one database (PostgreSQL). Each batch is committed with
``Batch.after_seq = seq``: if another instance committed first, the store raises `LogMoved`
and keeps nothing; the processor then catches up (below) and decides the whole batch again on
the newer world, so a command is always decided on every event committed before it, and the
idempotency table, read again, answers a key the other instance kept (a workstation that
failed over with its queue). `follow` (the store's commit watch, and a periodic poll) queues a
catch-up: the events after `seq` are read from the log, applied in order and broadcast like
this instance's own, each exactly once, and the incident-number counters are read again.

`world` and `seq` always describe the same committed state; they change together, synchronously,
so a connection that reads both and registers for broadcasts without awaiting in between misses
no event and gets none twice.

Observers (`CommandProcessor.observe`) let server-side components that are not connections
(the SIP intake) learn of committed events: after each committed batch, right after the
broadcast and before the results are sent, each observer is called once per event, in seq
order, with ``(seq, kind, data)`` (``data``: the event data as JSON bytes, as stored). An
observer must not block; one that raises is logged, and it and the others are still told of
the following events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import msgspec

from desktop.domain.action_time import bound_action_time
from desktop.domain.catalog import EVENTS
from desktop.domain.types import Position
from desktop.domain.world import World
from desktop.protocol.codec import decode_args
from desktop.protocol.errors import TRANSIENT_CODES, ErrorCode, ProtocolError
from desktop.protocol.messages import CommandBody, ErrorInfo, ResultBody
from server.audit import AuditTrail
from server.frames import event_frame, result_frame, stored_result
from server.handlers import Accepted, handle, valid_key
from server.numbering import IncidentNumbers
from server.store.base import (
    AuditRecord,
    Batch,
    LogMoved,
    NewEvent,
    NewResult,
    StorageUnavailable,
    Store,
    StoredEvent,
)

__all__ = [
    "CommandProcessor",
    "EventObserver",
    "NotATrainingDatabase",
    "Origin",
    "apply_stored",
    "load_world",
    "make_training_database",
    "simulated_time",
    "uses_simulated_clock",
]

log = logging.getLogger(__name__)

_json = msgspec.json.Encoder()

#: Told of each committed event: ``(seq, kind, data)`` (see the module docstring).
EventObserver = Callable[[int, str, bytes], None]


#: The ``meta`` entry that makes a database a replay or training one (a simulated clock).
CLOCK_META, SIMULATED = "clock", "simulated"


class NotATrainingDatabase(ValueError):
    """A live database (it has events, and a real clock) cannot take a simulated clock."""


def uses_simulated_clock(store: Store) -> bool:
    """Whether ``store`` is a replay or training database."""
    return store.get_meta(CLOCK_META) == SIMULATED


def make_training_database(store: Store) -> None:
    """Give ``store`` a simulated clock: only a new database (no event yet) or one that already
    has it; a live one raises `NotATrainingDatabase`."""
    if uses_simulated_clock(store):
        return
    if store.server_seq() > 0:
        raise NotATrainingDatabase(
            "this database holds a live floor's events: replay into a new database"
        )
    store.commit_batch(Batch(meta={CLOCK_META: SIMULATED}))


def simulated_time(issued_at: float, now: float) -> float:
    """A simulated clock's time of a command stamped ``issued_at`` (received at ``now``): the
    stamp itself when it is a time (finite, not negative), else ``now``."""
    return issued_at if math.isfinite(issued_at) and issued_at >= 0 else now


class Origin(Protocol):
    """Where a command came from and where its result goes."""

    @property
    def user(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def workstation(self) -> str: ...

    @property
    def last_contact(self) -> float | None:
        """When the server last heard from this workstation before this session (None: never);
        it bounds the action times of its commands."""
        ...

    def send(self, frame: bytes) -> None:
        """Queue a frame for the connection (never blocks; dropped if it has gone)."""
        ...


def load_world(store: Store, chunk: int = 5000) -> tuple[World, int]:
    """Rebuild the world by applying the whole event log; return it and the last seq.

    Events of unknown kinds or with undecodable data are skipped with a warning.
    """
    world = World()
    seq = 0
    while events := store.events_after(seq, chunk):
        for event in events:
            apply_stored(world, event)
            seq = event.seq
    return world, seq


def apply_stored(world: World, event: StoredEvent) -> bool:
    """Apply one event of the log to ``world``; False (with a warning) when it is of an
    unknown kind or its data does not decode, and it is skipped."""
    kind = EVENTS.get(event.kind)
    if kind is None:
        log.warning("event %d: unknown kind %r skipped", event.seq, event.kind)
        return False
    try:
        data = decode_args(event.data, kind.data)
    except ProtocolError as exc:
        log.warning("event %d (%s) skipped: %s", event.seq, event.kind, exc)
        return False
    world.apply(data, event.action_time, event.actor, event.at)
    return True


@dataclass(slots=True)
class _Pending:
    origin: Origin
    command: CommandBody


@dataclass(slots=True)
class _Answer:
    """How one command of a batch is answered.

    ``fixed``: a known result (a replay, a conflict, a transient error). Otherwise ``indexes``
    (event positions in the batch) and ``error`` describe a fresh result; ``same_as`` points to
    an earlier command of the batch with the same key.
    """

    fixed: ResultBody | None = None
    indexes: tuple[int, ...] = ()
    error: ErrorInfo | None = None
    same_as: int | None = None
    note: str = ""


#: Events read from the store at a time when catching up with other writers.
CATCH_UP_CHUNK = 1000

_STOP = object()
_FOLLOW = object()  # another writer committed: catch up from the log before the next batch

#: How often a batch is decided again after another writer committed first (`LogMoved`)
#: before its commands are answered ``storage_unavailable`` (they are then retried).
MAX_DECISIONS = 20


class CommandProcessor:
    """The single writer of the event log; see the module docstring."""

    def __init__(
        self,
        store: Store,
        world: World,
        seq: int,
        broadcast: Callable[[Sequence[bytes]], None],
        *,
        max_batch: int = 1000,
        clock: Callable[[], float] = time.time,
        position_of: Callable[[str], Position | None] = lambda unit_id: None,
        simulated: bool = False,
        audit: AuditTrail | None = None,
    ) -> None:
        """``position_of`` gives a unit's newest AVL position (`server.positions`), which
        the rules may record (a radio emergency records where the unit was). ``simulated``:
        a replay or training database's clock — each command's ``issued_at`` is taken as both
        its action time and its recorded time (`simulated_times`), so a replayed day keeps
        the file's times; never for a live floor. ``audit``: where each command's result is
        recorded (`server.audit`; default: log lines only)."""
        self.simulated = simulated
        self.audit = audit or AuditTrail(None)
        self.store = store
        self._position_of = position_of
        self.world = world
        self.seq = seq
        self.numbers = IncidentNumbers(store)
        self.max_batch = max_batch
        self.batches = 0
        self._broadcast = broadcast
        self._clock = clock
        self._queue: asyncio.Queue[_Pending | object] = asyncio.Queue()
        self._busy = False
        self._committer: ThreadPoolExecutor | None = None
        self._observers: list[EventObserver] = []
        self._follow_queued = False
        self._advanced = asyncio.Event()  # set whenever `seq` moves (`reach` waits on it)
        self.followed = 0  # events adopted from other writers (operations, tests)
        self.redecided = 0  # batches decided again because another writer committed first

    def observe(self, observer: EventObserver) -> Callable[[], None]:
        """Call ``observer(seq, kind, data)`` for every event committed from now on (module
        docstring); returns a function that stops it (calling that twice is harmless)."""
        self._observers.append(observer)

        def stop() -> None:
            if observer in self._observers:
                self._observers.remove(observer)

        return stop

    def submit(self, origin: Origin, command: CommandBody) -> None:
        """Queue a command; its result will be sent to ``origin``."""
        self._queue.put_nowait(_Pending(origin, command))

    async def run(self) -> None:
        """Process batches until `stop` (commands queued before it are still processed)."""
        # Commits get a thread of their own: never queued behind sign-ins hashing passwords.
        self._committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="commit")
        try:
            await self._run()
        finally:
            self._committer.shutdown(wait=False)
            self._committer = None

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stopping = False
            while len(batch) < self.max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
            pending = [item for item in batch if isinstance(item, _Pending)]
            self._busy = True
            try:
                if _FOLLOW in batch:
                    await self._catch_up()
                if pending:
                    await self._process(pending)
            except StorageUnavailable as exc:  # catching up: the next follow tries again
                log.error("could not read the others' commits: %s", exc)
                self._answer_all(pending, ErrorCode.STORAGE_UNAVAILABLE, "storage unavailable")
            except Exception:
                log.exception("command batch failed; answering 'internal'")
                self._answer_all(pending, ErrorCode.INTERNAL, "the server failed; retry")
            finally:
                self._busy = False
            if stopping:
                return

    def idle(self) -> bool:
        """True when no command is queued or being processed."""
        return self._queue.empty() and not self._busy

    def stop(self) -> None:
        """Ask `run` to return once the commands queued so far are processed."""
        self._queue.put_nowait(_STOP)

    def follow(self, seq: int = 0) -> None:
        """Note that another writer of the store committed up to ``seq`` (0: unknown): before
        its next batch the processor applies the log's events after its own `seq` to the
        world, in order, and broadcasts them, each once. Call on the event loop."""
        if (seq and seq <= self.seq) or self._follow_queued:
            return
        self._follow_queued = True
        self._queue.put_nowait(_FOLLOW)

    async def reach(self, seq: int, timeout: float) -> bool:
        """Wait, catching up from the log, until `seq` is at least ``seq``, at most ``timeout``
        seconds; whether it is (a seq no writer issued is never reached)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.seq < seq and (left := deadline - loop.time()) > 0:
            self._advanced.clear()
            self.follow()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._advanced.wait(), min(left, 0.2))
        return self.seq >= seq

    async def _catch_up(self) -> None:
        """Adopt every event another writer committed after `seq` (see `follow`)."""
        self._follow_queued = False
        loop = asyncio.get_running_loop()
        while True:
            events = await loop.run_in_executor(
                self._committer, self.store.events_after, self.seq, CATCH_UP_CHUNK
            )
            if not events:
                return
            self._adopt(events)
            if len(events) < CATCH_UP_CHUNK:
                return

    def _adopt(self, events: list[StoredEvent]) -> None:
        """Make the world and `seq` those after ``events`` (the log's next ones, committed by
        another writer) and broadcast them; never awaits (`world`/`seq` change together)."""
        fork = self.world.fork()
        for event in events:
            apply_stored(fork, event)
        self.world, self.seq = fork, events[-1].seq
        self._advanced.set()
        self.numbers = IncidentNumbers(self.store)  # the others numbered incidents too
        self.followed += len(events)
        self._broadcast(
            [event_frame(e.seq, e.kind, e.data, e.at, e.actor, e.key, e.acted_at) for e in events]
        )
        self._notify((e.seq, e) for e in events)

    # --- one batch -------------------------------------------------------------------------

    async def _process(self, batch: list[_Pending]) -> None:
        """Decide ``batch`` on the world and commit it; when another writer committed first
        (`LogMoved`), catch up and decide it again, at most `MAX_DECISIONS` times."""
        self.batches += 1
        loop = asyncio.get_running_loop()
        keys = [item.command.key for item in batch if valid_key(item.command.key)]
        for _ in range(MAX_DECISIONS):
            try:  # read off the event loop: with PostgreSQL it is a round trip
                stored = await loop.run_in_executor(
                    self._committer, self.store.lookup_results, keys
                )
                fork, numbers, events, keep, answers = self._decide_all(batch, stored)
            except StorageUnavailable as exc:  # the idempotency table could not be read
                log.error("storage unavailable while reading: %s", exc)
                self._answer_all(batch, ErrorCode.STORAGE_UNAVAILABLE, "storage unavailable; retry")
                return
            if not (events or keep):
                self._reply(batch, answers, [])
                return
            decided = Batch(events, keep, numbers.changes(), after_seq=self.seq)
            try:
                seqs = await loop.run_in_executor(self._committer, self.store.commit_batch, decided)
            except LogMoved as exc:
                log.debug("batch of %d commands decided again: %s", len(batch), exc)
                self.redecided += 1
                await self._catch_up()
                continue
            except StorageUnavailable as exc:
                log.error("batch of %d commands not committed: %s", len(batch), exc)
                self._reply(batch, answers, None)
                return
            self.world = fork
            self.numbers.adopt(numbers)
            if seqs:
                self.seq = seqs[-1]
                self._advanced.set()
                self._broadcast(
                    [
                        event_frame(seq, e.kind, e.data, e.at, e.actor, e.key, e.acted_at)
                        for seq, e in zip(seqs, events, strict=True)
                    ]
                )
                self._notify(zip(seqs, events, strict=True))
            self._reply(batch, answers, seqs)
            return
        log.error("batch of %d commands: the log kept moving; not committed", len(batch))
        self._answer_all(batch, ErrorCode.STORAGE_UNAVAILABLE, "the database is busy; retry")

    def _decide_all(
        self, batch: list[_Pending], stored: Mapping[str, tuple[str, bytes]]
    ) -> tuple[World, IncidentNumbers, list[NewEvent], list[NewResult], list[_Answer]]:
        """Decide every command of ``batch`` in order on a fork of the world, ``stored``
        holding the results kept of its keys: the fork, the numbers allocated, the events and
        results to write and how each is answered."""
        fork = self.world.fork()
        numbers = self.numbers.fork()
        events: list[NewEvent] = []
        keep: list[NewResult] = []
        seen: dict[str, tuple[str, int]] = {}
        answers = [
            self._decide(
                item, index, fork, numbers, events, keep, seen, stored.get(item.command.key)
            )
            for index, item in enumerate(batch)
        ]
        return fork, numbers, events, keep, answers

    def _decide(
        self,
        item: _Pending,
        index: int,
        fork: World,
        numbers: IncidentNumbers,
        events: list[NewEvent],
        keep: list[NewResult],
        seen: dict[str, tuple[str, int]],
        stored: tuple[str, bytes] | None,
    ) -> _Answer:
        """Decide one command; ``seen`` maps keys decided fresh in this batch to (user, index),
        ``stored`` is the (user, result) kept of its key (None: a fresh key)."""
        command, user = item.command, item.origin.user
        key = command.key
        if not valid_key(key):
            return _fixed(key, ErrorCode.INVALID_COMMAND, "key must be a UUID string")
        if key in seen:
            first_user, first = seen[key]
            if first_user != user:
                return _fixed(key, ErrorCode.KEY_CONFLICT, "key already used by another user")
            return _Answer(same_as=first, note="duplicate")
        if stored is not None:
            stored_user, blob = stored
            if stored_user != user:
                return _fixed(key, ErrorCode.KEY_CONFLICT, "key already used by another user")
            return _Answer(fixed=stored_result(blob), note="duplicate")
        seen[key] = (user, index)
        now = self._clock()
        if self.simulated:
            acted = now = simulated_time(command.issued_at, now)
        else:
            acted = bound_action_time(command.issued_at, now, item.origin.last_contact)
        outcome = handle(
            fork,
            command,
            user,
            item.origin.role,
            acted,
            lambda: numbers.next(now),
            self._position_of,
        )
        if isinstance(outcome, Accepted):
            indexes = []
            for kind, data in outcome.events:
                fork.apply(data, acted, user, now)
                events.append(NewEvent(kind, _json.encode(data), now, user, key, acted))
                indexes.append(len(events) - 1)
            keep.append(NewResult(key, user, True, now, tuple(indexes)))
            return _Answer(indexes=tuple(indexes))
        error = outcome.error
        if error.code in TRANSIENT_CODES:
            return _Answer(fixed=ResultBody(key=key, ok=False, error=error))
        keep.append(NewResult(key, user, False, now, (), error))
        return _Answer(error=error)

    def _reply(self, batch: list[_Pending], answers: list[_Answer], seqs: list[int] | None) -> None:
        """Send each command's result; ``seqs`` None means the commit failed."""
        now = self._clock()
        bodies: list[ResultBody] = []
        for item, answer in zip(batch, answers, strict=True):
            key = item.command.key
            if answer.same_as is not None:
                body = bodies[answer.same_as]
                note = "duplicate"
            elif answer.fixed is not None:
                body, note = answer.fixed, answer.note
            elif seqs is None:
                body = ResultBody(key=key, ok=False, error=_error(ErrorCode.STORAGE_UNAVAILABLE))
                note = ""
            elif answer.error is not None:
                body, note = ResultBody(key=key, ok=False, error=answer.error), ""
            else:
                body = ResultBody(key=key, ok=True, events=[seqs[i] for i in answer.indexes])
                note = ""
            bodies.append(body)
            self._audit(item, body, note, now)
            _deliver(item.origin, result_frame(body, now))

    def _notify(self, told: Iterable[tuple[int, NewEvent | StoredEvent]]) -> None:
        """Tell every observer of the committed events ``(seq, event)``; a failing one is
        logged."""
        observers = list(self._observers)
        for seq, event in told:
            for observer in observers:
                try:
                    observer(seq, event.kind, event.data)
                except Exception:
                    log.exception("event observer %r failed on event %d", observer, seq)

    def _answer_all(self, batch: list[_Pending], code: ErrorCode, message: str) -> None:
        now = self._clock()
        for item in batch:
            body = ResultBody(key=item.command.key, ok=False, error=_error(code, message))
            self._audit(item, body, "", now)
            _deliver(item.origin, result_frame(body, now))

    def _audit(self, item: _Pending, body: ResultBody, note: str, now: float) -> None:
        """Record a command's result in the audit trail: ``outcome`` ``ok`` or the error code,
        ``detail`` the seqs of its events or the error message, after ``note`` (``duplicate``:
        answered from the idempotency table)."""
        if body.ok:
            outcome, detail = "ok", f"seqs={body.events}"
        elif body.error is not None:
            outcome, detail = body.error.code, body.error.message
        else:
            outcome, detail = ErrorCode.INTERNAL.value, ""
        origin = item.origin
        # A connection (`server.connection.Connection`) has a peer address; the SIP intake none.
        peer = getattr(origin, "peer", "")
        self.audit.record(
            AuditRecord(
                at=now,
                user=origin.user,
                workstation=origin.workstation,
                peer=peer if isinstance(peer, str) else "",
                role=origin.role,
                kind=item.command.kind,
                key=item.command.key,
                outcome=outcome,
                detail=f"{note}: {detail}" if note else detail,
            )
        )


def _deliver(origin: Origin, frame: bytes) -> None:
    """Queue a result; a failing origin must not keep the others of the batch from theirs."""
    try:
        origin.send(frame)
    except Exception:
        log.exception("could not send a result to %r", origin)


def _error(code: ErrorCode, message: str = "") -> ErrorInfo:
    return ErrorInfo(code=code.value, message=message or code.value.replace("_", " "))


def _fixed(key: str, code: ErrorCode, message: str) -> _Answer:
    return _Answer(fixed=ResultBody(key=key, ok=False, error=_error(code, message)))
