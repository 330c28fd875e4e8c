"""The shift report dialog (ui/dialogs/shift_report.py): its default range, its zone, and what
it says when no report can be made."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QDate, QDateTime, QTime
from pytestqt.qtbot import QtBot

from desktop.domain.floor_figures import MAX_REPORT_S
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from tests.integration.test_queued_work import DEAD_URL
from tests.support.waiting import wait_until
from ui.dialogs.shift_report import DEFAULT_HOURS, ShiftReportDialog, default_end, local_zone


def _at(hh: int, mm: int, ss: int, ms: int = 0) -> QDateTime:
    return QDateTime(QDate(2026, 12, 4), QTime(hh, mm, ss, ms))


def test_the_default_end_is_the_next_whole_minute() -> None:
    assert default_end(_at(19, 9, 51, 700)) == _at(19, 10, 0)
    assert default_end(_at(19, 9, 0)) == _at(19, 10, 0)
    assert default_end(_at(23, 59, 59, 999)) == QDateTime(QDate(2026, 12, 5), QTime(0, 0))


def test_the_dialog_offers_the_last_shift_up_to_now(qtbot: QtBot, tmp_path: Path) -> None:
    service = DispatchService(
        ServiceConfig(data_dir=tmp_path / "ws", url=DEAD_URL), SignIn("sam", "pw")
    )
    try:
        before = QDateTime.currentDateTime()
        dialog = ShiftReportDialog(service)
        qtbot.addWidget(dialog)
        end = dialog.end.dateTime()
        assert end > before and before.secsTo(end) <= 60
        assert dialog.start.dateTime().secsTo(end) == DEFAULT_HOURS * 3600
    finally:
        service.db.close()


def test_the_file_field_shows_the_whole_default_path(qtbot: QtBot, tmp_path: Path) -> None:
    service = DispatchService(
        ServiceConfig(data_dir=tmp_path / "ws", url=DEAD_URL), SignIn("sam", "pw")
    )
    try:
        dialog = ShiftReportDialog(service)
        qtbot.addWidget(dialog)
        dialog.show()
        path = dialog.path
        path.setText("/home/dispatcher/Documents/shift-report-2026-12-04-1930.pdf")
        assert path.fontMetrics().horizontalAdvance(path.text()) < path.width()
    finally:
        service.db.close()


def test_the_zone_is_one_this_machine_knows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TZ", "Europe/Paris")
    assert local_zone() == "Europe/Paris"
    folder = tmp_path / "zoneinfo" / "America"
    folder.mkdir(parents=True)
    (folder / "Chicago").write_bytes(b"")
    monkeypatch.setenv("TZ", f":{folder / 'Chicago'}")  # a path into a zoneinfo folder
    assert local_zone() == "America/Chicago"
    monkeypatch.setenv("TZ", "Not/AZone")  # not a zone: the machine's own, else UTC
    zone = local_zone()
    assert zone != "Not/AZone"
    ZoneInfo(zone)


def _dialog(qtbot: QtBot, tmp_path: Path) -> tuple[ShiftReportDialog, DispatchService]:
    service = DispatchService(
        ServiceConfig(data_dir=tmp_path / "ws", url=DEAD_URL), SignIn("sam", "pw")
    )
    dialog = ShiftReportDialog(service)
    qtbot.addWidget(dialog)
    dialog.path.setText(str(tmp_path / "shift.pdf"))
    dialog.format.setCurrentText("PDF")
    return dialog, service


async def test_a_range_longer_than_a_report_covers_is_refused_here(
    qtbot: QtBot, tmp_path: Path
) -> None:
    dialog, service = _dialog(qtbot, tmp_path)
    asked: list[tuple[float, float]] = []

    async def shift_report(start: float, end: float, tz: str) -> dict[str, Any]:
        asked.append((start, end))
        return {}

    service.shift_report = shift_report  # type: ignore[method-assign]
    try:
        days = int(MAX_REPORT_S // 86_400) + 1
        dialog.start.setDateTime(dialog.end.dateTime().addDays(-days))
        dialog.make()
        await wait_until(lambda: dialog.outcome.text().startswith("No report:"), what="refused")
        assert asked == [] and dialog.written is None and dialog.make_button.isEnabled()
    finally:
        service.db.close()


async def test_an_unexpected_failure_is_said_and_the_dialog_can_try_again(
    qtbot: QtBot, tmp_path: Path
) -> None:
    dialog, service = _dialog(qtbot, tmp_path)

    async def shift_report(start: float, end: float, tz: str) -> dict[str, Any]:
        return {"calls": 1}  # not a report: the PDF cannot be made of it

    service.shift_report = shift_report  # type: ignore[method-assign]
    try:
        dialog.make()
        await wait_until(lambda: "failed on this workstation" in dialog.outcome.text())
        assert dialog.make_button.isEnabled() and dialog.written is None
        assert not (tmp_path / "shift.pdf").exists()
    finally:
        service.db.close()


async def test_with_no_server_the_dialog_says_the_report_is_made_there(
    qtbot: QtBot, tmp_path: Path
) -> None:
    dialog, service = _dialog(qtbot, tmp_path)  # never connected: the link has no socket
    try:
        dialog.make()
        await wait_until(lambda: "not reachable" in dialog.outcome.text(), what="said")
        assert dialog.make_button.isEnabled() and not (tmp_path / "shift.pdf").exists()
    finally:
        service.db.close()
