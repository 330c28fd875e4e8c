"""Workstation failover (#17): a workstation given its centre's servers in order moves to the
next when one is killed, refuses, times out or goes silent, resyncs from its ``last_seq``,
replays its outbox there and nothing is lost or applied twice.

Real server processes (``dispatch-server serve``) on real SQLite files, real websockets on
loopback, the fault proxy where the network must fail. The second instance B serves the same
database file as A, and is started only once A can commit nothing more (stopped, killed, or
behind a blackhole): until instances follow each other's commits, two running at once would
not see each other's new events. B's address is a fault proxy that points at B once it runs
(before that, connections to it are refused), so the workstation knows it from the start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from desktop.domain.incidents import IncidentAddNote, IncidentCreate
from desktop.domain.types import LocationArgs
from desktop.domain.world import World
from desktop.link import SERVER_ID_META, LinkPhase
from desktop.localdb import LocalDatabase
from desktop.replica import Replica
from desktop.service import DispatchService
from server.auth import hash_password
from server.store.sqlite import SqliteStore
from tests.integration.test_restarts import assert_same_world
from tests.support.faultproxy import FaultProxy
from tests.support.fixtures import USERS, ClientFactory
from tests.support.serverproc import PASSWORD, ServerProcess
from tests.support.waiting import wait_until


class Standby:
    """Instance B: a server process started on demand, behind a proxy whose URL is fixed."""

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        self.process: ServerProcess | None = None

    @property
    def url(self) -> str:
        return self.proxy.url

    async def start(self, db_path: Path) -> None:
        """Serve ``db_path`` (off the event loop: the workstation keeps running meanwhile)."""
        self.process = ServerProcess(db_path)
        self.proxy.upstream_port = await asyncio.to_thread(self.process.start, 0)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


@pytest.fixture
async def standby() -> AsyncIterator[Standby]:
    proxy = FaultProxy(upstream_port=0)  # nothing there yet: every connection is refused
    await proxy.start()
    instance = Standby(proxy)
    yield instance
    await proxy.stop()
    await asyncio.to_thread(instance.stop)


def settled_on(service: DispatchService, url: str) -> bool:
    """LIVE on the server at ``url`` with nothing left to send."""
    status = service.status
    return status.phase is LinkPhase.LIVE and status.server == url and not service.outbox


def notes(service: DispatchService, incident_id: str = "inc-1") -> list[str]:
    incident = service.incident(incident_id)
    return [] if incident is None else [entry.text for entry in incident.narrative]


def new_incident(incident_id: str) -> IncidentCreate:
    return IncidentCreate(
        incident_id=incident_id, type="MEDICAL", priority=2, location=LocationArgs(address="1 Main")
    )


async def servers_world(make_client: ClientFactory, url: str, tmp_path: Path) -> tuple[World, int]:
    """The world and last seq the server's log gives a workstation that has never run."""
    fresh = make_client("bob", url, data_dir=tmp_path / "fresh")
    await wait_until(lambda: settled_on(fresh, url), what="a fresh workstation LIVE")
    world, seq = fresh.state.confirmed, fresh.state.last_seq
    await fresh.stop(close_within=2.0)
    return world, seq


async def assert_replica_is_the_server_s_log(
    service: DispatchService, make_client: ClientFactory, url: str, tmp_path: Path
) -> None:
    """In memory and on disk (read back after the service stopped), the workstation holds
    exactly what the server's log gives a new workstation."""
    world, seq = await servers_world(make_client, url, tmp_path)
    assert_same_world(service.state.confirmed, world)
    assert service.state.last_seq == seq
    await service.stop(close_within=2.0)
    db = LocalDatabase(service.config.database_path)
    try:
        saved, saved_seq = Replica(db).load()
    finally:
        db.close()
    assert_same_world(saved, world)
    assert saved_seq == seq


async def test_a_instance_killed_mid_stream_then_live_on_b_with_every_command_applied_once(
    server: ServerProcess, standby: Standby, make_client: ClientFactory, tmp_path: Path
) -> None:
    # a small window of commands in flight: the kill lands mid-stream
    ann = make_client("ann", server.url, failover=(standby.url,), max_in_flight=20)
    await wait_until(lambda: settled_on(ann, server.url), what="LIVE on A")
    ann.submit(new_incident("inc-1"))
    for i in range(1000):
        ann.submit(IncidentAddNote(incident_id="inc-1", text=f"note {i:04d}"))
    await wait_until(lambda: len(ann.outbox) <= 950, what="some of the notes answered by A")

    server.kill()  # kill -9 mid-stream: applied and answered, applied and not answered, unsent
    await wait_until(lambda: ann.status.phase is not LinkPhase.LIVE, what="A's loss noticed")
    left_by_a = len(ann.outbox)
    assert left_by_a > 0, "A answered every note before it was killed"
    for i in range(1000, 1100):  # queued while no server answers (B refuses: not started)
        ann.submit(IncidentAddNote(incident_id="inc-1", text=f"note {i:04d}"))
    await standby.start(server.db_path)  # B on A's database, after A's last commit

    await wait_until(lambda: settled_on(ann, standby.url), timeout=30, what="LIVE on B, drained")
    assert notes(ann) == [f"note {i:04d}" for i in range(1100)]  # each once, in order
    assert ann.needs_attention() == []
    await assert_replica_is_the_server_s_log(ann, make_client, standby.url, tmp_path)


