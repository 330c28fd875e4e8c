"""`server.sip.dialogs.SipDialogs` without sockets: the responses, the commands, the timers."""

from __future__ import annotations

import msgspec
import pytest
from sipkit import invite

from desktop.domain.calls import CallEnd, CallOffer
from desktop.domain.types import CallStatus
from server.sip.dialogs import Action, Phase, Send, SipDialogs, Submit
from server.sip.message import SipMessage, SipRequest, SipResponse, parse_message
from server.sip.offer import call_uuid, command_key

PEER = ("198.51.100.7", 5060)
LOCAL = ("192.0.2.1", 5070)
CALL = call_uuid("call-1@example.net", "f1")


class Log:
    """What the event log holds: the status of each call."""

    def __init__(self) -> None:
        self.statuses: dict[str, CallStatus] = {}

    def __call__(self, call_id: str) -> CallStatus | None:
        return self.statuses.get(call_id)


def make(**options: int) -> tuple[SipDialogs, Log]:
    log = Log()
    return SipDialogs(lambda peer: LOCAL, log, **options), log


def messages(actions: list[Action]) -> list[SipMessage]:
    return [parse_message(a.data) for a in actions if isinstance(a, Send)]


def statuses(actions: list[Action]) -> list[int]:
    return [m.status for m in messages(actions) if isinstance(m, SipResponse)]


def submits(actions: list[Action]) -> list[Submit]:
    return [a for a in actions if isinstance(a, Submit)]


def event(kind: str, **data: object) -> tuple[str, bytes]:
    return kind, msgspec.json.encode({"call_id": CALL, **data})


def ack(to_tag: str, cseq: int = 1) -> bytes:
    return invite(method="ACK", cseq=cseq, to=f"<urn:service:sos>;tag={to_tag}")


def ringing(dialogs: SipDialogs, log: Log, now: float = 0.0) -> str:
    """Offer a call and let it ring; returns the To tag of the 180."""
    dialogs.datagram(invite(body=b"v=0\r\nm=audio 4000 RTP/AVP 0\r\n"), PEER, now)
    log.statuses[CALL] = CallStatus.RINGING
    (ring,) = messages(dialogs.offer_result(CALL, True, "", now))
    return ring.to_tag


def answered(dialogs: SipDialogs, log: Log, now: float = 0.0) -> tuple[str, list[Action]]:
    tag = ringing(dialogs, log, now)
    log.statuses[CALL] = CallStatus.ANSWERED
    return tag, dialogs.call_event(*event("call.answered", by="carl"), now)


def test_an_invite_is_tried_and_offered_once() -> None:
    dialogs, _ = make()
    first = dialogs.datagram(invite(), PEER, 0.0)
    assert statuses(first) == [100]
    (submit,) = submits(first)
    assert submit.kind == "call.offer" and submit.key == command_key(CALL, "offer")
    assert isinstance(submit.args, CallOffer) and submit.args.call_id == CALL
    again = dialogs.datagram(invite(), PEER, 0.2)
    assert statuses(again) == [100] and submits(again) == []
    assert [a.to for a in first if isinstance(a, Send)] == [PEER]


def test_the_accepted_offer_rings_and_a_retransmission_rings_again() -> None:
    dialogs, log = make()
    tag = ringing(dialogs, log)
    assert tag and dialogs.phase(CALL) is Phase.RINGING
    (ring,) = messages(dialogs.datagram(invite(), PEER, 1.0))
    assert isinstance(ring, SipResponse) and ring.status == 180 and ring.to_tag == tag
    assert ring.header("contact") == "<sip:sip-intake@192.0.2.1:5070>"
    assert dialogs.next_due() is None  # a ringing call waits for the call-takers


