"""`server.sip.offer`: the INVITEs of the Texas A&M NG911 SIPp scenarios, and hand-made ones,
made into ``call.offer`` arguments: locations by value and by reference, garbled PIDF-LO,
Call-Info ids, the callback number, the class of service."""

from __future__ import annotations

import pytest
from sipkit import ROOT, TAMU, invite, render

from desktop.domain.calls import MAX_LOCATIONS
from desktop.domain.checks import REASON_MAX
from server.sip.message import SipRequest, parse_message
from server.sip.offer import body_parts, build_offer, call_uuid, command_key

PIDF = ROOT / "tests" / "data" / "pidf"
CALL_ID = "urn:emergency:uid:callid:123ABCdefg123ABCdefg123ABCdefg12:test.com"
INCIDENT_ID = "urn:emergency:uid:incidentid:123ABCdefg123ABCdefg123ABCdefg12:test.com"
SDP = b"v=0\r\nc=IN IP4 198.51.100.7\r\nm=audio 4000 RTP/AVP 0\r\n"


def request(data: bytes) -> SipRequest:
    message = parse_message(data)
    assert isinstance(message, SipRequest)
    return message


def tamu(name: str) -> SipRequest:
    return request(render(TAMU / f"{name}.xml"))


def multipart(*parts: tuple[str, str, bytes], boundary: str = "b1") -> bytes:
    """A multipart/mixed body of (content type, Content-ID or "", payload) parts."""
    out = b""
    for content_type, content_id, payload in parts:
        cid = f"Content-ID: <{content_id}>\r\n" if content_id else ""
        out += f"--{boundary}\r\nContent-Type: {content_type}\r\n{cid}\r\n".encode()
        out += payload + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def mixed(*parts: tuple[str, str, bytes], headers: str = "") -> SipRequest:
    body = multipart(("application/sdp", "", SDP), *parts)
    content_type = "multipart/mixed; boundary=b1"
    return request(invite(headers=headers, body=body, content_type=content_type))


def pidf(name: str) -> bytes:
    return (PIDF / name).read_bytes()


# --- the TAMU scenarios ----------------------------------------------------------------------


def test_every_tamu_scenario_is_offered() -> None:
    scenarios = sorted(TAMU.glob("*.xml"))
    assert len(scenarios) == 9
    for scenario in scenarios:
        offer = build_offer(request(render(scenario)), "sip 127.0.0.1:5061")
        assert offer.ani == "+12025551212" and offer.caller_name == "NG911 Test", scenario
        assert offer.sip_call_id == "1-4242@127.0.0.1" and offer.source == "sip 127.0.0.1:5061"


def test_civic_location_by_value() -> None:
    offer = build_offer(tamu("SIP_INVITE_location_PIDF-LO"), "sip x")
    (location,) = offer.locations
    assert location.kind == "civic" and location.civic is not None
    assert location.civic.fields["A3"] == "Laurel" and location.civic.fields["HNO"] == "10"
    assert location.timestamp == "2026-09-23T12:00:00.03" and offer.location_error == ""
    assert (offer.emergency_call_id, offer.emergency_incident_id) == (CALL_ID, INCIDENT_ID)
    assert offer.class_of_service == "voip"  # a sip: caller, no other clue


def test_geodetic_location_with_additional_data() -> None:
    offer = build_offer(tamu("SIP_INVITE_from_BCF_with_SDP_PIDF-LO_NG-AACS"), "sip x")
    (location,) = offer.locations
    assert location.geodetic is not None and location.tuple_id == "SENDER"
    assert (location.geodetic.lat, location.geodetic.lon) == (40.71668300756087, -73.99069756654683)
    assert offer.class_of_service == "wireline"  # ServiceInfo: MLTS-hosted, Fixed
    assert offer.emergency_call_id == CALL_ID and offer.location_error == ""


def test_the_complex_multipart_one_is_telematics() -> None:
    offer = build_offer(
        tamu("SIP_INVITE_from_ESRP_with_complex_multipart_mixed_SDP_PIDFLO_AddData_NGAACN"), "x"
    )
    (location,) = offer.locations
    assert location.geodetic is not None and location.geodetic.lat == 50.6199
    assert offer.class_of_service == "telematics"  # a VEDS crash-data part
    assert offer.emergency_incident_id == INCIDENT_ID


def test_location_by_reference() -> None:
    offer = build_offer(tamu("SIP_INVITE_location_reference"), "sip x")
    assert [(loc.kind, loc.reference) for loc in offer.locations] == [
        ("reference", "https://127.0.0.1/location")
    ]
    assert offer.location_error == ""


def test_a_geolocation_header_that_is_no_uri_is_said() -> None:
    offer = build_offer(tamu("SIP_INVITE_geolocation_HELD"), "sip x")
    assert offer.locations == []
    assert offer.location_error.startswith("bad_geolocation: 'LIS_LOCATION_REFERENCE_URL'")


