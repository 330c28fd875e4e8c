"""The Call-taking panel on a real server: a ringing call answered with one key, the caller's
location with its uncertainty, the address verified as typed, hazards and prior incidents shown,
a possible duplicate offered, the incident saved in at most three keys after the address, the
answer race lost in place, the callback list, and a call released."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.domain.caller_location import CallerLocation, CivicAddress, Geodetic
from desktop.domain.calls import CallAnswer, CallEnd, CallOffer
from desktop.domain.incidents import IncidentCreate
from desktop.domain.premises import PremiseSet
from desktop.domain.types import CallStatus, LocationArgs
from desktop.geo.geocoder import Geocoder
from desktop.link import LinkPhase
from desktop.service import DispatchService
from tests.support.faultproxy import FaultProxy
from tests.support.fixtures import ClientFactory
from tests.support.serverproc import ServerProcess
from tests.support.waiting import wait_live, wait_until
from tests.support.workstation import Workstation
from ui.panels.calltaking import CallTakingPanel

WIRELESS = CallerLocation(
    kind="geodetic",
    geodetic=Geodetic(
        shape="Circle",
        lat=37.77869,
        lon=-122.41490,
        uncertainty_m=40.0,
        confidence=90.0,
        radius_m=40.0,
    ),
    method="Cell",
)
VOIP = CallerLocation(
    kind="civic",
    civic=CivicAddress(
        fields={
            "country": "US",
            "A1": "CA",
            "A3": "SAN FRANCISCO",
            "HNO": "1200",
            "RD": "MARKET",
            "STS": "ST",
        }
    ),
    method="Manual",
)


async def _calltaker(open_workstation: Callable[..., Workstation], url: str) -> Workstation:
    station = open_workstation(url, user="carl")
    await wait_live(station.service)
    panel = station.window.call_taking
    panel.address.set_geocoder(Geocoder.load_default())
    return station


def _offer(
    tel: DispatchService, call_id: str, *locations: CallerLocation, cos: str = "wireless"
) -> None:
    tel.submit(
        CallOffer(
            call_id=call_id, ani="+14155550134", class_of_service=cos, locations=list(locations)
        )
    )


async def _ringing(panel: CallTakingPanel, count: int) -> None:
    await wait_until(lambda: panel.ringing.rowCount() == count, what=f"{count} ringing")


def _type(qtbot: QtBot, widget: object, text: str) -> None:
    QtBot.keyClicks(widget, text)  # type: ignore[arg-type]


async def test_a_call_is_answered_located_verified_and_saved_in_two_keys(
    server: ServerProcess,
    open_workstation: Callable[..., Workstation],
    make_client: ClientFactory,
    qtbot: QtBot,
) -> None:
    tel, adm = make_client("tel", server.url), make_client("adm", server.url)
    await wait_live(tel)
    await wait_live(adm)
    adm.submit(
        PremiseSet(
            address="1200 MARKET ST", hazards=["oxygen in use"], lat=37.77877, lon=-122.41484
        )
    )
    adm.submit(
        IncidentCreate(
            incident_id="old",
            type="MEDICAL",
            priority=3,
            location=LocationArgs(address="1200 MARKET ST", lat=37.77877, lon=-122.41484),
        )
    )
    station = await _calltaker(open_workstation, server.url)
    window, service, panel = station.window, station.service, station.window.call_taking
    _offer(tel, "c1", WIRELESS)
    await _ringing(panel, 1)
    assert panel.ringing_title.text().startswith("Ringing 1")
    assert "Circle ±40 m (90%)" in panel.ringing.item(0, 3).text()

    window.activateWindow()
    QtBot.keyClick(window.incidents_view, Qt.Key.Key_F3)  # F3 from anywhere answers
    await wait_until(
        lambda: service.state.view.calls["c1"].status is CallStatus.ANSWERED, what="answered"
    )
    assert panel.address.field.hasFocus()
    assert "(415) 555-0134 · Wireless" in panel.call_header.text()
    assert "Circle ±40 m (90%)" in panel.call_location.text()
    assert "Nearest address:" in panel.call_location.text()

    _type(qtbot, panel.address.field, "1200 mark")
    assert panel.address.candidates.isVisible()
    assert panel.address.candidates.item(0).text() == "1200 MARKET ST"
    QtBot.keyClick(panel.address.field, Qt.Key.Key_Return)
    assert panel.address.verdict.text() == "Verified: 1200 MARKET ST"
    assert panel.type_field.hasFocus()
    assert "oxygen in use" in panel.place_box.hazards.text()
    assert "MEDICAL P3" in panel.place_box.prior.text()
    assert panel.duplicate_box.isVisible()  # the open MEDICAL incident at the same address

    keys = 0
    medical = panel.type_field.types.index("MEDICAL") + 1
    QtBot.keyClick(panel.type_field, str(medical))
    keys += 1
    assert panel.type_field.text() == "MEDICAL"
    QtBot.keyClick(panel.type_field, Qt.Key.Key_Return)
    keys += 1
    assert keys <= 3
    [entry] = [e for e in service.outbox.entries() if e.kind == "incident.create"] or [None]
    assert entry is not None and b'"call_id":"c1"' in entry.args
    await wait_until(lambda: not service.outbox, what="saved")
    call = service.state.view.calls["c1"]
    incident = service.incident(call.incident_id or "")
    assert incident is not None and incident.type == "MEDICAL" and incident.priority == 1
    assert incident.location.verified and incident.location.address == "1200 MARKET ST"
    assert incident.caller is not None and incident.caller.callback == "+14155550134"
    assert (
        incident.times["call_received"]
        <= incident.times["call_answered"]
        <= incident.times["created"]
    )
    assert "linked to" in panel.call_header.text()

    QtBot.keyClick(panel.type_field, Qt.Key.Key_F8)
    await wait_until(
        lambda: service.state.view.calls["c1"].status is CallStatus.RELEASED, what="released"
    )


async def test_the_answer_race_is_lost_in_place_and_abandoned_calls_wait_for_a_callback(
    server: ServerProcess,
    proxy: FaultProxy,
    open_workstation: Callable[..., Workstation],
    make_client: ClientFactory,
) -> None:
    tel, rival = make_client("tel", server.url), make_client("ann", server.url)
    await wait_live(tel)
    await wait_live(rival)
    station = await _calltaker(open_workstation, proxy.url)  # through a proxy we can cut
    service, panel = station.service, station.window.call_taking
    _offer(tel, "c1", VOIP, cos="voip")
    await _ringing(panel, 1)
    proxy.cut()  # our workstation still sees the call ringing...
    await wait_until(lambda: service.status.phase is not LinkPhase.LIVE, what="cut off")
    rival.submit(CallAnswer(call_id="c1"))  # ...while ann answers it first
    await wait_until(lambda: not rival.outbox, what="ann answered")
    panel.answer_oldest()  # queued, and shown answered here for now
    assert panel.message.text().startswith("Answered (415) 555-0134")
    proxy.restore()
    await wait_until(lambda: "ann answered it first" in panel.message.text(), what="told")
    assert not service.needs_attention()  # losing the race is not a problem to resolve
    assert panel.current_call() is None and panel.ringing.rowCount() == 0

    _offer(tel, "c2", WIRELESS)
    await _ringing(panel, 1)
    tel.submit(CallEnd(call_id="c2", reason="cancelled before answer"))
    await wait_until(lambda: panel.callbacks.rowCount() == 1, what="on the callback list")
    assert panel.callbacks.item(0, 0).text() == "before answer"
    assert panel.callbacks_title.text().startswith("Callbacks 1")


async def test_the_callers_civic_address_a_forced_address_and_joining_a_duplicate(
    server: ServerProcess,
    open_workstation: Callable[..., Workstation],
    make_client: ClientFactory,
) -> None:
    tel = make_client("tel", server.url)
    await wait_live(tel)
    station = await _calltaker(open_workstation, server.url)
    service, panel = station.service, station.window.call_taking
    _offer(tel, "c1", VOIP, cos="voip")
    await _ringing(panel, 1)
    panel.answer_oldest()
    QtBot.keyClick(panel.address.field, Qt.Key.Key_F4)  # the caller's civic address
    assert panel.address.field.text() == "1200 MARKET ST"
    QtBot.keyClick(panel.address.field, Qt.Key.Key_Return)
    assert panel.draft.verified_as == "1200 MARKET ST"
    QtBot.keyClicks(panel.type_field, "FIRE-STRUCTURE")
    QtBot.keyClick(panel.type_field, Qt.Key.Key_Return)
    await wait_until(lambda: not service.outbox, what="first incident saved")
    first = service.state.view.calls["c1"].incident_id
    assert first is not None

    # a second caller reports the same fire: F5 joins the call to it, no new incident
    _offer(tel, "c2", WIRELESS)
    await _ringing(panel, 1)
    QtBot.keyClick(panel.address.field, Qt.Key.Key_F8)  # done with the first caller
    panel.answer_oldest()
    QtBot.keyClicks(panel.address.field, "1200 market st")
    QtBot.keyClick(panel.address.field, Qt.Key.Key_Return)
    assert panel.duplicate_box.isVisible() and "FIRE-STRUCTURE" in panel.duplicates.text()
    incidents = len(service.incidents())
    QtBot.keyClick(panel.type_field, Qt.Key.Key_F5)
    await wait_until(lambda: not service.outbox, what="joined")
    assert service.state.view.calls["c2"].incident_id == first
    assert len(service.incidents()) == incidents
    incident = service.incident(first)
    assert incident is not None and incident.calls == ["c1", "c2"]

    # an address the index does not know, kept on purpose, flags the incident for follow-up
    QtBot.keyClick(panel.address.field, Qt.Key.Key_F8)
    _offer(tel, "c3", WIRELESS)
    await _ringing(panel, 1)
    panel.answer_oldest()
    QtBot.keyClicks(panel.address.field, "behind the old pier shed")
    QtBot.keyClick(panel.address.field, Qt.Key.Key_Return)
    assert panel.address.verdict.text().startswith("Not verified")
    QtBot.keyClick(panel.address.field, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    QtBot.keyClicks(panel.type_field, "ASSIST")
    QtBot.keyClick(panel.type_field, Qt.Key.Key_Return)
    await wait_until(lambda: not service.outbox, what="forced saved")
    forced = service.incident(service.state.view.calls["c3"].incident_id or "")
    assert forced is not None and forced.location.forced and not forced.location.verified
    station.window.selection.select_incident(forced.id)
    assert "FOLLOW UP" in station.window.incident_detail.facts.text()