def test_the_answer_is_a_200_with_an_inactive_sdp_retransmitted_until_the_ack() -> None:
    dialogs, log = make()
    tag, actions = answered(dialogs, log)
    (ok,) = messages(actions)
    assert isinstance(ok, SipResponse) and ok.status == 200 and ok.to_tag == tag
    assert ok.header("content-type") == "application/sdp"
    assert b"m=audio 9 RTP/AVP 0\r\n" in ok.body and b"a=inactive" in ok.body
    assert b"c=IN IP4 192.0.2.1" in ok.body
    times: list[float] = []
    now = 0.0
    while len(times) < 4:
        due = dialogs.next_due()
        assert due is not None
        now = due
        if statuses(dialogs.tick(now)) == [200]:
            times.append(now)
    assert times == [0.5, 1.5, 3.5, 7.5]  # T1 doubling
    assert dialogs.tick(now + 4.0) and dialogs.next_due() == now + 8.0  # capped at T2 = 4 s
    assert dialogs.datagram(ack(tag), PEER, now + 5) == []
    assert dialogs.phase(CALL) is Phase.CONFIRMED and dialogs.next_due() is None


def test_without_an_ack_the_dialog_is_ended() -> None:
    dialogs, log = make()
    answered(dialogs, log)
    actions: list[Action] = []
    while (due := dialogs.next_due()) is not None and due <= 32.0:
        actions = dialogs.tick(due)
    assert due == 32.5  # the BYE, retransmitted T1 later if unanswered
    (bye,) = messages(actions)
    assert isinstance(bye, SipRequest) and bye.method == "BYE"
    (end,) = submits(actions)
    assert end.args == CallEnd(call_id=CALL, reason="no ACK from the caller's side")


def test_cancel_while_ringing() -> None:
    dialogs, log = make()
    tag = ringing(dialogs, log)
    actions = dialogs.datagram(invite(method="CANCEL"), PEER, 2.0)
    cancel_ok, terminated = messages(actions)
    assert isinstance(cancel_ok, SipResponse) and cancel_ok.cseq == (1, "CANCEL")
    assert cancel_ok.status == 200 and cancel_ok.to_tag == tag
    assert isinstance(terminated, SipResponse) and terminated.cseq == (1, "INVITE")
    assert terminated.status == 487 and terminated.to_tag == tag
    (end,) = submits(actions)
    assert end.key == command_key(CALL, "end")
    assert end.args == CallEnd(call_id=CALL, reason="cancelled before answer")
    again = dialogs.datagram(invite(method="CANCEL"), PEER, 2.1)
    assert statuses(again) == [200] and submits(again) == []
    assert statuses(dialogs.datagram(invite(), PEER, 2.2)) == [487]  # the INVITE again
    assert statuses(dialogs.tick(2.5)) == [487]  # retransmitted until the ACK
    assert dialogs.datagram(ack(tag), PEER, 2.6) == []
    assert dialogs.tick(3.0) == [] and len(dialogs) == 1
    dialogs.tick(2.0 + 32.0)
    assert len(dialogs) == 0  # forgotten 64*T1 after it ended


def test_cancel_after_the_answer_changes_nothing() -> None:
    dialogs, log = make()
    answered(dialogs, log)
    actions = dialogs.datagram(invite(method="CANCEL"), PEER, 1.0)
    assert statuses(actions) == [200] and submits(actions) == []
    assert dialogs.phase(CALL) is Phase.ANSWERED


def test_bye_from_the_caller() -> None:
    dialogs, log = make()
    tag, _ = answered(dialogs, log)
    dialogs.datagram(ack(tag), PEER, 0.1)
    bye = invite(method="BYE", cseq=2, to=f"<urn:service:sos>;tag={tag}")
    actions = dialogs.datagram(bye, PEER, 5.0)
    assert statuses(actions) == [200]
    (end,) = submits(actions)
    assert end.args == CallEnd(call_id=CALL, reason="caller hung up")
    again = dialogs.datagram(bye, PEER, 5.2)
    assert statuses(again) == [200] and submits(again) == []


def test_bye_before_the_ack_stops_the_200() -> None:
    dialogs, log = make()
    tag, _ = answered(dialogs, log)
    bye = invite(method="BYE", cseq=2, to=f"<urn:service:sos>;tag={tag}")
    assert statuses(dialogs.datagram(bye, PEER, 0.2)) == [200]
    assert dialogs.tick(0.6) == []


