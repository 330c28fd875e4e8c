"""The shift report dialog's default range (ui/dialogs/shift_report.py)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QDate, QDateTime, QTime
from pytestqt.qtbot import QtBot

from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from tests.integration.test_queued_work import DEAD_URL
from ui.dialogs.shift_report import DEFAULT_HOURS, ShiftReportDialog, default_end


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