def test_a_garbled_pidf_is_offered_without_location() -> None:
    offer = build_offer(tamu("SIP_INVITE_location_garbled_PIDF-LO_body"), "sip x")
    assert offer.locations == []
    assert offer.location_error.startswith("not_well_formed: not well-formed XML")
    assert offer.emergency_call_id == CALL_ID


def test_an_unnamed_provider_reference_keeps_the_civic_location() -> None:
    offer = build_offer(tamu("SIP_INVITE_from_OSP_with_EmergencyCallData_PIDF-LO_reference"), "x")
    (location,) = offer.locations
    assert location.kind == "civic" and offer.emergency_call_id == ""


# --- locations -------------------------------------------------------------------------------


def test_a_billion_laughs_part_is_refused_and_the_call_offered() -> None:
    bomb = pidf("handwritten_billion_laughs.xml")
    offer = build_offer(
        mixed(("application/pidf+xml", "loc@x", bomb), headers="Geolocation: <cid:loc@x>\r\n"),
        "x",
    )
    assert offer.locations == []
    assert offer.location_error.startswith("forbidden_xml: ")


def test_geolocation_errors_and_order() -> None:
    parts = (
        ("application/pidf+xml", "a@x", pidf("RFC5491TupleCircleLocation.xml")),
        ("application/pidf+xml", "", pidf("RFC5491TuplePolygonLocation.xml")),  # named by none
    )
    headers = (
        "Geolocation: <sip:lis@example.net>, <cid:missing@x>\r\n"
        "Geolocation: <cid:a@x>;inserted-by=ng911, <ftp://example.net/l>\r\n"
        "Geolocation: <cid:a@x>\r\n"  # named twice: read once
    )
    offer = build_offer(mixed(*parts, headers=headers), "x")
    assert [loc.kind for loc in offer.locations] == ["reference", "geodetic", "geodetic"]
    shapes = [loc.geodetic.shape for loc in offer.locations if loc.geodetic is not None]
    assert shapes == ["Circle", "Polygon"]
    errors = offer.location_error.split("; ")
    assert errors[0] == "no_body_part: cid:missing@x names no body part"
    assert errors[1].startswith("bad_geolocation: 'ftp://example.net/l'")


def test_a_cid_naming_the_sdp_is_no_location() -> None:
    body = multipart(("application/sdp", "sdp@x", SDP))
    offer = build_offer(
        request(
            invite(
                headers="Geolocation: <cid:sdp%40x>\r\n",
                body=body,
                content_type='multipart/mixed; boundary="b1"',
            )
        ),
        "x",
    )
    assert offer.location_error == "not_pidf_part: cid:sdp%40x is application/sdp"


def test_at_most_sixteen_locations_are_kept() -> None:
    many = [
        ("application/pidf+xml", f"p{i}@x", pidf("RFC5491TuplePointLocation.xml"))
        for i in range(20)
    ]
    offer = build_offer(mixed(*many), "x")
    assert len(offer.locations) == MAX_LOCATIONS
    assert offer.location_error == "too_many: 20 locations, the first 16 kept"


def test_a_multipart_body_without_boundary_is_said() -> None:
    message = request(invite(body=b"--b1\r\n\r\nx\r\n--b1--\r\n", content_type="multipart/mixed"))
    offer = build_offer(message, "x")
    assert offer.location_error.startswith("bad_body: multipart/mixed body without parts")
    assert body_parts(message)[0] == []


def test_the_location_error_is_cut_to_the_domain_limit() -> None:
    headers = "".join(f"Geolocation: <cid:missing-{i}@example.net>\r\n" for i in range(10))
    offer = build_offer(mixed(headers=headers), "x")
    assert len(offer.location_error) == REASON_MAX


# --- caller, ids -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "from_", "ani", "name"),
    [
        (
            'P-Asserted-Identity: "Station 4" <sip:+14155550100@carrier.example>, '
            "<tel:+1-415-555-0199>\r\n",
            '"Pat" <sip:+14155550134@h>;tag=1',
            "+14155550199",
            "Station 4",
        ),
        (
            "P-Asserted-Identity: <sip:+14155550100@carrier.example;user=phone>\r\n",
            '"Pat" <sip:+14155550134@h>;tag=1',
            "+14155550100",
            "Pat",
        ),
        ("", '"Pat" <sip:+1 (415) 555-0134@h>;tag=1', "+14155550134", "Pat"),
        ("", "<sip:alice@example.com;transport=udp>;tag=1", "alice@example.com", ""),
        ("", '"Anonymous" <sip:anonymous@anonymous.invalid>;tag=1', "", "Anonymous"),
        ("", "<tel:911>;tag=1", "911", ""),
    ],
)
def test_callback_number_and_name(headers: str, from_: str, ani: str, name: str) -> None:
    offer = build_offer(request(invite(headers=headers, from_=from_)), "x")
    assert (offer.ani, offer.caller_name) == (ani, name)


