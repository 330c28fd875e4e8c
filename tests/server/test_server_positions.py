"""AVL positions on the reference server (server/positions.py): latest-value semantics, bounded
history, invalid fixes, roles, coalesced fan-out, catch-up after a resync and persistence across
a restart. Real websockets on 127.0.0.1, bare protocol clients."""

from __future__ import annotations

import contextlib
import time

import pytest
from srvkit import ServerFactory, add_users

from desktop.protocol.codec import encode
from desktop.protocol.messages import (
    Error,
    Event,
    Pong,
    PositionBody,
    PositionFix,
    PositionReport,
    Positions,
)
from server.app import DispatchServer, ServerConfig
from server.positions import PositionBook
from server.store.sqlite import SqliteStore
from tests.support.rawclient import RawClient

T = time.time()


def fix(unit_id: str, at: float, lat: float = 37.77, **extra: float) -> PositionFix:
    return PositionFix(unit_id=unit_id, lat=lat, lon=-122.42, at=at, **extra)


async def report(client: RawClient, *fixes: PositionFix) -> None:
    await client.send(encode(PositionReport(body=PositionBody(fixes=list(fixes)))))


async def positions(client: RawClient, timeout: float = 3.0) -> list[PositionFix]:
    """The fixes of the next ``positions`` frame."""
    return (await client.next_of(Positions, timeout)).body.fixes


@pytest.fixture
async def floor(store: SqliteStore, server: DispatchServer) -> DispatchServer:
    """The server with an ``avl`` account (avi) and three units on the roster."""
    add_users(store, {"avi": "avl"})
    ann = await RawClient.login(server.url, "ann")
    for unit_id in ("E1", "M2", "T3"):
        assert (await ann.command("unit.add", {"unit_id": unit_id, "type": "ENGINE"})).ok
    await ann.close()
    return server


# --- the book ----------------------------------------------------------------------------------


def test_an_older_fix_joins_the_history_but_does_not_replace_the_newest() -> None:
    book = PositionBook(history=3)
    assert book.add(fix("E1", 100.0))
    assert not book.add(fix("E1", 50.0))  # older: history only
    assert not book.add(fix("E1", 100.0, lat=1.0))  # a repeat of a time held: ignored
    assert book.latest("E1") == fix("E1", 100.0)
    assert [f.at for f in book.history("E1")] == [50.0, 100.0]
    for at in (110.0, 120.0, 130.0):
        assert book.add(fix("E1", at))
    assert [f.at for f in book.history("E1")] == [110.0, 120.0, 130.0]  # the 3 newest by time
    assert not book.add(fix("E1", 10.0))  # older than all kept: dropped from the history at once
    assert [f.at for f in book.history("E1")] == [110.0, 120.0, 130.0]
    assert [f.at for f in book.take_changed()] == [130.0]
    assert book.take_changed() == []
    assert [f.unit_id for f in book.take_unsaved()] == ["E1"]


def test_the_book_loads_the_stored_newest_without_sending_or_saving_them() -> None:
    book = PositionBook()
    book.load([fix("E1", 5.0), fix("M2", 7.0), fix("E1", 3.0)])
    assert [(f.unit_id, f.at) for f in book.all_latest()] == [("E1", 5.0), ("M2", 7.0)]
    assert book.take_changed() == [] and book.take_unsaved() == []
    with pytest.raises(ValueError):
        PositionBook(history=0)


# --- reporting ---------------------------------------------------------------------------------


async def test_an_avl_gateway_reports_and_every_position_gets_the_fixes(
    floor: DispatchServer,
) -> None:
    avi = await RawClient.login(floor.url, "avi")
    ann = await RawClient.login(floor.url, "ann", last_seq=3)
    sam = await RawClient.login(floor.url, "sam", last_seq=3)
    await report(avi, fix("E1", T, speed_mps=11.0, heading_deg=90.0), fix("M2", T))
    for client in (ann, sam, avi):
        got = await positions(client)
        assert {(f.unit_id, f.at) for f in got} == {("E1", T), ("M2", T)}
    assert floor.positions.book.latest("E1") == fix("E1", T, speed_mps=11.0, heading_deg=90.0)
    assert not any(isinstance(f, Error) for f in ann.frames + avi.frames)
    # an avl position issues no command
    refused = await avi.command("unit.set_status", {"unit_id": "E1", "status": "AV"})
    assert refused.error is not None and refused.error.code == "forbidden"
    for client in (avi, ann, sam):
        await client.close()


async def test_a_dispatchers_report_is_forbidden_and_an_admins_accepted(
    floor: DispatchServer,
) -> None:
    ann = await RawClient.login(floor.url, "ann", last_seq=3)
    await report(ann, fix("E1", T))
    error = await ann.next_of(Error)
    assert error.body.code == "forbidden"
    assert isinstance(await ann.ping(), Pong)  # the connection stays open
    assert floor.positions.book.latest("E1") is None
    root = await RawClient.login(floor.url, "root", last_seq=3)
    await report(root, fix("T3", T))
    assert [f.unit_id for f in await positions(ann)] == ["T3"]
    await ann.close()
    await root.close()