def test_bye_on_the_early_dialog_ends_the_ringing_call() -> None:
    dialogs, log = make()
    tag = ringing(dialogs, log)
    actions = dialogs.datagram(invite(method="BYE", cseq=2, to=f"<x>;tag={tag}"), PEER, 1.0)
    assert sorted(statuses(actions)) == [200, 487]
    assert submits(actions)[0].args == CallEnd(call_id=CALL, reason="caller hung up")


def test_requests_for_no_known_call() -> None:
    dialogs, log = make()
    tag = ringing(dialogs, log)
    assert statuses(
        dialogs.datagram(invite(method="BYE", cseq=2, to="<x>;tag=other"), PEER, 1)
    ) == [481]
    unknown = invite(method="BYE", call_id="nobody@x", to="<x>;tag=t")
    assert statuses(dialogs.datagram(unknown, PEER, 1)) == [481]
    reinvite = invite(cseq=2, to=f"<urn:service:sos>;tag={tag}")
    assert statuses(dialogs.datagram(reinvite, PEER, 1)) == [488]
    assert statuses(dialogs.datagram(invite(call_id="x@y", to="<x>;tag=zz"), PEER, 1)) == [481]
    forked = invite(from_='"Pat" <sip:+14155550134@198.51.100.7>;tag=f2')
    assert statuses(dialogs.datagram(forked, PEER, 1)) == [482]
    other_cancel = invite(method="CANCEL", cseq=5)
    assert statuses(dialogs.datagram(other_cancel, PEER, 1)) == [481]
    assert dialogs.phase(CALL) is Phase.RINGING


def test_after_a_restart_a_hang_up_still_ends_the_call() -> None:
    dialogs, log = make()  # this process never saw the INVITE
    log.statuses[CALL] = CallStatus.RINGING
    actions = dialogs.datagram(invite(method="CANCEL"), PEER, 0.0)
    cancel_ok, terminated = messages(actions)
    assert isinstance(terminated, SipResponse) and terminated.cseq == (1, "INVITE")
    assert (cancel_ok.to_tag, terminated.status) == (terminated.to_tag, 487)
    assert submits(actions)[0].args == CallEnd(call_id=CALL, reason="cancelled before answer")
    log.statuses[CALL] = CallStatus.ABANDONED
    assert statuses(dialogs.datagram(invite(method="CANCEL"), PEER, 0.0)) == [481]


def test_a_release_by_the_call_taker_sends_a_bye_after_the_ack() -> None:
    dialogs, log = make()
    tag, _ = answered(dialogs, log)
    assert dialogs.call_event(*event("call.released", by="carl"), 0.2) == []
    (bye,) = messages(dialogs.datagram(ack(tag), PEER, 0.3))
    assert isinstance(bye, SipRequest) and bye.method == "BYE"
    assert bye.uri == "sip:+14155550134@198.51.100.7:5060"  # the caller's Contact
    assert bye.header("to") == '"Pat Caller" <sip:+14155550134@198.51.100.7>;tag=f1'
    assert bye.header("from") == f"<urn:service:sos>;tag={tag}" and bye.cseq == (1, "BYE")
    assert (bye.header("via") or "").startswith("SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK")
    response = b"SIP/2.0 200 OK\r\nVia: v\r\nCall-ID: call-1@example.net\r\nCSeq: 1 BYE\r\n\r\n"
    assert dialogs.datagram(response, PEER, 0.4) == []
    assert dialogs.tick(0.8) == []  # answered: not retransmitted


def test_the_bye_is_retransmitted_until_answered() -> None:
    dialogs, log = make()
    tag, _ = answered(dialogs, log)
    dialogs.datagram(ack(tag), PEER, 0.1)
    assert len(messages(dialogs.call_event(*event("call.released", by="carl"), 1.0))) == 1
    again = messages(dialogs.tick(1.5))
    assert [m.cseq for m in again] == [(1, "BYE")]
    # the caller's BYE crossing ours is answered and ends nothing more
    crossing = invite(method="BYE", cseq=2, to=f"<x>;tag={tag}")
    actions = dialogs.datagram(crossing, PEER, 1.6)
    assert statuses(actions) == [200] and submits(actions) == []


