"""AVL positions in the core: the frames, the sessions, the role rules, the rules of a fix, and
`ClientState.apply_positions` (a latest-value stream beside the log; docs/protocol.md,
"Positions (AVL)"). No sockets: the sessions are driven by hand with explicit times."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest

from desktop.domain.catalog import COMMANDS
from desktop.domain.positions import (
    FUTURE_TOLERANCE_S,
    MAX_FIXES_PER_FRAME,
    fix_problem,
    is_newer,
    position_of,
)
from desktop.domain.roles import AVL, GATEWAYS, ROLES, may_issue, may_send, roles_from
from desktop.domain.types import Position, Unit, UnitStatus
from desktop.domain.units import UnitSetStatus
from desktop.domain.world import World
from desktop.outbox import OutboxEntry
from desktop.protocol.codec import decode_client_frame, decode_server_frame, encode
from desktop.protocol.errors import CloseCode, ErrorCode, ProtocolError
from desktop.protocol.messages import (
    PositionBody,
    PositionFix,
    PositionReport,
    Positions,
    PositionsBody,
    TokenAuth,
)
from desktop.protocol.session import (
    ClientConfig,
    ClientSession,
    CloseConnection,
    HelloReceived,
    PositionsReceived,
    PositionsReported,
    ServerSession,
    ServerSessionLimits,
)
from desktop.state import Change, ClientState
from tests.core.test_session import T0, make_pair, welcome_body

NOW = T0


def fix(unit_id: str = "E1", at: float = NOW, **changes: Any) -> PositionFix:
    values: dict[str, Any] = {"lat": 37.7786, "lon": -122.4159, **changes}
    return PositionFix(unit_id=unit_id, at=at, **values)


# --- frames ----------------------------------------------------------------------------------


def test_position_frames_round_trip_and_omit_absent_speed_and_heading() -> None:
    report = PositionReport(
        body=PositionBody(fixes=[fix(), fix("M2", speed_mps=12.5, heading_deg=271.0)]), ts=NOW
    )
    wire = encode(report)
    assert decode_client_frame(wire) == report
    first = msgspec.json.decode(wire)["body"]["fixes"][0]
    assert set(first) == {"unit_id", "lat", "lon", "at"}
    positions = Positions(body=PositionsBody(fixes=[fix("T3", 1.0)]))
    assert decode_server_frame(encode(positions)) == positions


def test_each_position_frame_goes_one_way_only() -> None:
    with pytest.raises(ProtocolError) as refused:
        decode_server_frame(encode(PositionReport(body=PositionBody(fixes=[]))))
    assert refused.value.code is ErrorCode.UNKNOWN_TYPE
    with pytest.raises(ProtocolError) as wrong:
        decode_client_frame(encode(Positions(body=PositionsBody(fixes=[]))))
    assert wrong.value.code is ErrorCode.UNKNOWN_TYPE


def test_a_fix_with_an_unknown_field_is_an_invalid_frame() -> None:
    text = (
        '{"type": "position", "body": {"fixes": [{"unit_id": "E1", "lat": 1, "lon": 2,'
        ' "at": 3, "altitude": 9}]}}'
    )
    with pytest.raises(ProtocolError) as refused:
        decode_client_frame(text)
    assert refused.value.code is ErrorCode.INVALID_FRAME


# --- the client session ----------------------------------------------------------------------


def test_the_client_session_reports_positions_after_the_welcome() -> None:
    pair = make_pair()
    frame = encode(Positions(body=PositionsBody(fixes=[fix()])))
    with pytest.raises(ProtocolError):
        pair.client.receive(frame, NOW)  # before the hello's welcome
    pair.handshake(welcome_body())
    assert pair.client.receive(frame, NOW) == [PositionsReceived([fix()])]


def test_a_report_is_cut_into_frames_of_at_most_500_fixes_once_ready() -> None:
    client = ClientSession(ClientConfig("c", "ws"), TokenAuth(token="t"), 0, NOW)
    with pytest.raises(RuntimeError):
        client.positions([fix()], NOW)
    pair = make_pair()
    pair.handshake(welcome_body())
    fixes = [fix(f"U{n}") for n in range(1200)]
    frames = [decode_client_frame(data) for data in pair.client.positions(fixes, NOW)]
    sizes = [len(f.body.fixes) for f in frames if isinstance(f, PositionReport)]
    assert sizes == [MAX_FIXES_PER_FRAME, MAX_FIXES_PER_FRAME, 200]


# --- the server session ----------------------------------------------------------------------


def _open_server(limits: ServerSessionLimits | None = None) -> ServerSession:
    pair = make_pair(limits=limits)
    (hello,) = pair.server.receive(pair.client.start(NOW), NOW)
    assert isinstance(hello, HelloReceived)
    pair.server.accept(welcome_body(), NOW)
    return pair.server


def _report(*fixes: PositionFix) -> bytes:
    return encode(PositionReport(body=PositionBody(fixes=list(fixes))))


def test_the_server_session_hands_reported_fixes_on() -> None:
    server = _open_server()
    assert server.receive(_report(fix(), fix("M2")), NOW) == [PositionsReported([fix(), fix("M2")])]


def test_a_report_before_the_welcome_is_refused_and_counted() -> None:
    server = ServerSession(ServerSessionLimits(), now=NOW)
    (error,) = server.receive(_report(fix()), NOW)
    assert isinstance(error, bytes)
    assert decode_server_frame(error).body.code == ErrorCode.NOT_AUTHENTICATED  # type: ignore[union-attr]
    assert server.bad_frames == 1


def test_more_than_500_fixes_is_an_invalid_frame_and_spends_no_token() -> None:
    server = _open_server(ServerSessionLimits(burst=10))
    (error,) = server.receive(_report(*[fix(f"U{n}") for n in range(501)]), NOW)
    assert isinstance(error, bytes)
    assert decode_server_frame(error).body.code == ErrorCode.INVALID_FRAME  # type: ignore[union-attr]
    assert server.bad_frames == 1
    nine = [fix(f"U{n}") for n in range(9)]  # the hello spent one of the 10 tokens
    assert isinstance(server.receive(_report(*nine), NOW)[0], PositionsReported)


def test_each_fix_spends_a_token_of_the_frame_rate_limit() -> None:
    server = _open_server(ServerSessionLimits(frames_per_second=1.0, burst=10))
    assert isinstance(
        server.receive(_report(*[fix(f"U{n}") for n in range(8)]), NOW)[0], PositionsReported
    )
    error, close = server.receive(_report(fix("A"), fix("B"), fix("C")), NOW)  # 3 > 2 left
    assert isinstance(error, bytes)
    assert decode_server_frame(error).body.code == ErrorCode.RATE_LIMITED  # type: ignore[union-attr]
    assert close == CloseConnection(CloseCode.POLICY_VIOLATION, "rate limit exceeded")


# --- roles -----------------------------------------------------------------------------------


def test_only_avl_and_admin_may_report_positions() -> None:
    assert {role for role in ROLES if may_send(role, "position")} == {"avl", "admin"}
    assert not may_send("janitor", "position")


def test_the_avl_role_issues_no_command_and_gateways_are_registered_once() -> None:
    assert [g.role for g in GATEWAYS] == ["telephony", "avl", "radio"]
    assert not any(may_issue(AVL, kind.least_role) for kind in COMMANDS.values())
    assert roles_from("telephony") == {"telephony", "admin"}
    assert not may_issue("avl", "telephony") and not may_issue("telephony", "calltaker")


# --- the rules of a fix ----------------------------------------------------------------------

ROSTER = {"E1", "M2"}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"unit_id": "X9"}, "not on the roster"),
        ({"lat": 91.0}, "latitude"),
        ({"lat": math.nan}, "latitude"),
        ({"lon": -180.5}, "longitude"),
        ({"lon": math.inf}, "longitude"),
        ({"at": -1.0}, "not a time"),
        ({"at": math.inf}, "not a time"),
        ({"at": NOW + FUTURE_TOLERANCE_S + 1}, "in the future"),
        ({"speed_mps": -0.1}, "speed"),
        ({"speed_mps": 151.0}, "speed"),
        ({"heading_deg": 360.0}, "heading"),
        ({"heading_deg": math.nan}, "heading"),
    ],
)
def test_a_fix_out_of_range_is_refused_with_its_reason(
    changes: dict[str, Any], reason: str
) -> None:
    values: dict[str, Any] = {"unit_id": "E1", "at": NOW, **changes}
    unit_id, at = values.pop("unit_id"), values.pop("at")
    problem = fix_problem(fix(unit_id, at, **values), NOW, ROSTER)
    assert problem is not None and reason in problem


def test_a_valid_fix_has_no_problem() -> None:
    assert fix_problem(fix(at=NOW + FUTURE_TOLERANCE_S), NOW, ROSTER) is None
    assert fix_problem(fix(at=0.0, speed_mps=0.0, heading_deg=359.9), NOW, ROSTER) is None


def test_newer_means_strictly_later() -> None:
    held = Position(lat=1.0, lon=2.0, at=NOW)
    assert is_newer(NOW + 0.001, held) and is_newer(NOW - 100, None)
    assert not is_newer(NOW, held) and not is_newer(NOW - 1, held)


# --- the workstation's state -----------------------------------------------------------------


def roster_state() -> ClientState:
    units = {
        "E1": Unit(id="E1", type="ENGINE", station="01", status=UnitStatus.AQ),
        "M2": Unit(id="M2", type="MEDIC", station="02", status=UnitStatus.AV),
    }
    return ClientState("ann", World(units=units), last_seq=7)


def test_apply_positions_keeps_the_newest_and_says_only_positions_moved() -> None:
    state = roster_state()
    seen: list[Change] = []
    state.subscribe(seen.append)
    moved = state.apply_positions([fix("E1", NOW, lat=37.70), fix("E1", NOW - 5, lat=37.60)])
    assert moved == {"E1"}
    state.flush()
    (change,) = seen
    assert change.positions == {"E1"} and not change.units and not change.incidents
    assert bool(change) and state.last_seq == 7 and state.pending_count() == 0
    position = state.unit("E1").position  # type: ignore[union-attr]
    assert position == Position(lat=37.70, lon=-122.4159, at=NOW)
    assert state.confirmed.units["E1"].position == position
    assert dict(state.positions) == {"E1": position}
    # older or equal fixes, and units not on the roster, change nothing
    assert state.apply_positions([fix("E1", NOW), fix("E1", NOW - 1), fix("X9", NOW + 9)]) == set()
    assert state.flush() == Change()
    assert state.apply_positions([fix("E1", NOW + 1, speed_mps=9.0)]) == {"E1"}
    assert state.positions["E1"].speed_mps == 9.0


def test_positions_join_the_view_without_disturbing_a_pending_command() -> None:
    state = roster_state()
    entry = OutboxEntry(
        key="k1",
        client_seq=1,
        kind="unit.set_status",
        args=msgspec.json.encode(UnitSetStatus(unit_id="M2", status=UnitStatus.AQ)),
        issued_at=NOW,
    )
    state.add_pending(entry)
    assert state.unit("M2").status is UnitStatus.AQ  # type: ignore[union-attr]
    state.apply_positions([fix("M2", NOW, lat=37.71)])
    shown = state.unit("M2")
    assert shown is not None and shown.status is UnitStatus.AQ and shown.position is not None
    assert state.confirmed.units["M2"].status is UnitStatus.AV
    assert state.confirmed.units["M2"].position == shown.position
    state.resolve_pending("k1")  # the view worked out again keeps the position
    assert state.unit("M2").position == shown.position  # type: ignore[union-attr]


def test_a_snapshot_keeps_the_positions_of_the_units_it_still_has() -> None:
    state = roster_state()
    state.apply_positions([fix("E1"), fix("M2")])
    e1 = msgspec.json.encode(Unit(id="E1", type="ENGINE", status=UnitStatus.AV))
    state.load_snapshot(20, {"units": [b"[" + e1 + b"]"]})
    assert state.unit("E1").position == position_of(fix("E1"))  # type: ignore[union-attr]
    assert dict(state.positions) == {"E1": position_of(fix("E1"))}


def test_change_merge_carries_positions() -> None:
    change = Change()
    change.merge(Change(positions={"E1"}))
    assert change.positions == {"E1"} and bool(change) and not change.units
