"""The audit trail (CJIS-style): every command result, sign-in attempt and sign-out.

Each `AuditRecord` (`server.store.base`: the one home of its fields) goes two ways:

* a log line on the ``dispatch.audit`` logger, at once: ``command`` (or ``login``,
  ``logout``) then ``key=value`` pairs with values JSON-quoted, so they parse unambiguously
  whatever a client put in a workstation name. Route the logger to a file or syslog
  (``dispatch-server serve --audit-log FILE``);
* a row of the store's append-only ``audit`` table, which ``dispatch-server audit`` queries.

The write path (`AuditTrail`): `AuditTrail.record` only clips the record's strings, logs it and
appends it to an in-memory list (a lock held for an append), so it never stalls the event loop
or the command processor's commit thread. A writer thread of its own takes what has gathered
every ``interval`` seconds (0.2 s by default) and writes it with ONE `Store.append_audit`
(one transaction, one fsync on SQLite) — not in the commit's transaction, so a command's commit
never waits for its audit row, and a sign-in (which commits nothing) is recorded the same way.
While the store fails, the records stay pending and the writer retries every ``retry`` seconds;
beyond ``max_pending`` records, new ones are dropped from the database (their log lines remain)
and counted in ``dropped``. `AuditTrail.close` writes what is pending (waiting at most its
timeout) and stops the writer.

What a crash can lose: the records of the last ``interval`` seconds (those not yet written;
everything pending while the store was failing); the log lines go through the logging
configuration's own buffering. A command's result reaches its workstation before its audit
row is durable.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time

from server.store.base import AuditRecord, StorageUnavailable, Store

__all__ = ["LOGIN", "LOGOUT", "AuditTrail", "audit_line", "audit_logger"]

audit_logger = logging.getLogger("dispatch.audit")
log = logging.getLogger(__name__)

#: The ``kind`` of a sign-in attempt's record (successful or not).
LOGIN = "login"
#: The ``kind`` of a sign-out's record (the ``logout`` frame).
LOGOUT = "logout"

#: Most characters kept of each text field (clients choose some of them).
_LIMITS = {
    "user": 100,
    "workstation": 200,
    "peer": 100,
    "role": 50,
    "kind": 100,
    "key": 100,
    "outcome": 100,
    "detail": 1000,
}
_LINE_FIELDS = tuple(f.name for f in dataclasses.fields(AuditRecord) if f.name != "id")


def _clipped(record: AuditRecord) -> AuditRecord:
    changes = {
        name: value[:limit]
        for name, limit in _LIMITS.items()
        if len(value := getattr(record, name)) > limit
    }
    return dataclasses.replace(record, **changes) if changes else record


def audit_line(record: AuditRecord) -> str:
    """The log line of ``record``: ``command`` (``login``, ``logout``) and its fields."""
    category = record.kind if record.kind in (LOGIN, LOGOUT) else "command"
    values = {name: getattr(record, name) for name in _LINE_FIELDS}
    values["at"] = round(record.at, 3)
    fields = " ".join(f"{name}={json.dumps(value)}" for name, value in values.items())
    return f"{category} {fields}"


class AuditTrail:
    """Logs and stores audit records (module docstring). ``store`` None: log lines only.

    `record` may be called from any thread, before `start` too (records wait for it);
    `start` once, `close` once at the end (then `record` only logs).
    """

    def __init__(
        self,
        store: Store | None,
        *,
        interval: float = 0.2,
        retry: float = 1.0,
        max_pending: int = 100_000,
        max_batch: int = 5000,
    ) -> None:
        self.store = store
        self.interval = interval
        self.retry = retry
        self.max_pending = max_pending
        self.max_batch = max_batch
        #: Records written to the store, and records dropped (pending list full, or still
        #: pending when `close` gave up).
        self.written = 0
        self.dropped = 0
        self._pending: list[AuditRecord] = []
        self._accepted = 0  # records taken into the pending list, ever
        self._settled = 0  # of those, written or dropped
        self._cond = threading.Condition()
        self._hurry = 0  # flushes waiting: write without lingering
        self._closing = False
        self._deadline = 0.0  # when closing: give up writing after this (time.monotonic)
        self._failing = False
        self._thread: threading.Thread | None = None

    # --- recording (any thread, never blocks on the store) -------------------------------

    def record(self, record: AuditRecord) -> None:
        """Log ``record`` and queue it for the store."""
        record = _clipped(record)
        if audit_logger.isEnabledFor(logging.INFO):
            audit_logger.info("%s", audit_line(record))
        if self.store is None:
            return
        with self._cond:
            if self._closing and self._thread is None:
                return  # closed: the log line is all there is
            if len(self._pending) >= self.max_pending:
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 10_000 == 0:
                    log.error("audit trail: %d records not stored (store failing)", self.dropped)
                return
            self._pending.append(record)
            self._accepted += 1
            self._cond.notify_all()

    @property
    def pending(self) -> int:
        """Records recorded but not yet written."""
        with self._cond:
            return len(self._pending)

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread (no effect without a store, or when started); after
        `close`, start again (a server stopped and started)."""
        if self.store is None or self._thread is not None:
            return
        with self._cond:
            self._closing = False
        self._thread = threading.Thread(target=self._write_loop, name="audit", daemon=True)
        self._thread.start()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every record recorded so far is written (or dropped); False on timeout.
        Blocks: call it from a worker thread (``asyncio.to_thread``) in a coroutine."""
        with self._cond:
            target = self._accepted
            self._hurry += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: self._settled >= target, timeout)
            finally:
                self._hurry -= 1

    def close(self, timeout: float = 5.0) -> None:
        """Write what is pending (trying for at most ``timeout`` s), then stop the writer.
        Records still pending then are dropped and logged as an error. Blocks."""
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._deadline = time.monotonic() + timeout
            self._cond.notify_all()
        thread = self._thread
        if thread is not None:
            thread.join(timeout + 1.0)
        with self._cond:
            self._thread = None

    # --- the writer thread -----------------------------------------------------------------

    def _write_loop(self) -> None:
        assert self.store is not None
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending) or self._closing)
                if not self._closing and not self._hurry:  # let a batch gather
                    self._cond.wait_for(lambda: self._closing or self._hurry > 0, self.interval)
                if not self._pending:
                    return  # closing, and all written
                batch = self._pending[: self.max_batch]
            try:
                self.store.append_audit(batch)
            except StorageUnavailable as exc:
                if self._give_up(exc):
                    return
                continue
            except Exception:
                log.exception("audit trail: writing %d records failed", len(batch))
                if self._give_up(None):
                    return
                continue
            with self._cond:
                del self._pending[: len(batch)]
                self.written += len(batch)
                self._settled += len(batch)
                self._cond.notify_all()
            if self._failing:
                self._failing = False
                log.warning("audit trail: the store takes records again")

    def _give_up(self, error: StorageUnavailable | None) -> bool:
        """After a failed write: wait ``retry`` s (True: closing and out of time, the pending
        records are dropped)."""
        if error is not None and not self._failing:
            log.error("audit trail: records not written, retrying: %s", error)
        self._failing = True
        with self._cond:
            if self._closing:
                left = self._deadline - time.monotonic()
                if left <= 0:
                    lost = len(self._pending)
                    self.dropped += lost
                    self._settled += lost
                    self._pending.clear()
                    self._cond.notify_all()
                    log.error("audit trail: %d records lost at shutdown (store failing)", lost)
                    return True
                self._cond.wait_for(lambda: False, min(self.retry, left))
            else:  # new records do not hurry a retry; closing does
                self._cond.wait_for(lambda: self._closing, self.retry)
        return False
