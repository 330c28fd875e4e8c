"""Several server instances on one database (#17): a batch commits only on the log it was
decided on (`Batch.after_seq`, `LogMoved`), PostgreSQL tells every instance of the others'
commits (LISTEN/NOTIFY, `Store.watch_commits`), and each instance's clients get every event of
every instance, in order, exactly once, with catch-up from the log when notifications were lost.

Real servers on loopback websockets, on a real PostgreSQL schema of the test's own
(tests/support/postgres.py) and real SQLite files."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from srvkit import ServerFactory, add_users

from desktop.protocol.messages import Event
from server.app import DispatchServer, ServerConfig
from server.processor import load_world
from server.store import open_store
from server.store.base import Batch, CommitWatch, LogMoved, NewEvent, NewResult, Store
from server.store.postgres import PostgresStore
from tests.support.postgres import base_dsn, fresh_schema
from tests.support.postgres import postgres_dsn_fixture as postgres_dsn_fixture
from tests.support.rawclient import RawClient, new_key
from tests.support.waiting import wait_until


def _event(key: str | None = None) -> NewEvent:
    return NewEvent("unit.updated", b'{"x":"a"}', 1.0, "ann", key)


def _create(incident_id: str) -> dict[str, object]:
    return {
        "incident_id": incident_id,
        "type": "FIRE",
        "priority": 1,
        "location": {"address": "1 Main St"},
    }


# --- the store: a batch commits only on the log it was decided on ---------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "server.sqlite")
        return
    with fresh_schema(base_dsn()) as dsn:
        yield dsn


def test_a_batch_decided_on_an_older_log_is_refused_and_keeps_nothing(where: str) -> None:
    first, second = open_store(where), open_store(where)
    try:
        assert first.commit_batch(Batch([_event()], after_seq=0)) == [1]
        key = new_key()
        stale = Batch([_event(key)], [NewResult(key, "ann", True, 1.0, (0,))], after_seq=0)
        with pytest.raises(LogMoved):
            second.commit_batch(stale)
        assert second.server_seq() == 1 and second.lookup_result(key) is None
        assert second.commit_batch(Batch([_event(key)], stale.results, after_seq=1)) == [2]
        # the other writer kept the key first: refused as moved, not as a broken database
        again = Batch([_event(key)], [NewResult(key, "ann", True, 1.0, (0,))], after_seq=2)
        with pytest.raises(LogMoved):
            first.commit_batch(again)
        assert first.server_seq() == 2
    finally:
        first.close()
        second.close()


def test_an_embedded_database_has_no_other_writer_to_watch(tmp_path: Path) -> None:
    db = open_store(str(tmp_path / "server.sqlite"))
    try:
        assert db.watch_commits(lambda seq: None) is None
    finally:
        db.close()


# --- PostgreSQL: the commit watch -----------------------------------------------------------


class _Told:
    """A `CommitWatch` that keeps the seqs it was told, for the test thread to wait on."""

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self._changed = threading.Condition()

    def __call__(self, seq: int) -> None:
        with self._changed:
            self.seqs.append(seq)
            self._changed.notify_all()

    def wait_for(self, test: Callable[[list[int]], bool], timeout: float = 10.0) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: test(self.seqs), timeout), self.seqs


def _listeners(dsn: str) -> list[int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN %%'"
            " AND datname = current_database()"
        ).fetchall()
    return [int(row[0]) for row in rows]


def test_the_watch_tells_of_each_commit_and_catches_up_after_losing_its_connection(
    postgres_dsn: str,
) -> None:
    watching, writing = PostgresStore(postgres_dsn), PostgresStore(postgres_dsn)
    told = _Told()
    try:
        stop = watching.watch_commits(told)
        assert stop is not None
        told.wait_for(lambda seqs: seqs == [0])  # listening: "catch up with what came before"
        writing.commit_batch(Batch([_event(), _event()]))
        told.wait_for(lambda seqs: seqs[-1] == 2)
        writing.commit_batch(Batch([], meta={"x": "1"}))  # no event: nobody is woken
        for pid in _listeners(postgres_dsn):  # the database drops the watch's connection
            with psycopg.connect(postgres_dsn, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        told.wait_for(lambda seqs: seqs[-1] == 0 and len(seqs) >= 3)  # reconnected: catch up
        writing.commit_batch(Batch([_event()]))
        told.wait_for(lambda seqs: seqs[-1] == 3)
        stop()
        stop()  # harmless twice
    finally:
        watching.close()
        writing.close()


# --- two DispatchServers on one PostgreSQL database ----------------------------------------


class _DeafStore(PostgresStore):
    """A PostgreSQL store whose commit watch never calls: every notification is lost, so only
    the instance's periodic look at the log can bring the others' commits."""

    def watch_commits(self, on_commit: CommitWatch) -> Callable[[], None] | None:
        return lambda: None


@pytest.fixture
async def instances(postgres_dsn: str) -> AsyncIterator[Callable[..., object]]:
    """``await start(config=None, store_type=PostgresStore)``: a new instance on the test's
    schema, with a store of its own (as a separate process has); all stopped afterwards."""
    started: list[tuple[DispatchServer, Store]] = []
    setup = PostgresStore(postgres_dsn)
    add_users(setup)
    setup.close()

    async def start(
        config: ServerConfig | None = None, store_type: type[PostgresStore] = PostgresStore
    ) -> DispatchServer:
        db = await asyncio.to_thread(store_type, postgres_dsn)
        server = DispatchServer(db, "127.0.0.1", 0, config=config)
        await server.start()
        started.append((server, db))
        return server

    yield start
    for server, db in started:
        await server.stop()
        db.close()


def _seqs(client: RawClient) -> list[int]:
    return [f.seq for f in client.frames if isinstance(f, Event)]


async def test_an_event_committed_on_one_instance_reaches_the_clients_of_the_other(
    instances: Callable[..., object],
) -> None:
    a = await instances()  # type: ignore[misc]
    b = await instances()  # type: ignore[misc]
    ann = await RawClient.login(a.url, "ann")
    bob = await RawClient.login(b.url, "bob")
    result = await ann.command("incident.create", _create("i1"))
    assert result.ok and result.events == [1]
    [event] = await bob.events_until(1)
    assert event.body.kind == "incident.created" and event.seq == 1
    bobs = await bob.command("incident.create", _create("i2"))
    assert bobs.ok and bobs.events == [2]
    assert [e.seq for e in await ann.events_until(2)] == [1, 2]
    numbers = {a.processor.world.incidents[i].number for i in ("i1", "i2")}
    assert len(numbers) == 2 and a.processor.world.incidents == b.processor.world.incidents
    await ann.close()
    await bob.close()


async def test_commands_on_two_instances_at_once_apply_once_each_gap_free_and_in_order(
    instances: Callable[..., object], postgres_dsn: str
) -> None:
    a = await instances()  # type: ignore[misc]
    b = await instances()  # type: ignore[misc]
    watchers = [await RawClient.login(s.url, "sam") for s in (a, b)]
    senders = [await RawClient.login(s.url, name) for s, name in ((a, "ann"), (b, "bob"))]
    per_sender = 40
    keys = [
        [await c.send_command("incident.create", _create(f"{n}-{i}")) for i in range(per_sender)]
        for n, c in enumerate(senders)
    ]
    results = [
        await c.result(k, timeout=20) for c, ks in zip(senders, keys, strict=True) for k in ks
    ]
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    total = 2 * per_sender
    assert sorted(s for r in results for s in r.events) == list(range(1, total + 1))
    for watcher in watchers:  # every event once, in seq order, on either instance
        await watcher.events_until(total, timeout=20)
        assert _seqs(watcher) == list(range(1, total + 1))
    await wait_until(lambda: a.processor.seq == b.processor.seq == total)
    with PostgresStore(postgres_dsn) as db:
        world, seq = load_world(db)
    assert seq == total
    assert a.processor.world.incidents == b.processor.world.incidents == world.incidents
    numbers = sorted(i.number for i in world.incidents.values())
    assert len(set(numbers)) == total  # the counter is one for both instances
    assert [int(n.rsplit("-", 1)[1]) for n in numbers] == list(range(1, total + 1))
    for client in watchers + senders:
        await client.close()


async def test_a_command_replayed_on_the_other_instance_is_answered_from_the_first(
    instances: Callable[..., object],
) -> None:
    """A workstation that failed over sends its queue again to the other instance: the keys
    the first one kept are answered from the shared idempotency table, with no new event."""
    a = await instances()  # type: ignore[misc]
    b = await instances()  # type: ignore[misc]
    key = new_key()
    ann_a = await RawClient.login(a.url, "ann")
    first = await ann_a.command("incident.create", _create("i1"), key=key)
    refused = await ann_a.command("incident.create", _create("i1"))  # kept, without event
    await ann_a.close()
    ann_b = await RawClient.login(b.url, "ann", last_seq=1)
    again = await ann_b.command("incident.create", _create("i1"), key=key)
    assert again == first and again.events == [1]
    other = await ann_b.command("incident.create", _create("i1"), key=refused.key)
    assert other == refused and not other.ok
    bob = await RawClient.login(b.url, "bob")
    conflict = await bob.command("incident.create", _create("i9"), key=key)
    assert conflict.error is not None and conflict.error.code == "key_conflict"
    assert b.processor.seq == 1 and await asyncio.to_thread(b.store.server_seq) == 1
    await ann_b.close()
    await bob.close()


async def test_lost_notifications_are_caught_up_from_the_log(
    instances: Callable[..., object],
) -> None:
    a = await instances()  # type: ignore[misc]
    deaf = await instances(ServerConfig(follow_interval=0.2), _DeafStore)  # type: ignore[misc]
    sam = await RawClient.login(deaf.url, "sam")
    ann = await RawClient.login(a.url, "ann")
    assert (await ann.command("incident.create", _create("i1"))).ok
    began = time.monotonic()
    [event] = await sam.events_until(1)
    assert event.seq == 1 and time.monotonic() - began < 5
    # a command on the deaf instance is decided on the newest log, even before its poll
    bob = await RawClient.login(deaf.url, "bob")
    for index in range(2, 6):
        assert (await ann.command("incident.create", _create(f"i{index}"))).ok
    result = await bob.command("incident.create", _create("i1"))  # the id exists by now
    assert not result.ok and result.error is not None
    assert result.error.code == "already_exists"
    assert deaf.processor.seq == 5 and deaf.processor.redecided >= 1
    assert [e.seq for e in await sam.events_until(5)] == [1, 2, 3, 4, 5]
    for client in (sam, ann, bob):
        await client.close()


async def test_one_instance_on_sqlite_never_decides_twice(start_server: ServerFactory) -> None:
    server = await start_server()
    ann = await RawClient.login(server.url, "ann")
    for index in range(5):
        assert (await ann.command("incident.create", _create(f"i{index}"))).ok
    assert server.processor.redecided == 0 and server.processor.followed == 0
    await ann.close()


async def test_a_workstation_from_the_other_instance_gets_a_replay_not_a_snapshot(
    instances: Callable[..., object],
) -> None:
    """It holds events this instance has not read yet (its notification not yet arrived):
    the sign-in waits for the catch-up, then replays from the workstation's last_seq."""
    a = await instances()  # type: ignore[misc]
    deaf = await instances(ServerConfig(follow_interval=3600), _DeafStore)  # type: ignore[misc]
    ann = await RawClient.login(a.url, "ann")
    for index in range(3):
        assert (await ann.command("incident.create", _create(f"i{index}"))).ok
    assert deaf.processor.seq == 0
    moved = await RawClient.login(deaf.url, "ann", last_seq=3)
    assert moved.welcome is not None
    assert (moved.welcome.body.sync, moved.welcome.body.server_seq) == ("replay", 3)
    assert deaf.processor.seq == 3 and deaf.processor.followed == 3
    await ann.close()
    await moved.close()
