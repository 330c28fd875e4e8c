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
import logging
import math
import time
from collections.abc import Callable, Sequence
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
from server.audit import audit_command
from server.frames import event_frame, result_frame, stored_result
from server.handlers import Accepted, handle, valid_key
from server.numbering import IncidentNumbers
from server.store.base import Batch, NewEvent, NewResult, StorageUnavailable, Store

__all__ = [
    "CommandProcessor",
    "EventObserver",
    "NotATrainingDatabase",
    "Origin",
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
            kind = EVENTS.get(event.kind)
            if kind is None:
                log.warning("event %d: unknown kind %r skipped", event.seq, event.kind)
            else:
                try:
                    data = decode_args(event.data, kind.data)
                    world.apply(data, event.action_time, event.actor, event.at)
                except ProtocolError as exc:
                    log.warning("event %d (%s) skipped: %s", event.seq, event.kind, exc)
            seq = event.seq
    return world, seq


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


_STOP = object()


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
    ) -> None:
        """``position_of`` gives a unit's newest AVL position (`server.positions`), which
        the rules may record (a radio emergency records where the unit was). ``simulated``:
        a replay or training database's clock — each command's ``issued_at`` is taken as both
        its action time and its recorded time (`simulated_times`), so a replayed day keeps
        the file's times; never for a live floor."""
        self.simulated = simulated
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
                await self._process(pending)
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

    # --- one batch -------------------------------------------------------------------------

    async def _process(self, batch: list[_Pending]) -> None:
        self.batches += 1
        fork = self.world.fork()
        numbers = self.numbers.fork()
        events: list[NewEvent] = []
        keep: list[NewResult] = []
        answers: list[_Answer] = []
        seen: dict[str, tuple[str, int]] = {}
        try:
            for index, item in enumerate(batch):
                answers.append(self._decide(item, index, fork, numbers, events, keep, seen))
        except StorageUnavailable as exc:  # the idempotency table could not be read
            log.error("storage unavailable while reading: %s", exc)
            self._answer_all(batch, ErrorCode.STORAGE_UNAVAILABLE, "storage unavailable; retry")
            return
        seqs: list[int] = []
        if events or keep:
            try:
                seqs = await asyncio.get_running_loop().run_in_executor(
                    self._committer, self.store.commit_batch, Batch(events, keep, numbers.changes())
                )
            except StorageUnavailable as exc:
                log.error("batch of %d commands not committed: %s", len(batch), exc)
                self._reply(batch, answers, None)
                return
            self.world = fork
            self.numbers.adopt(numbers)
            if seqs:
                self.seq = seqs[-1]
                self._broadcast(
                    [
                        event_frame(seq, e.kind, e.data, e.at, e.actor, e.key, e.acted_at)
                        for seq, e in zip(seqs, events, strict=True)
                    ]
                )
                self._notify(seqs, events)
        self._reply(batch, answers, seqs)

    def _decide(
        self,
        item: _Pending,
        index: int,
        fork: World,
        numbers: IncidentNumbers,
        events: list[NewEvent],
        keep: list[NewResult],
        seen: dict[str, tuple[str, int]],
    ) -> _Answer:
        """Decide one command; ``seen`` maps keys decided fresh in this batch to (user, index)."""
        command, user = item.command, item.origin.user
        key = command.key
        if not valid_key(key):
            return _fixed(key, ErrorCode.INVALID_COMMAND, "key must be a UUID string")
        if key in seen:
            first_user, first = seen[key]
            if first_user != user:
                return _fixed(key, ErrorCode.KEY_CONFLICT, "key already used by another user")
            return _Answer(same_as=first, note="duplicate")
        stored = self.store.lookup_result(key)
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
            _audit(item, body, note, now)
            _deliver(item.origin, result_frame(body, now))

    def _notify(self, seqs: list[int], events: list[NewEvent]) -> None:
        """Tell every observer of the committed ``events``; a failing one is logged."""
        for observer in list(self._observers):
            for seq, event in zip(seqs, events, strict=True):
                try:
                    observer(seq, event.kind, event.data)
                except Exception:
                    log.exception("event observer %r failed on event %d", observer, seq)

    def _answer_all(self, batch: list[_Pending], code: ErrorCode, message: str) -> None:
        now = self._clock()
        for item in batch:
            body = ResultBody(key=item.command.key, ok=False, error=_error(code, message))
            _audit(item, body, "", now)
            _deliver(item.origin, result_frame(body, now))


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


def _audit(item: _Pending, body: ResultBody, note: str, now: float) -> None:
    if body.ok:
        outcome = f"ok seqs={body.events}"
    else:
        outcome = body.error.code if body.error is not None else "error"
    if note:
        outcome = f"{note} {outcome}"
    origin = item.origin
    audit_command(
        user=origin.user,
        workstation=origin.workstation,
        role=origin.role,
        kind=item.command.kind,
        key=item.command.key,
        outcome=outcome,
        at=now,
    )
