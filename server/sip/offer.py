"""From an emergency INVITE (NENA i3, RFC 6881/6442/7852) to the arguments of ``call.offer``.

`build_offer` never refuses a call: whatever the body holds, the call is offered; what could not
be read about the caller's location is said in ``location_error`` ("<code>: <message>", at most
200 characters; several joined by "; "). Every text is cut to the domain's limits.

- **Ids.** ``call_id`` = `call_uuid` (a UUIDv5 of the SIP Call-ID and the caller's From tag),
  so a retransmitted INVITE, or the same INVITE after a restart, is the same call; the
  commands' idempotency keys are `command_key` of it. ``sip_call_id`` is the Call-ID.
  ``Call-Info: <urn:emergency:uid:callid:...>;purpose=emergency-CallId`` and
  ``purpose=emergency-IncidentId`` give ``emergency_call_id`` / ``emergency_incident_id``.
- **Caller.** The callback number (``ani``) and the name come from ``P-Asserted-Identity``
  (its ``tel:`` URI if it has one, else its ``sip:``/``sips:`` one), else from ``From``: the
  number without visual separators (``+12025551212``); a user part that is not a number gives
  ``user@host``; ``anonymous`` gives "". The display name of the identity, else of ``From``.
- **Location.** Each ``Geolocation`` URI in order: ``<cid:...>`` names a body part by its
  Content-ID (RFC 2392), read with `desktop.geo.pidf_lo.parse_pidf`; ``http(s):``,
  ``sip(s):`` and ``pres:`` URIs are kept as ``reference`` locations (never fetched here). A
  PIDF-LO part no header names is read too (after those). Errors: the `PidfError` code, or
  ``no_body_part`` (a cid naming no part), ``not_pidf_part`` (it names a part of another
  type), ``bad_geolocation`` (not a URI in angle brackets, or another scheme), ``bad_body``
  (a multipart body that cannot be split), ``too_many`` (more than 16 locations).
- **Class of service**, the first rule that decides (`class_of_service`):

  1. an ``EmergencyCallData.ServiceInfo`` part (RFC 7852): its ``ServiceType`` (`SERVICE_TYPES`),
     else its ``ServiceMobility`` (`SERVICE_MOBILITY`);
  2. ``telematics``: a vehicle data part (``EmergencyCallData.VEDS``, RFC 8148) or an eCall
     service URN (``urn:service:sos.ecall...``, RFC 8147) as the Request-URI;
  3. ``text``: the SDP offers only text media (``m=message`` MSRP, ``m=text`` RFC 4103);
  4. the method of a PIDF-LO location (`PIDF_METHODS`: GPS, A-GPS, Cell, ... -> ``wireless``;
     Wiremap -> ``wireline``);
  5. ``voip``: the caller's identity is a ``sip:``/``sips:`` URI (an IP device), not a
     telephone number relayed by a gateway (``user=phone``);
  6. else ``unknown``.
"""

from __future__ import annotations

import email
import re
import urllib.parse
import uuid
from dataclasses import dataclass
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as safe_xml

from desktop.domain.caller_location import CallerLocation
from desktop.domain.calls import MAX_LOCATIONS, CallOffer
from desktop.domain.checks import NAME_MAX, REASON_MAX
from desktop.geo.pidf_lo import PidfError, parse_pidf
from server.sip.message import NameAddr, SipRequest, parse_name_addr, uri_user
from server.sip.sdp import offered_media

__all__ = [
    "PIDF_METHODS",
    "SERVICE_MOBILITY",
    "SERVICE_TYPES",
    "BodyPart",
    "body_parts",
    "build_offer",
    "call_uuid",
    "class_of_service",
    "command_key",
]

#: The namespace of the intake's UUIDv5 call ids and keys (fixed: changing it re-offers calls).
NAMESPACE = uuid.UUID("6f0f8a52-4b8e-5d57-9a43-2f1c0d3e9b71")
#: The longest SIP id (Call-ID, emergency call and incident ids) the domain keeps.
SIP_ID_MAX = 256
#: The most body parts read from one INVITE.
MAX_PARTS = 32
PIDF_TYPE = "application/pidf+xml"
SERVICE_INFO_TYPE = "application/emergencycalldata.serviceinfo+xml"
VEDS_TYPE = "application/emergencycalldata.veds+xml"
REFERENCE_SCHEMES = frozenset({"http", "https", "sip", "sips", "pres"})

