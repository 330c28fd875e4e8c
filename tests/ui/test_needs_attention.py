"""Needs attention: a command the server refused is edited on the command line (Edit), the edit
is checked like any command, Escape gives it up, Enter sends it again in the refused one's
place; an edit that changes the kind of command is refused."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.domain.incidents import IncidentCreate
from desktop.domain.types import LocationArgs, UnitStatus
from desktop.domain.units import UnitAdd, UnitDispatch, UnitSetStatus
from desktop.link import LinkPhase
from desktop.service import CommandRefused, DispatchService
from tests.support.faultproxy import FaultProxy
from tests.support.fixtures import ClientFactory
from tests.support.serverproc import ServerProcess
from tests.support.waiting import wait_until
from tests.support.workstation import Workstation


def number(service: DispatchService, incident_id: str) -> str:
    found = service.incident(incident_id)
    assert found is not None and found.number is not None
    return found.number


async def test_a_refused_dispatch_is_edited_on_the_command_line_and_sent_again(
    server: ServerProcess,
    proxy: FaultProxy,
    make_client: ClientFactory,
    open_workstation: Callable[..., Workstation],
) -> None:
    other = make_client("bob", server.url)
    for args in (
        UnitAdd(unit_id="E1", type="ENGINE", status=UnitStatus.AV),
        UnitAdd(unit_id="E2", type="ENGINE", status=UnitStatus.AV),
        *(
            IncidentCreate(
                incident_id=f"i-{n}", type="FIRE", priority=2, location=LocationArgs(address=a)
            )
            for n, a in ((1, "1 Main St"), (2, "2 Elm St"))
        ),
    ):
        other.submit(args)
    await wait_until(lambda: not other.outbox, what="floor set up")
    station = open_workstation(proxy.url)
    window, service = station.window, station.service
    await wait_until(
        lambda: service.status.phase is LinkPhase.LIVE and service.incident("i-2") is not None,
        what="synced",
    )

    # offline, E1 is dispatched elsewhere; this workstation sends it to i-2 on its stale view
    proxy.cut()
    await wait_until(lambda: service.status.phase is not LinkPhase.LIVE, what="offline")
    other.submit(UnitDispatch(incident_id="i-1", unit_ids=["E1"]))
    await wait_until(lambda: not other.outbox, what="E1 dispatched elsewhere")
    service.submit(UnitDispatch(incident_id="i-2", unit_ids=["E1"]))
    proxy.restore()
    await wait_until(lambda: window.models.attention.rowCount() == 1, what="refused")
    i1, i2 = number(service, "i-1"), number(service, "i-2")

    panel, line = window.alerts_panel, window.command_line
    attention = window.models.attention
    assert attention.data(attention.index(0, 1)) == f"dispatch E1 to {i2}"  # the kind's words
    assert attention.data(attention.index(0, 2)) == "unit not available"  # not "unit_unavailable"
    assert not panel.edit_button.isEnabled()  # nothing selected
    panel.view.selectRow(0)
    assert panel.edit_button.isEnabled()
    panel.edit_button.click()
    assert line.input.text() == f"DISP E1 {i2}"
    assert line.editing is not None
    assert line.input.hasFocus()

    # Escape gives the edit up: the command is still waiting under Needs attention
    QtBot.keyClick(line.input, Qt.Key.Key_Escape)
    assert line.editing is None and line.input.text() == ""
    assert window.models.attention.rowCount() == 1
    panel.edit_button.click()

    line.input.setText(f"DISP E1 {i2}")  # unchanged: refused here, nothing sent
    line.submit()
    assert line.feedback.text() == f"E1 is DP on {i1}"
    assert len(service.needs_attention()) == 1 and not service.outbox

    line.input.setText("OS E2")  # another kind of command: not an edit
    line.submit()
    assert line.feedback.text().startswith("an edit must stay one DISP command")
    assert line.editing is not None

    line.input.setText(f"DISP E2 {i2}")
    line.submit()
    assert line.editing is None
    assert line.feedback.text() == f"Sent again, edited: E2 dispatched to {i2}"
    assert service.needs_attention() == []
    await wait_until(lambda: not service.outbox, what="edited dispatch applied")
    e2 = service.unit("E2")
    assert e2 is not None and (e2.status, e2.incident_id) == (UnitStatus.DP, "i-2")
    [(_, _, action, _)] = service.outbox.journal()
    assert action == "retry"


async def test_the_service_checks_an_edit_before_it_replaces_anything(
    server: ServerProcess,
    proxy: FaultProxy,
    make_client: ClientFactory,
) -> None:
    other = make_client("bob", server.url)
    other.submit(UnitAdd(unit_id="E1", type="ENGINE", status=UnitStatus.AV))
    other.submit(
        IncidentCreate(
            incident_id="i-1", type="FIRE", priority=2, location=LocationArgs(address="1 Main")
        )
    )
    await wait_until(lambda: not other.outbox, what="floor set up")
    service = make_client("ann", proxy.url)
    await wait_until(lambda: service.incident("i-1") is not None, what="synced")
    proxy.cut()
    await wait_until(lambda: service.status.phase is not LinkPhase.LIVE, what="offline")
    other.submit(UnitDispatch(incident_id="i-1", unit_ids=["E1"]))
    await wait_until(lambda: not other.outbox, what="E1 dispatched elsewhere")
    service.submit(UnitSetStatus(unit_id="E1", status=UnitStatus.OOS))  # fine on the stale view
    proxy.restore()
    await wait_until(lambda: bool(service.needs_attention()), what="refused")
    [rejection] = service.needs_attention()
    assert rejection.code == "invalid_transition"
    key = rejection.entry.key
    try:
        service.retry(key, UnitAdd(unit_id="E9", type="ENGINE"))
    except CommandRefused as exc:
        assert exc.message == "an edit of unit.set_status must stay unit.set_status"
    else:
        raise AssertionError("a different kind was accepted as an edit")
    try:
        service.retry(key, UnitSetStatus(unit_id="E1", status=UnitStatus.TR))
    except CommandRefused as exc:
        assert "transporting needs OS first" in exc.message
    else:
        raise AssertionError("an impossible edit was queued")
    assert service.needs_attention() == [rejection] and not service.outbox
    service.retry(key, UnitSetStatus(unit_id="E1", status=UnitStatus.ER))
    await wait_until(lambda: not service.outbox, what="edited command applied")
    assert service.unit("E1").status is UnitStatus.ER  # type: ignore[union-attr]
