"""The stores (SQLite and PostgreSQL, each test run on both): gap-free seqs, idempotency, users,
tokens, schema versions, open errors; SQLite's pragmas and disk full; PostgreSQL's several
instances on one database. The PostgreSQL runs need ``DISPATCH_TEST_POSTGRES``
(tests/support/postgres.py)."""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pytest
from srvkit import add_users

from desktop.protocol.messages import ErrorInfo, PositionFix, ResultBody
from server.store import Store, open_store
from server.store.base import (
    Batch,
    NewEvent,
    NewResult,
    StorageUnavailable,
    StoreOpenError,
    TokenRecord,
    UserExists,
)
from server.store.sqlite import SqliteStore
from tests.support.postgres import (
    base_dsn,
    fresh_schema,
    postgres_dsn_fixture,  # noqa: F401 (the fixture postgres_dsn)
)

#: Opens the test's database (the same one each call): a new `Store` over it.
Opener = Callable[[], Store]


def _events(n: int, key: str | None = None, size: int = 10) -> list[NewEvent]:
    return [NewEvent("unit.updated", b'{"x":"' + b"a" * size + b'"}', 1.0, "ann", key)] * n


@pytest.fixture(params=["sqlite", "postgres"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The test's database: a SQLite path, or the DSN of a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield str(tmp_path / "server.sqlite")
        return
    with fresh_schema(base_dsn()) as dsn:
        yield dsn


@pytest.fixture
def opener(where: str) -> Iterator[Opener]:
    """Opens `where` as `open_store` does; every store it opened is closed afterwards."""
    opened: list[Store] = []

    def open_() -> Store:
        opened.append(open_store(where))
        return opened[-1]

    yield open_
    for db in opened:
        db.close()


@pytest.fixture
def store(opener: Opener) -> Store:
    """A fresh database of each kind holding the test users (srvkit.USERS)."""
    db = opener()
    add_users(db)
    return db


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "server.sqlite") as db:
        yield db


def _raw_execute(where: str, statement: str) -> None:
    """Run ``statement`` on the database behind the store's back (and commit it)."""
    if where.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(where, autocommit=True) as conn:
            conn.execute(statement)
        return
    conn = sqlite3.connect(where)
    try:
        conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


# --- both stores ---------------------------------------------------------------------------


def test_seqs_are_gap_free_across_batches_and_restarts(opener: Opener) -> None:
    db = opener()
    assert db.server_seq() == 0
    assert db.commit_batch(Batch(_events(3))) == [1, 2, 3]
    assert db.commit_batch(Batch()) == []
    assert db.commit_batch(Batch(_events(2))) == [4, 5]
    db.close()
    db = opener()
    assert db.server_seq() == 5
    assert db.commit_batch(Batch(_events(1))) == [6]
    seqs = [e.seq for e in db.events_after(0, 100)]
    assert seqs == [1, 2, 3, 4, 5, 6]
    assert [e.seq for e in db.events_after(2, 2)] == [3, 4]
    assert db.events_after(6, 10) == []


def test_concurrent_batches_from_threads_stay_gap_free(store: Store) -> None:
    def work() -> None:
        for _ in range(20):
            store.commit_batch(Batch(_events(3)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [e.seq for e in store.events_after(0, 1000)] == list(range(1, 241))


def test_event_fields_round_trip(store: Store) -> None:
    store.commit_batch(
        Batch(
            [
                NewEvent("unit.added", b'{"a":1}', 12.5, "bob", "k1"),
                NewEvent("unit.added", b"\x00\xff", 13.25, "ann", None, acted_at=11.75),
            ]
        )
    )
    first, second = store.events_after(0, 10)
    assert (first.seq, first.kind, first.data, first.at, first.actor, first.key) == (
        1,
        "unit.added",
        b'{"a":1}',
        12.5,
        "bob",
        "k1",
    )
    assert first.acted_at is None
    assert (second.data, second.key, second.acted_at, second.action_time) == (
        b"\x00\xff",
        None,
        11.75,
        11.75,
    )


def test_event_log_is_append_only(store: Store, where: str) -> None:
    store.commit_batch(Batch(_events(1)))
    with pytest.raises(Exception, match="append-only"):
        _raw_execute(where, "UPDATE events SET kind = 'x'")
    with pytest.raises(Exception, match="append-only"):
        _raw_execute(where, "DELETE FROM events")
    assert store.server_seq() == 1


def test_idempotency_results_get_the_assigned_seqs(store: Store) -> None:
    store.commit_batch(Batch(_events(2)))
    batch = Batch(
        _events(3, key="k-ok"),
        [
            NewResult("k-ok", "ann", True, 1.0, (1, 2)),
            NewResult("k-bad", "bob", False, 1.0, (), ErrorInfo(code="not_found", message="no")),
        ],
        {"incident_counter:2611": "7"},
    )
    assert store.commit_batch(batch) == [3, 4, 5]
    found = store.lookup_result("k-ok")
    assert found is not None
    user, blob = found
    assert user == "ann"
    assert msgspec.json.decode(blob, type=ResultBody) == ResultBody(
        key="k-ok", ok=True, events=[4, 5]
    )
    found = store.lookup_result("k-bad")
    assert found is not None
    body = msgspec.json.decode(found[1], type=ResultBody)
    assert not body.ok and body.error == ErrorInfo(code="not_found", message="no")
    assert store.lookup_result("nope") is None
    assert store.get_meta("incident_counter:2611") == "7"
    store.commit_batch(Batch(meta={"incident_counter:2611": "8"}))
    assert store.get_meta("incident_counter:2611") == "8"


def test_duplicate_key_in_a_batch_rolls_back_everything(store: Store) -> None:
    store.commit_batch(Batch(results=[NewResult("k", "ann", True, 1.0)]))
    with pytest.raises(StorageUnavailable):
        store.commit_batch(Batch(_events(2), [NewResult("k", "ann", True, 1.0)], {"m": "1"}))
    assert store.server_seq() == 0
    assert store.get_meta("m") is None
    # The seqs of the refused batch were not used up: the next batch starts at 1.
    assert store.commit_batch(Batch(_events(1))) == [1]


def test_users(store: Store) -> None:
    assert [u.name for u in store.list_users()] == ["ann", "bob", "carl", "root", "sam"]
    with pytest.raises(UserExists):
        store.add_user("ann", "admin", "x", 1.0)
    store.add_user("zed", "calltaker", "hash1", 5.0)
    zed = store.get_user("zed")
    assert zed is not None
    assert (zed.role, zed.password_hash, zed.created_at, zed.disabled) == (
        "calltaker",
        "hash1",
        5.0,
        False,
    )
    assert store.set_password("zed", "hash2")
    assert not store.set_password("nobody", "hash2")
    assert store.set_disabled("zed", True)
    assert not store.set_disabled("nobody", True)
    zed = store.get_user("zed")
    assert zed is not None and zed.password_hash == "hash2" and zed.disabled
    assert store.get_user("nobody") is None


def test_tokens(store: Store) -> None:
    store.insert_token(TokenRecord("h1", "ann", "session", 100.0, 1.0))
    store.insert_token(TokenRecord("h2", "ann", "refresh", 1000.0, 1.0))
    assert store.lookup_token("h1") == TokenRecord("h1", "ann", "session", 100.0, 1.0)
    assert store.lookup_token("h2") == TokenRecord("h2", "ann", "refresh", 1000.0, 1.0)
    assert store.purge_expired_tokens(500.0) == 1
    assert store.lookup_token("h1") is None
    assert store.lookup_token("h2") is not None
    store.delete_token("h2")
    assert store.lookup_token("h2") is None


def test_contacts_keep_the_latest_time(store: Store) -> None:
    assert store.last_contact("ws-1") is None
    store.record_contact("ws-1", 10.0)
    store.record_contact("ws-1", 5.0)  # earlier: does not replace
    assert store.last_contact("ws-1") == 10.0
    store.record_contact("ws-1", 12.5)
    assert store.last_contact("ws-1") == 12.5


def test_positions_keep_the_newest_fix(store: Store) -> None:
    store.save_positions(
        [PositionFix("E1", 37.7, -122.4, 10.0, 5.0, 90.0), PositionFix("M2", 37.8, -122.5, 10.0)]
    )
    store.save_positions(
        [PositionFix("E1", 1.0, 1.0, 9.0), PositionFix("M2", 37.9, -122.6, 11.0, 1.5, None)]
    )
    assert sorted(store.load_positions(), key=lambda f: f.unit_id) == [
        PositionFix("E1", 37.7, -122.4, 10.0, 5.0, 90.0),
        PositionFix("M2", 37.9, -122.6, 11.0, 1.5, None),
    ]


def test_server_id_is_stable(opener: Opener) -> None:
    first = opener().server_id()
    assert opener().server_id() == first != ""


def test_close_is_idempotent_and_later_calls_fail(opener: Opener) -> None:
    db = opener()
    db.commit_batch(Batch(_events(2)))
    db.close()
    db.close()
    with pytest.raises(StorageUnavailable):
        db.server_seq()
    with pytest.raises(StorageUnavailable):
        db.commit_batch(Batch(_events(1)))
    assert opener().server_seq() == 2


def test_newer_schema_is_refused(opener: Opener, where: str) -> None:
    opener().close()
    _raw_execute(where, "UPDATE meta SET v = '99' WHERE k = 'schema_version'")
    with pytest.raises(StoreOpenError, match="newer"):
        opener()


# --- SQLite only -----------------------------------------------------------------------------


def test_pragmas_wal_full_busy_timeout(sqlite_store: SqliteStore) -> None:
    assert sqlite_store.pragma("journal_mode") == "wal"
    assert sqlite_store.pragma("synchronous") == "2"  # FULL
    assert int(sqlite_store.pragma("busy_timeout")) >= 1000
    with pytest.raises(ValueError):
        sqlite_store.pragma("journal_mode; DROP TABLE events")


def test_disk_full_rolls_back_and_raises_storage_unavailable(sqlite_store: SqliteStore) -> None:
    store = sqlite_store
    store.commit_batch(Batch(_events(1)))
    store.set_max_page_count(store.page_count())  # no room to grow: the disk is "full"
    big = Batch(
        _events(50, size=2000),
        [NewResult("k-full", "ann", True, 1.0, (0,))],
        {"incident_counter:2611": "3"},
    )
    with pytest.raises(StorageUnavailable, match="full"):
        store.commit_batch(big)
    assert store.server_seq() == 1
    assert store.lookup_result("k-full") is None
    assert store.get_meta("incident_counter:2611") is None
    # Space again: the same batch commits, seqs continue without a gap.
    store.set_max_page_count(None)
    assert store.commit_batch(big) == list(range(2, 52))
    assert store.lookup_result("k-full") is not None


def test_close_checkpoints_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    db = SqliteStore(path)
    db.commit_batch(Batch(_events(20)))
    db.close()
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def test_open_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(StoreOpenError, match="cannot open"):
        SqliteStore(tmp_path / "missing-dir" / "x.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreOpenError):
        SqliteStore(junk)
    with pytest.raises(StoreOpenError):
        SqliteStore(tmp_path)


def test_open_store_takes_a_path_for_anything_but_a_dsn(tmp_path: Path) -> None:
    db = open_store(tmp_path / "a.sqlite")
    assert isinstance(db, SqliteStore)
    db.close()
    db = open_store(str(tmp_path / "postgresql.sqlite"))
    assert isinstance(db, SqliteStore)
    db.close()


# --- PostgreSQL only -------------------------------------------------------------------------


def test_open_store_without_psycopg_says_to_install_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "server.store.postgres", raising=False)
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg -> ImportError
    with pytest.raises(StoreOpenError, match=r"install the \[postgres\] extra"):
        open_store("postgresql://postgres@127.0.0.1:1/test")


def test_postgres_open_error_names_the_host_not_the_password() -> None:
    pytest.importorskip("psycopg")
    started = time.monotonic()
    with pytest.raises(StoreOpenError, match=r"127\.0\.0\.1:1/test") as raised:
        open_store("postgresql://postgres:s3cret-pw@127.0.0.1:1/test?connect_timeout=2")
    assert time.monotonic() - started < 5
    assert "s3cret-pw" not in str(raised.value)
    with pytest.raises(StoreOpenError, match="not a valid") as raised:
        open_store("postgresql://postgres:s3cr%zzet@127.0.0.1:1/test")
    assert "s3cr" not in str(raised.value)


def test_postgres_missing_schema_is_a_clear_open_error(postgres_dsn: str) -> None:
    dsn = postgres_dsn.replace("search_path%3Dt_", "search_path%3Dnone_")
    with pytest.raises(StoreOpenError, match="no schema"):
        open_store(dsn)


def test_postgres_instances_opening_a_new_database_at_once(postgres_dsn: str) -> None:
    opened: list[Store] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            opened.append(open_store(postgres_dsn))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert len({db.server_id() for db in opened}) == 1
    finally:
        for db in opened:
            db.close()


def test_postgres_seqs_gap_free_across_instances_committing_at_once(postgres_dsn: str) -> None:
    """Two stores (two server instances) on one database: their batches interleave, and the
    log still is 1..N with each batch's seqs consecutive."""
    stores = [open_store(postgres_dsn), open_store(postgres_dsn)]
    got: list[list[int]] = []
    lock = threading.Lock()

    def work(db: Store, size: int) -> None:
        for _ in range(25):
            seqs = db.commit_batch(Batch(_events(size)))
            with lock:
                got.append(seqs)

    threads = [threading.Thread(target=work, args=(db, size)) for db in stores for size in (1, 3)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total = 2 * 25 * (1 + 3)
        for db in stores:
            assert db.server_seq() == total
            assert [e.seq for e in db.events_after(0, 1000)] == list(range(1, total + 1))
        assert sorted(seq for seqs in got for seq in seqs) == list(range(1, total + 1))
        assert all(seqs == list(range(seqs[0], seqs[0] + len(seqs))) for seqs in got)
    finally:
        for db in stores:
            db.close()


def test_postgres_write_failure_rolls_back_and_the_store_reconnects(postgres_dsn: str) -> None:
    import psycopg

    db = open_store(postgres_dsn)
    try:
        db.commit_batch(Batch(_events(1)))
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:  # the server "restarts"
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'dispatch-server' AND pid <> pg_backend_pid()"
                " AND datname = current_database()"
            )
        with pytest.raises(StorageUnavailable):
            db.commit_batch(Batch(_events(2), [NewResult("k-lost", "ann", True, 1.0, (0,))]))
        assert db.commit_batch(Batch(_events(1))) == [2]  # no gap: the failed batch left none
        assert db.lookup_result("k-lost") is None
        assert db.server_seq() == 2
    finally:
        db.close()
