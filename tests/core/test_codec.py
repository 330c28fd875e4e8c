"""Codec of protocol v1: round trips of every frame, typed errors, and fuzzing.

Contract under test (desktop/protocol/codec.py, docs/protocol.md "Errors"):
- every frame type encodes to JSON and decodes back to an equal frame;
- decoding anything at all returns a frame or raises `ProtocolError`, never another exception;
- the error code says what was wrong: ``frame_too_large``, ``bad_frame``, ``unknown_type``,
  ``unsupported_version``, ``invalid_frame``;
- command arguments and event data decode by kind with `decode_args`; command arguments reject
  unknown fields (``invalid_command``), event data tolerates them (a newer server may add some).
"""

from __future__ import annotations

import enum
import json
import types
import typing
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.domain.catalog import COMMANDS, EVENTS, describe_command
from desktop.domain.kinds import CommandArgs, EventData
from desktop.domain.world import World
from desktop.protocol import codec
from desktop.protocol.codec import (
    DEFAULT_MAX_FRAME_BYTES,
    decode_args,
    decode_client_frame,
    decode_server_frame,
    encode,
    encode_raw,
)
from desktop.protocol.errors import CloseCode, ErrorCode, ProtocolError
from desktop.protocol.messages import (
    PROTOCOL_VERSION,
    ClientFrame,
    Command,
    CommandBody,
    Frame,
    Ping,
    Pong,
    PongBody,
    Role,
    ServerFrame,
)

CLIENT_FRAMES: tuple[type[Frame], ...] = typing.get_args(ClientFrame)
SERVER_FRAMES: tuple[type[Frame], ...] = typing.get_args(ServerFrame)
ALL_FRAMES = CLIENT_FRAMES + SERVER_FRAMES
DECODERS = {"client": decode_client_frame, "server": decode_server_frame}
FRAME_ERRORS = {
    ErrorCode.BAD_FRAME,
    ErrorCode.INVALID_FRAME,
    ErrorCode.UNKNOWN_TYPE,
    ErrorCode.UNSUPPORTED_VERSION,
    ErrorCode.FRAME_TOO_LARGE,
}
DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"

fuzz = settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)


# --- strategies -------------------------------------------------------------------------------

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
FINITE = st.floats(allow_nan=False, allow_infinity=False)
SHORT_TEXT = st.text(max_size=12)

#: JSON values msgspec can hold (64-bit integers, finite floats).
json_values = st.recursive(
    st.none() | st.booleans() | INT64 | FINITE | SHORT_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(SHORT_TEXT, inner, max_size=4),
    max_leaves=12,
)

#: Any JSON text the standard library writes, including integers far beyond 64 bits, NaN and
#: Infinity (which are not JSON at all).
wild_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=16,
)


