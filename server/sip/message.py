"""SIP messages (RFC 3261 §7, §20, §25): parse a datagram, read header values, build messages.

`parse_message` takes the bytes of one UDP datagram and gives a `SipRequest` or `SipResponse`,
or raises `SipSyntaxError`. Header names are kept in lower case with the compact forms expanded
(``i`` -> ``call-id``, RFC 3261 §7.3.3 and the IANA registry); header values are the field
values as written (folded lines joined by one space), decoded as UTF-8 with
``surrogateescape``, so a value copied into a response is sent back byte for byte. The body is
bytes, cut to ``Content-Length`` when the datagram holds more (RFC 3261 §18.3).

Refusals: a datagram that is not a SIP message at all, or lacks what a response must echo
(Via, From, To, Call-ID, CSeq), raises `SipSyntaxError` with ``message`` None: it can only be
dropped. A request that can be answered but is malformed (bad CSeq, a body shorter than its
Content-Length, a header line without a colon, too many headers) carries it in ``message`` and
``status`` 400, or 505 for another SIP version.

Values: `split_list` splits a comma-separated header value (Via, Contact, Call-Info,
Geolocation, P-Asserted-Identity, ...) outside quotes and angle brackets; `parse_name_addr`
reads ``"Display" <uri>;param=value`` and its forms; `uri_user` the scheme and user of a
``sip:``/``sips:``/``tel:`` URI. `response_bytes` and `request_bytes` build messages.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "MAX_HEADERS",
    "NameAddr",
    "SipMessage",
    "SipRequest",
    "SipResponse",
    "SipSyntaxError",
    "new_branch",
    "new_tag",
    "parse_message",
    "parse_name_addr",
    "request_bytes",
    "response_bytes",
    "split_list",
    "uri_user",
]

#: The most header lines a message may have (after unfolding).
MAX_HEADERS = 200
#: Compact header forms (RFC 3261 §7.3.3 and the IANA SIP header registry).
COMPACT_FORMS = {
    "a": "accept-contact",
    "b": "referred-by",
    "c": "content-type",
    "d": "request-disposition",
    "e": "content-encoding",
    "f": "from",
    "i": "call-id",
    "j": "reject-contact",
    "k": "supported",
    "l": "content-length",
    "m": "contact",
    "o": "event",
    "r": "refer-to",
    "s": "subject",
    "t": "to",
    "u": "allow-events",
    "v": "via",
    "x": "session-expires",
    "y": "identity",
}
#: The headers every response echoes; a request without them cannot be answered.
ECHOED = ("via", "from", "to", "call-id", "cseq")
#: How a header name is written in the messages built here.
CANONICAL = {"call-id": "Call-ID", "cseq": "CSeq", "www-authenticate": "WWW-Authenticate"}

_TOKEN = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")
_CSEQ = re.compile(r"(\d{1,10})[ \t]+([A-Za-z0-9.!%*_+`'~-]+)")
_STATUS_LINE = re.compile(r"SIP/2\.0 ([1-6]\d\d) ?(.*)")


class SipSyntaxError(ValueError):
    """Not a usable SIP message. ``message``: the request as far as it could be read when it
    can still be answered (with ``status``), else None (drop it)."""

    def __init__(self, reason: str, message: SipRequest | None = None, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class SipMessage:
    """Headers as (lower-case name, value) in order, and the body."""

    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (lower case), None if absent."""
        return next((value for key, value in self.headers if key == name), None)

    def header_rows(self, name: str) -> list[str]:
        """Every value of header ``name`` (lower case), one per header line, as written."""
        return [value for key, value in self.headers if key == name]

    def header_list(self, name: str) -> list[str]:
        """Every element of a comma-list header ``name`` (all its lines, split)."""
        return [item for row in self.header_rows(name) for item in split_list(row)]

    @property
    def call_id(self) -> str:
        return self.header("call-id") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        """(sequence number, method) of the CSeq header (checked by `parse_message`)."""
        match = _CSEQ.fullmatch(self.header("cseq") or "")
        return (int(match[1]), match[2]) if match else (0, "")

    @property
    def from_tag(self) -> str:
        return parse_name_addr(self.header("from") or "").params.get("tag", "")

    @property
    def to_tag(self) -> str:
        return parse_name_addr(self.header("to") or "").params.get("tag", "")


