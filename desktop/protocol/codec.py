"""Encode and decode protocol frames, with a maximum frame size and typed errors.

Frames are UTF-8 JSON text. `decode_client_frame` and `decode_server_frame` either return a typed
frame or raise `ProtocolError` whose code says what was wrong (docs/protocol.md, "Errors").
Command arguments and event data are decoded separately by kind with `decode_args`.
"""

from __future__ import annotations

from typing import Any, TypeVar, get_args

import msgspec

from desktop.protocol.errors import ErrorCode, ProtocolError
from desktop.protocol.messages import PROTOCOL_VERSION, ClientFrame, Frame, ServerFrame

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "decode_args",
    "decode_client_frame",
    "decode_server_frame",
    "encode",
    "encode_raw",
]

#: Largest frame either side accepts by default (the websocket layer enforces it too, close 1009).
DEFAULT_MAX_FRAME_BYTES = 256 * 1024

_encoder = msgspec.json.Encoder()
_client_decoder = msgspec.json.Decoder(ClientFrame)
_server_decoder = msgspec.json.Decoder(ServerFrame)


def _tags(union: Any) -> frozenset[str]:
    """The ``type`` of every frame class of ``union`` (the tagged union is their one home)."""
    return frozenset(str(frame.__struct_config__.tag) for frame in get_args(union))


_CLIENT_TYPES = _tags(ClientFrame)
_SERVER_TYPES = _tags(ServerFrame)

T = TypeVar("T")


def encode(frame: Frame) -> bytes:
    """Serialise a frame to UTF-8 JSON bytes (send it as a websocket *text* frame)."""
    return _encoder.encode(frame)


def encode_raw(value: Any) -> msgspec.Raw:
    """Serialise a Struct or plain value into a `msgspec.Raw` for ``args``/``data`` fields."""
    return msgspec.Raw(_encoder.encode(value))


def decode_client_frame(data: str | bytes, max_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> ClientFrame:
    """Decode a frame sent by a client; raises `ProtocolError` on anything malformed."""
    return _decode(data, max_bytes, _client_decoder, _CLIENT_TYPES)  # type: ignore[no-any-return]


def decode_server_frame(data: str | bytes, max_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> ServerFrame:
    """Decode a frame sent by the server; raises `ProtocolError` on anything malformed."""
    return _decode(data, max_bytes, _server_decoder, _SERVER_TYPES)  # type: ignore[no-any-return]


def decode_args(raw: msgspec.Raw | bytes, type_: type[T]) -> T:
    """Decode command arguments or event data into ``type_``; raises `ProtocolError`."""
    try:
        return msgspec.json.decode(raw, type=type_)
    except msgspec.ValidationError as exc:
        raise ProtocolError(ErrorCode.INVALID_COMMAND, str(exc)) from None
    except (msgspec.DecodeError, RecursionError) as exc:
        raise ProtocolError(ErrorCode.BAD_FRAME, str(exc) or "JSON nested too deeply") from None


def _decode(
    data: str | bytes, max_bytes: int, decoder: msgspec.json.Decoder[Any], types: frozenset[str]
) -> Any:
    if isinstance(data, str):
        try:
            data = data.encode()
        except UnicodeEncodeError:
            raise ProtocolError(ErrorCode.BAD_FRAME, "text is not valid UTF-8") from None
    size = len(data)
    if size > max_bytes:
        raise ProtocolError(
            ErrorCode.FRAME_TOO_LARGE, f"frame of {size} bytes exceeds the limit of {max_bytes}"
        )
    try:
        frame = decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise _classify(data, types, str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError(ErrorCode.BAD_FRAME, "JSON nested too deeply") from None
    if frame.v != PROTOCOL_VERSION:
        raise _unsupported(frame.v)
    return frame


def _classify(data: str | bytes, types: frozenset[str], detail: str) -> ProtocolError:
    """Say precisely why a syntactically valid JSON frame did not validate."""
    try:
        generic = msgspec.json.decode(data)
    except (msgspec.DecodeError, RecursionError):  # pragma: no cover - it already parsed once
        return ProtocolError(ErrorCode.BAD_FRAME, detail)
    if not isinstance(generic, dict):
        return ProtocolError(ErrorCode.BAD_FRAME, "a frame must be a JSON object")
    version = generic.get("v", PROTOCOL_VERSION)
    if version != PROTOCOL_VERSION:
        return _unsupported(version)
    frame_type = generic.get("type")
    if not isinstance(frame_type, str) or frame_type not in types:
        return ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown frame type {frame_type!r}")
    return ProtocolError(ErrorCode.INVALID_FRAME, detail)


def _unsupported(version: object) -> ProtocolError:
    return ProtocolError(
        ErrorCode.UNSUPPORTED_VERSION,
        f"protocol version {version!r} is not supported (this side speaks {PROTOCOL_VERSION})",
    )