def from_type(tp: Any) -> st.SearchStrategy[Any]:
    """A strategy for any type used in the protocol's Structs (fields resolved by msgspec)."""
    if tp is msgspec.Raw:
        return json_values.map(encode_raw)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return st.one_of([from_type(arg) for arg in args])
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is list:
        return st.lists(from_type(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(from_type(args[0]), from_type(args[1]), max_size=3)
    if origin is tuple:
        return st.tuples(*(from_type(arg) for arg in args))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return struct_strategy(tp)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: SHORT_TEXT,
        bool: st.booleans(),
        int: INT64,
        float: FINITE,
        type(None): st.none(),
    }
    if tp in simple:
        return simple[tp]
    if isinstance(tp, typing.TypeAliasType):  # pragma: no cover - no aliases in v1
        return from_type(tp.__value__)
    raise TypeError(f"no strategy for {tp!r}")  # pragma: no cover - a new field type: add it


def struct_strategy(cls: type[msgspec.Struct]) -> st.SearchStrategy[Any]:
    fields = {}
    for field in msgspec.structs.fields(cls):
        if issubclass(cls, Frame) and field.name == "v":
            fields[field.name] = st.just(PROTOCOL_VERSION)
        else:
            fields[field.name] = from_type(field.type)
    return st.builds(cls, **fields)


def frames_of(classes: tuple[type[Frame], ...]) -> st.SearchStrategy[Frame]:
    return st.one_of([struct_strategy(cls) for cls in classes])


def _as_json(frame: msgspec.Struct) -> Any:
    """A frame as plain JSON values, ``Raw`` fields expanded (for comparing and mutating)."""
    return msgspec.json.decode(encode(frame))


def _decoder_for(frame: Frame) -> Any:
    return decode_client_frame if isinstance(frame, CLIENT_FRAMES) else decode_server_frame


def _code(call: Any, *args: Any) -> ErrorCode:
    with pytest.raises(ProtocolError) as info:
        call(*args)
    assert info.value.message
    return info.value.code


# --- round trips ------------------------------------------------------------------------------


def test_unions_cover_every_frame_class() -> None:
    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        return found.union(*(subclasses(sub) for sub in found)) if found else found

    assert set(ALL_FRAMES) == subclasses(Frame)
    assert not set(CLIENT_FRAMES) & set(SERVER_FRAMES)


@pytest.mark.parametrize("cls", ALL_FRAMES, ids=lambda cls: cls.__name__)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_frame_type_round_trips(cls: type[Frame], data: st.DataObject) -> None:
    frame = data.draw(struct_strategy(cls))
    wire = encode(frame)
    assert isinstance(wire, bytes)
    decode = _decoder_for(frame)
    for form in (wire, wire.decode()):
        decoded = decode(form)
        assert type(decoded) is cls
        assert decoded == frame
        assert encode(decoded) == wire
        assert _as_json(decoded) == _as_json(frame)


@given(frame=frames_of(ALL_FRAMES))
@settings(deadline=None)
def test_envelope_shape(frame: Frame) -> None:
    envelope = json.loads(encode(frame))
    assert set(envelope) >= {"v", "type", "id", "ts", "body"}
    assert envelope["v"] == PROTOCOL_VERSION
    assert envelope["type"] == type(frame).__struct_config__.tag
    assert isinstance(envelope["body"], dict)


@given(value=json_values)
def test_raw_fields_carry_any_json_value(value: Any) -> None:
    body = CommandBody(key="k", client_seq=1, kind="x", args=encode_raw(value), issued_at=0.0)
    decoded = decode_client_frame(encode(Command(body=body)))
    assert isinstance(decoded, Command)
    assert msgspec.json.decode(decoded.body.args) == value


def test_ping_body_defaults() -> None:
    frame = decode_client_frame(b'{"type": "ping"}')
    assert frame == Ping()
    assert frame.v == PROTOCOL_VERSION
    assert frame.body.t == 0.0


def test_unknown_envelope_fields_are_ignored() -> None:
    frame = decode_client_frame(b'{"v": 1, "type": "ping", "seq": 9, "extra": [1, 2]}')
    assert isinstance(frame, Ping)


# --- errors -----------------------------------------------------------------------------------


def test_default_frame_limit_is_256_kib() -> None:
    assert DEFAULT_MAX_FRAME_BYTES == 256 * 1024


@pytest.mark.parametrize("side", DECODERS)
def test_frame_size_limit_is_inclusive_and_counts_bytes(side: str) -> None:
    decode = DECODERS[side]
    frame: Frame = (
        Ping(id="x" * 100) if side == "client" else Pong(body=PongBody(t=1, server_time=2))
    )
    wire = encode(frame)
    assert decode(wire, len(wire)) == frame
    assert _code(decode, wire, len(wire) - 1) is ErrorCode.FRAME_TOO_LARGE
    # 100 characters but 200 bytes of UTF-8: the limit is in bytes.
    text = encode(Ping(id="é" * 100)).decode()
    assert len(text.encode()) > len(text)
    assert _code(decode, text, len(text)) is ErrorCode.FRAME_TOO_LARGE


@pytest.mark.parametrize("side", DECODERS)
def test_oversize_is_refused_before_parsing(side: str) -> None:
    junk = b"{" * (DEFAULT_MAX_FRAME_BYTES + 1)
    assert _code(DECODERS[side], junk) is ErrorCode.FRAME_TOO_LARGE
    big = encode(Ping(id="x" * DEFAULT_MAX_FRAME_BYTES))
    assert _code(DECODERS[side], big) is ErrorCode.FRAME_TOO_LARGE


@pytest.mark.parametrize("side", DECODERS)
@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"{",
        b"not json",
        b"\xff\xfe",
        b"null",
        b"[]",
        b"[1, 2]",
        b'"ping"',
        b"42",
        b"true",
        b'{"v": 1, "type": "ping"} trailing',
        b'{"v": 1, "type": "ping",}',
        "{'v': 1}",
    ],
)
def test_not_a_json_object_is_bad_frame(side: str, data: bytes | str) -> None:
    assert _code(DECODERS[side], data) is ErrorCode.BAD_FRAME