@dataclass(frozen=True, slots=True)
class SipRequest(SipMessage):
    method: str
    uri: str


@dataclass(frozen=True, slots=True)
class SipResponse(SipMessage):
    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class NameAddr:
    """A name-addr or addr-spec: display name (unquoted), URI, header parameters (names in
    lower case; a parameter without a value maps to "")."""

    display: str
    uri: str
    params: dict[str, str]


def parse_message(data: bytes) -> SipRequest | SipResponse:
    """The SIP message in ``data`` (one datagram); raises `SipSyntaxError` (module docstring)."""
    head, body = _split_head(data)
    lines = head.decode("utf-8", "surrogateescape").replace("\r\n", "\n").split("\n")
    start = lines[0].strip()
    headers: list[tuple[str, str]] = []
    problem = ""
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # folded: continues the previous value
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}".strip())
            continue
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if not colon or not _TOKEN.fullmatch(name):
            problem = problem or f"not a header line: {line[:60]!r}"
            continue
        headers.append((COMPACT_FORMS.get(name, name), value.strip()))
    if len(headers) > MAX_HEADERS:
        problem = problem or f"more than {MAX_HEADERS} header lines"
    body, length_problem = _fit_body(headers, body)
    problem = problem or length_problem
    status_line = _STATUS_LINE.fullmatch(start)
    if status_line:
        if problem:
            raise SipSyntaxError(f"response: {problem}")
        return SipResponse(tuple(headers), body, int(status_line[1]), status_line[2])
    method, uri, version = _request_line(start)
    request = SipRequest(tuple(headers), body, method, uri)
    missing = [name for name in ECHOED if request.header(name) is None]
    if missing:
        raise SipSyntaxError(f"{method}: no {', '.join(missing)} header")
    if version.upper() != "SIP/2.0":
        raise SipSyntaxError(f"version {version[:20]!r}", request, 505)
    number, cseq_method = request.cseq
    if not cseq_method or number >= 2**31:
        raise SipSyntaxError(f"bad CSeq {request.header('cseq')!r}", request)
    if cseq_method != method:
        raise SipSyntaxError(f"CSeq method {cseq_method} in a {method}", request)
    if problem:
        raise SipSyntaxError(problem, request)
    return request


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    """The header part (start line included) and the body; leading blank lines skipped."""
    data = data.lstrip(b"\r\n")
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = data.partition(separator)
        if found:
            return head, body
    return data, b""


def _fit_body(headers: list[tuple[str, str]], body: bytes) -> tuple[bytes, str]:
    """The body cut to Content-Length, and a problem ("" if none)."""
    declared = next((value for name, value in headers if name == "content-length"), None)
    if declared is None:
        return body, ""
    if not declared.isdigit():
        return body, f"bad Content-Length {declared[:20]!r}"
    length = int(declared)
    if length > len(body):
        return body, f"Content-Length {length} but {len(body)} bytes of body"
    return body[:length], ""


