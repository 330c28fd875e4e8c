"""``dispatch-server units``: the roster of a running server, loaded by IT over the protocol.

A real server process on loopback, the real command as a child process, a dispatcher's
workstation state signed in beside it: no mocks.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from desktop.domain.types import Incident, Location, Position, Unit
from desktop.geo.advice import Advisor
from desktop.geo.stations import Stations
from desktop.protocol.messages import Event
from desktop.runcards import RunCards
from desktop.state import ClientState
from tests.support.rawclient import RawClient
from tests.support.serverproc import PASSWORD, ServerProcess

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
HEADER = "id,type,station,capabilities,radio_id\n"
ROSTER = (
    HEADER + "E99,ENGINE,16,ALS;HAZMAT,R-9901\n" + "M99,MEDIC,16,ALS,R-9902\n" + "T99,TRUCK,03,,\n"
)
MARINA = (37.80516, -122.43296)  # 0 Block of MARINA BLVD, station 16's first-due area


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A fresh server (no units at all) with an admin, root, and a dispatcher, ann."""
    proc = ServerProcess(tmp_path / "roster.sqlite")
    proc.add_user("root", "admin")
    proc.add_user("ann", "dispatcher")
    proc.start(0)
    try:
        yield proc
    finally:
        proc.stop()


def units(
    server: ServerProcess, *args: str, user: str = "root", password: str = PASSWORD
) -> subprocess.CompletedProcess[str]:
    """Run ``dispatch-server units ARGS`` against ``server``, the password on stdin."""
    return subprocess.run(
        [sys.executable, "-m", "server", "units", *args, "--server", server.url, "--user", user],
        input=password + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        timeout=60,
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


async def floor(server: ServerProcess) -> tuple[ClientState, list[Event]]:
    """What a dispatcher's workstation holds after signing in: its confirmed state, and the
    events it was sent."""
    client = await RawClient.login(server.url, "ann")
    try:
        assert client.welcome is not None
        seq = client.welcome.body.server_seq
        if seq:
            await client.events_until(seq)
        events = client.events
    finally:
        await client.close()
    state = ClientState("ann")
    for event in events:
        state.apply_event(event.seq, event.body.kind, bytes(event.body.data), event.body.at)
    return state, events


async def server_seq(server: ServerProcess) -> int:
    client = await RawClient.login(server.url, "ann")
    await client.close()
    assert client.welcome is not None
    return client.welcome.body.server_seq


async def test_imported_units_reach_a_workstation_and_are_recommended_from_their_station(
    server: ServerProcess, tmp_path: Path
) -> None:
    done = units(server, "import", str(write(tmp_path / "roster.csv", ROSTER)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("3 added, 0 updated, 0 unchanged")
    state, events = await floor(server)
    assert [e.body.kind for e in events] == ["unit.added"] * 3
    assert {e.body.actor for e in events} == {"root"}
    e99 = state.view.units["E99"]
    assert (e99.type, e99.station, e99.capabilities, e99.radio_id) == (
        "ENGINE",
        "16",
        ["ALS", "HAZMAT"],
        "R-9901",
    )
    assert e99.position is None  # no AVL: the recommendation must place it at its station
    incident = Incident(
        id="i-marina",
        type="MEDICAL",
        priority=1,
        location=Location(address="0 Block of MARINA BLVD", lat=MARINA[0], lon=MARINA[1]),
    )
    advice = Advisor(RunCards.load()).advise(incident, state.view.units.values(), time.time())
    assert advice.recommendation is not None
    assert advice.recommended_ids() == ["E99", "M99"]
    assert advice.recommendation.unlocated == ()
    engine = advice.recommendation.picks[0]
    assert engine.reason.endswith("no AVL: home station")
    # placed at station 16's shipped position: the same ETA as a unit with an AVL fix there
    lat, lon = Stations.load_default()["16"].position
    fixed = Unit(id="X1", type="ENGINE", position=Position(lat=lat, lon=lon, at=time.time()))
    there = Advisor(RunCards.load()).advise(incident, [fixed], time.time())
    assert there.recommendation is not None
    assert there.recommendation.picks[0].eta_s == pytest.approx(engine.eta_s)


async def test_importing_the_same_file_again_changes_nothing(
    server: ServerProcess, tmp_path: Path
) -> None:
    roster = write(tmp_path / "roster.csv", ROSTER)
    assert units(server, "import", str(roster)).returncode == 0
    seq = await server_seq(server)
    again = units(server, "import", str(roster))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().endswith("0 added, 0 updated, 3 unchanged")
    assert await server_seq(server) == seq  # not one command applied
    changed = write(
        tmp_path / "changed.csv",
        HEADER
        + "E99,ENGINE,16,ALS HAZMAT,R-9901\n"  # the same, capabilities spelt with a space
        + "M99,MEDIC,16,ALS;BLS,R-9902\n"  # a capability more
        + "T99,TRUCK,03,,\n"
        + "B99,CHIEF,16,,R-9903\n",  # new
    )
    done = units(server, "import", str(changed))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("1 added, 1 updated, 2 unchanged")
    state, events = await floor(server)
    assert [e.body.kind for e in events[seq:]] == ["unit.added", "unit.updated"]
    assert msgspec.json.decode(events[-1].body.data) == {
        "unit_id": "M99",
        "capabilities": ["ALS", "BLS"],
    }
    assert state.view.units["M99"].capabilities == ["ALS", "BLS"]


async def test_invalid_rows_are_all_reported_and_nothing_is_sent(
    server: ServerProcess, tmp_path: Path
) -> None:
    bad = write(
        tmp_path / "bad.csv",
        HEADER
        + "E1,ENGINE,16,,R1\n"  # fine, but not sent: another row is wrong
        + "E 2,ENGINE,16,,\n"  # line 3: bad id
        + "E3,,16,,\n"  # line 4: no type
        + "E4,ENGINE,99,,\n"  # line 5: station with no position
        + "E1,ENGINE,16,,\n"  # line 6: E1 twice
        + "E6,ENGINE,6,,R1\n",  # line 7: "6" is not "06"; radio R1 is E1's already
    )
    done = units(server, "import", str(bad))
    assert done.returncode == 2
    assert "6 problems, nothing sent" in done.stderr
    lines = done.stderr.splitlines()
    assert f"{bad}:3: column id: unit id 'E 2' must be 1-16 letters, digits, '-' or '_'" in lines
    assert any(line.startswith(f"{bad}:4: column type: ") for line in lines)
    assert any(line.startswith(f"{bad}:5: column station: unknown station '99'") for line in lines)
    assert f"{bad}:6: column id: E1 is already on line 2" in lines
    assert any("(did you mean '06'?)" in line and line.startswith(f"{bad}:7:") for line in lines)
    assert f"{bad}:7: column radio_id: radio R1 is already E1's on line 2" in lines
    header = write(tmp_path / "header.csv", "id,type,station\nE1,ENGINE,16\n")
    done = units(server, "import", str(header))
    assert done.returncode == 2 and "missing capabilities, radio_id" in done.stderr
    assert await server_seq(server) == 0
    allowed = write(tmp_path / "new_station.csv", HEADER + "E4,ENGINE,99,,\n")
    assert units(server, "import", str(allowed)).returncode == 2
    done = units(server, "import", str(allowed), "--allow-unknown-station")
    assert done.returncode == 0, done.stderr
    assert await server_seq(server) == 1


async def test_export_round_trips_through_import(server: ServerProcess, tmp_path: Path) -> None:
    assert units(server, "import", str(write(tmp_path / "in.csv", ROSTER))).returncode == 0
    out = tmp_path / "out.csv"
    done = units(server, "export", "--out", str(out))
    assert done.returncode == 0, done.stderr
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["id", "type", "station", "capabilities", "radio_id"],
        ["E99", "ENGINE", "16", "ALS;HAZMAT", "R-9901"],
        ["M99", "MEDIC", "16", "ALS", "R-9902"],
        ["T99", "TRUCK", "03", "", ""],
    ]
    again = units(server, "import", str(out))
    assert again.returncode == 0 and again.stdout.strip().endswith(
        "0 added, 0 updated, 3 unchanged"
    )
    to_stdout = units(server, "export")
    assert to_stdout.returncode == 0 and to_stdout.stdout == out.read_text(encoding="utf-8")
    listing = units(server, "list")
    assert listing.returncode == 0, listing.stderr
    table = listing.stdout.splitlines()
    assert table[0].split() == ["ID", "TYPE", "STATION", "STATUS", "RADIO", "CAPABILITIES"]
    assert table[1].split() == ["E99", "ENGINE", "16", "AQ", "R-9901", "ALS", "HAZMAT"]
    assert table[-1] == "3 units"


async def test_add_and_update_one_unit(server: ServerProcess) -> None:
    add = ("add", "E99", "--type", "ENGINE", "--station", "16", "--radio-id", "R1")
    done = units(server, *add, "--status", "AV")
    assert done.returncode == 0 and done.stdout.strip() == "added E99", done.stderr
    again = units(server, *add)
    assert again.returncode == 0 and "nothing to do" in again.stdout
    other = units(server, "add", "E98", "--type", "ENGINE", "--station", "16", "--radio-id", "R1")
    assert other.returncode == 2 and "radio R1 is already bound to E99" in other.stderr
    unknown = units(server, "add", "E97", "--type", "ENGINE", "--station", "6")
    assert unknown.returncode == 2 and "did you mean '06'?" in unknown.stderr
    assert await server_seq(server) == 1
    done = units(server, "update", "E99", "--capabilities", "ALS;HAZMAT", "--radio-id", "")
    assert done.returncode == 0 and done.stdout.strip() == "updated E99", done.stderr
    same = units(server, "update", "E99", "--capabilities", "ALS HAZMAT")
    assert same.returncode == 0 and "nothing to change" in same.stdout
    missing = units(server, "update", "E42", "--type", "TRUCK")
    assert missing.returncode == 2 and "no unit E42" in missing.stderr
    state, events = await floor(server)
    assert [e.body.kind for e in events] == ["unit.added", "unit.updated"]
    e99 = state.view.units["E99"]
    assert (str(e99.status), e99.capabilities, e99.radio_id) == ("AV", ["ALS", "HAZMAT"], "")


async def test_roster_changes_need_an_admin_account(server: ServerProcess, tmp_path: Path) -> None:
    roster = write(tmp_path / "roster.csv", ROSTER)
    dispatcher = units(server, "import", str(roster), user="ann")
    assert dispatcher.returncode == 2 and "role_not_allowed" in dispatcher.stderr
    wrong = units(server, "list", password="not the password")
    assert wrong.returncode == 2 and "auth_failed" in wrong.stderr
    assert await server_seq(server) == 0


def test_an_unreachable_server_exits_1(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "none.sqlite")
    proc.port = 1  # nothing listens there
    done = units(proc, "list")
    assert done.returncode == 1 and "cannot connect to ws://127.0.0.1:1" in done.stderr
