"""The SDP the intake reads and answers (RFC 4566, RFC 3264), no more.

Voice is not carried by this product: it stays on the centre's call-handling equipment. The
intake answers an offer so that the SIP dialog can be established, with every accepted media
stream ``a=inactive`` on the discard port 9: nothing is to be sent to it and it sends nothing.
`answer_sdp` mirrors the offer's media lines in order (RFC 3264 §6: one answer line per offered
line), keeping the first format of each (with its ``a=rtpmap`` if the offer had one); a stream
the offer disabled (port 0) stays disabled. Without an offer (an INVITE with no SDP) the
answer-to-be is an offer of one inactive PCMU audio stream.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Media", "answer_sdp", "offered_media"]

#: The port of an inactive stream: the discard service, by convention.
DISCARD_PORT = 9
#: What is offered when the INVITE offered nothing.
DEFAULT_MEDIA = ("audio", "RTP/AVP", "0", "PCMU/8000")


@dataclass(frozen=True, slots=True)
class Media:
    """One ``m=`` line of an offer: media type, port, transport protocol, formats, and the
    ``a=rtpmap`` value of each format that has one."""

    kind: str
    port: int
    proto: str
    formats: tuple[str, ...]
    rtpmap: dict[str, str] = field(default_factory=dict)


def offered_media(sdp: bytes) -> list[Media]:
    """The media lines of the SDP ``sdp``, in order; malformed lines are skipped."""
    media: list[Media] = []
    for raw in sdp.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line.startswith("m="):
            parts = line[2:].split()
            if len(parts) >= 4 and parts[1].partition("/")[0].isdigit():
                port = int(parts[1].partition("/")[0])
                media.append(Media(parts[0], port, parts[2], tuple(parts[3:])))
        elif line.startswith("a=rtpmap:") and media:
            fmt, _, value = line[len("a=rtpmap:") :].partition(" ")
            media[-1].rtpmap[fmt] = value.strip()
    return media


def answer_sdp(offer: Sequence[Media], host: str, session: int) -> bytes:
    """The answer to ``offer`` from ``host`` (session id and version ``session``)."""
    host = host.strip("[]")
    family = "IP6" if _is_ipv6(host) else "IP4"
    lines = [
        "v=0",
        f"o=dispatch-server {session} {session} IN {family} {host}",
        "s=-",
        f"c=IN {family} {host}",
        "t=0 0",
    ]
    if not offer:
        kind, proto, fmt, rtpmap = DEFAULT_MEDIA
        offer = [Media(kind, DISCARD_PORT, proto, (fmt,), {fmt: rtpmap})]
    for media in offer:
        fmt = media.formats[0]
        if media.port == 0:
            lines.append(f"m={media.kind} 0 {media.proto} {fmt}")
            continue
        lines.append(f"m={media.kind} {DISCARD_PORT} {media.proto} {fmt}")
        if fmt in media.rtpmap:
            lines.append(f"a=rtpmap:{fmt} {media.rtpmap[fmt]}")
        lines.append("a=inactive")
    return ("\r\n".join(lines) + "\r\n").encode()


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False
