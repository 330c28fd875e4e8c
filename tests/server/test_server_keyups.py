"""Radio key-ups on the reference server (server/keyups.py): the newest per channel, refusals
answered once per frame, roles, fan-out of the changed channels only (its rounds:
server/fanout.py), and the catch-up after a resync. `KeyUpBoard` alone with a hand clock,
then real websockets on 127.0.0.1 with bare protocol clients."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Sequence

import pytest
from srvkit import ServerFactory, add_users

from desktop.protocol.codec import decode_server_frame, encode
from desktop.protocol.messages import Error, KeyUp, KeyUpBody, KeyUpReport, KeyUps, Pong
from server.app import DispatchServer, ServerConfig
from server.keyups import KeyUpBoard
from server.store.sqlite import SqliteStore
from tests.support.rawclient import RawClient

T = time.time()


def keyup(channel: str, at: float, radio_id: str = "710001", talking: bool = True) -> KeyUp:
    return KeyUp(channel=channel, radio_id=radio_id, at=at, talking=talking)


class Sent:
    """The board's broadcast: every frame it sent, decoded."""

    def __init__(self) -> None:
        self.frames: list[KeyUps] = []

    def __call__(self, frames: Sequence[bytes]) -> None:
        for data in frames:
            frame = decode_server_frame(data)
            assert isinstance(frame, KeyUps)
            self.frames.append(frame)


def board(now: float = T) -> tuple[KeyUpBoard, Sent]:
    sent = Sent()
    return KeyUpBoard(sent, interval=0.1, clock=lambda: now), sent


# --- the board ---------------------------------------------------------------------------------


def test_the_board_keeps_the_newest_keyup_of_each_channel() -> None:
    keyups, _ = board()
    assert keyups.report([keyup("FIRE", T - 5), keyup("FIRE", T - 9, "710002")]) is None
    assert keyups.latest("FIRE") == keyup("FIRE", T - 5)  # the older one is ignored
    assert keyups.report([keyup("FIRE", T - 5, "710003")]) is None  # a repeat of the time held
    assert keyups.latest("FIRE") == keyup("FIRE", T - 5)
    assert keyups.report([keyup("FIRE", T - 1, talking=False)]) is None
    assert keyups.latest("FIRE") == keyup("FIRE", T - 1, talking=False)
    assert keyups.latest("EMS") is None
    assert keyups.accepted == 4 and keyups.refused == 0
    for interval in (0, -1, math.nan, math.inf):
        with pytest.raises(ValueError, match="the fan-out interval must be positive"):
            KeyUpBoard(Sent(), interval=interval)


def test_invalid_keyups_are_dropped_counted_and_worded_once_per_frame() -> None:
    keyups, _ = board()
    refusal = keyups.report(
        [
            keyup("FIRE", T),
            keyup("", T),  # no channel
            keyup("EMS", T, radio_id=""),  # no radio
            keyup("OPS 2", T + 3600),  # an hour in the future
        ]
    )
    assert refusal is not None
    assert refusal.startswith("3 of 4 key-ups refused: channel '': a channel is 1-32")
    assert keyups.latest("FIRE") == keyup("FIRE", T)
    assert keyups.latest("EMS") is None and keyups.latest("OPS 2") is None
    assert (keyups.accepted, keyups.refused) == (1, 3)


def test_a_fan_out_sends_only_the_channels_that_changed_once() -> None:
    keyups, sent = board()
    assert keyups.fan_out() == 0 and sent.frames == []  # nothing heard: nothing sent
    keyups.report([keyup("FIRE", T - 3), keyup("FIRE", T - 2, "710002"), keyup("EMS", T - 3)])
    assert keyups.fan_out() == 2
    (frame,) = sent.frames
    assert frame.body.keyups == [keyup("EMS", T - 3), keyup("FIRE", T - 2, "710002")]
    assert keyups.fan_out() == 0 and len(sent.frames) == 1  # nothing changed since
    keyups.report([keyup("EMS", T - 1, talking=False), keyup("FIRE", T - 10)])  # FIRE: older
    assert keyups.fan_out() == 1
    assert sent.frames[-1].body.keyups == [keyup("EMS", T - 1, talking=False)]


def test_the_catch_up_holds_every_channels_newest_keyup() -> None:
    keyups, sent = board()
    assert keyups.catch_up_frames() == []
    keyups.report([keyup("OPS 2", T - 4), keyup("FIRE", T - 3), keyup("FIRE", T - 1, "710007")])
    (data,) = keyups.catch_up_frames()
    frame = decode_server_frame(data)
    assert isinstance(frame, KeyUps)
    assert frame.body.keyups == [keyup("FIRE", T - 1, "710007"), keyup("OPS 2", T - 4)]
    assert sent.frames == []  # a catch-up is for one connection, not a fan-out


