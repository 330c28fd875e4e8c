"""``dispatch-server``: users add/list, error exits, and ``serve`` as a subprocess."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.protocol.messages import Welcome
from server.cli import main
from server.store.sqlite import SqliteStore
from tests.support.rawclient import RawClient

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        timeout=30,
    )


def test_users_add_from_stdin_then_list(tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite"
    done = cli("users", "add", "ann", "--role", "dispatcher", "--db", str(db), stdin="pw one\n")
    assert done.returncode == 0, done.stderr
    listing = cli("users", "list", "--db", str(db))
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "CREATED"]
    name, role, created = lines[1].split()
    assert (name, role) == ("ann", "dispatcher") and created.endswith("Z")
    with SqliteStore(db) as store:
        user = store.get_user("ann")
    assert user is not None and user.password_hash.startswith("scrypt$16384$8$1$")


def serve(db: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server",
            "serve",
            "--db",
            str(db),
            "--port",
            "0",
            "--rate-limit",
            "100",
            "--burst",
            "50",
            "--log-level",
            "warning",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=ENV,
    )


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(list(args))


def test_users_errors_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "e.sqlite")
    assert (
        run_main(monkeypatch, "users", "add", "ann", "--role", "dispatcher", "--db", db, stdin="\n")
        == 2
    )
    assert "empty password" in capsys.readouterr().err
    assert (
        run_main(monkeypatch, "users", "add", "ann", "--role", "janitor", "--db", db, stdin="pw\n")
        == 2
    )
    err = capsys.readouterr().err
    assert "unknown role 'janitor'" in err and "dispatcher" in err
    assert (
        run_main(monkeypatch, "users", "add", "ann", "--role", "admin", "--db", db, stdin="pw\n")
        == 0
    )
    assert (
        run_main(monkeypatch, "users", "add", "ann", "--role", "admin", "--db", db, stdin="pw\n")
        == 2
    )
    assert "already exists" in capsys.readouterr().err
    bad_db = str(tmp_path / "no" / "such" / "dir.sqlite")
    assert (
        run_main(monkeypatch, "users", "add", "x", "--role", "admin", "--db", bad_db, stdin="p\n")
        == 2
    )
    assert "cannot open database" in capsys.readouterr().err
    assert run_main(monkeypatch, "users", "list", "--db", bad_db) == 2
    assert run_main(monkeypatch, "users", "list", "--db", str(tmp_path)) == 2
    assert run_main(monkeypatch, "users", "passwd", "ann", "--db", db, stdin="new\n") == 0
    assert run_main(monkeypatch, "users", "passwd", "nobody", "--db", db, stdin="new\n") == 2
    assert run_main(monkeypatch, "users", "disable", "ann", "--db", db) == 0
    capsys.readouterr()
    assert run_main(monkeypatch, "users", "list", "--db", db) == 0
    assert "(disabled)" in capsys.readouterr().out


def test_serve_with_unopenable_database_exits_2(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    done = cli("serve", "--db", str(junk), "--port", "0")
    assert done.returncode == 2
    assert "cannot open database" in done.stderr
    assert done.stdout == ""


async def test_serve_prints_listening_line_answers_hello_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    db = tmp_path / "serve.sqlite"
    assert (
        cli("users", "add", "ann", "--role", "dispatcher", "--db", str(db), stdin="pw\n").returncode
        == 0
    )
    audit = tmp_path / "audit.log"
    proc = serve(db, "--audit-log", str(audit))
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        listening = json.loads(line)["listening"]
        assert listening["host"] == "127.0.0.1" and listening["port"] > 0
        client = await RawClient.open(f"ws://127.0.0.1:{listening['port']}")
        welcome = await client.hello("ann", password="pw")
        assert isinstance(welcome, Welcome)
        assert (
            welcome.body.limits.commands_per_second == 100
            and welcome.body.limits.command_burst == 50
        )
        assert (await client.command("unit.add", {"unit_id": "E1", "type": "ENGINE"})).ok
        proc.send_signal(signal.SIGTERM)
        assert await client.closed_with() == 1001
        rest, errors = proc.communicate(timeout=10)
        assert proc.returncode == 0, errors
        assert rest == ""  # exactly one line on stdout
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    wal = db.with_name(db.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed on shutdown
    with SqliteStore(db) as store:
        assert store.server_seq() == 1
    trail = audit.read_text()
    assert "login " in trail and 'user="ann"' in trail and 'workstation="ws-ann"' in trail
    assert 'kind="unit.add"' in trail and 'outcome="ok" detail="seqs=[1]"' in trail
    with SqliteStore(db) as store:  # and in the database, written before the server ended
        (command,) = store.query_audit(kind="unit.add")
        assert (command.user, command.outcome, command.detail) == ("ann", "ok", "seqs=[1]")
