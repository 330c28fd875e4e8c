"""`SipDialogs`: the intake's SIP user-agent server, sans I/O (RFC 3261 §8.2, §12-15, §17.2).

It is given datagrams, the results of its commands and the committed call events, each with
the time (`loop.time()`-like seconds), and gives back `Action`\\ s: `Send` a datagram, `Submit` a
command. `next_due` says when `tick` must run next (retransmissions, forgetting ended calls).
The driver (`server.sip.intake`) does the I/O.

One call per SIP Call-ID, in phases: OFFERING (100 Trying sent, ``call.offer`` submitted),
RINGING (the offer was accepted: 180 Ringing), ANSWERED (a call-taker answered: 200 OK with an
inactive SDP answer, retransmitted until the ACK), CONFIRMED (ACK received), ENDED.

- A retransmitted INVITE gets the last response again; nothing is offered twice (the
  offer's key is derived from the Call-ID: `server.sip.offer.command_key`).
- CANCEL before the answer: 200 to the CANCEL, 487 to the INVITE, ``call.end`` "cancelled
  before answer". BYE from the caller: 200, ``call.end`` "caller hung up" (also on an early
  dialog, with a 487 to the INVITE).
- A call that ends in the log without the caller (a call-taker's ``call.release``, an admin's
  ``call.end``): a BYE to the caller once the dialog is confirmed (after the ACK, or when the
  200 was retransmitted for 64*T1 without one), or a 487 while it is still ringing.
- Final responses to the INVITE are retransmitted from T1 doubling up to T2 until the ACK, for
  64*T1 at most; with no ACK to a 200 the dialog is ended with a BYE and ``call.end`` (RFC
  3261 §13.3.1.4). Our BYE is retransmitted the same way until a final response.
- Transactions are matched by Call-ID, CSeq and From tag (no branch is needed: the TAMU
  scenarios send none). A CANCEL or BYE for a call this process does not know (a restart)
  still ends it when the log holds it unended (``status_of``); else 481.
- Re-INVITEs are refused 488 (the session stays as it is); OPTIONS gets 200; any other method
  405 with ``Allow``; a malformed request 400 (505 for another SIP version), or is dropped
  when it lacks what a response needs. An ended call is forgotten 64*T1 after its last
  message, so retransmissions still find it. At most ``max_calls`` calls at once (then 503).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

import msgspec

from desktop.domain.calls import ENDED_STATUSES, CallEnd, CallOffer
from desktop.domain.types import CallStatus
from desktop.protocol.errors import TRANSIENT_CODES
from server.sip.message import (
    SipRequest,
    SipResponse,
    SipSyntaxError,
    new_tag,
    parse_message,
    response_bytes,
)
from server.sip.offer import body_parts, build_offer, call_uuid, command_key
from server.sip.replies import (
    ALLOW,
    REASONS,
    Address,
    bye_bytes,
    capabilities,
    dialog_headers,
    stamp_via,
)
from server.sip.sdp import Media, answer_sdp, offered_media

__all__ = ["Action", "Address", "Phase", "Send", "SipDialogs", "Submit"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Send:
    data: bytes
    to: Address


@dataclass(frozen=True, slots=True)
class Submit:
    kind: Literal["call.offer", "call.end"]
    key: str
    args: CallOffer | CallEnd


Action = Send | Submit


class Phase(Enum):
    OFFERING = "offering"
    RINGING = "ringing"
    ANSWERED = "answered"
    CONFIRMED = "confirmed"
    ENDED = "ended"


@dataclass(slots=True)
class _Retransmit:
    data: bytes
    what: Literal["final", "bye"]
    interval: float
    next_at: float
    give_up_at: float


@dataclass(slots=True)
class _Call:
    call_id: str
    invite: SipRequest
    peer: Address
    local: Address
    media: list[Media]
    to_tag: str = field(default_factory=new_tag)
    phase: Phase = Phase.OFFERING
    last_response: bytes = b""
    ended: bool = False  # call.end submitted, or the call ended in the log
    bye_pending: bool = False  # end the dialog with a BYE once it is confirmed
    retransmit: _Retransmit | None = None
    answers: dict[tuple[int, str], bytes] = field(default_factory=dict)
    forget_at: float | None = None


class _CallRef(msgspec.Struct):
    call_id: str = ""


_call_ref = msgspec.json.Decoder(_CallRef)


class SipDialogs:
    """The calls and their SIP dialogs (module docstring). ``local_for(peer)``: this side's
    address as ``peer`` reaches it (Contact, Via, SDP); ``status_of(call_id)``: the call's
    status in the log, None if it holds no such call."""

    def __init__(
        self,
        local_for: Callable[[Address], Address],
        status_of: Callable[[str], CallStatus | None],
        *,
        max_calls: int = 1000,
        t1: float = 0.5,
        t2: float = 4.0,
    ) -> None:
        self._local_for = local_for
        self._status_of = status_of
        self.max_calls = max_calls
        self.t1 = t1
        self.t2 = t2
        self._calls: dict[str, _Call] = {}  # by SIP Call-ID
        self._by_id: dict[str, _Call] = {}  # by call_id (the log's)

    def __len__(self) -> int:
        return len(self._calls)

    def phase(self, call_id: str) -> Phase | None:
        """The phase of the call ``call_id`` (None: not known here)."""
        call = self._by_id.get(call_id)
        return call.phase if call is not None else None

    # --- inputs ------------------------------------------------------------------------------

    def datagram(self, data: bytes, peer: Address, now: float) -> list[Action]:
        """A datagram from ``peer``."""
        if not data.strip():
            return []  # a CRLF keep-alive
        try:
            message = parse_message(data)
        except SipSyntaxError as exc:
            log.info("SIP message from %s:%d refused: %s", *peer, exc.reason)
            if exc.message is None or exc.message.method == "ACK":
                return []
            return [_reply(exc.message, peer, exc.status, to_tag=new_tag())]
        if isinstance(message, SipResponse):
            return self._response(message, now)
        request = stamp_via(message, peer)
        if request.method == "INVITE":
            return self._invite(request, peer, now)
        if request.method == "ACK":
            return self._ack(request, now)
        if request.method in ("CANCEL", "BYE"):
            return self._hang_up(request, peer, now)
        if request.method == "OPTIONS":
            return [_reply(request, peer, 200, to_tag=new_tag(), headers=capabilities())]
        return [_reply(request, peer, 405, to_tag=new_tag(), headers=[("allow", ALLOW)])]

    def offer_result(self, call_id: str, ok: bool, code: str, now: float) -> list[Action]:
        """The result of the ``call.offer`` of ``call_id`` (``code``: the error's, if not ok)."""
        call = self._by_id.get(call_id)
        if call is None or call.phase is not Phase.OFFERING:
            return []
        if not ok:
            log.error("SIP call %s not offered: %s", call_id, code)
            transient = code in TRANSIENT_CODES
            retry = [("retry-after", "5")] if transient else []
            return self._final(call, 503 if transient else 500, now, retry)
        status = self._status_of(call_id)
        if status in (CallStatus.ANSWERED, CallStatus.LINKED):
            return self._answer(call, now)
        if status in ENDED_STATUSES:  # offered before, and ended since (a restart)
            call.ended = True
            return self._final(call, 487, now)
        call.phase = Phase.RINGING
        call.last_response = response_bytes(
            call.invite,
            180,
            REASONS[180],
            to_tag=call.to_tag,
            headers=dialog_headers(call.invite, call.local),
        )
        return [Send(call.last_response, call.peer)]

    def call_event(self, kind: str, data: bytes, now: float) -> list[Action]:
        """A committed event: ``call.answered`` answers the caller; ``call.released`` and
        ``call.abandoned`` that the intake did not cause end the dialog."""
        if kind not in ("call.answered", "call.released", "call.abandoned"):
            return []
        call = self._by_id.get(_call_ref.decode(data).call_id)
        if call is None:
            return []
        if kind == "call.answered":
            return self._answer(call, now) if call.phase is Phase.RINGING else []
        if call.ended:
            return []
        call.ended = True
        if call.phase in (Phase.OFFERING, Phase.RINGING):
            return self._final(call, 487, now)
        if call.phase is Phase.ANSWERED:
            call.bye_pending = True
            return []
        return self._bye(call, now) if call.phase is Phase.CONFIRMED else []

    def tick(self, now: float) -> list[Action]:
        """Retransmit what is due, give up what has waited 64*T1, forget ended calls."""
        actions: list[Action] = []
        for call in list(self._calls.values()):
            again = call.retransmit
            if again is not None and now >= again.next_at:
                if now >= again.give_up_at:
                    call.retransmit = None
                    actions += self._gave_up(call, again, now)
                else:
                    actions.append(Send(again.data, call.peer))
                    again.interval = min(again.interval * 2, self.t2)
                    again.next_at = min(now + again.interval, again.give_up_at)
            if call.retransmit is None and call.forget_at is not None and now >= call.forget_at:
                del self._calls[call.invite.call_id]
                del self._by_id[call.call_id]
        return actions

    def next_due(self) -> float | None:
        """When `tick` has something to do next (None: nothing scheduled)."""
        times = [c.retransmit.next_at for c in self._calls.values() if c.retransmit is not None]
        times += [c.forget_at for c in self._calls.values() if c.forget_at is not None]
        return min(times, default=None)

    # --- requests ----------------------------------------------------------------------------

    def _invite(self, request: SipRequest, peer: Address, now: float) -> list[Action]:
        call = self._calls.get(request.call_id)
        if request.to_tag:  # a re-INVITE: refused, the session stays as it is
            if call is None or request.to_tag != call.to_tag:
                return [_reply(request, peer, 481)]
            return [self._once(call, request, 488)]
        if call is not None:
            same = request.from_tag == call.invite.from_tag
            if same and request.cseq[0] == call.invite.cseq[0]:
                return [Send(call.last_response, call.peer)]  # a retransmission
            return [_reply(request, peer, 482, to_tag=new_tag())]
        if len(self._calls) >= self.max_calls:
            log.warning("SIP INVITE from %s:%d refused: %d calls held", *peer, self.max_calls)
            return [_reply(request, peer, 503, to_tag=new_tag(), headers=[("retry-after", "30")])]
        offer = build_offer(request, source=f"sip {peer[0]}:{peer[1]}")
        parts, _ = body_parts(request)
        media = [
            m
            for p in parts
            if p.content_type == "application/sdp"
            for m in offered_media(p.payload)
        ]
        call = _Call(offer.call_id, request, peer, self._local_for(peer), media)
        call.last_response = response_bytes(request, 100, REASONS[100])
        self._calls[request.call_id] = call
        self._by_id[call.call_id] = call
        log.info(
            "SIP INVITE from %s:%d (Call-ID %s): offering call %s from %r, %s, %d location(s)%s",
            *peer,
            request.call_id,
            call.call_id,
            offer.ani,
            offer.class_of_service,
            len(offer.locations),
            f", location error: {offer.location_error}" if offer.location_error else "",
        )
        return [
            Send(call.last_response, peer),
            Submit("call.offer", command_key(call.call_id, "offer"), offer),
        ]

    def _ack(self, request: SipRequest, now: float) -> list[Action]:
        call = self._calls.get(request.call_id)
        if call is None or request.cseq[0] != call.invite.cseq[0]:
            return []
        if call.retransmit is not None and call.retransmit.what == "final":
            call.retransmit = None
        if call.phase is not Phase.ANSWERED:
            return []
        call.phase = Phase.CONFIRMED
        return self._bye(call, now) if call.bye_pending else []

    def _hang_up(self, request: SipRequest, peer: Address, now: float) -> list[Action]:
        """CANCEL (of the INVITE) or BYE (of the dialog) from the caller."""
        cancel = request.method == "CANCEL"
        reason = "cancelled before answer" if cancel else "caller hung up"
        call = self._calls.get(request.call_id)
        if call is None:
            return self._unknown_hang_up(request, peer, reason)
        if request.from_tag != call.invite.from_tag or (
            request.cseq[0] != call.invite.cseq[0] if cancel else request.to_tag != call.to_tag
        ):
            return [_reply(request, peer, 481)]  # not this call's transaction or dialog
        cached = call.answers.get(request.cseq)
        if cached is not None:
            return [Send(cached, peer)]
        actions: list[Action] = [self._once(call, request, 200)]
        if call.phase in (Phase.OFFERING, Phase.RINGING):
            actions += self._final(call, 487, now)
        elif cancel:
            return actions  # too late: the call was answered (RFC 3261 §9.2)
        elif call.phase is Phase.ANSWERED and call.retransmit is not None:
            call.retransmit = None  # the BYE shows the 200 arrived
        self._ended(call, now)
        return actions + self._end(call, reason)

    def _unknown_hang_up(self, request: SipRequest, peer: Address, reason: str) -> list[Action]:
        """A CANCEL or BYE for a call this process does not hold: ended if the log holds it
        unended (the process restarted while the call was up), else 481."""
        call_id = call_uuid(request.call_id, request.from_tag)
        if self._status_of(call_id) in (None, *ENDED_STATUSES):
            return [_reply(request, peer, 481)]
        to_tag = request.to_tag or new_tag()
        actions: list[Action] = [_reply(request, peer, 200, to_tag=to_tag)]
        if request.method == "CANCEL":
            number = request.cseq[0]
            headers = tuple(
                (n, f"{number} INVITE" if n == "cseq" else v) for n, v in request.headers
            )
            invite = dataclasses.replace(request, method="INVITE", headers=headers)
            actions.append(_reply(invite, peer, 487, to_tag=to_tag))
        log.info("SIP %s for call %s, unknown here: ending it", request.method, call_id)
        end = CallEnd(call_id=call_id, reason=reason)
        return [*actions, Submit("call.end", command_key(call_id, "end"), end)]

    def _response(self, response: SipResponse, now: float) -> list[Action]:
        """A response: only the final one to our BYE matters."""
        call = self._calls.get(response.call_id)
        if call is None or call.retransmit is None or call.retransmit.what != "bye":
            return []
        if response.cseq == (1, "BYE") and response.status >= 200:
            call.retransmit = None
        return []

    # --- what the intake sends ---------------------------------------------------------------

    def _answer(self, call: _Call, now: float) -> list[Action]:
        """200 OK with the SDP answer: the call-taker has the call."""
        headers = [*dialog_headers(call.invite, call.local), ("content-type", "application/sdp")]
        body = answer_sdp(call.media, call.local[0], int(now) % 2**31)
        return self._final(call, 200, now, headers, body)

    def _final(
        self,
        call: _Call,
        status: int,
        now: float,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> list[Action]:
        """A final response to the INVITE, retransmitted until the ACK."""
        data = response_bytes(
            call.invite, status, REASONS[status], to_tag=call.to_tag, headers=headers, body=body
        )
        call.last_response = data
        call.retransmit = _Retransmit(data, "final", self.t1, now + self.t1, now + 64 * self.t1)
        if status < 300:
            call.phase = Phase.ANSWERED
        else:
            self._ended(call, now)
        return [Send(data, call.peer)]

    def _bye(self, call: _Call, now: float) -> list[Action]:
        """End the dialog from this side."""
        data = bye_bytes(call.invite, call.local, call.to_tag)
        call.retransmit = _Retransmit(data, "bye", self.t1, now + self.t1, now + 64 * self.t1)
        call.bye_pending = False
        self._ended(call, now)
        log.info("SIP BYE to %s:%d for call %s", *call.peer, call.call_id)
        return [Send(data, call.peer)]

    def _gave_up(self, call: _Call, again: _Retransmit, now: float) -> list[Action]:
        if again.what == "final" and call.phase is Phase.ANSWERED:
            log.warning("SIP call %s: no ACK to the 200 OK; ending the dialog", call.call_id)
            return self._bye(call, now) + self._end(call, "no ACK from the caller's side")
        if again.what == "bye":
            log.info("SIP call %s: no answer to the BYE", call.call_id)
        return []

    def _end(self, call: _Call, reason: str) -> list[Action]:
        if call.ended:
            return []
        call.ended = True
        end = CallEnd(call_id=call.call_id, reason=reason)
        return [Submit("call.end", command_key(call.call_id, "end"), end)]

    def _ended(self, call: _Call, now: float) -> None:
        call.phase = Phase.ENDED
        call.forget_at = now + 64 * self.t1

    def _once(self, call: _Call, request: SipRequest, status: int) -> Send:
        """A response to a request of the caller's within the call, kept for its
        retransmissions."""
        data = response_bytes(request, status, REASONS[status], to_tag=call.to_tag)
        call.answers[request.cseq] = data
        return Send(data, call.peer)


def _reply(
    request: SipRequest,
    peer: Address,
    status: int,
    *,
    to_tag: str = "",
    headers: Sequence[tuple[str, str]] = (),
) -> Send:
    data = response_bytes(request, status, REASONS[status], to_tag=to_tag, headers=headers)
    return Send(data, peer)
