"""The audit trail's storage and listing: the ``audit`` table in both stores (SQLite and
PostgreSQL, each test run on both), append-only, migrated into older databases, opened
read-only; `AuditTrail`'s write path (batches, a failing store, shutdown); and ``dispatch-server
audit``. The server end to end is tests/server/test_audit_server.py. The PostgreSQL runs need
``DISPATCH_TEST_POSTGRES`` (tests/support/postgres.py)."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from server.audit import LOGIN, AuditTrail, audit_line
from server.cli import main
from server.store import Store, open_store
from server.store.base import AuditRecord, StorageUnavailable, StoreOpenError
from server.store.sqlite import SCHEMA_VERSION as SQLITE_VERSION
from tests.support.postgres import base_dsn, fresh_schema

Opener = Callable[..., Store]

#: 2024-05-01T07:00:00-07:00 (America/Los_Angeles, the CLI's default zone) = 14:00Z.
T0 = 1714572000.0


def record(at: float, user: str = "ann", kind: str = "unit.add", **more: str) -> AuditRecord:
    fields = {"workstation": f"ws-{user}", "peer": "10.0.0.4:50000", "role": "dispatcher"}
    fields.update(more)
    return AuditRecord(at=at, user=user, kind=kind, **fields)


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
    """Opens `where` as `open_store` does (``read_only`` passed on); all closed afterwards."""
    opened: list[Store] = []

    def open_(read_only: bool = False) -> Store:
        opened.append(open_store(where, read_only=read_only))
        return opened[-1]

    yield open_
    for db in opened:
        db.close()


def raw(where: str, statement: str) -> None:
    """Run ``statement`` behind the store's back (and commit it)."""
    if where.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(where, autocommit=True) as conn:
            conn.execute(statement)
        return
    conn = sqlite3.connect(where)
    try:
        conn.executescript(statement)
    finally:
        conn.close()


# --- both stores ---------------------------------------------------------------------------


def test_append_then_query_by_user_time_kind_and_limit(opener: Opener) -> None:
    db = opener()
    assert db.query_audit() == []
    db.append_audit(
        [
            record(T0 + 10, "ann"),
            record(T0, "bob", LOGIN, outcome="auth_failed", detail="wrong user name or password"),
            record(T0 + 10, "bob", "unit.status", key="k-2", outcome="invalid_transition"),
            record(T0 + 20, "ann", LOGIN, detail="by password; client c-1"),
        ]
    )
    db.append_audit([])  # nothing: no transaction, no error
    found = db.query_audit()
    assert [(r.at, r.user, r.kind) for r in found] == [
        (T0, "bob", LOGIN),
        (T0 + 10, "ann", "unit.add"),  # same time: in the order appended (id)
        (T0 + 10, "bob", "unit.status"),
        (T0 + 20, "ann", LOGIN),
    ]
    ids = [r.id for r in found]
    assert all(isinstance(i, int) for i in ids) and ids[1] is not None and ids[2] is not None
    assert ids[1] < ids[2]
    assert found[0].outcome == "auth_failed" and found[0].detail == "wrong user name or password"
    assert found[2].key == "k-2" and found[2].peer == "10.0.0.4:50000"
    assert found[2].workstation == "ws-bob" and found[2].role == "dispatcher"
    assert [r.kind for r in db.query_audit(user="ann")] == ["unit.add", LOGIN]
    assert [r.at for r in db.query_audit(since=T0 + 10, until=T0 + 20)] == [T0 + 10] * 2
    assert [r.user for r in db.query_audit(kind=LOGIN)] == ["bob", "ann"]
    assert [r.user for r in db.query_audit(user="bob", kind=LOGIN, until=T0 + 1)] == ["bob"]
    assert [r.at for r in db.query_audit(limit=2)] == [T0, T0 + 10]
    assert db.query_audit(user="nobody") == []
    db.close()
    assert len(opener().query_audit()) == 4  # durable


def test_the_audit_table_is_append_only(opener: Opener, where: str) -> None:
    db = opener()
    db.append_audit([record(T0)])
    with pytest.raises(Exception, match="append-only"):
        raw(where, "UPDATE audit SET outcome = 'ok' WHERE id > 0")
    with pytest.raises(Exception, match="append-only"):
        raw(where, "DELETE FROM audit")
    if where.startswith("postgresql://"):
        with pytest.raises(Exception, match="append-only"):
            raw(where, "TRUNCATE audit")
    assert len(db.query_audit()) == 1


