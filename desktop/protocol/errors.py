"""Error codes and websocket close codes of protocol v1 (docs/protocol.md lists them all)."""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = ["TRANSIENT_CODES", "CloseCode", "ErrorCode", "ProtocolError", "error_words"]


class ErrorCode(StrEnum):
    """Machine-readable ``error.code`` values."""

    # frame level
    BAD_FRAME = "bad_frame"  # not JSON, or not an object
    INVALID_FRAME = "invalid_frame"  # JSON, but fields missing or of the wrong type
    UNKNOWN_TYPE = "unknown_type"  # a "type" this server does not know
    UNSUPPORTED_VERSION = "unsupported_version"
    FRAME_TOO_LARGE = "frame_too_large"
    RATE_LIMITED = "rate_limited"
    INVALID_POSITION = "invalid_position"  # fixes of a position frame were dropped
    INVALID_KEYUP = "invalid_keyup"  # key-ups of a keyup frame were dropped
    # session level
    NOT_AUTHENTICATED = "not_authenticated"  # a command before a successful hello
    ALREADY_AUTHENTICATED = "already_authenticated"
    AUTH_FAILED = "auth_failed"
    TOKEN_EXPIRED = "token_expired"
    ROLE_NOT_ALLOWED = "role_not_allowed"  # role_requested above the user's role
    # command level
    UNKNOWN_KIND = "unknown_kind"
    INVALID_COMMAND = "invalid_command"
    FORBIDDEN = "forbidden"
    KEY_CONFLICT = "key_conflict"  # idempotency key already used by another user
    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    UNIT_UNAVAILABLE = "unit_unavailable"
    INVALID_TRANSITION = "invalid_transition"
    INCIDENT_CLOSED = "incident_closed"
    UNITS_STILL_ASSIGNED = "units_still_assigned"
    NO_CHANGE = "no_change"
    ALREADY_ANSWERED = "already_answered"  # another position won the answer race
    CALL_ENDED = "call_ended"  # the caller hung up, or the call was released
    CALL_NOT_ANSWERED = "call_not_answered"  # a ringing call must be answered first
    # server side
    STORAGE_UNAVAILABLE = "storage_unavailable"
    INTERNAL = "internal"


#: Each code in a dispatcher's words: what a person reads where a code would otherwise show.
_WORDS: dict[ErrorCode, str] = {
    ErrorCode.BAD_FRAME: "the server could not read a message",
    ErrorCode.INVALID_FRAME: "the server could not read a message",
    ErrorCode.UNKNOWN_TYPE: "the server does not know this message",
    ErrorCode.UNSUPPORTED_VERSION: "this version does not match the server",
    ErrorCode.FRAME_TOO_LARGE: "too large to send",
    ErrorCode.RATE_LIMITED: "too many at once; sent again shortly",
    ErrorCode.INVALID_POSITION: "a vehicle position was not accepted",
    ErrorCode.INVALID_KEYUP: "a radio key-up was not accepted",
    ErrorCode.NOT_AUTHENTICATED: "not signed in",
    ErrorCode.ALREADY_AUTHENTICATED: "already signed in",
    ErrorCode.AUTH_FAILED: "user name or password not accepted",
    ErrorCode.TOKEN_EXPIRED: "the sign-in has expired; sign in again",
    ErrorCode.ROLE_NOT_ALLOWED: "this user may not sign in in that role",
    ErrorCode.UNKNOWN_KIND: "the server does not know this action",
    ErrorCode.INVALID_COMMAND: "not valid",
    ErrorCode.FORBIDDEN: "not allowed in this role",
    ErrorCode.KEY_CONFLICT: "already used by another user",
    ErrorCode.NOT_FOUND: "not found",
    ErrorCode.ALREADY_EXISTS: "already exists",
    ErrorCode.UNIT_UNAVAILABLE: "unit not available",
    ErrorCode.INVALID_TRANSITION: "status change not allowed",
    ErrorCode.INCIDENT_CLOSED: "incident closed",
    ErrorCode.UNITS_STILL_ASSIGNED: "units still assigned",
    ErrorCode.NO_CHANGE: "nothing to change",
    ErrorCode.ALREADY_ANSWERED: "another position answered it",
    ErrorCode.CALL_ENDED: "the call has ended",
    ErrorCode.CALL_NOT_ANSWERED: "answer the call first",
    ErrorCode.STORAGE_UNAVAILABLE: "the server cannot store it now; sent again shortly",
    ErrorCode.INTERNAL: "the server failed; sent again shortly",
}


def error_words(code: str) -> str:
    """``code`` (an `ErrorCode` value, or one a newer server sends) in a dispatcher's words."""
    try:
        return _WORDS[ErrorCode(code)]
    except ValueError:
        return code.replace("_", " ")


#: Codes that say "try again later", not "this command is wrong": the client keeps such a command
#: in its outbox and replays it; it never goes to Needs attention.
TRANSIENT_CODES = frozenset(
    {ErrorCode.RATE_LIMITED, ErrorCode.STORAGE_UNAVAILABLE, ErrorCode.INTERNAL}
)


class CloseCode(IntEnum):
    """Websocket close codes the server uses."""

    NORMAL = 1000
    GOING_AWAY = 1001
    UNSUPPORTED_DATA = 1003  # a binary frame: protocol v1 is text only
    INVALID_DATA = 1007  # invalid UTF-8 in a text frame
    POLICY_VIOLATION = 1008  # auth failure, rate limit, too many bad frames
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013  # slow consumer or server shutting down


class ProtocolError(Exception):
    """A frame that cannot be accepted; carries the typed error to send back."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
