"""The durable outbox: enqueue, ack, reject, recover, retry/discard, disk full, corrupt file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desktop.localdb import LocalDatabase, LocalStorageError
from desktop.outbox import Outbox


@pytest.fixture
def db(tmp_path: Path) -> LocalDatabase:
    return LocalDatabase(tmp_path / "ws.sqlite")


def test_pragmas_are_wal_and_full(db: LocalDatabase) -> None:
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_enqueue_orders_by_client_seq_and_survives_reopen(tmp_path: Path) -> None:
    db = LocalDatabase(tmp_path / "ws.sqlite")
    outbox = Outbox(db)
    keys = [outbox.enqueue("incident.add_note", b'{"n":%d}' % i, float(i)).key for i in range(5)]
    db.conn.close()  # no checkpoint, as after a crash
    reopened = Outbox(LocalDatabase(tmp_path / "ws.sqlite"))
    assert [e.key for e in reopened.entries()] == keys
    seqs = [e.client_seq for e in reopened.entries()]
    assert seqs == sorted(seqs)


def test_ack_and_reject_remove_from_queue(db: LocalDatabase) -> None:
    outbox = Outbox(db)
    a = outbox.enqueue("k", b"{}", 1.0)
    b = outbox.enqueue("k", b"{}", 2.0)
    assert outbox.ack(a.key) == a
    rejection = outbox.reject(b.key, "unit_unavailable", "E12 is DP", 3.0)
    assert rejection is not None and rejection.code == "unit_unavailable"
    assert len(outbox) == 0
    assert [r.entry.key for r in outbox.needs_attention()] == [b.key]
    assert outbox.ack("unknown") is None


def test_in_flight_rows_are_recovered_as_queued(tmp_path: Path) -> None:
    db = LocalDatabase(tmp_path / "ws.sqlite")
    outbox = Outbox(db)
    entry = outbox.enqueue("k", b"{}", 1.0)
    outbox.mark_sent([entry.key])
    db.conn.close()
    recovered = Outbox(LocalDatabase(tmp_path / "ws.sqlite"))
    assert recovered.recovered == 1
    assert [e.key for e in recovered.entries()] == [entry.key]


def test_client_seq_is_never_reused(db: LocalDatabase) -> None:
    outbox = Outbox(db)
    first = outbox.enqueue("k", b"{}", 1.0)
    outbox.ack(first.key)
    second = outbox.enqueue("k", b"{}", 2.0)
    assert second.client_seq > first.client_seq


def test_retry_uses_a_new_key_and_discard_is_journaled(db: LocalDatabase) -> None:
    outbox = Outbox(db)
    a = outbox.enqueue("k", b'{"x":1}', 1.0)
    b = outbox.enqueue("k", b'{"x":2}', 1.0)
    outbox.reject(a.key, "unit_unavailable", "busy", 2.0)
    outbox.reject(b.key, "incident_closed", "closed", 2.0)
    again = outbox.retry(a.key, 3.0, b'{"x":3}')
    assert again.key != a.key and again.args == b'{"x":3}'
    outbox.discard(b.key, 4.0, "duplicate")
    assert outbox.needs_attention() == []
    actions = [(key, action) for _, key, action, _ in outbox.journal()]
    assert actions == [(a.key, "retry"), (b.key, "discard")]
    assert '"x":2' in outbox.journal()[1][3]
    with pytest.raises(KeyError):
        outbox.discard("nope", 5.0)


def test_disk_full_raises_and_queues_nothing(db: LocalDatabase) -> None:
    outbox = Outbox(db)
    outbox.enqueue("k", b"{}", 1.0)
    db.set_max_page_count(db.page_count())
    with pytest.raises(LocalStorageError, match="full"):
        for i in range(10_000):
            outbox.enqueue("k", b"x" * 2000, float(i))
    count_in_memory = len(outbox)
    count_on_disk = db.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    assert count_in_memory == count_on_disk


def test_corrupt_file_is_kept_aside_not_deleted(tmp_path: Path) -> None:
    path = tmp_path / "ws.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    db = LocalDatabase(path)
    assert db.recovered_from is not None
    assert db.recovered_from.read_bytes().startswith(b"this is not a database")
    Outbox(db).enqueue("k", b"{}", 1.0)  # the fresh database works
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 1


def test_a_rolled_back_transaction_leaves_the_outbox_in_memory_as_on_disk(
    db: LocalDatabase,
) -> None:
    """The in-memory mirror changes only when the disk did (after the commit)."""
    outbox = Outbox(db)
    kept = outbox.enqueue("unit.add", b"{}", 1.0)
    with pytest.raises(RuntimeError), db.transaction():
        outbox.enqueue_many([("unit.add", b"{}"), ("unit.add", b"{}")], 2.0)
        outbox.ack(kept.key)
        raise RuntimeError("the flush failed half-way")
    assert [e.key for e in outbox.entries()] == [kept.key]
    assert [e.key for e in Outbox(db).entries()] == [kept.key]
    with db.transaction():
        outbox.ack(kept.key)
        assert kept.key in outbox  # until the commit
    assert len(outbox) == 0


def test_enqueue_many_is_all_or_none_in_order(db: LocalDatabase) -> None:
    outbox = Outbox(db)
    entries = outbox.enqueue_many([("a.b", b"1"), ("c.d", b"2")], 5.0)
    assert [e.kind for e in outbox.entries()] == ["a.b", "c.d"] == [e.kind for e in entries]
    assert entries[0].client_seq < entries[1].client_seq
    db.conn.execute(
        "CREATE TRIGGER full BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    with pytest.raises(LocalStorageError):
        outbox.enqueue_many([("e.f", b"3"), ("g.h", b"4")], 6.0)
    assert len(outbox) == 2 and len(Outbox(db)) == 2