def test_a_call_ended_elsewhere_while_ringing_is_terminated() -> None:
    dialogs, log = make()
    ringing(dialogs, log)
    assert statuses(dialogs.call_event(*event("call.abandoned", reason="by admin"), 1.0)) == [487]


def test_the_end_the_intake_asked_for_does_nothing_more() -> None:
    dialogs, log = make()
    tag = ringing(dialogs, log)
    dialogs.datagram(invite(method="CANCEL"), PEER, 1.0)
    assert dialogs.call_event(*event("call.abandoned", reason="cancelled before answer"), 1.1) == []
    assert dialogs.call_event(*event("incident.created"), 1.1) == []
    assert tag


@pytest.mark.parametrize(
    ("code", "status"), [("storage_unavailable", 503), ("invalid_command", 500)]
)
def test_a_refused_offer_is_a_server_error(code: str, status: int) -> None:
    dialogs, _ = make()
    dialogs.datagram(invite(), PEER, 0.0)
    (answer,) = messages(dialogs.offer_result(CALL, False, code, 0.1))
    assert isinstance(answer, SipResponse) and answer.status == status
    assert (answer.header("retry-after") is not None) == (status == 503)


@pytest.mark.parametrize(
    ("status", "expected"), [(CallStatus.ANSWERED, 200), (CallStatus.ABANDONED, 487)]
)
def test_an_offer_made_before_a_restart_resumes(status: CallStatus, expected: int) -> None:
    dialogs, log = make()
    dialogs.datagram(invite(), PEER, 0.0)
    log.statuses[CALL] = status
    assert statuses(dialogs.offer_result(CALL, True, "", 0.1)) == [expected]


def test_other_requests() -> None:
    dialogs, _ = make()
    (options,) = messages(dialogs.datagram(invite(method="OPTIONS", call_id="o@x"), PEER, 0))
    assert isinstance(options, SipResponse) and options.status == 200
    assert options.header("allow") == "INVITE, ACK, CANCEL, BYE, OPTIONS"
    (register,) = messages(dialogs.datagram(invite(method="REGISTER", call_id="r@x"), PEER, 0))
    assert isinstance(register, SipResponse) and register.status == 405
    assert register.header("allow") == "INVITE, ACK, CANCEL, BYE, OPTIONS"
    assert statuses(dialogs.datagram(invite(method="MESSAGE", call_id="m@x"), PEER, 0)) == [405]
    bad = invite(call_id="b@x").replace(b"CSeq: 1 INVITE", b"CSeq: x")
    assert statuses(dialogs.datagram(bad, PEER, 0)) == [400]
    assert dialogs.datagram(invite(method="ACK").replace(b"CSeq: 1 ACK", b"CSeq: x"), PEER, 0) == []
    assert dialogs.datagram(b"\r\n\r\n", PEER, 0) == []
    assert dialogs.datagram(b"\x16\x03\x01 not sip", PEER, 0) == []
    assert dialogs.datagram(ack("nobody"), PEER, 0) == []
    assert len(dialogs) == 0


def test_at_most_max_calls() -> None:
    dialogs, _ = make(max_calls=2)
    for n in range(2):
        assert statuses(dialogs.datagram(invite(call_id=f"c{n}@x"), PEER, 0)) == [100]
    (busy,) = messages(dialogs.datagram(invite(call_id="c3@x"), PEER, 0))
    assert isinstance(busy, SipResponse) and busy.status == 503
    assert busy.header("retry-after") == "30"


def test_the_top_via_says_where_the_request_came_from() -> None:
    dialogs, _ = make()
    natted = invite().replace(
        b"198.51.100.7:5060;branch=z9hG4bK-t1", b"10.0.0.5:5060;branch=b;rport"
    )
    (trying,) = messages(dialogs.datagram(natted, PEER, 0))
    assert (
        trying.header("via")
        == "SIP/2.0/UDP 10.0.0.5:5060;branch=b;rport=5060;received=198.51.100.7"
    )
    dialogs2, _ = make()
    (same,) = messages(dialogs2.datagram(invite(), PEER, 0))
    assert same.header("via") == "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-t1"
