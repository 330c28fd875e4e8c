"""What the intake writes besides plain responses: the headers of its dialog-creating
responses, its BYE, its capabilities, and the Via stamp of what it receives (RFC 3261 §8.2.6,
§12.1.1, §15, §18.2.1; RFC 3581).

The intake's Contact is ``<sip:sip-intake@HOST:PORT>`` at its own address as the caller reaches
it; the route set of its BYE is the INVITE's Record-Route, in order (RFC 3261 §12.1.1).
"""

from __future__ import annotations

import dataclasses

from server.sip.message import (
    SipRequest,
    new_branch,
    parse_name_addr,
    request_bytes,
    split_list,
)

__all__ = [
    "ACCEPT",
    "ALLOW",
    "REASONS",
    "Address",
    "bye_bytes",
    "capabilities",
    "dialog_headers",
    "stamp_via",
]

#: A transport address: (host, port).
Address = tuple[str, int]
#: The methods the intake implements.
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS"
ACCEPT = "application/sdp, application/pidf+xml, multipart/mixed"
REASONS = {
    100: "Trying",
    180: "Ringing",
    200: "OK",
    400: "Bad Request",
    405: "Method Not Allowed",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    503: "Service Unavailable",
    505: "Version Not Supported",
}


def dialog_headers(invite: SipRequest, local: Address) -> list[tuple[str, str]]:
    """Contact, Record-Route (copied) and Allow for the 180 and the 200 to ``invite``."""
    host, port = local
    routes = [("record-route", row) for row in invite.header_rows("record-route")]
    return [("contact", f"<sip:sip-intake@{_host(host)}:{port}>"), *routes, ("allow", ALLOW)]


def capabilities() -> list[tuple[str, str]]:
    """What an OPTIONS is answered with."""
    return [("allow", ALLOW), ("accept", ACCEPT)]


def bye_bytes(invite: SipRequest, local: Address, to_tag: str) -> bytes:
    """The BYE that ends, from this side, the dialog ``invite`` created (our tag ``to_tag``):
    to the caller's Contact (else its From URI), CSeq 1 (the intake's first request in it)."""
    host, port = local
    target = parse_name_addr(invite.header("contact") or invite.header("from") or "").uri
    routes = [("route", route) for route in invite.header_list("record-route")]
    headers = [
        ("via", f"SIP/2.0/UDP {_host(host)}:{port};branch={new_branch()};rport"),
        ("max-forwards", "70"),
        *routes,
        ("from", f"{invite.header('to')};tag={to_tag}"),
        ("to", invite.header("from") or ""),
        ("call-id", invite.call_id),
        ("cseq", "1 BYE"),
    ]
    return request_bytes("BYE", target, headers)


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def stamp_via(request: SipRequest, peer: Address) -> SipRequest:
    """``request`` with ``received`` added to its top Via when the sent-by host is not where it
    came from (RFC 3261 §18.2.1), and an empty ``rport`` filled in (RFC 3581)."""
    rows = request.header_rows("via")
    top, *others = split_list(rows[0])
    via, _, rest = top.partition(";")
    sent_by = via.split()[-1] if via.split() else ""
    host = sent_by[1:].partition("]")[0] if sent_by.startswith("[") else sent_by.partition(":")[0]
    params = [p.strip() for p in rest.split(";")] if rest else []
    names = {p.partition("=")[0].lower() for p in params}
    rport = "rport" in {p.lower() for p in params}  # present without a value
    if "received" in names or (host == peer[0] and not rport):
        return request
    params = [f"rport={peer[1]}" if p.lower() == "rport" else p for p in params]
    stamped = ";".join([via.strip(), *params, f"received={peer[0]}"])
    index = request.headers.index(("via", rows[0]))
    headers = list(request.headers)
    headers[index] = ("via", ", ".join([stamped, *others]))
    return dataclasses.replace(request, headers=tuple(headers))