#: RFC 7852 ServiceType values (lower case) -> class of service.
SERVICE_TYPES = {
    "wireless": "wireless",
    "pots": "wireline",
    "coin": "wireline",
    "one-way": "wireline",
    "prison": "wireline",
    "temp": "wireline",
    "mlts-hosted": "wireline",
    "mlts-local": "wireline",
    "remote": "wireline",
    "voip": "voip",
    "sensor-attended": "telematics",
    "sensor-unattended": "telematics",
}
#: RFC 7852 ServiceMobility values (lower case) -> class of service ("Unknown" decides nothing).
SERVICE_MOBILITY = {
    "mobile": "wireless",
    "wireless": "wireless",
    "fixed": "wireline",
    "nomadic": "voip",
}
#: PIDF-LO ``<gp:method>`` values (lower case) -> class of service; any method naming GPS
#: (A-GPS, Device-Assisted_A-GPS, ...) is wireless too. DHCP, LLDP-MED, 802.11 and Manual
#: decide nothing.
PIDF_METHODS = {
    "gps": "wireless",
    "cell": "wireless",
    "triangulation": "wireless",
    "aoa": "wireless",
    "toa": "wireless",
    "tdoa": "wireless",
    "u-tdoa": "wireless",
    "otdoa": "wireless",
    "e-otd": "wireless",
    "aflt": "wireless",
    "ta-nmr": "wireless",
    "wiremap": "wireline",
}

