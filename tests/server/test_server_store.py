"""SqliteStore: pragmas, gap-free seqs, idempotency, users, tokens, disk full, open errors."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import msgspec
import pytest

from desktop.protocol.messages import ErrorInfo, ResultBody
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


def _events(n: int, key: str | None = None, size: int = 10) -> list[NewEvent]:
    return [NewEvent("unit.updated", b'{"x":"' + b"a" * size + b'"}', 1.0, "ann", key)] * n


def test_pragmas_wal_full_busy_timeout(store: SqliteStore) -> None:
    assert store.pragma("journal_mode") == "wal"
    assert store.pragma("synchronous") == "2"  # FULL
    assert int(store.pragma("busy_timeout")) >= 1000
    with pytest.raises(ValueError):
        store.pragma("journal_mode; DROP TABLE events")


def test_seqs_are_gap_free_across_batches_and_restarts(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    with SqliteStore(path) as db:
        assert db.server_seq() == 0
        assert db.commit_batch(Batch(_events(3))) == [1, 2, 3]
        assert db.commit_batch(Batch()) == []
        assert db.commit_batch(Batch(_events(2))) == [4, 5]
    with SqliteStore(path) as db:
        assert db.server_seq() == 5
        assert db.commit_batch(Batch(_events(1))) == [6]
        seqs = [e.seq for e in db.events_after(0, 100)]
        assert seqs == [1, 2, 3, 4, 5, 6]
        assert [e.seq for e in db.events_after(2, 2)] == [3, 4]
        assert db.events_after(6, 10) == []


def test_concurrent_batches_from_threads_stay_gap_free(store: SqliteStore) -> None:
    def work() -> None:
        for _ in range(20):
            store.commit_batch(Batch(_events(3)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [e.seq for e in store.events_after(0, 1000)] == list(range(1, 241))


def test_event_fields_round_trip(store: SqliteStore) -> None:
    store.commit_batch(Batch([NewEvent("unit.added", b'{"a":1}', 12.5, "bob", "k1")]))
    (event,) = store.events_after(0, 10)
    assert (event.seq, event.kind, event.data, event.at, event.actor, event.key) == (
        1,
        "unit.added",
        b'{"a":1}',
        12.5,
        "bob",
        "k1",
    )


def test_event_log_is_append_only(store: SqliteStore) -> None:
    store.commit_batch(Batch(_events(1)))
    conn = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE events SET kind = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM events")
    conn.close()


def test_idempotency_results_get_the_assigned_seqs(store: SqliteStore) -> None:
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


def test_duplicate_key_in_a_batch_rolls_back_everything(store: SqliteStore) -> None:
    store.commit_batch(Batch(results=[NewResult("k", "ann", True, 1.0)]))
    with pytest.raises(StorageUnavailable):
        store.commit_batch(Batch(_events(2), [NewResult("k", "ann", True, 1.0)], {"m": "1"}))
    assert store.server_seq() == 0
    assert store.get_meta("m") is None


def test_disk_full_rolls_back_and_raises_storage_unavailable(store: SqliteStore) -> None:
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


def test_users(store: SqliteStore) -> None:
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
    zed = store.get_user("zed")
    assert zed is not None and zed.password_hash == "hash2" and zed.disabled
    assert store.get_user("nobody") is None


def test_tokens(store: SqliteStore) -> None:
    store.insert_token(TokenRecord("h1", "ann", "session", 100.0, 1.0))
    store.insert_token(TokenRecord("h2", "ann", "refresh", 1000.0, 1.0))
    assert store.lookup_token("h1") == TokenRecord("h1", "ann", "session", 100.0, 1.0)
    assert store.purge_expired_tokens(500.0) == 1
    assert store.lookup_token("h1") is None
    assert store.lookup_token("h2") is not None
    store.delete_token("h2")
    assert store.lookup_token("h2") is None


def test_server_id_is_stable(tmp_path: Path) -> None:
    path = tmp_path / "id.sqlite"
    with SqliteStore(path) as db:
        first = db.server_id()
    with SqliteStore(path) as db:
        assert db.server_id() == first != ""


def test_close_checkpoints_the_wal_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    db = SqliteStore(path)
    db.commit_batch(Batch(_events(20)))
    db.close()
    db.close()
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    with pytest.raises(StorageUnavailable):
        db.server_seq()


def test_open_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(StoreOpenError, match="cannot open"):
        SqliteStore(tmp_path / "missing-dir" / "x.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreOpenError):
        SqliteStore(junk)
    with pytest.raises(StoreOpenError):
        SqliteStore(tmp_path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    SqliteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET v = '99' WHERE k = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreOpenError, match="newer"):
        SqliteStore(path)
