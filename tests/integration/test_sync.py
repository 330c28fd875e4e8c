"""Acceptance a-d and g: fan-out, outages (cut, blackhole, server restart) and conflicts.

Real server process, real websockets on loopback, real SQLite files on both sides; the fault
proxy stands between a client and the server where the network must fail.
"""

from __future__ import annotations

import time

from desktop.domain.incidents import IncidentAddNote, IncidentCreate
from desktop.domain.types import LocationArgs, UnitStatus
from desktop.domain.units import UnitAdd, UnitDispatch
from desktop.link import LinkPhase
from desktop.service import DispatchService
from tests.support.faultproxy import FaultProxy
from tests.support.fixtures import ClientFactory
from tests.support.serverproc import ServerProcess
from tests.support.waiting import wait_until


def live(*services: DispatchService) -> bool:
    return all(s.status.phase is LinkPhase.LIVE for s in services)


def settled(*services: DispatchService) -> bool:
    return live(*services) and all(len(s.outbox) == 0 for s in services)


def record_events(service: DispatchService) -> list[tuple[int, str, bytes]]:
    seen: list[tuple[int, str, bytes]] = []
    service.state.add_event_listener(
        lambda seq, kind, data, at, key: seen.append((seq, kind, data))
    )
    return seen


def new_incident(incident_id: str) -> IncidentCreate:
    return IncidentCreate(
        incident_id=incident_id,
        type="MEDICAL",
        priority=2,
        location=LocationArgs(address="1 Main St"),
    )


async def test_a_command_reaches_three_clients_as_the_same_event(
    server: ServerProcess, make_client: ClientFactory
) -> None:
    issuer = make_client("ann", server.url)
    watchers = [make_client(name, server.url) for name in ("bob", "cat", "dan")]
    logs = [record_events(w) for w in watchers]
    await wait_until(lambda: live(issuer, *watchers), what="all LIVE")

    issuer.submit(UnitAdd(unit_id="E12", type="ENGINE", status=UnitStatus.AV))

    await wait_until(lambda: all(w.unit("E12") is not None for w in watchers), what="fan-out")
    await wait_until(lambda: settled(issuer), what="issuer acked")
    assert logs[0] and logs[0] == logs[1] == logs[2]
    assert [kind for _, kind, _ in logs[0]] == ["unit.added"]
    assert issuer.state.last_seq == logs[0][-1][0]


async def _queue_notes_offline_then_recover(
    writer: DispatchService, reader: DispatchService, proxy: FaultProxy, count: int
) -> None:
    """Shared body of the cut and blackhole tests (the outage is already in place)."""
    entries = [
        writer.submit(IncidentAddNote(incident_id="inc-1", text=f"note {i:04d}"))
        for i in range(count)
    ]
    assert writer.state.pending_count() == count
    assert all(writer.state.is_pending(e.key) for e in entries)
    assert len(writer.incident("inc-1").narrative) == count  # type: ignore[union-attr]
    assert len(reader.incident("inc-1").narrative) == 0  # type: ignore[union-attr]
    assert writer.status.queued == count

    proxy.restore()

    await wait_until(lambda: settled(writer), timeout=30, what="outbox replayed")
    expected = [f"note {i:04d}" for i in range(count)]
    await wait_until(
        lambda: len(reader.incident("inc-1").narrative) >= count,  # type: ignore[union-attr]
        what="reader saw every note",
    )
    for service in (writer, reader):
        narrative = service.incident("inc-1").narrative  # type: ignore[union-attr]
        assert [entry.text for entry in narrative] == expected  # once each, in order
    assert writer.needs_attention() == []
    assert writer.outbox.entries() == []


async def test_b_cut_500_commands_pending_then_applied_once_in_order(
    server: ServerProcess, proxy: FaultProxy, make_client: ClientFactory
) -> None:
    writer = make_client("ann", proxy.url)
    reader = make_client("bob", server.url)
    await wait_until(lambda: live(writer, reader))
    writer.submit(new_incident("inc-1"))
    await wait_until(lambda: reader.incident("inc-1") is not None)

    proxy.cut()
    await wait_until(lambda: writer.status.phase is not LinkPhase.LIVE, what="cut noticed")
    await _queue_notes_offline_then_recover(writer, reader, proxy, 500)