async def test_invalid_fixes_are_dropped_counted_and_answered_once_per_frame(
    floor: DispatchServer,
) -> None:
    avi = await RawClient.login(floor.url, "avi")
    ann = await RawClient.login(floor.url, "ann", last_seq=3)
    await report(
        avi,
        fix("E1", T),
        fix("X9", T),  # not on the roster
        fix("M2", T, lat=99.0),  # out of range
        fix("T3", T + 3600),  # an hour in the future
        fix("M2", T - 1),
    )
    error = await avi.next_of(Error)
    assert error.body.code == "invalid_position"
    assert error.body.message.startswith("3 of 5 fixes refused: 'X9' is not on the roster")
    got = await positions(ann)
    assert {(f.unit_id, f.lat) for f in got} == {("E1", 37.77), ("M2", 37.77)}
    assert (floor.positions.accepted, floor.positions.refused) == (2, 3)
    # more frames with invalid fixes than the invalid-frame limit: one error each, still open
    for n in range(25):
        await report(avi, fix("X9", T + n))
    for _ in range(25):
        assert (await avi.next_of(Error)).body.code == "invalid_position"
    assert isinstance(await avi.ping(), Pong)
    assert not any(isinstance(f, Error) for f in ann.frames)
    await avi.close()
    await ann.close()


async def test_many_fixes_of_a_unit_within_an_interval_go_out_as_one(
    store: SqliteStore, start_server: ServerFactory
) -> None:
    server = await start_server(config=ServerConfig(positions_interval=0.4))
    add_users(store, {"avi": "avl"})
    ann = await RawClient.login(server.url, "ann")
    for unit_id in ("E1", "M2"):
        assert (await ann.command("unit.add", {"unit_id": unit_id, "type": "ENGINE"})).ok
    avi = await RawClient.login(server.url, "avi")
    for n in range(30):
        await report(avi, fix("E1", T + n * 0.1, lat=37.70 + n * 0.001))
    await report(avi, fix("M2", T), fix("E1", T - 10))  # and an older E1: no effect
    seen: list[list[PositionFix]] = []
    while not any(f.unit_id == "M2" for frame in seen for f in frame):
        seen.append(await positions(ann))
    with contextlib.suppress(TimeoutError):  # nothing more comes: every fix went out
        seen.append(await positions(ann, timeout=1.0))
    assert len(seen) <= 2
    for frame in seen:
        ids = [f.unit_id for f in frame]
        assert len(ids) == len(set(ids))  # one fix per unit per frame
    e1 = [f for frame in seen for f in frame if f.unit_id == "E1"]
    assert len(e1) <= 2  # 31 fixes of E1, reported within about one interval
    assert e1[-1].at == pytest.approx(T + 2.9) and e1[-1].lat == pytest.approx(37.729)
    await avi.close()
    await ann.close()


# --- catch-up and persistence -----------------------------------------------------------------


async def test_a_reconnecting_client_gets_every_units_newest_fix_after_its_resync(
    floor: DispatchServer,
) -> None:
    quiet = await RawClient.login(floor.url, "bob", last_seq=3)
    assert isinstance(await quiet.ping(), Pong)
    assert not any(isinstance(f, Positions) for f in quiet.frames)  # none held: no catch-up
    await quiet.close()
    avi = await RawClient.login(floor.url, "avi")
    await report(avi, fix("E1", T - 30), fix("M2", T - 20), fix("T3", T - 10))
    await report(avi, fix("E1", T - 5, lat=37.75))
    await avi.next_of(Positions)
    # bob was offline meanwhile: he comes back holding seq 1 of 3
    bob = await RawClient.login(floor.url, "bob", last_seq=1)
    frames = [await bob.recv() for _ in range(3)]  # the replay (seq 2, 3), then the catch-up
    assert [type(f) for f in frames] == [Event, Event, Positions]
    catch_up = frames[-1]
    assert isinstance(catch_up, Positions)
    assert [(f.unit_id, f.at) for f in catch_up.body.fixes] == [
        ("E1", T - 5),
        ("M2", T - 20),
        ("T3", T - 10),
    ]
    await avi.close()
    await bob.close()


async def test_positions_survive_a_server_restart(
    store: SqliteStore, start_server: ServerFactory
) -> None:
    first = await start_server(config=ServerConfig(positions_save_interval=60.0))
    add_users(store, {"avi": "avl"})
    ann = await RawClient.login(first.url, "ann")
    assert (await ann.command("unit.add", {"unit_id": "E1", "type": "ENGINE"})).ok
    await ann.close()
    avi = await RawClient.login(first.url, "avi")
    await report(avi, fix("E1", T - 3, speed_mps=4.5))
    await avi.next_of(Positions)
    await avi.close()
    assert store.load_positions() == []  # not written yet: at most every 60 s, and at stop
    await first.stop()
    assert store.load_positions() == [fix("E1", T - 3, speed_mps=4.5)]
    second = await start_server()
    bob = await RawClient.login(second.url, "bob", last_seq=1)
    assert await positions(bob) == [fix("E1", T - 3, speed_mps=4.5)]
    await bob.close()


def test_the_store_keeps_the_newest_fix_of_each_unit(store: SqliteStore) -> None:
    store.save_positions([fix("E1", 10.0), fix("M2", 5.0, heading_deg=12.5)])
    store.save_positions([fix("E1", 9.0, lat=1.0), fix("M2", 6.0)])  # E1 older: kept as it was
    kept = {f.unit_id: f for f in store.load_positions()}
    assert kept == {"E1": fix("E1", 10.0), "M2": fix("M2", 6.0)}
