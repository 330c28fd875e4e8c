"""The demo city and the simulated floor: SFFD parsing, derivation, the call feed, the embedded
server and the ``demo`` commands (a ``dispatch-server`` plugin)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

from desktop.domain.types import IncidentStatus, UnitStatus
from desktop.link import Backoff, LinkPhase
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from server.cli import COMMANDS_GROUP
from sim.callfeed import CallFeedSimulator
from sim.demo_data import derive, load_calls, load_roster, write
from sim.demo_floor import DEMO_USER, EmbeddedServer
from sim.sffd import address_case, incident_type, priority, read_calls, unit_id

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "sffd_sample.csv"


def test_read_calls_groups_units_and_times() -> None:
    calls = read_calls(SAMPLE)
    assert [c.type for c in calls] == ["FIRE-STRUCTURE", "ALARM", "MEDICAL"]  # oldest first
    fire = calls[0]
    assert len(fire.responses) == 10
    dispatched = [r.dispatched for r in fire.responses]
    assert dispatched == sorted(dispatched) and dispatched[0] >= 0
    assert 37.6 < fire.lat < 37.9 and -122.6 < fire.lon < -122.3
    medic = [r for r in calls[2].responses if r.unit_type == "MEDIC"]
    assert medic and medic[0].unit_id.startswith("M")


def test_addresses_read_as_dispatchers_write_them() -> None:
    assert address_case("0 Block of 11TH AV") == "0 Block of 11th Av"
    assert address_case("SACRAMENTO ST/BAKER ST") == "Sacramento St/Baker St"
    assert address_case("1700 BLOCK OF MARKET ST") == "1700 Block of Market St"


def test_mappings() -> None:
    assert unit_id("53", "MEDIC") == "M53" and unit_id("E01", "ENGINE") == "E01"
    assert incident_type("Structure Fire") == "FIRE-STRUCTURE"
    assert incident_type("Something New") == "OTHER"
    assert priority("Potentially Life-Threatening", "3") == 1
    assert priority("Non Life-threatening", "2") == 4


def test_derive_and_load_round_trip(tmp_path: Path) -> None:
    roster, calls = derive(read_calls(SAMPLE))
    write(tmp_path, roster, calls)
    assert load_roster(tmp_path / "roster.json") == roster
    assert load_calls(tmp_path / "calls.json") == calls
    assert {u.id for u in roster} == {r.unit_id for c in calls for r in c.responses}


def test_shipped_demo_city_is_complete() -> None:
    roster, calls = load_roster(), load_calls()
    assert len(roster) == 169 and len(calls) == 2261
    known = {u.id for u in roster}
    assert all(r.unit_id in known for c in calls for r in c.responses)


async def test_call_feed_opens_works_and_closes_calls(tmp_path: Path) -> None:
    embedded = EmbeddedServer(tmp_path / "srv", demo=False)
    login = await asyncio.to_thread(embedded.start)
    config = ServiceConfig(data_dir=tmp_path / "sim", url=login.url, backoff=Backoff(0.05, 2, 0.5))
    service = DispatchService(config, SignIn(login.username, login.password))
    roster, calls = derive(read_calls(SAMPLE))
    simulator = CallFeedSimulator(
        service, roster, calls, interval=0.05, speed=2000.0, handled_share=1.0, seed=7
    )
    task = asyncio.create_task(simulator.run(preload=3))
    try:
        async with asyncio.timeout(20):
            while not any(i.status is IncidentStatus.CLOSED for i in service.incidents()):
                await asyncio.sleep(0.02)
        assert len(service.units()) == len(roster)
        closed = [i for i in service.incidents() if i.status is IncidentStatus.CLOSED]
        assert closed[0].times.get("first_dispatch") is not None
        assert closed[0].disposition == "Resolved (simulated)"
        assert service.needs_attention() == []
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await simulator.stop()
        await asyncio.to_thread(embedded.stop)


async def test_embedded_demo_server_gives_a_live_floor(tmp_path: Path) -> None:
    embedded = EmbeddedServer(tmp_path / "srv", call_interval=0.2, speed=100.0)
    login = await asyncio.to_thread(embedded.start)
    assert login.username == DEMO_USER
    service = DispatchService(
        ServiceConfig(data_dir=tmp_path / "ws", url=login.url),
        SignIn(login.username, login.password),
    )
    service.start()
    try:
        async with asyncio.timeout(20):
            while not (
                service.status.phase is LinkPhase.LIVE
                and len(service.incidents()) >= 3
                and len(service.units()) == 169
            ):
                await asyncio.sleep(0.05)
        statuses = {u.status for u in service.units()}
        assert statuses <= set(UnitStatus)
    finally:
        await service.stop()
        await asyncio.to_thread(embedded.stop)
    # a second start on the same directory keeps the floor and gives a new password
    again = EmbeddedServer(tmp_path / "srv", demo=False)
    second = await asyncio.to_thread(again.start)
    assert second.password != login.password
    await asyncio.to_thread(again.stop)


def test_derive_demo_command_reproduces_the_shipped_format(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "server", "derive-demo", "--sffd", str(SAMPLE), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "summary.json").read_text()) == {"units": 15, "calls": 3}
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "server",
            "derive-demo",
            "--sffd",
            str(tmp_path / "nope.csv"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_demo_command_serves_and_prints_its_login(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server",
            "demo",
            "--data-dir",
            str(tmp_path),
            "--port",
            "0",
            "--password",
            "pw-for-test",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = json.loads(proc.stdout.readline())
        assert line["user"] == "demo" and line["password"] == "pw-for-test"
        assert line["listening"]["port"] > 0
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0


def test_the_demo_commands_reach_dispatch_server_as_a_plugin() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"][COMMANDS_GROUP] == {
        "demo": "sim.demo_cli:add_commands",
        "sim": "sim.replay_cli:add_commands",
    }
    installed = {p.name: p.value for p in entry_points(group=COMMANDS_GROUP)}
    assert installed.get("demo") == "sim.demo_cli:add_commands", (
        "the installed metadata is stale: run pip install -e '.[test,postgres]' again"
    )
    done = subprocess.run(
        [sys.executable, "-m", "server", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    commands = [line.split()[0] for line in done.stdout.splitlines() if line.startswith("    ")]
    expected = {
        "serve",
        "users",
        "gis-import",
        "derive-areas",
        "report",
        "demo",
        "derive-demo",
        "sim",
    }
    assert expected <= set(commands)
