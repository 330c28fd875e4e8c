"""`SipIntake` with the real server on loopback, a UDP peer playing the caller's side and a
call-taker's connection; hostile datagrams; the processor's observer hook; ``serve --sip``."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sipkit import ROOT, TAMU, SipPeer, event_of, invite, render

from desktop.domain.world import World
from desktop.protocol.messages import CommandBody
from server.app import DispatchServer
from server.processor import CommandProcessor
from server.sip import SipIntake
from server.sip.message import SipRequest, SipResponse, parse_message
from server.store.sqlite import SqliteStore
from tests.support.rawclient import RawClient, new_key


@pytest.fixture
async def intake(server: DispatchServer) -> AsyncIterator[SipIntake]:
    sip = SipIntake(server.processor, "127.0.0.1", 0, max_datagram=16384)
    await sip.start()
    yield sip
    await sip.stop()


@pytest.fixture
async def peer() -> AsyncIterator[SipPeer]:
    udp = await SipPeer.open()
    yield udp
    udp.close()


def scenario_invite(name: str, peer: SipPeer, call_id: str = "1-4242@127.0.0.1") -> bytes:
    assert peer.transport is not None
    port = str(peer.transport.get_extra_info("sockname")[1])
    return render(TAMU / f"{name}.xml", local_port=port, call_id=call_id)


async def test_an_answered_call_from_invite_to_bye(
    server: DispatchServer, intake: SipIntake, peer: SipPeer
) -> None:
    carl = await RawClient.login(server.url, "carl")
    peer.send(scenario_invite("SIP_INVITE_location_PIDF-LO", peer), intake.port)
    assert (await peer.response(100)).status == 100
    offered = (await event_of(carl, "call.offered"))["call"]
    ringing = await peer.response(180)
    assert offered["ani"] == "+12025551212" and offered["locations"][0]["kind"] == "civic"
    assert offered["sip_call_id"] == "1-4242@127.0.0.1"
    result = await carl.command("call.answer", {"call_id": offered["id"]})
    assert result.ok, result
    ok = await peer.response(200)
    assert ok.to_tag == ringing.to_tag and b"a=inactive" in ok.body
    to = f"urn:service:sos;tag={ok.to_tag}"
    peer.send(
        invite("1-4242@127.0.0.1", method="ACK", to=to, from_=ok.header("from") or ""), intake.port
    )
    bye = invite("1-4242@127.0.0.1", method="BYE", cseq=2, to=to, from_=ok.header("from") or "")
    peer.send(bye, intake.port)
    assert (await peer.response(200)).cseq == (2, "BYE")
    ended = await event_of(carl, "call.abandoned")
    assert ended == {"call_id": offered["id"], "answered": True, "reason": "caller hung up"}
    await carl.close()


async def test_a_retransmitted_invite_and_a_restart_offer_the_call_once(
    server: DispatchServer, start_server: Any, store: SqliteStore, peer: SipPeer
) -> None:
    data = scenario_invite("SIP_INVITE_location_reference", peer)
    first = SipIntake(server.processor, "127.0.0.1", 0)
    await first.start()
    peer.send(data, first.port)
    await peer.response(180)
    peer.send(data, first.port)  # a retransmission
    assert (await peer.response()).status == 180
    await server.wait_idle()
    await first.stop()
    await server.stop()
    restarted = await start_server()
    second = SipIntake(restarted.processor, "127.0.0.1", 0)
    await second.start()
    peer.send(data, second.port)  # the same INVITE after a restart
    assert (await peer.response(180)).status == 180
    await restarted.wait_idle()
    await second.stop()
    kinds = [event.kind for event in store.events_after(0, 100)]
    assert kinds == ["call.offered"]


async def test_hostile_datagrams_are_answered_or_dropped_and_the_intake_keeps_serving(
    server: DispatchServer, intake: SipIntake, peer: SipPeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="server.sip")
    carl = await RawClient.login(server.url, "carl")
    peer.send(b"\x00\x01garbage\xff" * 10, intake.port)
    peer.send(b"INVITE sip:x SIP/2.0\r\n\r\n", intake.port)  # nothing to answer with
    peer.send(invite("huge@x", headers="X-Pad: " + "a" * 20000 + "\r\n"), intake.port)
    peer.send(b"A" * 65000, intake.port)  # about the largest UDP datagram
    peer.send(invite("bad@x").replace(b"CSeq: 1 INVITE", b"CSeq: 1 BYE"), intake.port)
    assert (await peer.response()).status == 400
    assert await peer.quiet() == []
    bomb = (ROOT / "tests/data/pidf/handwritten_billion_laughs.xml").read_bytes()
    body = b"--b\r\nContent-Type: application/pidf+xml\r\nContent-ID: <l@x>\r\n\r\n" + bomb
    body += b"\r\n--b--\r\n"
    laughs = invite("laughs@x", headers="Geolocation: <cid:l@x>\r\n", body=body)
    peer.send(laughs.replace(b"application/sdp", b"multipart/mixed;boundary=b"), intake.port)
    await peer.response(180)
    offered = (await event_of(carl, "call.offered"))["call"]
    assert "locations" not in offered and offered["location_error"].startswith("forbidden_xml: ")
    peer.send(scenario_invite("SIP_INVITE_location_PIDF-LO", peer), intake.port)
    await peer.response(180)
    assert (await event_of(carl, "call.offered"))["call"]["locations"][0]["kind"] == "civic"
    logged = caplog.text
    assert "SIP datagram of 20" in logged and "dropped (limit 16384)" in logged
    assert "SIP datagram of 65000 bytes" in logged
    assert (
        "refused: not a SIP start line" in logged
        and "INVITE: no via, from, to, call-id, cseq" in logged
    )
    await carl.close()


async def test_a_call_taker_release_sends_a_bye(
    server: DispatchServer, intake: SipIntake, peer: SipPeer
) -> None:
    carl = await RawClient.login(server.url, "carl")
    peer.send(scenario_invite("SIP_INVITE_location_PIDF-LO", peer), intake.port)
    call_id = (await event_of(carl, "call.offered"))["call"]["id"]
    assert (await carl.command("call.answer", {"call_id": call_id})).ok
    ok = await peer.response(200)
    to = f"urn:service:sos;tag={ok.to_tag}"
    peer.send(
        invite("1-4242@127.0.0.1", method="ACK", to=to, from_=ok.header("from") or ""), intake.port
    )
    assert (await carl.command("call.release", {"call_id": call_id})).ok
    data = await peer.received.get()
    bye = parse_message(data)
    assert isinstance(bye, SipRequest) and bye.method == "BYE" and bye.to_tag == "1"
    await carl.close()


# --- the processor's observer hook -------------------------------------------------------------


class _Origin:
    user = "root"
    role = "admin"
    workstation = "ws"
    last_contact = None

    def send(self, frame: bytes) -> None:
        pass


def _command(kind: str, args: dict[str, Any]) -> CommandBody:
    return CommandBody(
        key=new_key(),
        client_seq=1,
        kind=kind,
        args=msgspec.Raw(msgspec.json.encode(args)),
        issued_at=0.0,
    )


async def test_observers_are_told_of_each_committed_event(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    processor = CommandProcessor(store, World(), 0, lambda frames: None)
    seen: list[tuple[int, str, dict[str, Any]]] = []

    def failing(seq: int, kind: str, data: bytes) -> None:
        raise RuntimeError("observer bug")

    processor.observe(failing)
    stop = processor.observe(lambda seq, kind, data: seen.append((seq, kind, json.loads(data))))
    origin = _Origin()
    processor.submit(origin, _command("call.offer", {"call_id": "c1"}))
    processor.submit(origin, _command("call.offer", {"call_id": "c1"}))  # refused: no event
    processor.submit(origin, _command("call.end", {"call_id": "c1"}))
    processor.stop()
    await processor.run()
    assert [(seq, kind) for seq, kind, _ in seen] == [(1, "call.offered"), (2, "call.abandoned")]
    assert seen[1][2] == {"call_id": "c1", "reason": "caller hung up"}  # defaults omitted
    failures = [r for r in caplog.records if r.name == "server.processor" and r.exc_info]
    assert [r.getMessage()[-17:] for r in failures] == ["failed on event 1", "failed on event 2"]
    stop()
    stop()  # harmless
    processor.submit(origin, _command("call.offer", {"call_id": "c2"}))
    processor.stop()
    await processor.run()
    assert len(seen) == 2


# --- dispatch-server serve --sip -------------------------------------------------------------


def test_serve_with_sip_prints_the_bound_address(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server",
            "serve",
            "--db",
            str(tmp_path / "db.sqlite"),
            "--port",
            "0",
            "--sip",
            "127.0.0.1:0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        listening = json.loads(proc.stdout.readline())["listening"]
        assert listening["sip"]["host"] == "127.0.0.1" and listening["port"] > 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(5)
            udp.sendto(invite(method="OPTIONS"), ("127.0.0.1", listening["sip"]["port"]))
            answer = parse_message(udp.recv(65536))
        assert isinstance(answer, SipResponse) and answer.status == 200
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_serve_refuses_a_bad_sip_address(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--db", str(tmp_path / "d"), "--sip", "5060"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )
    assert done.returncode == 2 and "expected HOST:PORT" in done.stderr