async def test_a_failed_round_is_logged_and_the_next_one_comes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failures = iter([True])
    sent: list[Sequence[bytes]] = []

    def broadcast(frames: Sequence[bytes]) -> None:
        if next(failures, False):
            raise RuntimeError("the hub is gone")
        sent.append(frames)

    keyups = KeyUpBoard(broadcast, interval=0.01, clock=lambda: T)
    keyups.report([keyup("FIRE", T - 2)])
    task = asyncio.create_task(keyups.run())
    try:
        async with asyncio.timeout(5):
            while not caplog.records:  # the first round fails
                await asyncio.sleep(0.01)
            keyups.report([keyup("FIRE", T - 1)])
            while not sent:  # and the next one goes out
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    (failed,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failed.getMessage() == "key-up fan-out failed" and failed.exc_info is not None
    (frame,) = sent[0]
    decoded = decode_server_frame(frame)
    assert isinstance(decoded, KeyUps) and decoded.body.keyups == [keyup("FIRE", T - 1)]


# --- over the wire -----------------------------------------------------------------------------


async def report(client: RawClient, *keyups: KeyUp) -> None:
    await client.send(encode(KeyUpReport(body=KeyUpBody(keyups=list(keyups)))))


@pytest.fixture
async def floor(store: SqliteStore, start_server: ServerFactory) -> DispatchServer:
    """The server (key-ups fanned out every 50 ms) with a ``radio`` account (ray)."""
    add_users(store, {"ray": "radio"})
    return await start_server(config=ServerConfig(keyups_interval=0.05))


async def test_the_radio_gateway_reports_and_every_position_hears_it(
    floor: DispatchServer,
) -> None:
    ray = await RawClient.login(floor.url, "ray")
    ann = await RawClient.login(floor.url, "ann")
    sam = await RawClient.login(floor.url, "sam")
    await report(ray, keyup("FIRE DISPATCH", T), keyup("EMS DISPATCH", T, "710002"))
    for client in (ann, sam, ray):
        got = (await client.next_of(KeyUps)).body.keyups
        assert {(k.channel, k.radio_id) for k in got} == {
            ("FIRE DISPATCH", "710001"),
            ("EMS DISPATCH", "710002"),
        }
    assert floor.keyups.latest("FIRE DISPATCH") == keyup("FIRE DISPATCH", T)
    assert not any(isinstance(f, Error) for f in ann.frames + ray.frames)
    for client in (ray, ann, sam):
        await client.close()


async def test_a_dispatchers_keyup_is_forbidden_and_an_admins_accepted(
    floor: DispatchServer,
) -> None:
    ann = await RawClient.login(floor.url, "ann")
    await report(ann, keyup("FIRE", T))
    assert (await ann.next_of(Error)).body.code == "forbidden"
    assert isinstance(await ann.ping(), Pong)  # the connection stays open
    assert floor.keyups.latest("FIRE") is None
    root = await RawClient.login(floor.url, "root")
    await report(root, keyup("FIRE", T))
    assert [k.channel for k in (await ann.next_of(KeyUps)).body.keyups] == ["FIRE"]
    await ann.close()
    await root.close()


async def test_an_invalid_keyup_is_answered_invalid_keyup_and_the_rest_kept(
    floor: DispatchServer,
) -> None:
    ray = await RawClient.login(floor.url, "ray")
    ann = await RawClient.login(floor.url, "ann")
    await report(ray, keyup("FIRE", T), keyup("EMS", T + 3600))
    error = await ray.next_of(Error)
    assert error.body.code == "invalid_keyup"
    assert error.body.message.startswith("1 of 2 key-ups refused: EMS:")
    assert [k.channel for k in (await ann.next_of(KeyUps)).body.keyups] == ["FIRE"]
    assert isinstance(await ray.ping(), Pong)
    await ray.close()
    await ann.close()


async def test_many_keyups_of_a_channel_within_an_interval_go_out_as_one(
    store: SqliteStore, start_server: ServerFactory
) -> None:
    server = await start_server(config=ServerConfig(keyups_interval=0.4))
    add_users(store, {"ray": "radio"})
    ann = await RawClient.login(server.url, "ann")
    ray = await RawClient.login(server.url, "ray")
    for n in range(20):
        await report(ray, keyup("FIRE", T + n * 0.01, talking=n % 2 == 0))
    seen: list[list[KeyUp]] = []
    while not any(k.at == T + 0.19 for frame in seen for k in frame):
        seen.append((await ann.next_of(KeyUps)).body.keyups)
    with contextlib.suppress(TimeoutError):  # nothing more comes
        seen.append((await ann.next_of(KeyUps, timeout=1.0)).body.keyups)
    assert len(seen) <= 2 and all(len(frame) == 1 for frame in seen)
    assert seen[-1] == [keyup("FIRE", T + 0.19, talking=False)]
    await ann.close()
    await ray.close()


async def test_a_resyncing_client_gets_every_channels_newest_keyup_after_its_resync(
    floor: DispatchServer,
) -> None:
    ray = await RawClient.login(floor.url, "ray")
    await report(ray, keyup("FIRE", T - 3), keyup("OPS 2", T - 2, "710005", talking=False))
    await ray.next_of(KeyUps)
    bob = await RawClient.login(floor.url, "bob")
    catch_up = await bob.next_of(KeyUps)
    assert catch_up.body.keyups == [
        keyup("FIRE", T - 3),
        keyup("OPS 2", T - 2, "710005", talking=False),
    ]
    await ray.close()
    await bob.close()