def _request_line(start: str) -> tuple[str, str, str]:
    parts = start.split(" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not parts[1]:
        raise SipSyntaxError(f"not a SIP start line: {start[:60]!r}")
    return parts[0], parts[1], parts[2]


# --- header values -----------------------------------------------------------------------------


def split_list(value: str) -> list[str]:
    """The comma-separated elements of ``value``, outside quoted strings and ``<...>``."""
    items: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    depth = 0
    for char in value:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char == "<":
            depth += 1
        elif not quoted and char == ">":
            depth = max(0, depth - 1)
        elif char == "," and not quoted and depth == 0:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    items.append("".join(current).strip())
    return [item for item in items if item]


def parse_name_addr(value: str) -> NameAddr:
    """``value`` as a name-addr (``"Name" <uri>;tag=x``, ``Name <uri>``, ``<uri>``) or an
    addr-spec (``uri;tag=x``: the parameters after an unbracketed URI belong to the header).
    Lenient: anything unreadable gives what could be read ("" for the rest)."""
    value = value.strip()
    display = ""
    if value.startswith('"'):
        end = _closing_quote(value)
        display = value[1:end].replace('\\"', '"').replace("\\\\", "\\")
        value = value[end + 1 :].strip()
    open_at = value.find("<")
    if open_at >= 0:
        close_at = value.find(">", open_at)
        if close_at < 0:
            close_at = len(value)
        display = display or value[:open_at].strip()
        uri = value[open_at + 1 : close_at].strip()
        rest = value[close_at + 1 :]
    else:
        uri, _, rest = value.partition(";")
        uri, rest = uri.strip(), ";" + rest
    return NameAddr(display, uri, _params(rest))


def _closing_quote(value: str) -> int:
    index = 1
    while index < len(value):
        if value[index] == "\\":
            index += 2
            continue
        if value[index] == '"':
            return index
        index += 1
    return len(value)


def _params(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in text.split(";"):
        name, _, raw = part.partition("=")
        name = name.strip().lower()
        if name:
            params[name] = raw.strip().strip('"')
    return params


def uri_user(uri: str) -> tuple[str, str, dict[str, str]]:
    """(scheme, user, URI parameters) of ``uri`` (``sip:+1202555@host;user=phone`` ->
    ``("sip", "+1202555", {"user": "phone"})``, ``tel:+1-202-555;ext=2`` -> ``("tel",
    "+1-202-555", {"ext": "2"})``); the scheme in lower case, "" for a part that is absent."""
    scheme, colon, rest = uri.strip().partition(":")
    if not colon:
        return "", "", {}
    scheme = scheme.lower()
    rest = rest.partition("?")[0]
    if scheme == "tel":
        user, _, params = rest.partition(";")
        return scheme, user, _params(params)
    userinfo, at, hostpart = rest.rpartition("@")
    params = hostpart.partition(";")[2]
    user = userinfo.partition(";")[0].partition(":")[0] if at else ""
    return scheme, user, _params(params)


# --- building messages -------------------------------------------------------------------------


def new_tag() -> str:
    """A fresh From/To tag (RFC 3261 §19.3: at least 32 bits of randomness)."""
    return secrets.token_hex(8)


def new_branch() -> str:
    """A fresh Via branch with the RFC 3261 magic cookie."""
    return "z9hG4bK" + secrets.token_hex(10)


def response_bytes(
    request: SipRequest,
    status: int,
    reason: str,
    *,
    to_tag: str = "",
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
) -> bytes:
    """A response to ``request``: its Via, From, To, Call-ID and CSeq copied (RFC 3261 §8.2.6),
    ``to_tag`` added to a To without a tag (not for 100 Trying), then ``headers`` and the body
    with its Content-Length."""
    to = request.header("to") or ""
    if to_tag and status != 100 and not request.to_tag:
        to = f"{to};tag={to_tag}"
    rows: list[tuple[str, str]] = [("via", via) for via in request.header_rows("via")]
    rows += [
        ("from", request.header("from") or ""),
        ("to", to),
        ("call-id", request.call_id),
        ("cseq", request.header("cseq") or ""),
        *headers,
    ]
    return _assemble(f"SIP/2.0 {status} {reason}", rows, body)


def request_bytes(method: str, uri: str, headers: Iterable[tuple[str, str]]) -> bytes:
    """A request without a body (``headers`` in order, Content-Length 0 added)."""
    return _assemble(f"{method} {uri} SIP/2.0", list(headers), b"")


def _assemble(start: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    rows = [start]
    for name, value in headers:
        rows.append(f"{_written(name)}: {value}")
    rows.append(f"Content-Length: {len(body)}")
    head = "\r\n".join(rows) + "\r\n\r\n"
    return head.encode("utf-8", "surrogateescape") + body


def _written(name: str) -> str:
    return CANONICAL.get(name) or "-".join(part.capitalize() for part in name.split("-"))
