"""`server.sip.message` and `server.sip.sdp`: SIP framing, header values, building messages."""

from __future__ import annotations

import pytest
from sipkit import TAMU, invite, render

from server.sip.message import (
    SipRequest,
    SipResponse,
    SipSyntaxError,
    parse_message,
    parse_name_addr,
    request_bytes,
    response_bytes,
    split_list,
    uri_user,
)
from server.sip.sdp import answer_sdp, offered_media


def request(data: bytes) -> SipRequest:
    message = parse_message(data)
    assert isinstance(message, SipRequest)
    return message


def test_a_tamu_invite_parses() -> None:
    data = render(TAMU / "SIP_INVITE_from_BCF_with_SDP_PIDF-LO_NG-AACS.xml")
    message = request(data)
    assert (message.method, message.uri) == ("INVITE", "urn:service:sos")
    assert message.cseq == (1, "INVITE")  # written "Cseq": names are case-insensitive
    assert message.call_id == "1-4242@127.0.0.1"
    assert message.from_tag == "1" and message.to_tag == ""
    assert len(message.header_rows("call-info")) == 7
    assert message.body.startswith(b"--ng911-test\r\n") and message.body.endswith(
        b"--ng911-test--\r\n"
    )
    assert len(message.body) == int(message.header("content-length") or 0)


def test_compact_forms_folding_and_lists() -> None:
    data = (
        b"OPTIONS sip:intake@192.0.2.1 SIP/2.0\r\n"
        b"v: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK-a, SIP/2.0/UDP 203.0.113.9;branch=z9-b\r\n"
        b"f: <sip:alice@example.net>;tag=9\r\n"
        b"t: <sip:intake@192.0.2.1>\r\n"
        b"i: abc@example.net\r\n"
        b"CSeq: 7 OPTIONS\r\n"
        b"Subject: a long\r\n"
        b"   folded value\r\n"
        b"l: 0\r\n\r\n"
    )
    message = request(data)
    assert message.call_id == "abc@example.net" and message.from_tag == "9"
    assert len(message.header_list("via")) == 2 and len(message.header_rows("via")) == 1
    assert message.header("subject") == "a long folded value"


def test_the_body_is_cut_to_content_length() -> None:
    data = invite(body=b"v=0\r\n") + b"trailing junk"
    assert request(data).body == b"v=0\r\n"


def test_a_response_parses() -> None:
    data = b"SIP/2.0 200 OK\r\nVia: x\r\nCall-ID: c\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n"
    message = parse_message(data)
    assert isinstance(message, SipResponse)
    assert (message.status, message.reason, message.cseq) == (200, "OK", (1, "BYE"))


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (invite().replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1), 505),
        (invite().replace(b"CSeq: 1 INVITE", b"CSeq: one INVITE"), 400),
        (invite().replace(b"CSeq: 1 INVITE", b"CSeq: 1 BYE"), 400),
        (invite().replace(b"Content-Length: 0", b"Content-Length: 99"), 400),
        (invite().replace(b"Max-Forwards: 70", b"this is no header"), 400),
        (invite(headers="X-Many: 1\r\n" * 250), 400),
    ],
)
def test_a_malformed_request_can_be_answered(data: bytes, status: int) -> None:
    with pytest.raises(SipSyntaxError) as caught:
        parse_message(data)
    assert caught.value.status == status
    assert caught.value.message is not None and caught.value.message.call_id == "call-1@example.net"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"HELLO\r\n\r\n",
        invite().replace(b"Call-ID: call-1@example.net\r\n", b""),
        b"SIP/2.0 200 OK\r\nnot a header\r\n\r\n",
    ],
)
def test_what_cannot_be_answered_is_refused_without_a_request(data: bytes) -> None:
    with pytest.raises(SipSyntaxError) as caught:
        parse_message(data)
    assert caught.value.message is None


def test_split_list_respects_quotes_and_brackets() -> None:
    value = '"Doe, John" <sip:j@x;a=1,2>;p=1, <tel:+1>, plain'
    assert split_list(value) == ['"Doe, John" <sip:j@x;a=1,2>;p=1', "<tel:+1>", "plain"]


