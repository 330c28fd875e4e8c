"""What the server does for the floor's supervisors (issue #16): the positions' presence and
the shift report on request (docs/protocol.md, "Positions and shadowing" and "Shift report
requests"). `Supervision` is the one place the application hands these frames to.

- A welcomed position joins the `PresenceBoard` (`desktop.domain.roles.is_position`), unless
  its ``client_id`` is another user's position (`PresenceBoard.join`: not taken over); a
  watcher (`desktop.domain.roles.may_watch_floor`) gets the whole floor right after its
  resync, then every change. Gateways neither join nor watch.
- An ``activity`` from a connection that is not a position is answered ``forbidden``, an
  invalid one ``invalid_frame``; the connection stays open.
- A ``report_request`` is answered with one ``report`` frame of the request's id: the report's
  JSON form (`server.report.report_dict`), computed from the store's event log, put in that
  form and encoded in a thread (the event loop never waits for a report), or an error
  (``forbidden`` for a role that does not watch the floor, worded by
  `desktop.domain.roles.refusal`; ``invalid_frame`` for a range that cannot be reported,
  `desktop.domain.floor_figures.report_range_problem`, or a zone that is not one;
  ``storage_unavailable`` when the log cannot be read). One report at a time per connection:
  a second one meanwhile is refused (``rate_limited``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from desktop.domain.floor_figures import report_range_problem
from desktop.domain.roles import is_position, may_watch_floor, refusal
from desktop.protocol.codec import encode
from desktop.protocol.errors import ErrorCode
from desktop.protocol.messages import (
    ActivityBody,
    Error,
    ErrorInfo,
    Report,
    ReportBody,
    ReportRequestBody,
    Role,
)
from server.connection import Connection, Hub
from server.presence import DEFAULT_PRESENCE_INTERVAL, PresenceBoard
from server.report import report_dict, shift_report
from server.store.base import Store, StoreError

__all__ = ["Supervision"]

log = logging.getLogger(__name__)


def _watches(conn: Connection) -> bool:
    return may_watch_floor(conn.role)


def position_key(conn: Connection) -> str:
    """The key of ``conn``'s position: its workstation's client id (or the connection's own,
    for a client that gave none)."""
    return conn.client_id or f"connection-{id(conn)}"


def _report_figures(store: Store, request: ReportRequestBody) -> msgspec.Raw:
    """The report ``request`` asks for, made from ``store``'s log, in its JSON form, encoded:
    everything a report takes, for a worker thread (the store's errors pass through)."""
    report = shift_report(store, request.start, request.end)
    return msgspec.Raw(msgspec.json.encode(report_dict(report, ZoneInfo(request.tz))))


class Supervision:
    """The presence board and the shift-report requests of one server (module docstring)."""

    def __init__(
        self,
        store: Store,
        hub: Hub,
        *,
        interval: float = DEFAULT_PRESENCE_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.presence = PresenceBoard(
            lambda frames: hub.broadcast(frames, only=_watches), interval=interval, clock=clock
        )
        self._clock = clock
        self._reporting: set[Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        await self.presence.run()

    def welcomed(self, conn: Connection, role: Role, now: float) -> None:
        """``conn`` is signed in (its resync is queued): join the floor, and catch a watcher up."""
        if is_position(role):
            key = position_key(conn)
            self.presence.join(conn, key, conn.user, role, conn.workstation, now)
        if may_watch_floor(role):
            conn.send_many(self.presence.catch_up_frames())

    def left(self, conn: Connection) -> None:
        """``conn``'s connection ended."""
        if is_position(conn.role):
            self.presence.leave(conn, position_key(conn))

    def activity(self, conn: Connection, activity: ActivityBody) -> None:
        """Keep ``conn``'s activity, or answer why not."""
        if not is_position(conn.role):
            self._error(conn, ErrorCode.FORBIDDEN, refusal(conn.role, "activity"))
            return
        problem = self.presence.report(conn, position_key(conn), activity)
        if problem is not None:
            self._error(conn, ErrorCode.INVALID_FRAME, f"activity refused: {problem}")

    def report_requested(
        self, conn: Connection, request_id: str | None, request: ReportRequestBody
    ) -> None:
        """Answer ``request`` (module docstring); the report is made in the background."""
        problem = self._report_problem(conn, request)
        if problem is not None:
            code, message = problem
            self._answer(conn, request_id, ReportBody(error=ErrorInfo(code=code, message=message)))
            return
        self._reporting.add(conn)
        task = asyncio.create_task(self._report(conn, request_id, request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _report_problem(
        self, conn: Connection, request: ReportRequestBody
    ) -> tuple[ErrorCode, str] | None:
        if not may_watch_floor(conn.role):
            return ErrorCode.FORBIDDEN, refusal(conn.role, "report")
        if conn in self._reporting:
            return ErrorCode.RATE_LIMITED, "a report is already being made for this position"
        range_problem = report_range_problem(request.start, request.end)
        if range_problem is not None:
            return ErrorCode.INVALID_FRAME, range_problem
        try:
            ZoneInfo(request.tz)
        except (ZoneInfoNotFoundError, ValueError):
            return ErrorCode.INVALID_FRAME, f"unknown time zone {request.tz[:60]!r}"
        return None

    async def _report(
        self, conn: Connection, request_id: str | None, request: ReportRequestBody
    ) -> None:
        try:
            figures = await asyncio.to_thread(_report_figures, self.store, request)
            body = ReportBody(figures=figures)
        except StoreError as exc:
            log.warning("%r: shift report failed: %s", conn, exc)
            error = ErrorInfo(code=ErrorCode.STORAGE_UNAVAILABLE, message="storage unavailable")
            body = ReportBody(error=error)
        except Exception:
            log.exception("%r: shift report failed", conn)
            body = ReportBody(error=ErrorInfo(code=ErrorCode.INTERNAL, message="internal error"))
        finally:
            self._reporting.discard(conn)
        self._answer(conn, request_id, body)

    def _answer(self, conn: Connection, request_id: str | None, body: ReportBody) -> None:
        if conn.alive:
            conn.send(encode(Report(body=body, id=request_id, ts=self._clock())))

    def _error(self, conn: Connection, code: ErrorCode, message: str) -> None:
        conn.send(encode(Error(body=ErrorInfo(code=code, message=message), ts=self._clock())))
