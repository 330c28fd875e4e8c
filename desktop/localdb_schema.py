"""The workstation database's tables, and how a file of an older schema is brought up to date
(`open_schema`, run by `desktop.localdb.LocalDatabase` on every file it opens).

Version 4: every command row (outbox, Needs attention) carries ``crc``, the
`desktop.salvage.command_check` of its fields, so a command read back from a damaged file is
queued again only when it is exactly what was queued; and a file whose pages are sound but a
command row's bytes changed (SQLite cannot tell) is found when it is opened
(`altered_commands`) and treated as damaged: that command is never sent.
"""

from __future__ import annotations

import sqlite3

from desktop.salvage import command_check

__all__ = ["SCHEMA_VERSION", "altered_commands", "open_schema"]

SCHEMA_VERSION = 4

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    client_seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key        TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    args       BLOB NOT NULL,
    issued_at  REAL NOT NULL,
    state      TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    crc        INTEGER  -- desktop.salvage.command_check of the command's fields
);
CREATE TABLE IF NOT EXISTS needs_attention (
    key         TEXT PRIMARY KEY,
    client_seq  INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    args        BLOB NOT NULL,
    issued_at   REAL NOT NULL,
    code        TEXT NOT NULL,
    message     TEXT NOT NULL,
    rejected_at REAL NOT NULL,
    crc         INTEGER
);
CREATE TABLE IF NOT EXISTS journal (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     REAL NOT NULL,
    key    TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS replica (
    kind TEXT NOT NULL,
    id   TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
-- Entries of the lists an incident only appends to (narrative, timeline), appended in rowid
-- order; entry n of a list is stored once (the unique index, created by _upgrade).
CREATE TABLE IF NOT EXISTS replica_entries (
    incident_id TEXT NOT NULL,
    list        TEXT NOT NULL,
    n           INTEGER NOT NULL,
    data        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    k TEXT PRIMARY KEY,
    v TEXT NOT NULL
);
"""


#: Entry n of an incident's list is stored once: a replica can never show a note twice.
_ENTRY_KEY = (
    "CREATE UNIQUE INDEX IF NOT EXISTS replica_entries_key"
    " ON replica_entries (incident_id, list, n)"
)


def altered_commands(conn: sqlite3.Connection) -> int:
    """How many command rows (outbox, Needs attention) fail their check."""
    altered = 0
    for table in ("outbox", "needs_attention"):
        rows = conn.execute(
            f"SELECT client_seq, key, kind, args, issued_at, crc FROM {table} WHERE crc IS NOT NULL"
        )
        altered += sum(
            1 for r in rows if command_check(r[0], r[1], r[2], bytes(r[3]), r[4]) != r[5]
        )
    return altered


def open_schema(conn: sqlite3.Connection) -> None:
    """Create what is missing and upgrade an older file (``conn`` in autocommit)."""
    conn.executescript(_SCHEMA)
    _upgrade(conn)
    conn.execute(_ENTRY_KEY)
    conn.execute(
        "INSERT OR IGNORE INTO meta (k, v) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
    )


def _upgrade(conn: sqlite3.Connection) -> None:
    """Bring a database of an older schema up to `SCHEMA_VERSION`; the outbox, Needs
    attention and the journal are kept as they are. Before version 3 the replica (a cache of
    the server's log) is emptied with its ``last_seq``, so the next connection fetches it
    again: version 1 kept narratives in ``replica_narrative``; version 2 could hold an entry
    twice (a restarted workstation appended its entries again), which version 3's unique key on
    entries forbids. Version 4 adds the ``crc`` of every command row (`command_check`)."""
    row = conn.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone()
    if row is None or int(row[0]) >= SCHEMA_VERSION:
        return
    version = int(row[0])
    conn.execute("BEGIN IMMEDIATE")
    try:
        if version < 3:
            conn.execute("DROP TABLE IF EXISTS replica_narrative")
            conn.execute("DROP TABLE IF EXISTS replica_timeline")
            conn.execute("DELETE FROM replica")
            conn.execute("DELETE FROM replica_entries")
            conn.execute("DELETE FROM meta WHERE k = 'last_seq'")
        for table in ("outbox", "needs_attention"):
            if "crc" not in {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN crc INTEGER")
            rows = conn.execute(
                f"SELECT key, client_seq, kind, args, issued_at FROM {table} WHERE crc IS NULL"
            ).fetchall()
            conn.executemany(
                f"UPDATE {table} SET crc = ? WHERE key = ?",
                [(command_check(r[1], r[0], r[2], bytes(r[3]), r[4]), r[0]) for r in rows],
            )
        conn.execute("UPDATE meta SET v = ? WHERE k = 'schema_version'", (str(SCHEMA_VERSION),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