def test_an_older_database_gets_the_audit_table(opener: Opener, where: str) -> None:
    """A database of the version before the audit trail (SQLite 3, PostgreSQL 1) is upgraded
    in place on open: its events are kept and the trail starts empty."""
    from server.store.base import Batch, NewEvent

    db = opener()
    db.commit_batch(Batch([NewEvent("unit.added", b"{}", 1.0, "ann", None)]))
    db.close()
    if where.startswith("postgresql://"):
        old, current = "1", "2"
        raw(where, "DROP TABLE audit")
        raw(where, "DROP FUNCTION audit_append_only()")
    else:
        old, current = "3", str(SQLITE_VERSION)
        raw(where, "DROP TABLE audit")  # its indexes and triggers go with it
    raw(where, f"UPDATE meta SET v = '{old}' WHERE k = 'schema_version'")
    with pytest.raises(StoreOpenError, match="older"):  # read-only upgrades nothing
        opener(read_only=True)
    db = opener()
    assert db.get_meta("schema_version") == current
    assert db.server_seq() == 1
    assert db.query_audit() == []
    db.append_audit([record(T0)])
    assert len(db.query_audit()) == 1
    with pytest.raises(Exception, match="append-only"):
        raw(where, "DELETE FROM audit")


def test_read_only_opens_for_queries_and_refuses_writes(opener: Opener) -> None:
    writer = opener()
    writer.append_audit([record(T0)])
    reader = opener(read_only=True)
    assert [r.at for r in reader.query_audit()] == [T0]
    with pytest.raises(StorageUnavailable):
        reader.append_audit([record(T0 + 1)])
    with pytest.raises(StorageUnavailable):
        reader.add_user("zed", "dispatcher", "x", 1.0)
    writer.append_audit([record(T0 + 2)])  # a running server goes on meanwhile
    assert [r.at for r in reader.query_audit()] == [T0, T0 + 2]


def test_read_only_needs_an_existing_database(tmp_path: Path) -> None:
    with pytest.raises(StoreOpenError, match="no such database"):
        open_store(tmp_path / "missing.sqlite", read_only=True)
    assert not (tmp_path / "missing.sqlite").exists()  # never created


# --- AuditTrail ------------------------------------------------------------------------------


