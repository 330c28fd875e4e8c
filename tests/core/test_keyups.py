"""Radio key-ups in the core: the rules of a key-up (`desktop.domain.keyups`), which of two is
newer, the PTT-id mapping, the frames through the sessions, the role rule of the stream, and
`ClientState.apply_keyups` (the newest per channel, beside the world; `Change.keyups`). No
sockets: the sessions are driven by hand with explicit times."""

from __future__ import annotations

import math

import msgspec
import pytest

from desktop.domain.keyups import (
    CHANNEL_MAX,
    FUTURE_TOLERANCE_S,
    is_newer_keyup,
    keyup_problem,
    radio_ids,
)
from desktop.domain.roles import RADIO, ROLES, may_send
from desktop.domain.types import Unit, UnitStatus
from desktop.domain.world import World
from desktop.protocol.codec import decode_client_frame, encode
from desktop.protocol.errors import ProtocolError
from desktop.protocol.messages import (
    MAX_KEYUPS_PER_FRAME,
    KeyUp,
    KeyUpBody,
    KeyUpReport,
    KeyUps,
    KeyUpsBody,
)
from desktop.protocol.session import HelloReceived, KeyUpsReceived, KeyUpsReported
from desktop.state import Change, ClientState
from tests.core.test_session import T0, make_pair, welcome_body

NOW = T0


def keyup(channel: str = "FIRE DISPATCH", at: float = NOW, **changes: object) -> KeyUp:
    values: dict[str, object] = {"radio_id": "710001", **changes}
    return KeyUp(channel=channel, at=at, **values)  # type: ignore[arg-type]


# --- the rules of a key-up -------------------------------------------------------------------


def test_a_well_formed_keyup_is_valid_whether_talking_or_not() -> None:
    assert keyup_problem(keyup(), NOW) is None
    assert keyup_problem(keyup(talking=False), NOW) is None
    assert keyup_problem(keyup("C" * CHANNEL_MAX), NOW) is None
    assert keyup_problem(keyup(at=NOW + FUTURE_TOLERANCE_S), NOW) is None  # the clock's slack
    assert keyup_problem(keyup(at=NOW - 86_400), NOW) is None  # late is not wrong
    # a radio the roster does not bind (mutual aid, a portable) is valid: shown by its id
    assert keyup_problem(keyup(radio_id="MA-4471"), NOW) is None


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"channel": ""}, "a channel is 1-32 characters"),
        ({"channel": "   "}, "a channel is 1-32 characters"),
        ({"channel": "C" * (CHANNEL_MAX + 1)}, "a channel is 1-32 characters"),
        ({"radio_id": ""}, "no radio id"),
        ({"radio_id": "71 0001"}, "radio id"),
        ({"radio_id": "7100;01"}, "radio id"),
        ({"at": math.nan}, "is not a time"),
        ({"at": math.inf}, "is not a time"),
        ({"at": -1.0}, "is not a time"),
        ({"at": NOW + FUTURE_TOLERANCE_S + 1}, "s in the future"),
    ],
)
def test_an_invalid_keyup_is_refused_with_its_reason(
    changes: dict[str, object], words: str
) -> None:
    values: dict[str, object] = {"channel": "FIRE DISPATCH", "at": NOW, **changes}
    problem = keyup_problem(keyup(**values), NOW)  # type: ignore[arg-type]
    assert problem is not None and words in problem


def test_a_refusal_names_the_channel_by_at_most_32_characters() -> None:
    problem = keyup_problem(keyup("X" * 60, radio_id=""), NOW)
    assert problem is not None and "X" * 33 not in problem


def test_only_a_strictly_newer_keyup_replaces_the_one_held() -> None:
    held = keyup(at=NOW)
    assert is_newer_keyup(NOW, None)  # nothing held yet
    assert is_newer_keyup(NOW + 0.001, held)
    assert not is_newer_keyup(NOW, held)  # a repeat of the time held
    assert not is_newer_keyup(NOW - 1, held)


def test_radio_ids_map_each_bound_ptt_id_to_its_unit() -> None:
    world = World(
        units={
            "E1": Unit(id="E1", type="ENGINE", radio_id="710001"),
            "M2": Unit(id="M2", type="MEDIC", radio_id="710002"),
            "T3": Unit(id="T3", type="TRUCK"),  # no radio: not in the mapping
        }
    )
    assert radio_ids(world) == {"710001": "E1", "710002": "M2"}
    assert radio_ids(World()) == {}


# --- frames, sessions, roles -----------------------------------------------------------------


