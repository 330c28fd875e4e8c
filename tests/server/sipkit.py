"""Helpers for the SIP intake tests: SIPp scenarios rendered as SIPp sends them, hand-made
INVITEs, and a UDP peer that plays the caller's side."""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, cast

import msgspec

from desktop.protocol.messages import Event
from server.sip.message import SipResponse, parse_message
from tests.support.rawclient import RawClient

__all__ = ["SCENARIOS", "TAMU", "SipPeer", "event_of", "invite", "render"]

ROOT = Path(__file__).resolve().parents[2]
#: tests/data/sipp: the adapted and our own scenarios (PROVENANCE.md there).
SCENARIOS = ROOT / "tests" / "data" / "sipp"
#: The Texas A&M NG911 SIPp scenarios, verbatim.
TAMU = SCENARIOS / "tamu"

#: The values SIPp puts in for its keywords (`render`).
FIELDS = {
    "transport": "UDP",
    "local_ip": "127.0.0.1",
    "local_port": "5061",
    "call_id": "1-4242@127.0.0.1",
    "call_number": "1",
    "local_ip_type": "4",
    "media_ip_type": "4",
    "media_ip": "127.0.0.1",
    "media_port": "6000",
    "branch": "z9hG4bK-4242-1-0",
    "peer_tag_param": "",
}


def render(scenario: Path, index: int = 0, **values: str) -> bytes:
    """The ``index``-th ``<send>`` message of a SIPp scenario as SIPp sends it: every line
    stripped of the white space around it, the blank lines before and after dropped, CRLF line
    ends, its keywords replaced (`FIELDS`, overridden by ``values``) and ``[len]`` the body's
    length (checked against SIPp 3.6.1's datagrams, Content-Length padding aside)."""
    root = ET.parse(scenario).getroot()
    text = [element for element in root if element.tag == "send"][index].text or ""
    fields = {**FIELDS, **values}
    lines = [line.strip(" \t") for line in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    message = re.sub(r"\[([a-z_]+)\]", lambda m: fields.get(m[1], m[0]), "\r\n".join(lines))
    head, separator, body = (message + "\r\n").partition("\r\n\r\n")
    return (head.replace("[len]", str(len(body.encode()))) + separator + body).encode()


def invite(
    call_id: str = "call-1@example.net",
    *,
    headers: str = "",
    body: bytes = b"",
    content_type: str = "application/sdp",
    from_: str = '"Pat Caller" <sip:+14155550134@198.51.100.7>;tag=f1',
    cseq: int = 1,
    method: str = "INVITE",
    to: str = "<urn:service:sos>",
) -> bytes:
    """A small request (an INVITE unless ``method``); ``headers``: extra lines ("Name: v\\r\\n")."""
    head = (
        f"{method} urn:service:sos SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-t1\r\n"
        f"From: {from_}\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Contact: <sip:+14155550134@198.51.100.7:5060>\r\n"
        "Max-Forwards: 70\r\n"
        f"{headers}"
    )
    if body:
        head += f"Content-Type: {content_type}\r\n"
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode("utf-8", "surrogateescape") + body


class SipPeer(asyncio.DatagramProtocol):
    """A UDP socket on 127.0.0.1 that keeps every datagram it receives."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def open(cls) -> SipPeer:
        loop = asyncio.get_running_loop()
        _, peer = await loop.create_datagram_endpoint(cls, local_addr=("127.0.0.1", 0))
        return peer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (Python 3.11's selector datagram transport does not subclass DatagramTransport)
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.received.put_nowait(data)

    def send(self, data: bytes, port: int) -> None:
        assert self.transport is not None
        self.transport.sendto(data, ("127.0.0.1", port))

    async def response(self, status: int | None = None, timeout: float = 5.0) -> SipResponse:
        """The next response received (with ``status``, skipping others, if given)."""
        async with asyncio.timeout(timeout):
            while True:
                message = parse_message(await self.received.get())
                if isinstance(message, SipResponse) and status in (None, message.status):
                    return message

    async def quiet(self, seconds: float = 0.3) -> list[bytes]:
        """Whatever arrives within ``seconds``."""
        await asyncio.sleep(seconds)
        got = []
        while not self.received.empty():
            got.append(self.received.get_nowait())
        return got

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def event_of(client: RawClient, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    """The data of the next event of ``kind`` (already received or to come)."""
    for frame in client.frames:
        if isinstance(frame, Event) and frame.body.kind == kind:
            client.frames.remove(frame)
            return dict(msgspec.json.decode(frame.body.data))
    while True:
        frame = await client.recv(timeout)
        if isinstance(frame, Event) and frame.body.kind == kind:
            client.frames.remove(frame)
            return dict(msgspec.json.decode(frame.body.data))
