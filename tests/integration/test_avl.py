"""AVL positions end to end: an ``avl`` workstation core reports through a real server process,
dispatchers' cores follow them (position-only changes), a workstation cut off meanwhile gets
every unit's newest fix after its resync, positions are dropped (not queued) while offline, and
the server keeps them across a restart."""

from __future__ import annotations

import asyncio

import pytest

from desktop.domain.types import Position
from desktop.domain.units import UnitAdd
from desktop.link import LinkPhase
from desktop.protocol.messages import PositionFix
from desktop.service import CommandRefused, DispatchService
from desktop.state import Change
from tests.support.faultproxy import FaultProxy
from tests.support.fixtures import ClientFactory
from tests.support.serverproc import ServerProcess
from tests.support.waiting import wait_until


async def _live(*services: DispatchService) -> None:
    for service in services:
        await wait_until(lambda s=service: s.status.phase is LinkPhase.LIVE, what="LIVE")


def _fix(service: DispatchService, unit_id: str, lat: float, **extra: float) -> PositionFix:
    at = service.server_now()
    return PositionFix(unit_id=unit_id, lat=lat, lon=-122.42, at=at, **extra)  # type: ignore[arg-type]


async def _roster(ann: DispatchService, *unit_ids: str) -> None:
    for unit_id in unit_ids:
        ann.submit(UnitAdd(unit_id=unit_id, type="ENGINE", station="01"))
    await wait_until(lambda: not ann.outbox, what="the roster")


async def test_dispatchers_follow_the_avl_feed_with_position_only_changes(
    server: ServerProcess, make_client: ClientFactory
) -> None:
    ann, avl = make_client("ann", server.url), make_client("avl", server.url)
    await _live(ann, avl)
    await _roster(ann, "E1", "M2")
    await wait_until(lambda: avl.unit("M2") is not None, what="the roster at the AVL feed")
    changes: list[Change] = []
    ann.subscribe(changes.append)
    fixes = [_fix(avl, "E1", 37.70, speed_mps=12.0, heading_deg=45.0), _fix(avl, "M2", 37.71)]
    assert avl.report_positions(fixes) == 2
    await wait_until(lambda: set(ann.positions()) == {"E1", "M2"}, 5, "positions at ann")
    e1 = ann.positions()["E1"]
    assert (e1.lat, e1.speed_mps, e1.heading_deg) == (37.70, 12.0, 45.0)
    assert ann.unit("E1").position == e1  # type: ignore[union-attr]
    moved = [c for c in changes if c.positions]
    assert moved and all(not c.units and not c.incidents for c in moved)
    # the feed's own core sees them too; nothing was queued anywhere
    await wait_until(lambda: len(avl.positions()) == 2, 5, "positions at the feed")
    assert not avl.outbox and not ann.outbox and ann.needs_attention() == []
    # a dispatcher may not report: refused at once, nothing sent
    with pytest.raises(CommandRefused) as refused:
        ann.report_positions([_fix(ann, "E1", 37.0)])
    assert refused.value.code == "forbidden"
    with pytest.raises(CommandRefused):
        avl.submit(UnitAdd(unit_id="X1", type="ENGINE"))


async def test_a_workstation_cut_off_gets_the_newest_positions_after_its_resync(
    server: ServerProcess, proxy: FaultProxy, make_client: ClientFactory
) -> None:
    ann, avl = make_client("ann", server.url), make_client("avl", server.url)
    bob = make_client("bob", proxy.url)
    await _live(ann, avl, bob)
    await _roster(ann, "E1", "M2", "T3")
    await wait_until(lambda: avl.unit("T3") is not None, what="the roster at the AVL feed")
    avl.report_positions([_fix(avl, "E1", 37.70)])
    await wait_until(lambda: "E1" in bob.positions(), 5, "the first fix at bob")
    proxy.cut()
    await wait_until(lambda: bob.status.phase is not LinkPhase.LIVE, 10, "bob offline")
    for n in range(5):  # bob misses all of these
        avl.report_positions([_fix(avl, "E1", 37.70 + n / 100), _fix(avl, "T3", 37.60 + n / 100)])
        await asyncio.sleep(0.05)
    await wait_until(lambda: "T3" in ann.positions(), 5, "the fixes at ann")
    assert bob.positions()["E1"].lat == 37.70 and "T3" not in bob.positions()
    proxy.restore()
    await _live(bob)
    await wait_until(lambda: dict(bob.positions()) == dict(ann.positions()), 5, "the catch-up")
    assert bob.positions()["E1"].lat == pytest.approx(37.74)
    assert bob.positions()["T3"].lat == pytest.approx(37.64)


async def test_offline_fixes_are_dropped_and_the_server_keeps_the_newest_across_a_restart(
    server: ServerProcess, make_client: ClientFactory
) -> None:
    ann, avl = make_client("ann", server.url), make_client("avl", server.url)
    await _live(ann, avl)
    await _roster(ann, "E1")
    await wait_until(lambda: avl.unit("E1") is not None, what="the roster at the AVL feed")
    assert avl.report_positions([_fix(avl, "E1", 37.71)]) == 1
    await wait_until(lambda: "E1" in ann.positions(), 5, "the fix at ann")
    kept: Position = ann.positions()["E1"]
    server.stop()  # SIGTERM: the server writes the newest positions as it stops
    await wait_until(lambda: avl.status.phase is not LinkPhase.LIVE, 10, "the feed offline")
    dropped = avl.link.positions_dropped
    assert avl.report_positions([_fix(avl, "E1", 37.99)]) == 0  # not queued for later
    assert avl.link.positions_dropped == dropped + 1
    server.start()
    fresh = make_client("bob", server.url)  # a workstation that never saw any fix
    await _live(fresh, avl)
    await wait_until(lambda: "E1" in fresh.positions(), 5, "the catch-up after the restart")
    assert fresh.positions()["E1"] == kept  # the offline fix never reached anyone
    await asyncio.sleep(0.5)
    assert ann.positions()["E1"] == kept