def test_keyup_frames_round_trip_and_omit_talking_when_true() -> None:
    data = encode(KeyUpReport(body=KeyUpBody(keyups=[keyup(), keyup(talking=False)]), ts=NOW))
    wire = msgspec.json.decode(data)
    assert wire["type"] == "keyup"
    assert "talking" not in wire["body"]["keyups"][0]
    assert wire["body"]["keyups"][1]["talking"] is False
    frame = decode_client_frame(data)
    assert isinstance(frame, KeyUpReport)
    assert frame.body.keyups == [keyup(), keyup(talking=False)]


def test_a_client_reports_keyups_once_ready_in_frames_of_at_most_200() -> None:
    pair = make_pair()
    with pytest.raises(RuntimeError):
        pair.client.keyups([keyup()], NOW)  # not signed in: a radio reports live only
    pair.handshake(welcome_body())
    keyups = [keyup(f"CH{n}") for n in range(450)]
    frames = [decode_client_frame(data) for data in pair.client.keyups(keyups, NOW)]
    sizes = [len(f.body.keyups) for f in frames if isinstance(f, KeyUpReport)]
    assert sizes == [MAX_KEYUPS_PER_FRAME, MAX_KEYUPS_PER_FRAME, 50]


def test_keyups_from_the_server_reach_the_client_only_after_the_welcome() -> None:
    pair = make_pair()
    frame = encode(KeyUps(body=KeyUpsBody(keyups=[keyup()])))
    with pytest.raises(ProtocolError):
        pair.client.receive(frame, NOW)
    pair.handshake(welcome_body())
    assert pair.client.receive(frame, NOW) == [KeyUpsReceived([keyup()])]


def test_the_server_session_hands_reported_keyups_on() -> None:
    pair = make_pair()
    (hello,) = pair.server.receive(pair.client.start(NOW), NOW)
    assert isinstance(hello, HelloReceived)
    pair.server.accept(welcome_body(), NOW)
    server = pair.server
    report = encode(KeyUpReport(body=KeyUpBody(keyups=[keyup(), keyup("EMS DISPATCH")])))
    assert server.receive(report, NOW) == [KeyUpsReported([keyup(), keyup("EMS DISPATCH")])]


def test_only_the_radio_gateway_and_admin_may_send_keyups() -> None:
    assert {role for role in ROLES if may_send(role, "keyup")} == {RADIO, "admin"}
    assert not may_send(RADIO, "position")


# --- the workstation's state -----------------------------------------------------------------


def radio_state() -> ClientState:
    units = {"E1": Unit(id="E1", type="ENGINE", radio_id="710001", status=UnitStatus.AV)}
    return ClientState("ann", World(units=units), last_seq=4)


def test_apply_keyups_keeps_the_newest_of_each_channel_and_says_which_changed() -> None:
    state = radio_state()
    seen: list[Change] = []
    state.subscribe(seen.append)
    changed = state.apply_keyups(
        [
            keyup("FIRE DISPATCH", NOW, radio_id="710001"),
            keyup("FIRE DISPATCH", NOW - 5, radio_id="710009"),  # older: ignored
            keyup("EMS DISPATCH", NOW - 1, radio_id="710002"),
        ]
    )
    assert changed == {"FIRE DISPATCH", "EMS DISPATCH"}
    assert state.keyups["FIRE DISPATCH"].radio_id == "710001"
    state.flush()
    (change,) = seen
    assert change.keyups == {"FIRE DISPATCH", "EMS DISPATCH"} and bool(change)
    assert not (change.units or change.positions or change.incidents or change.reset)
    # beside the world: no seq, no entity, nothing pending
    assert state.last_seq == 4 and state.pending_count() == 0
    assert state.confirmed.units["E1"] == radio_state().confirmed.units["E1"]
    # the same time again, or older, changes nothing and notifies nobody
    assert state.apply_keyups([keyup("FIRE DISPATCH", NOW, talking=False)]) == set()
    assert state.apply_keyups([keyup("EMS DISPATCH", NOW - 2)]) == set()
    assert state.flush() == Change() and len(seen) == 1
    # let go of the button: a newer key-up, not talking
    assert state.apply_keyups([keyup("FIRE DISPATCH", NOW + 3, talking=False)]) == {"FIRE DISPATCH"}
    assert state.keyups["FIRE DISPATCH"].talking is False
    state.flush()
    assert seen[-1].keyups == {"FIRE DISPATCH"}


def test_the_keyups_held_are_read_only_and_survive_a_snapshot() -> None:
    state = radio_state()
    state.apply_keyups([keyup()])
    with pytest.raises(TypeError):
        state.keyups["X"] = keyup()  # type: ignore[index]
    state.load_snapshot(9, {"units": [b"[]"]})
    assert dict(state.keyups) == {"FIRE DISPATCH": keyup()}


def test_change_merge_carries_keyups() -> None:
    change = Change()
    assert not change
    change.merge(Change(keyups={"FIRE DISPATCH"}))
    assert change.keyups == {"FIRE DISPATCH"} and bool(change) and not change.positions