@pytest.mark.parametrize(
    ("side", "frame"),
    [
        ("client", {"v": 1, "type": "bogus", "body": {}}),
        ("client", {"v": 1, "body": {}}),
        ("client", {"v": 1, "type": 7}),
        ("client", {"v": 1, "type": None}),
        ("client", {"v": 1, "type": "welcome", "body": {}}),  # a server frame sent by a client
        ("client", {"v": 1, "type": "Hello"}),
        ("server", {"v": 1, "type": "bogus"}),
        ("server", {"v": 1, "type": "hello", "body": {}}),  # a client frame sent by a server
        ("server", {"v": 1, "type": "ping"}),
        ("server", {}),
    ],
)
def test_unknown_type(side: str, frame: dict[str, Any]) -> None:
    assert _code(DECODERS[side], json.dumps(frame)) is ErrorCode.UNKNOWN_TYPE


@given(frame=frames_of(ALL_FRAMES), version=INT64.filter(lambda v: v != PROTOCOL_VERSION))
@settings(deadline=None)
def test_wrong_version_is_unsupported(frame: Frame, version: int) -> None:
    envelope = _as_json(frame)
    envelope["v"] = version
    assert _code(_decoder_for(frame), json.dumps(envelope)) is ErrorCode.UNSUPPORTED_VERSION


@pytest.mark.parametrize("side", DECODERS)
@pytest.mark.parametrize(
    "frame",
    [
        {"v": 2, "type": "ping"},
        {"v": 0, "type": "ping", "body": {"t": 1.0}},
        {"v": 2, "type": "a frame type of the future", "body": {"new": True}},
        {"v": "1", "type": "ping"},
        {"v": 1.5, "type": "ping"},
    ],
)
def test_version_is_checked_before_the_type(side: str, frame: dict[str, Any]) -> None:
    assert _code(DECODERS[side], json.dumps(frame)) is ErrorCode.UNSUPPORTED_VERSION


def _hello(**body: Any) -> dict[str, Any]:
    base = {"auth": {"method": "token", "token": "t"}, "client_id": "c", "workstation": "w"}
    return {"v": 1, "type": "hello", "body": {**base, **body}}


def _command(**body: Any) -> dict[str, Any]:
    base = {"key": "k", "client_seq": 1, "kind": "unit.add", "args": {}, "issued_at": 1.0}
    return {"v": 1, "type": "command", "body": {**base, **body}}


def _result(**body: Any) -> dict[str, Any]:
    return {"v": 1, "type": "result", "body": {"key": "k", "ok": True, **body}}


def _event(**frame: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "event",
        "seq": 1,
        "body": {"kind": "x", "data": {}, "at": 1.0},
        **frame,
    }