class FlakyStore:
    """A store whose `append_audit` fails while ``failing`` is set; counts transactions."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.failing = threading.Event()
        self.appends: list[int] = []

    def append_audit(self, records: Sequence[AuditRecord]) -> None:
        if self.failing.is_set():
            raise StorageUnavailable("disk full")
        self.appends.append(len(records))
        self.store.append_audit(records)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Store]:
    db = open_store(tmp_path / "trail.sqlite")
    yield db
    db.close()


def test_the_trail_logs_at_once_and_writes_in_batches(
    sqlite_db: Store, caplog: pytest.LogCaptureFixture
) -> None:
    flaky = FlakyStore(sqlite_db)
    trail = AuditTrail(flaky, interval=0.05)
    caplog.set_level(logging.INFO, logger="dispatch.audit")
    for i in range(200):  # recorded before start: they wait for the writer
        trail.record(record(T0 + i, workstation="x" * 500))
    assert len(caplog.records) == 200
    trail.start()
    assert trail.flush(5.0)
    assert trail.written == 200 and trail.pending == 0
    assert len(flaky.appends) <= 2  # one transaction per flush, not one per record
    stored = sqlite_db.query_audit(limit=500)
    assert len(stored) == 200 and len(stored[0].workstation) == 200  # clipped
    line = caplog.records[0].getMessage()
    assert line.startswith("command at=") and 'kind="unit.add"' in line
    assert 'outcome="ok"' in line and 'peer="10.0.0.4:50000"' in line
    trail.close()


def test_a_failing_store_keeps_the_records_and_retries(sqlite_db: Store) -> None:
    flaky = FlakyStore(sqlite_db)
    flaky.failing.set()
    trail = AuditTrail(flaky, interval=0.01, retry=0.02)
    trail.start()
    trail.record(record(T0))
    assert not trail.flush(0.2)
    assert trail.pending == 1 and sqlite_db.query_audit() == []
    flaky.failing.clear()  # the disk has room again
    assert trail.flush(5.0)
    assert [r.at for r in sqlite_db.query_audit()] == [T0]
    trail.close()


def test_close_writes_what_is_pending_or_gives_up_at_its_timeout(sqlite_db: Store) -> None:
    trail = AuditTrail(sqlite_db, interval=60.0)  # would linger a minute
    trail.start()
    trail.record(record(T0))
    trail.close(5.0)  # does not linger: writes at once
    assert len(sqlite_db.query_audit()) == 1
    trail.record(record(T0 + 1))  # after close: the log line only
    assert len(sqlite_db.query_audit()) == 1

    flaky = FlakyStore(sqlite_db)
    flaky.failing.set()
    failing = AuditTrail(flaky, retry=0.05)
    failing.start()
    failing.record(record(T0 + 2))
    failing.close(0.2)
    assert failing.dropped == 1 and failing.pending == 0


def test_the_pending_list_is_bounded(sqlite_db: Store) -> None:
    flaky = FlakyStore(sqlite_db)
    flaky.failing.set()
    trail = AuditTrail(flaky, retry=0.05, max_pending=10)
    trail.start()
    for i in range(25):
        trail.record(record(T0 + i))
    assert trail.pending == 10 and trail.dropped == 15
    flaky.failing.clear()
    assert trail.flush(5.0)
    assert [r.at for r in sqlite_db.query_audit()] == [T0 + i for i in range(10)]
    trail.close()


def test_a_log_line_quotes_what_clients_chose() -> None:
    line = audit_line(record(T0, kind=LOGIN, workstation='ws" user="root'))
    assert line.startswith('login at=1714572000.0 user="ann"')
    assert 'workstation="ws\\" user=\\"root"' in line


# --- dispatch-server audit -------------------------------------------------------------------


@pytest.fixture
def filled(opener: Opener, where: str) -> str:
    """`where` holding a small trail; returns its --db value."""
    db = opener()
    db.append_audit(
        [
            record(T0 - 3600, "ann", LOGIN, peer="10.0.0.4:50000", detail="by password"),
            record(T0, "ann", "unit.add", key="k-1", detail="seqs=[1]"),
            record(T0 + 60, "bob", LOGIN, outcome="auth_failed", workstation="ws\x1b[2J"),
            record(T0 + 120, "ann", "unit.status", outcome="invalid_transition"),
        ]
    )
    return where


def audit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["audit", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_lists_a_table_and_filters(filled: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = audit(capsys, "--db", filled)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == [
        "TIME",
        "USER",
        "WORKSTATION",
        "ADDRESS",
        "KIND",
        "OUTCOME",
        "DETAIL",
    ]
    assert len(lines) == 5
    assert lines[2].startswith("2024-05-01T07:00:00-07:00  ann")  # shown in --tz
    assert "unit.add" in lines[2] and "seqs=[1]" in lines[2]
    assert "\x1b" not in out and "ws?[2J" in lines[3]  # nothing a terminal would act on

    # --from local time in --tz, --to in UTC: [from, to)
    code, out, _ = audit(
        capsys, "--db", filled, "--from", "2024-05-01T07:00", "--to", "2024-05-01T14:02Z"
    )
    assert code == 0 and [line.split()[1] for line in out.splitlines()[1:]] == ["ann", "bob"]
    code, out, _ = audit(capsys, "--db", filled, "--user", "ann", "--kind", LOGIN)
    assert code == 0 and len(out.splitlines()) == 2 and "by password" in out
    code, out, _ = audit(capsys, "--db", filled, "--from", "2024-05-01", "--tz", "UTC")
    assert code == 0 and len(out.splitlines()) == 5  # a date alone: its midnight
    code, out, _ = audit(capsys, "--db", filled, "--user", "nobody")
    assert code == 0 and out == "no records\n"


def test_cli_json_and_limit(filled: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = audit(capsys, "--db", filled, "--json", "--limit", "2", "--tz", "UTC")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["kind"] for r in rows] == [LOGIN, "unit.add"]
    assert rows[1]["time"] == "2024-05-01T14:00:00+00:00" and rows[1]["at"] == T0
    assert rows[1]["key"] == "k-1" and isinstance(rows[1]["id"], int)
    assert "more than 2 records" in err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--from", "yesterday"), "--from: not an ISO 8601 time"),
        (("--from", "2024-05-02", "--to", "2024-05-01"), "is not before --to"),
        (("--tz", "Mars/Olympus"), "unknown time zone"),
        (("--limit", "0"), "--limit must be"),
    ],
)
def test_cli_refuses_bad_input_with_exit_2(
    filled: str, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], said: str
) -> None:
    code, out, err = audit(capsys, "--db", filled, *args)
    assert code == 2 and out == "" and said in err


def test_cli_never_creates_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.sqlite"
    code, _, err = audit(capsys, "--db", str(missing))
    assert code == 2 and "no database at" in err and not missing.exists()