async def test_c_blackhole_detected_within_10_s_then_same_outcome(
    server: ServerProcess, proxy: FaultProxy, make_client: ClientFactory
) -> None:
    # Product defaults for the heartbeat (ping every 2 s, dead after 6 s of silence).
    writer = make_client("ann", proxy.url, heartbeat_interval=2.0, dead_after=6.0)
    reader = make_client("bob", server.url)
    await wait_until(lambda: live(writer, reader))
    writer.submit(new_incident("inc-1"))
    await wait_until(lambda: reader.incident("inc-1") is not None and settled(writer))

    proxy.blackhole()
    started = time.monotonic()
    await wait_until(
        lambda: writer.status.phase is not LinkPhase.LIVE, timeout=12, what="blackhole noticed"
    )
    detected_after = time.monotonic() - started
    assert detected_after <= 10.0, f"blackhole detected after {detected_after:.1f} s"
    await _queue_notes_offline_then_recover(writer, reader, proxy, 500)


async def test_d_server_killed_and_restarted_every_client_resyncs_gap_free(
    server: ServerProcess, make_client: ClientFactory
) -> None:
    clients = [make_client(name, server.url) for name in ("ann", "bob", "cat")]
    logs = [record_events(c) for c in clients]
    await wait_until(lambda: live(*clients))
    ann = clients[0]
    ann.submit(new_incident("inc-1"))
    for i in range(10):
        ann.submit(IncidentAddNote(incident_id="inc-1", text=f"before {i}"))
    await wait_until(lambda: all(c.state.last_seq == 11 for c in clients), what="first events")

    server.kill()
    await wait_until(lambda: not any(live(c) for c in clients), what="all noticed the crash")
    for i in range(20):
        clients[i % 3].submit(IncidentAddNote(incident_id="inc-1", text=f"during {i}"))
    server.start()  # same port, same database

    await wait_until(lambda: settled(*clients), timeout=30, what="all resynced")
    await wait_until(lambda: len({c.state.last_seq for c in clients}) == 1, what="same last_seq")
    assert clients[0].state.last_seq == 31
    for log, client in zip(logs, clients, strict=True):
        seqs = [seq for seq, _, _ in log]
        assert seqs == list(range(1, 32)), "gap-free and duplicate-free"
        assert client.state.duplicate_events == 0
        assert len(client.incident("inc-1").narrative) == 30  # type: ignore[union-attr]


async def test_g_conflict_offline_dispatch_loses_and_needs_attention(
    server: ServerProcess, proxy: FaultProxy, make_client: ClientFactory
) -> None:
    online = make_client("ann", server.url)
    offline = make_client("bob", proxy.url)
    await wait_until(lambda: live(online, offline))
    online.submit(UnitAdd(unit_id="E1", type="ENGINE", status=UnitStatus.AV))
    online.submit(new_incident("inc-x"))
    online.submit(new_incident("inc-y"))
    await wait_until(
        lambda: offline.incident("inc-y") is not None and offline.unit("E1") is not None
    )

    proxy.cut()
    await wait_until(lambda: offline.status.phase is not LinkPhase.LIVE)
    lost = offline.submit(UnitDispatch(incident_id="inc-y", unit_ids=["E1"]))
    assert offline.unit("E1").incident_id == "inc-y"  # type: ignore[union-attr]  # forecast
    online.submit(UnitDispatch(incident_id="inc-x", unit_ids=["E1"]))
    await wait_until(lambda: settled(online))

    proxy.restore()
    await wait_until(lambda: settled(offline) and bool(offline.needs_attention()), timeout=20)
    [rejection] = offline.needs_attention()
    assert rejection.entry.key == lost.key
    assert rejection.code == "unit_unavailable"
    assert "E1" in rejection.message
    assert offline.unit("E1").incident_id == "inc-x"  # type: ignore[union-attr]
    assert online.needs_attention() == []


async def test_a_full_local_disk_is_reported_and_nothing_is_lost(
    server: ServerProcess, make_client: ClientFactory
) -> None:
    watcher = make_client("ann", server.url)
    writer = make_client("bob", server.url)
    await wait_until(lambda: live(watcher, writer))
    writer.submit(new_incident("inc-1"))
    await wait_until(lambda: watcher.incident("inc-1") is not None)
    watcher.db.set_max_page_count(watcher.db.page_count())  # the disk is now full
    for i in range(300):
        writer.submit(IncidentAddNote(incident_id="inc-1", text=f"note {i} " + "x" * 200))
    await wait_until(lambda: bool(watcher.status.local_error), what="local error reported")
    assert "full" in watcher.status.local_error
    # Every note still arrives and is shown (the error is reported at the first failed write,
    # while later notes may still be on their way).
    await wait_until(
        lambda: len(watcher.incident("inc-1").narrative) == 300,  # type: ignore[union-attr]
        what="every note in memory",
    )

    watcher.db.set_max_page_count(None)  # space again
    writer.submit(IncidentAddNote(incident_id="inc-1", text="after"))
    await wait_until(lambda: not watcher.status.local_error, what="error cleared")
    await wait_until(lambda: settled(writer))