async def test_b_instance_blackholed_then_live_on_b_within_the_dead_after_bound(
    server: ServerProcess,
    proxy: FaultProxy,
    standby: Standby,
    make_client: ClientFactory,
    tmp_path: Path,
) -> None:
    # Product defaults for the heartbeat (ping every 2 s, dead after 6 s of silence).
    ann = make_client(
        "ann", proxy.url, failover=(standby.url,), heartbeat_interval=2.0, dead_after=6.0
    )
    await wait_until(lambda: settled_on(ann, proxy.url), what="LIVE on A")
    ann.submit(new_incident("inc-1"))
    await wait_until(lambda: settled_on(ann, proxy.url), what="the incident answered")

    proxy.blackhole()  # no FIN, no RST: A simply goes silent
    blackholed_at = time.monotonic()
    for i in range(50):  # sent into the blackhole: they never reach A
        ann.submit(IncidentAddNote(incident_id="inc-1", text=f"note {i:04d}"))
    await asyncio.to_thread(server.stop)  # A can commit nothing more (none of it reached it)
    await standby.start(server.db_path)

    await wait_until(
        lambda: ann.status.server == standby.url and ann.status.phase is LinkPhase.LIVE,
        timeout=20,
        what="LIVE on B",
    )
    moved_after = time.monotonic() - blackholed_at
    # silent for dead_after (6 s), noticed at the next heartbeat (2 s), then B at once
    assert moved_after <= 10.0, f"LIVE on B {moved_after:.1f} s after A went silent"
    await wait_until(lambda: settled_on(ann, standby.url), timeout=20, what="the queue replayed")
    assert notes(ann) == [f"note {i:04d}" for i in range(50)]
    assert ann.needs_attention() == []
    await assert_replica_is_the_server_s_log(ann, make_client, standby.url, tmp_path)


async def test_c_a_blackholed_first_server_at_start_costs_one_open_timeout(
    server: ServerProcess, proxy: FaultProxy, standby: Standby, make_client: ClientFactory
) -> None:
    proxy.blackhole()  # A accepts connections and never answers them
    await asyncio.to_thread(server.stop)
    await standby.start(server.db_path)
    started = time.monotonic()
    ann = make_client("ann", proxy.url, failover=(standby.url,), open_timeout=1.0)
    await wait_until(lambda: settled_on(ann, standby.url), timeout=15, what="LIVE on B")
    assert proxy.connections_accepted == 1  # tried once, given up after the open timeout
    assert time.monotonic() - started >= 1.0
    assert ann.status.servers == (proxy.url, standby.url)


async def test_d_a_second_server_on_another_database_is_resynced_as_a_replaced_database(
    server: ServerProcess,
    standby: Standby,
    make_client: ClientFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="dispatch.link")
    other = tmp_path / "other-centre.sqlite"  # a database of its own: another server id
    store = SqliteStore(other)
    for name, role in USERS.items():
        store.add_user(name, role, hash_password(PASSWORD, n=2**8), time.time())
    other_id = store.server_id()
    store.close()
    ann = make_client("ann", server.url, failover=(standby.url,))
    await wait_until(lambda: settled_on(ann, server.url), what="LIVE on A")
    ann.submit(new_incident("inc-1"))
    ann.submit(IncidentAddNote(incident_id="inc-1", text="on A"))
    await wait_until(lambda: settled_on(ann, server.url), what="answered by A")
    first_id = ann.db.get_meta(SERVER_ID_META)
    assert first_id is not None and first_id != other_id

    server.kill()
    await wait_until(lambda: ann.status.phase is not LinkPhase.LIVE, what="A's loss noticed")
    ann.submit(new_incident("inc-2"))
    ann.submit(IncidentAddNote(incident_id="inc-1", text="queued for A's incident"))
    await standby.start(other)

    await wait_until(lambda: settled_on(ann, standby.url), timeout=30, what="LIVE on B")
    # as a replaced database always was: its log is behind last_seq, so a snapshot replaces
    # the replica; the queue is replayed there (what cannot apply waits in Needs attention)
    assert set(ann.state.confirmed.incidents) == {"inc-2"}
    [refused] = ann.needs_attention()
    assert refused.entry.kind == "incident.add_note" and refused.code == "not_found"
    assert ann.db.get_meta(SERVER_ID_META) == other_id
    said = [r.getMessage() for r in caplog.records if r.name == "dispatch.link"]
    assert any("is another database" in m and other_id in m for m in said), said
    await assert_replica_is_the_server_s_log(ann, make_client, standby.url, tmp_path)
