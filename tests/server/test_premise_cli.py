"""``dispatch-server premise``: premise hazard flags of a running server, managed by an admin
over the protocol.

A real server process on loopback; the command runs in-process through `server.cli.main`
(and once as a child process, to prove it is a sub-command of ``dispatch-server``); a
dispatcher signed in beside it sees the flags: no mocks.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from desktop.domain.types import Premise
from desktop.geo.geocoder import Geocoder
from server.admin_client import AdminClient
from server.cli import main
from tests.support.serverproc import PASSWORD, ServerProcess

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


#: The ``run`` fixture: ``run(*args, user="root", password=PASSWORD) -> Done``.
Run = Callable[..., Done]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A fresh server with an admin, root, and a dispatcher, ann."""
    proc = ServerProcess(tmp_path / "premises.sqlite")
    proc.add_user("root", "admin")
    proc.add_user("ann", "dispatcher")
    proc.start(0)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def run(
    server: ServerProcess, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Run:
    """``run(*args, user=..., password=...)`` runs ``dispatch-server premise ARGS``
    against ``server``, the password on stdin."""

    def run(*args: str, user: str = "root", password: str = PASSWORD) -> Done:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
        code = main(["premise", *args, "--server", server.url, "--user", user])
        out = capsys.readouterr()
        return Done(code, out.out, out.err)

    return run


def on_the_floor(server: ServerProcess) -> tuple[dict[str, Premise], int]:
    """The premises a dispatcher's workstation holds, and the server's event seq."""

    async def read() -> tuple[dict[str, Premise], int]:
        async with await AdminClient.connect(
            server.url, "ann", PASSWORD, role="dispatcher"
        ) as client:
            return dict(client.world.premises), client.welcome.server_seq

    return asyncio.run(read())


def test_set_list_and_remove_one_premise(server: ServerProcess, run: Run) -> None:
    done = run(
        "set",
        "1017 Polk Street",
        "--hazard",
        "dog on premises",
        "--hazard",
        "oxygen in use",
        "--note",
        "Two large dogs",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "set 1017 POLK ST: dog on premises; oxygen in use"
    premises, seq = on_the_floor(server)
    flagged = premises["1017 POLK ST"]  # as the street index names it: a verified address's key
    assert (flagged.hazards, flagged.note, flagged.updated_by) == (
        ["dog on premises", "oxygen in use"],
        "Two large dogs",
        "root",
    )
    house = Geocoder.load_default().geocode("1017 POLK ST")
    assert (flagged.lat, flagged.lon) == (house.lat, house.lon)
    again = run(
        "set",
        "1017 polk st",
        "--hazard",
        "dog on premises",
        "--hazard",
        "oxygen in use",
        "--note",
        "Two large dogs",
        "--lat",
        str(house.lat),
        "--lon",
        str(house.lon),
    )
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stderr
    assert on_the_floor(server)[1] == seq
    table = run("list")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ADDRESS", "HAZARDS", "NOTE", "UPDATED", "BY", "UPDATED", "AT"]
    assert lines[1].startswith("1017 POLK ST  dog on premises; oxygen in use  Two large dogs")
    assert lines[-1] == "1 premise"
    listed = run("list", "--json")
    row = json.loads(listed.stdout)
    assert row["address"] == "1017 POLK ST" and row["hazards"] == [
        "dog on premises",
        "oxygen in use",
    ]
    assert row["updated_by"] == "root" and row["lat"] == house.lat
    # bad input is refused before anything is sent: exit 2
    half = run("set", "1017 POLK ST", "--hazard", "dog", "--lat", "37.7")
    assert half.returncode == 2 and "give both lat and lon" in half.stderr
    nowhere = run("set", "99999 Nowhere Lane", "--hazard", "dog")
    assert nowhere.returncode == 2 and "not an address the street index verifies" in nowhere.stderr
    assert on_the_floor(server)[1] == seq
    kept = run("set", "99999 Nowhere Lane", "--hazard", "dog", "--allow-unverified")
    assert kept.returncode == 0 and kept.stdout.strip() == "set 99999 NOWHERE LANE: dog"
    # the server's refusals are said in plain words: exit 1
    removed = run("remove", "1017 Polk Street")
    assert removed.returncode == 0 and removed.stdout.strip() == "removed 1017 POLK ST"
    gone = run("remove", "1017 Polk St")
    assert gone.returncode == 1
    assert "no premise information at 1017 POLK ST (not_found)" in gone.stderr
    assert set(on_the_floor(server)[0]) == {"99999 NOWHERE LANE"}


def test_import_checks_the_whole_file_then_sends_what_differs(
    server: ServerProcess, run: Run, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "address,hazards,note,lat,lon\n"
        "1017 Polk St,dog on premises,,,\n"  # fine, but not sent: other rows are wrong
        ",hazmat storage,,,\n"  # line 3: no address
        "15 6th St,,,,\n"  # line 4: no hazard
        "15 6th St,hazmat storage,,north,\n"  # line 5: lat not a number
        "1017 POLK ST,oxygen in use,,,\n"  # line 6: the same premise as line 2
        "99999 Nowhere Lane,dog,,,\n",  # line 7: not an address the index knows
        encoding="utf-8",
    )
    done = run("import", str(bad))
    assert done.returncode == 2 and "5 problems, nothing sent" in done.stderr
    problems = done.stderr.splitlines()
    assert f"{bad}:3: address: give the premise's address" in problems
    assert any(line.startswith(f"{bad}:4: give 1-20 hazards") for line in problems)
    assert f"{bad}:5: lat: 'north' is not a number" in problems
    assert f"{bad}:6: 1017 POLK ST is already on line 2" in problems
    assert any(line.startswith(f"{bad}:7: '99999 Nowhere Lane' is not") for line in problems)
    assert on_the_floor(server)[1] == 0
    header = tmp_path / "header.csv"
    header.write_text("address,hazard\n1017 Polk St,dog\n", encoding="utf-8")
    done = run("import", str(header))
    assert done.returncode == 2 and "missing hazards; unknown hazard" in done.stderr
    good = tmp_path / "premises.csv"
    good.write_text(
        "address,hazards,note\n"
        "# the first two\n"
        "1017 Polk St,dog on premises; oxygen in use,Two large dogs\n"
        '15 6th St,hazmat storage,"Solvents, gas cylinders"\n',
        encoding="utf-8",
    )
    done = run("import", str(good))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{good}: 2 set, 0 unchanged"
    premises, seq = on_the_floor(server)
    assert premises["15 6TH ST"].note == "Solvents, gas cylinders"
    assert premises["1017 POLK ST"].hazards == ["dog on premises", "oxygen in use"]
    again = run("import", str(good))
    assert again.stdout.strip() == f"{good}: 0 set, 2 unchanged"
    # JSON lines: what list --json writes reads back unchanged; hazards may be a string too
    lines = tmp_path / "premises.jsonl"
    lines.write_text(run("list", "--json").stdout, encoding="utf-8")
    assert run("import", str(lines)).stdout.strip() == f"{lines}: 0 set, 2 unchanged"
    changed = tmp_path / "changed.jsonl"
    changed.write_text(
        '{"address": "15 6th St", "hazards": "hazmat storage; limited access"}\n'
        '{"address": "1017 Polk St", "hazards": ["dog on premises", "oxygen in use"],'
        ' "note": "Two large dogs"}\n',
        encoding="utf-8",
    )
    dry = run("import", str(changed), "--dry-run")
    assert dry.returncode == 0 and dry.stdout.splitlines() == [
        "would set: 15 6TH ST",
        f"{changed}: 1 would be set, 1 unchanged (dry run)",
    ]
    assert on_the_floor(server)[1] == seq
    done = run("import", str(changed))
    assert done.stdout.strip() == f"{changed}: 1 set, 1 unchanged", done.stderr
    assert on_the_floor(server)[0]["15 6TH ST"].hazards == ["hazmat storage", "limited access"]
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text('{"address": "15 6th St", "hazards": "x", "colour": "red"}\n[1]\n')
    done = run("import", str(wrong))
    assert done.returncode == 2
    assert f"{wrong}:1: unknown key colour" in done.stderr
    assert f"{wrong}:2: not a JSON object" in done.stderr


def test_premise_flags_need_an_admin_account(server: ServerProcess, run: Run) -> None:
    dispatcher = run("set", "1017 Polk St", "--hazard", "dog", user="ann")
    assert dispatcher.returncode == 2 and "role_not_allowed" in dispatcher.stderr
    wrong = run("list", password="not the password")
    assert wrong.returncode == 2 and "auth_failed" in wrong.stderr
    assert on_the_floor(server)[1] == 0


def test_it_is_a_dispatch_server_command(server: ServerProcess) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "server",
            "premise",
            "list",
            "--server",
            server.url,
            "--user",
            "root",
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "0 premises"
    unreachable = subprocess.run(
        [
            sys.executable,
            "-m",
            "server",
            "premise",
            "remove",
            "1 Main St",
            "--server",
            "ws://127.0.0.1:1",
            "--user",
            "root",
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert unreachable.returncode == 1 and "cannot connect" in unreachable.stderr