INVALID_CLIENT_FRAMES = {
    "hello without auth": {"v": 1, "type": "hello", "body": {"client_id": "c", "workstation": "w"}},
    "hello with unknown auth method": _hello(auth={"method": "magic", "token": "t"}),
    "password auth without password": _hello(auth={"method": "password", "username": "u"}),
    "hello with unknown role": _hello(role_requested="chief"),
    "hello with text last_seq": _hello(last_seq="5"),
    "hello with unknown body field": _hello(extra=1),
    "hello without body": {"v": 1, "type": "hello"},
    "command with text client_seq": _command(client_seq="1"),
    "command with float client_seq": _command(client_seq=1.5),
    "command without key": {
        "v": 1,
        "type": "command",
        "body": {"client_seq": 1, "kind": "k", "args": {}, "issued_at": 1.0},
    },
    "command with null kind": _command(kind=None),
    "command with unknown body field": _command(body_extra=True),
    "command body is a list": {"v": 1, "type": "command", "body": [1, 2]},
    "ping with text t": {"v": 1, "type": "ping", "body": {"t": "now"}},
    "id is a number": {"v": 1, "type": "ping", "id": 5},
    "ts is text": {"v": 1, "type": "ping", "ts": "yesterday"},
}
INVALID_SERVER_FRAMES = {
    "event without seq": {"v": 1, "type": "event", "body": {"kind": "x", "data": {}, "at": 1.0}},
    "event with text seq": _event(seq="1"),
    "event body with unknown field": _event(body={"kind": "x", "data": {}, "at": 1, "more": 1}),
    "result with text ok": _result(ok="yes"),
    "result events not ints": _result(events=["1"]),
    "result error without message": _result(ok=False, error={"code": "forbidden"}),
    "error without code": {"v": 1, "type": "error", "body": {"message": "m"}},
    "pong without server_time": {"v": 1, "type": "pong", "body": {"t": 1.0}},
    "welcome with unknown sync": {"v": 1, "type": "welcome", "body": {"sync": "magic"}},
    "snapshot with text last": {
        "v": 1,
        "type": "snapshot",
        "seq": 1,
        "body": {"part": 0, "last": "no", "incidents": [], "units": []},
    },
}


@pytest.mark.parametrize("frame", INVALID_CLIENT_FRAMES.values(), ids=INVALID_CLIENT_FRAMES.keys())
def test_wrong_client_fields_are_invalid_frame(frame: dict[str, Any]) -> None:
    assert _code(decode_client_frame, json.dumps(frame)) is ErrorCode.INVALID_FRAME


@pytest.mark.parametrize("frame", INVALID_SERVER_FRAMES.values(), ids=INVALID_SERVER_FRAMES.keys())
def test_wrong_server_fields_are_invalid_frame(frame: dict[str, Any]) -> None:
    assert _code(decode_server_frame, json.dumps(frame)) is ErrorCode.INVALID_FRAME


# --- fuzzing ----------------------------------------------------------------------------------


def _decode_or_protocol_error(decode: Any, data: str | bytes) -> Frame | None:
    """Decode ``data``; a `ProtocolError` with a frame-level code is fine, anything else fails."""
    try:
        frame: Frame = decode(data)
    except ProtocolError as exc:
        assert exc.code in FRAME_ERRORS, exc
        return None
    assert isinstance(frame, Frame)
    assert frame.v == PROTOCOL_VERSION
    return frame


@fuzz
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_protocol_error(data: bytes) -> None:
    for decode in DECODERS.values():
        _decode_or_protocol_error(decode, data)


@fuzz
@given(data=st.text(max_size=300))
def test_arbitrary_text_only_raises_protocol_error(data: str) -> None:
    for decode in DECODERS.values():
        _decode_or_protocol_error(decode, data)


@fuzz
@given(value=wild_json_values)
def test_arbitrary_json_only_raises_protocol_error(value: Any) -> None:
    text = json.dumps(value)
    for decode in DECODERS.values():
        _decode_or_protocol_error(decode, text)


frame_types = st.sampled_from(
    ["hello", "command", "ping", "welcome", "event", "snapshot", "result", "error", "pong"]
) | st.text(max_size=8)
frame_shaped = st.fixed_dictionaries(
    {"type": frame_types, "body": wild_json_values},
    optional={
        "v": st.just(1) | wild_json_values,
        "id": wild_json_values,
        "ts": wild_json_values,
        "seq": wild_json_values,
    },
)


@fuzz
@given(envelope=frame_shaped)
def test_frame_shaped_json_only_raises_protocol_error(envelope: dict[str, Any]) -> None:
    text = json.dumps(envelope)
    for decode in DECODERS.values():
        frame = _decode_or_protocol_error(decode, text)
        if frame is not None:
            assert type(frame).__struct_config__.tag == envelope["type"]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@fuzz
