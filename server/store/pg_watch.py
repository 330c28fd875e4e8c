"""`CommitWatcher`: a thread that LISTENs for the commits of every server sharing a PostgreSQL
database and tells its owner (`server.store.postgres.PostgresStore.watch_commits`).

Each commit with events sends ``NOTIFY <channel>, '<newest seq>'`` in its transaction, so the
notification is delivered when, and only if, it commits. The watcher holds a connection of its
own in autocommit, ``LISTEN``s and calls ``on_commit(seq)`` for each notification. When the
connection breaks (the database restarted, the network dropped) it opens a new one, backing off
from ``RETRY_MIN_S`` to ``RETRY_MAX_S``; once listening again it calls ``on_commit(0)``:
notifications sent meanwhile are lost, so the owner catches up from the log. ``on_commit``
runs on the watcher's thread and must not block; an exception from it is logged and the watch
goes on. `CommitWatcher.stop` ends the thread within about ``POLL_S``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from server.store.base import CommitWatch

__all__ = ["CommitWatcher", "commit_channel"]

log = logging.getLogger(__name__)

POLL_S = 0.5  # how often the thread looks whether it was stopped
RETRY_MIN_S, RETRY_MAX_S = 0.2, 5.0


def commit_channel(schema: str) -> str:
    """The NOTIFY channel of the store in ``schema`` (one per schema: several centres' or
    tests' schemas in one database do not wake each other)."""
    return f"dispatch_commits:{schema}"[:63]


class CommitWatcher:
    """Listens on ``channel`` with connections opened by ``connect``; see the module docstring."""

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[TupleRow]],
        channel: str,
        on_commit: CommitWatch,
        where: str,
    ) -> None:
        self._connect = connect
        self._channel = channel
        self._on_commit = on_commit
        self._where = where
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="commit-watch", daemon=True)
        self.listening = threading.Event()  # set while LISTEN is in effect (tests, health)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop listening (idempotent); returns once the thread has ended (or after 2 s)."""
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        delay = RETRY_MIN_S
        while not self._stopped.is_set():
            try:
                self._listen()
                delay = RETRY_MIN_S
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning(
                    "commit watch on %s lost (%s); retrying in %.1f s", self._where, exc, delay
                )
                self._stopped.wait(delay)
                delay = min(delay * 2, RETRY_MAX_S)

    def _listen(self) -> None:
        with contextlib.closing(self._connect()) as conn:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            self.listening.set()
            self._tell(0)  # whatever was committed before LISTEN took effect
            while not self._stopped.is_set():
                for note in conn.notifies(timeout=POLL_S):
                    self._tell(int(note.payload) if note.payload.isdigit() else 0)
                    if self._stopped.is_set():
                        break
        self.listening.clear()

    def _tell(self, seq: int) -> None:
        try:
            self._on_commit(seq)
        except Exception:
            log.exception("the commit watch's callback failed on seq %d", seq)