@pytest.mark.parametrize(
    ("value", "display", "uri", "params"),
    [
        ('"NG911 Test" <sip:+1202@h:5060>;tag=1', "NG911 Test", "sip:+1202@h:5060", {"tag": "1"}),
        ('"Say \\"hi\\"" <tel:+1>', 'Say "hi"', "tel:+1", {}),
        ("Bob <sip:bob@b>;tag=x;Purpose=Y", "Bob", "sip:bob@b", {"tag": "x", "purpose": "Y"}),
        ("urn:service:sos;tag=abc", "", "urn:service:sos", {"tag": "abc"}),
        (
            "<urn:emergency:uid:callid:1:t.com>;purpose=emergency-CallId",
            "",
            "urn:emergency:uid:callid:1:t.com",
            {"purpose": "emergency-CallId"},
        ),
        ("<cid:x@y", "", "cid:x@y", {}),
    ],
)
def test_parse_name_addr(value: str, display: str, uri: str, params: dict[str, str]) -> None:
    parsed = parse_name_addr(value)
    assert (parsed.display, parsed.uri, parsed.params) == (display, uri, params)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("sip:+12025551212@127.0.0.1:5098", ("sip", "+12025551212", {})),
        ("sip:+1202;npdi@gw.example;user=phone", ("sip", "+1202", {"user": "phone"})),
        ("sips:alice:secret@example.com", ("sips", "alice", {})),
        ("tel:+1-202-555-1212;ext=7", ("tel", "+1-202-555-1212", {"ext": "7"})),
        ("sip:example.com", ("sip", "", {})),
        ("nonsense", ("", "", {})),
    ],
)
def test_uri_user(uri: str, expected: tuple[str, str, dict[str, str]]) -> None:
    assert uri_user(uri) == expected


def test_a_response_echoes_the_request() -> None:
    message = request(render(TAMU / "SIP_INVITE_location_PIDF-LO.xml"))
    data = response_bytes(message, 180, "Ringing", to_tag="t9", headers=[("contact", "<sip:a@b>")])
    answer = parse_message(data)
    assert isinstance(answer, SipResponse) and answer.status == 180
    for name in ("via", "from", "call-id", "cseq"):
        assert answer.header(name) == message.header(name)
    assert answer.header("to") == "urn:service:sos;tag=t9" and answer.to_tag == "t9"
    assert answer.header("contact") == "<sip:a@b>" and answer.body == b""
    trying = parse_message(response_bytes(message, 100, "Trying", to_tag="t9"))
    assert trying.to_tag == ""  # 100 Trying carries no tag


def test_bytes_that_are_not_utf8_are_echoed_unchanged() -> None:
    data = invite(
        from_='"Caf\xe9" <sip:x@y>;tag=z'.encode("latin-1").decode("utf-8", "surrogateescape")
    )
    message = request(data)
    echoed = response_bytes(message, 200, "OK")
    assert b'From: "Caf\xe9" <sip:x@y>;tag=z\r\n' in echoed


def test_request_bytes() -> None:
    data = request_bytes(
        "BYE", "sip:a@b", [("call-id", "c"), ("cseq", "1 BYE"), ("max-forwards", "70")]
    )
    assert (
        data == b"BYE sip:a@b SIP/2.0\r\nCall-ID: c\r\nCSeq: 1 BYE\r\nMax-Forwards: 70\r\n"
        b"Content-Length: 0\r\n\r\n"
    )


def test_the_sdp_answer_is_inactive_and_mirrors_the_offer() -> None:
    offer = offered_media(
        b"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 49170 RTP/AVP 8 0\r\na=rtpmap:8 PCMA/8000\r\n"
        b"m=video 0 RTP/AVP 31\r\nm=message 7394 TCP/MSRP *\r\n"
    )
    assert [(m.kind, m.port, m.formats) for m in offer] == [
        ("audio", 49170, ("8", "0")),
        ("video", 0, ("31",)),
        ("message", 7394, ("*",)),
    ]
    answer = answer_sdp(offer, "192.0.2.5", 7).decode()
    assert "c=IN IP4 192.0.2.5\r\n" in answer and "o=dispatch-server 7 7 IN IP4 192.0.2.5" in answer
    media = [line for line in answer.split("\r\n") if line.startswith("m=")]
    assert media == ["m=audio 9 RTP/AVP 8", "m=video 0 RTP/AVP 31", "m=message 9 TCP/MSRP *"]
    assert answer.count("a=inactive") == 2 and "a=rtpmap:8 PCMA/8000" in answer


def test_without_an_offer_the_answer_offers_inactive_audio() -> None:
    answer = answer_sdp([], "2001:db8::5", 1).decode()
    assert "c=IN IP6 2001:db8::5" in answer
    assert "m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=inactive\r\n" in answer