@given(frame=frames_of(ALL_FRAMES), data=st.data())
def test_mutated_valid_frames_only_raise_protocol_error(frame: Frame, data: st.DataObject) -> None:
    envelope = _as_json(frame)
    path = data.draw(st.sampled_from(_paths(envelope)))
    target = envelope
    for step in path[:-1]:
        target = target[step]
    if data.draw(st.booleans()) and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = data.draw(wild_json_values)
    _decode_or_protocol_error(_decoder_for(frame), json.dumps(envelope))


@pytest.mark.parametrize("side", DECODERS)
def test_text_with_lone_surrogate_is_bad_frame(side: str) -> None:
    assert _code(DECODERS[side], '{"v": 1, "type": "ping", "id": "\ud800"}') is ErrorCode.BAD_FRAME


# --- command arguments and event data ---------------------------------------------------------


@pytest.mark.parametrize("kind", COMMANDS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_command_args_round_trip_by_kind(kind: str, data: st.DataObject) -> None:
    cls = COMMANDS[kind].args
    args = data.draw(struct_strategy(cls))
    body = CommandBody(key="k", client_seq=1, kind=kind, args=encode_raw(args), issued_at=0.0)
    frame = decode_client_frame(encode(Command(body=body)))
    assert isinstance(frame, Command)
    assert decode_args(frame.body.args, COMMANDS[frame.body.kind].args) == args


@pytest.mark.parametrize("kind", COMMANDS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_command_kind_words_any_arguments(kind: str, data: st.DataObject) -> None:
    """Needs attention and refusals word a command whatever it names (even nothing known)."""
    args = data.draw(struct_strategy(COMMANDS[kind].args))
    words = describe_command(World(), args)
    assert isinstance(words, str) and words.strip()


@pytest.mark.parametrize("kind", EVENTS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_event_kind_words_any_data_for_the_timeline(kind: str, data: st.DataObject) -> None:
    event = EVENTS[kind]
    lines = event.describe(World(), data.draw(struct_strategy(event.data)))
    assert all(isinstance(incident_id, str) and text for incident_id, text in lines)


@pytest.mark.parametrize("kind", EVENTS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_event_data_round_trip_by_kind(kind: str, data: st.DataObject) -> None:
    cls = EVENTS[kind].data
    event = data.draw(struct_strategy(cls))
    raw = encode_raw(event)
    assert decode_args(raw, cls) == event
    assert decode_args(bytes(raw), cls) == event


def _minimal_args(cls: type[msgspec.Struct]) -> dict[str, Any]:
    """JSON for the required fields of ``cls`` with plausible values."""
    samples: dict[str, Any] = {
        "incident_id": "i-1",
        "unit_id": "E12",
        "type": "FIRE",
        "priority": 1,
        "location": {"address": "1 Main St"},
        "text": "note",
        "disposition": "FIRE OUT",
        "unit_ids": ["E12"],
        "status": "AV",
        "entity": "unit",
        "entity_id": "E12",
        "reason": "welfare check",
        "started_at": 1.0,
        "call_id": "c-1",
        "target_id": "i-2",
        "relation": "child",
        "address": "1200 MARKET ST",
        "hazards": ["dog on premises"],
        "alarm_id": "a-1",
        "radio_id": "7012",
        "channel": "FIRE TAC 2",
        "entry_id": "r-1",
        "kind": "par",
        "due_at": 1.0,
    }
    required = [f.name for f in msgspec.structs.fields(cls) if f.required]
    return {name: samples[name] for name in required}


@pytest.mark.parametrize("kind", COMMANDS)
def test_command_args_reject_unknown_fields(kind: str) -> None:
    cls = COMMANDS[kind].args
    good = _minimal_args(cls)
    assert isinstance(decode_args(json.dumps(good).encode(), cls), cls)
    bad = json.dumps({**good, "not_a_field": 1}).encode()
    assert _code(decode_args, bad, cls) is ErrorCode.INVALID_COMMAND


@pytest.mark.parametrize("kind", COMMANDS)
def test_command_args_reject_missing_and_mistyped_fields(kind: str) -> None:
    cls = COMMANDS[kind].args
    good = _minimal_args(cls)
    for name in good:
        missing = {k: v for k, v in good.items() if k != name}
        assert _code(decode_args, json.dumps(missing).encode(), cls) is ErrorCode.INVALID_COMMAND
        mistyped = {**good, name: [[1]]}
        assert _code(decode_args, json.dumps(mistyped).encode(), cls) is ErrorCode.INVALID_COMMAND
    for not_an_object in (b"[]", b"1", b"null", b'"text"'):
        assert _code(decode_args, not_an_object, cls) is ErrorCode.INVALID_COMMAND


@pytest.mark.parametrize(
    ("kind", "args"),
    [
        (
            "incident.create",
            {
                "incident_id": "i-1",
                "type": "FIRE",
                "priority": 1,
                "location": {"adress": "1 Main St", "lat": 37.7, "lon": -122.4},
            },
        ),
        ("incident.update", {"incident_id": "i-1", "caller": {"callback_number": "555"}}),
    ],
)
def test_command_args_reject_unknown_nested_fields(kind: str, args: dict[str, Any]) -> None:
    raw = json.dumps(args).encode()
    assert _code(decode_args, raw, COMMANDS[kind].args) is ErrorCode.INVALID_COMMAND


def test_command_args_reject_unknown_status() -> None:
    raw = b'{"unit_id": "E12", "status": "LUNCH"}'
    assert _code(decode_args, raw, COMMANDS["unit.set_status"].args) is ErrorCode.INVALID_COMMAND


def test_decode_args_of_non_json_is_bad_frame() -> None:
    assert _code(decode_args, b"{", COMMANDS["unit.add"].args) is ErrorCode.BAD_FRAME


#: Fields whose value is a free-form map: its keys are data, not field names.
FREE_FORM_MAPS = frozenset({"times", "fields"})  # Incident/Call.times, CivicAddress.fields


def _add_unknown_fields(value: Any) -> Any:
    """``value`` with an extra field in every JSON object (as a newer server might send)."""
    if isinstance(value, dict):
        fields = {
            key: item if key in FREE_FORM_MAPS else _add_unknown_fields(item)
            for key, item in value.items()
        }
        return {**fields, "added_in_v2": [1]}
    if isinstance(value, list):
        return [_add_unknown_fields(item) for item in value]
    return value


@pytest.mark.parametrize("kind", EVENTS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_event_data_tolerates_fields_of_a_newer_server(kind: str, data: st.DataObject) -> None:
    cls = EVENTS[kind].data
    event = data.draw(struct_strategy(cls))
    newer = _add_unknown_fields(msgspec.json.decode(encode_raw(event)))
    assert decode_args(json.dumps(newer).encode(), cls) == event


# --- the tables the protocol is built from ----------------------------------------------------


def test_every_kind_is_a_record_of_the_catalog() -> None:
    roles = set(typing.get_args(Role))
    for name, kind in COMMANDS.items():
        assert kind.name == name and kind.least_role in roles - {"supervisor"}, name
        assert issubclass(kind.args, CommandArgs), name
    for name, event in EVENTS.items():
        assert event.name == name and issubclass(event.data, EventData), name


def test_codec_exports() -> None:
    assert set(codec.__all__) >= {
        "encode",
        "encode_raw",
        "decode_args",
        "decode_client_frame",
        "decode_server_frame",
        "DEFAULT_MAX_FRAME_BYTES",
    }


def test_protocol_doc_names_every_frame_kind_code_and_close_code() -> None:
    doc = DOC.read_text(encoding="utf-8")
    names = [cls.__struct_config__.tag for cls in ALL_FRAMES]
    names += list(COMMANDS) + list(EVENTS) + [code.value for code in ErrorCode]
    names += [str(code.value) for code in CloseCode]
    missing = [name for name in names if f"`{name}`" not in doc]
    assert missing == [], f"docs/protocol.md does not describe {missing}"