def test_call_info_ids_with_other_purposes_and_case() -> None:
    headers = (
        "Call-Info: <cid:d@x>;purpose=EmergencyCallData.DeviceInfo, "
        "<urn:emergency:uid:callid:abc:sr.example>;PURPOSE=emergency-callid\r\n"
        "Call-Info: <urn:emergency:uid:incidentid:def:sr.example>;purpose=emergency-IncidentId\r\n"
    )
    offer = build_offer(request(invite(headers=headers)), "x")
    assert offer.emergency_call_id == "urn:emergency:uid:callid:abc:sr.example"
    assert offer.emergency_incident_id == "urn:emergency:uid:incidentid:def:sr.example"


def test_ids_are_derived_from_the_call_id_and_from_tag() -> None:
    offer = build_offer(request(invite(call_id="abc@h")), "x")
    assert offer.call_id == call_uuid("abc@h", "f1") != call_uuid("abc@h", "f2")
    assert offer.call_id == build_offer(request(invite(call_id="abc@h")), "y").call_id
    keys = {command_key(offer.call_id, step) for step in ("offer", "end")}
    assert len(keys) == 2 and all(len(key) == 36 for key in keys)


# --- class of service ------------------------------------------------------------------------


def service_info(service_type: str = "", mobility: str = "") -> tuple[str, str, bytes]:
    xml = (
        '<?xml version="1.0"?><svc:EmergencyCallData.ServiceInfo '
        'xmlns:svc="urn:ietf:params:xml:ns:EmergencyCallData:ServiceInfo">'
        "<svc:ServiceEnvironment>Residence</svc:ServiceEnvironment>"
        + (f"<svc:ServiceType>{service_type}</svc:ServiceType>" if service_type else "")
        + (f"<svc:ServiceMobility>{mobility}</svc:ServiceMobility>" if mobility else "")
        + "</svc:EmergencyCallData.ServiceInfo>"
    )
    return ("application/EmergencyCallData.ServiceInfo+xml", "svc@x", xml.encode())


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ((service_info("wireless"),), "wireless"),
        ((service_info("VOIP", "Mobile"),), "voip"),
        ((service_info("POTS"),), "wireline"),
        ((service_info("", "Nomadic"),), "voip"),
        ((service_info("", "Mobile"),), "wireless"),
        ((service_info("sensor-unattended"),), "telematics"),
        # ServiceInfo says nothing known: the PIDF-LO method decides
        (
            (
                service_info("", "Unknown"),
                ("application/pidf+xml", "", pidf("RFC5491TupleCircleLocation.xml")),
            ),
            "wireless",
        ),
        ((("application/pidf+xml", "", pidf("RFC5491TuplePolygonLocation.xml")),), "wireline"),
        ((("application/pidf+xml", "", pidf("RFC5491TupleSphereLocation.xml")),), "wireless"),
        # 802.11 decides nothing: a sip: caller is VoIP
        ((("application/pidf+xml", "", pidf("DevicePointLocation.xml")),), "voip"),
        (
            (("application/EmergencyCallData.VEDS+xml", "", b"<AutomatedCrashNotification/>"),),
            "telematics",
        ),
        ((("application/EmergencyCallData.ServiceInfo+xml", "", b"<not closed"),), "voip"),
    ],
)
def test_class_of_service_from_the_body(
    parts: tuple[tuple[str, str, bytes], ...], expected: str
) -> None:
    assert build_offer(mixed(*parts), "x").class_of_service == expected


def test_class_of_service_from_the_request() -> None:
    text_only = b"v=0\r\nc=IN IP4 198.51.100.7\r\nm=message 2855 TCP/MSRP *\r\n"
    assert build_offer(request(invite(body=text_only)), "x").class_of_service == "text"
    ecall = request(
        invite().replace(b"INVITE urn:service:sos ", b"INVITE urn:service:sos.ecall.manual ")
    )
    assert build_offer(ecall, "x").class_of_service == "telematics"
    gateway = request(invite(from_="<sip:+14155550134@lng.example;user=phone>;tag=1"))
    assert build_offer(gateway, "x").class_of_service == "unknown"
    legacy = request(invite(headers="P-Asserted-Identity: <tel:+14155550134>\r\n"))
    assert build_offer(legacy, "x").class_of_service == "unknown"


def test_long_and_strange_texts_are_cut_and_cleaned() -> None:
    long_name = "N" * 100
    from_ = f'"{long_name}\\"\x01" <sip:{"9" * 80}@h>;tag=1'
    offer = build_offer(request(invite(from_=from_, call_id="c" * 300)), "x")
    assert len(offer.caller_name) == 64 and "\x01" not in offer.caller_name
    assert offer.ani == "9" * 64 and len(offer.sip_call_id) == 256
