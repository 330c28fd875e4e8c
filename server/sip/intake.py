"""`SipIntake`: the NG911 SIP intake on a UDP port, bridged to the command processor.

The only SIP code that touches sockets. Datagrams, command results and committed events are
handed to a `server.sip.dialogs.SipDialogs` with ``loop.time()``; what it gives back is done
here: datagrams sent with ``sendto`` (responses go back to where the request came from, the
symmetric response of RFC 3581), commands queued on the `CommandProcessor` as an internal
origin (user "sip-intake", role ``telephony``, workstation "sip HOST:PORT", no last contact),
so they are decided, logged, audited and answered like any workstation's. One timer runs
`SipDialogs.tick` when `SipDialogs.next_due` says.

The intake learns of answers and releases through `CommandProcessor.observe`. It never
crashes on input: a datagram larger than ``max_datagram`` is dropped with a log line, and a
failure while handling anything is logged and contained (the intake keeps serving).

Usage (after the server has started)::

    intake = SipIntake(server.processor, "0.0.0.0", 5060)
    await intake.start()
    ...
    await intake.stop()
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import msgspec

from desktop.domain.roles import TELEPHONY
from desktop.domain.types import CallStatus
from desktop.protocol.codec import decode_server_frame
from desktop.protocol.messages import CommandBody, Result
from server.processor import CommandProcessor
from server.sip.dialogs import Action, Address, SipDialogs, Submit

__all__ = ["MAX_DATAGRAM", "SIP_ROLE", "SIP_USER", "SipIntake"]

log = logging.getLogger(__name__)

#: The largest datagram read (an i3 INVITE with PIDF-LO and additional data is under 10 KB).
MAX_DATAGRAM = 32 * 1024
#: Who the intake's commands are from, in the log and the audit trail.
SIP_USER = "sip-intake"
SIP_ROLE = TELEPHONY
#: The events the dialogs act on.
OBSERVED = frozenset({"call.answered", "call.released", "call.abandoned"})


class _Origin:
    """The processor's view of the intake: results go to ``deliver``."""

    def __init__(self, workstation: str, deliver: Callable[[bytes], None]) -> None:
        self._workstation = workstation
        self._deliver = deliver

    @property
    def user(self) -> str:
        return SIP_USER

    @property
    def role(self) -> str:
        return SIP_ROLE

    @property
    def workstation(self) -> str:
        return self._workstation

    @property
    def last_contact(self) -> float | None:
        return None

    def send(self, frame: bytes) -> None:
        self._deliver(frame)

    def __repr__(self) -> str:
        return f"<SIP intake {self._workstation}>"


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, intake: SipIntake) -> None:
        self._intake = intake

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self._intake._received(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable
        log.info("SIP socket: %s", exc)


class SipIntake:
    """Emergency INVITEs on UDP ``host:port`` (port 0: any free one, see `port`) offered as
    calls through ``processor`` (see the module docstring)."""

    def __init__(
        self,
        processor: CommandProcessor,
        host: str = "127.0.0.1",
        port: int = 5060,
        *,
        max_datagram: int = MAX_DATAGRAM,
        max_calls: int = 1000,
        t1: float = 0.5,
    ) -> None:
        self.processor = processor
        self.host = host
        self.max_datagram = max_datagram
        self.dialogs = SipDialogs(
            self._local_for, self._status_of, max_calls=max_calls, t1=t1, t2=8 * t1
        )
        self._requested_port = port
        self._port: int | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._origin: _Origin | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._unobserve: Callable[[], None] | None = None
        self._offers: dict[str, str] = {}  # key of a call.offer -> call_id, until its result
        self._seq = itertools.count(1)

    @property
    def port(self) -> int:
        """The bound UDP port (valid after `start`)."""
        if self._port is None:
            raise RuntimeError("the SIP intake is not started")
        return self._port

    async def start(self) -> None:
        """Bind and start serving; raises `OSError` when the address cannot be bound."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Endpoint(self), local_addr=(self.host, self._requested_port)
        )
        self._transport = transport
        self._port = int(transport.get_extra_info("sockname")[1])
        self._origin = _Origin(f"sip {self.host}:{self._port}", self._result)
        self._unobserve = self.processor.observe(self._observed)
        log.info("SIP intake listening on udp %s:%d", self.host, self._port)

    async def stop(self) -> None:
        """Stop serving (calls in progress stay as they are in the log)."""
        if self._unobserve is not None:
            self._unobserve()
            self._unobserve = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    # --- inputs ------------------------------------------------------------------------------

    def _received(self, data: bytes, peer: Address) -> None:
        if len(data) > self.max_datagram:
            log.warning(
                "SIP datagram of %d bytes from %s:%d dropped (limit %d)",
                len(data),
                *peer,
                self.max_datagram,
            )
            return
        self._run(lambda now: self.dialogs.datagram(data, peer, now), f"datagram from {peer}")

    def _observed(self, seq: int, kind: str, data: bytes) -> None:
        if kind in OBSERVED:
            self._run(lambda now: self.dialogs.call_event(kind, data, now), f"event {seq}")

    def _result(self, frame: bytes) -> None:
        """A result of one of the intake's commands."""
        result = decode_server_frame(frame)
        if not isinstance(result, Result):
            return
        body = result.body
        code = body.error.code if body.error is not None else ""
        call_id = self._offers.pop(body.key, None)
        if call_id is not None:
            self._run(lambda now: self.dialogs.offer_result(call_id, body.ok, code, now), "result")
        elif not body.ok and code != "no_change":
            log.warning("SIP intake: call.end %s refused: %s", body.key, code)

    def _tick(self) -> None:
        self._timer = None
        self._run(self.dialogs.tick, "timers")

    # --- doing what the dialogs say ----------------------------------------------------------

    def _run(self, step: Callable[[float], list[Action]], what: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            actions = step(loop.time())
        except Exception:
            log.exception("SIP intake: handling %s failed", what)
            actions = []
        for action in actions:
            if isinstance(action, Submit):
                self._submit(action)
            elif self._transport is not None:
                try:
                    self._transport.sendto(action.data, action.to)
                except OSError as exc:
                    log.warning("SIP send to %s:%d failed: %s", *action.to, exc)
        self._schedule(loop)

    def _submit(self, action: Submit) -> None:
        if self._origin is None:
            return
        if action.kind == "call.offer":
            self._offers[action.key] = action.args.call_id
        command = CommandBody(
            key=action.key,
            client_seq=next(self._seq),
            kind=action.kind,
            args=msgspec.Raw(msgspec.json.encode(action.args)),
            issued_at=time.time(),
        )
        self.processor.submit(self._origin, command)

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        due = self.dialogs.next_due()
        if self._timer is not None and (due is None or self._timer.when() != due):
            self._timer.cancel()
            self._timer = None
        if due is not None and self._timer is None and self._transport is not None:
            self._timer = loop.call_at(due, self._tick)

    # --- what the dialogs ask ----------------------------------------------------------------

    def _local_for(self, peer: Address) -> Address:
        """This side's address as ``peer`` reaches it: the bound host, or for a wildcard bind
        the source address the kernel picks towards ``peer`` (no packet is sent)."""
        if self.host not in ("", "0.0.0.0", "::"):
            return self.host, self.port
        family = socket.AF_INET6 if ":" in peer[0] else socket.AF_INET
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((peer[0], 9))
                return str(probe.getsockname()[0]), self.port
        except OSError:
            return socket.gethostname(), self.port

    def _status_of(self, call_id: str) -> CallStatus | None:
        call = self.processor.world.calls.get(call_id)
        return call.status if call is not None else None