_PHONE = re.compile(r"\+?[\d().\- ]*\d[\d().\- ]*")
_VISUAL = re.compile(r"[().\- ]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class BodyPart:
    """One part of a SIP body: media type (lower case, no parameters), Content-ID (without
    the angle brackets, "" if none) and the decoded payload."""

    content_type: str
    content_id: str
    payload: bytes


def call_uuid(sip_call_id: str, from_tag: str) -> str:
    """The ``call_id`` of the call an INVITE with this Call-ID and From tag offers."""
    return str(uuid.uuid5(NAMESPACE, f"{sip_call_id}\n{from_tag}"))


def command_key(call_id: str, step: str) -> str:
    """The idempotency key of the intake's ``step`` ("offer", "end") for the call ``call_id``."""
    return str(uuid.uuid5(NAMESPACE, f"{call_id} {step}"))


def build_offer(request: SipRequest, source: str) -> CallOffer:
    """The ``call.offer`` arguments for the INVITE ``request`` from ``source`` (module
    docstring)."""
    parts, body_problem = body_parts(request)
    identity, name = _caller(request)
    locations, errors = _locations(request, parts)
    if body_problem:
        errors.insert(0, f"bad_body: {body_problem}")
    callid = request.call_id
    emergency = _emergency_ids(request)
    return CallOffer(
        call_id=call_uuid(callid, request.from_tag),
        ani=_ani(identity.uri),
        class_of_service=class_of_service(request, parts, locations, identity),
        caller_name=_clean(name, NAME_MAX),
        locations=locations,
        location_error=_clean("; ".join(errors), REASON_MAX),
        source=_clean(source, NAME_MAX),
        sip_call_id=_clean(callid, SIP_ID_MAX),
        emergency_call_id=_clean(emergency.get("emergency-callid", ""), SIP_ID_MAX),
        emergency_incident_id=_clean(emergency.get("emergency-incidentid", ""), SIP_ID_MAX),
    )


def body_parts(request: SipRequest) -> tuple[list[BodyPart], str]:
    """The parts of ``request``'s body (a multipart one split, at most `MAX_PARTS`; nested
    multiparts flattened), and a problem ("" if none)."""
    if not request.body:
        return [], ""
    content_type = request.header("content-type") or ""
    media_type = content_type.partition(";")[0].strip().lower()
    if not media_type.startswith("multipart/"):
        return [BodyPart(media_type, "", request.body)], ""
    head = f"Content-Type: {content_type}\r\n\r\n".encode("utf-8", "surrogateescape")
    try:
        message = email.message_from_bytes(head + request.body)
        if not message.is_multipart():
            return [], f"{media_type} body without parts (no boundary?)"
        parts: list[BodyPart] = []
        for part in message.walk():
            if part.is_multipart():
                continue
            if len(parts) == MAX_PARTS:
                return parts, f"more than {MAX_PARTS} body parts (the rest not read)"
            payload = part.get_payload(decode=True)
            content_id = str(part.get("Content-ID", "")).strip().strip("<>").strip()
            data = payload if isinstance(payload, bytes) else b""
            parts.append(BodyPart(part.get_content_type(), content_id, data))
    except Exception as exc:  # the email package on hostile input: deep nesting, odd headers
        return [], f"the multipart body cannot be split ({type(exc).__name__})"
    return parts, ""


def class_of_service(
    request: SipRequest,
    parts: list[BodyPart],
    locations: list[CallerLocation],
    identity: NameAddr,
) -> str:
    """The class of service of the call (the rules of the module docstring, in order)."""
    for part in parts:
        if part.content_type == SERVICE_INFO_TYPE:
            decided = _service_info(part.payload)
            if decided:
                return decided
    if any(p.content_type == VEDS_TYPE for p in parts) or request.uri.lower().startswith(
        "urn:service:sos.ecall"
    ):
        return "telematics"
    media = [
        m for p in parts if p.content_type == "application/sdp" for m in offered_media(p.payload)
    ]
    if media and all(m.kind in ("message", "text") for m in media):
        return "text"
    for location in locations:
        method = location.method.strip().lower()
        decided = PIDF_METHODS.get(method) or ("wireless" if "gps" in method else "")
        if decided:
            return decided
    scheme, _, params = uri_user(identity.uri)
    if scheme in ("sip", "sips") and params.get("user", "").lower() != "phone":
        return "voip"
    return "unknown"


def _service_info(payload: bytes) -> str:
    """The class of service an RFC 7852 ServiceInfo document states, "" if none."""
    try:
        root: Element = safe_xml.fromstring(
            payload, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except Exception:  # malformed or hostile: the other rules decide
        return ""
    values: dict[str, str] = {}
    for child in root:
        local = child.tag.rpartition("}")[2]
        values.setdefault(local, " ".join((child.text or "").split()).lower())
    return SERVICE_TYPES.get(values.get("ServiceType", "")) or SERVICE_MOBILITY.get(
        values.get("ServiceMobility", ""), ""
    )


def _caller(request: SipRequest) -> tuple[NameAddr, str]:
    """The identity the callback number comes from, and the caller's display name."""
    asserted = [parse_name_addr(v) for v in request.header_list("p-asserted-identity")]
    by_scheme = {uri_user(a.uri)[0]: a for a in reversed(asserted)}
    sender = parse_name_addr(request.header("from") or "")
    identity = by_scheme.get("tel") or by_scheme.get("sip") or by_scheme.get("sips") or sender
    named = [identity, *asserted, sender]
    return identity, next((a.display for a in named if a.display), "")


def _ani(uri: str) -> str:
    scheme, user, _ = uri_user(uri)
    if scheme not in ("tel", "sip", "sips") or not user or user.lower() == "anonymous":
        return ""
    user = urllib.parse.unquote(user)
    if _PHONE.fullmatch(user):
        return _clean(_VISUAL.sub("", user), NAME_MAX)
    return _clean(uri.partition(":")[2].partition(";")[0], NAME_MAX)


def _emergency_ids(request: SipRequest) -> dict[str, str]:
    """``purpose`` (lower case) -> URI of the emergency-CallId / emergency-IncidentId
    Call-Info values (the first of each)."""
    ids: dict[str, str] = {}
    for value in request.header_list("call-info"):
        info = parse_name_addr(value)
        purpose = info.params.get("purpose", "").lower()
        if purpose in ("emergency-callid", "emergency-incidentid"):
            ids.setdefault(purpose, info.uri)
    return ids


def _locations(
    request: SipRequest, parts: list[BodyPart]
) -> tuple[list[CallerLocation], list[str]]:
    """The caller's locations (Geolocation order, then unnamed PIDF-LO parts) and errors."""
    locations: list[CallerLocation] = []
    errors: list[str] = []
    read: set[int] = set()

    def read_part(index: int) -> None:
        read.add(index)
        try:
            locations.extend(parse_pidf(parts[index].payload))
        except PidfError as exc:
            errors.append(f"{exc.code}: {exc.message}")

    for value in request.header_list("geolocation"):
        uri = parse_name_addr(value).uri
        scheme = uri.partition(":")[0].lower()
        if not value.startswith("<") or not uri:
            errors.append(f"bad_geolocation: {value[:60]!r} is not a URI in angle brackets")
        elif scheme == "cid":
            index = _find_part(parts, urllib.parse.unquote(uri[4:]))
            if index is None:
                errors.append(f"no_body_part: {uri[:80]} names no body part")
            elif parts[index].content_type != PIDF_TYPE:
                errors.append(f"not_pidf_part: {uri[:80]} is {parts[index].content_type}")
            elif index not in read:
                read_part(index)
        elif scheme in REFERENCE_SCHEMES:
            locations.append(CallerLocation(kind="reference", reference=uri[:SIP_ID_MAX]))
        else:
            errors.append(f"bad_geolocation: {uri[:60]!r} is not a cid, http(s) or sip(s) URI")
    for index, part in enumerate(parts):
        if part.content_type == PIDF_TYPE and index not in read:
            read_part(index)
    if len(locations) > MAX_LOCATIONS:
        errors.append(f"too_many: {len(locations)} locations, the first {MAX_LOCATIONS} kept")
        del locations[MAX_LOCATIONS:]
    return locations, errors


def _find_part(parts: list[BodyPart], content_id: str) -> int | None:
    wanted = content_id.strip().lower()
    return next((i for i, p in enumerate(parts) if p.content_id.lower() == wanted), None)


def _clean(text: str, limit: int) -> str:
    """``text`` as valid Unicode without control characters, stripped, cut to ``limit``."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _CONTROL.sub(" ", text).strip()[:limit]
