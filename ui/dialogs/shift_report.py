"""`ShiftReportDialog`: the shift report from the Supervisor panel (issue #16). The supervisor
picks the range (by default the last 12 hours, to the next whole minute), the format and the
file; the server makes the report from its event log (`DispatchService.shift_report`, the
same figures as ``dispatch-server report``) and the workstation writes it in the format
chosen (`desktop.reports.files.report_bytes`: PDF with charts, CSV or JSON). Keyboard-first:
Enter makes it, Esc closes. Opened with ``open()`` (never ``exec()`` under qasync).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from desktop.reports.files import REPORT_FORMATS, report_bytes
from desktop.service import CommandRefused, DispatchService

__all__ = ["DEFAULT_HOURS", "ShiftReportDialog", "default_end", "local_zone"]

#: The range the dialog offers first: the last this many hours (a 12-hour shift).
DEFAULT_HOURS = 12

#: The file field shows about this many characters of the path without scrolling.
PATH_CHARS = 56


def default_end(now: QDateTime) -> QDateTime:
    """The end the dialog offers: the next whole minute after ``now``. The fields show minutes,
    so the range shown is the range made, and it holds everything recorded up to now."""
    minute = now.time()
    start_of_minute = QDateTime(
        now.date(), minute.addSecs(-minute.second()).addMSecs(-minute.msec())
    )
    return start_of_minute.addSecs(60)


def local_zone() -> str:
    """The IANA name of this machine's zone (``TZ``, else where /etc/localtime points), else
    ``UTC``: the zone the report's times are written in."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        return name
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return "UTC"
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else "UTC"


def _default_path(fmt: str, at: float) -> Path:
    folder = Path.home() / "Documents"
    stamp = time.strftime("%Y-%m-%d-%H%M", time.localtime(at))
    return (folder if folder.is_dir() else Path.home()) / f"shift-report-{stamp}.{fmt}"


class ShiftReportDialog(QDialog):
    """The range, format and file of a shift report, and the outcome (module docstring)."""

    def __init__(self, service: DispatchService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shift_report_dialog")
        self.setWindowTitle("Shift report")
        self.service = service
        end = default_end(QDateTime.currentDateTime())
        self.start = QDateTimeEdit(end.addSecs(-DEFAULT_HOURS * 3600))
        self.end = QDateTimeEdit(end)
        for edit in (self.start, self.end):
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.setCalendarPopup(True)
        self.format = QComboBox()
        self.format.addItems([fmt.upper() for fmt in REPORT_FORMATS])
        self.path = QLineEdit(str(_default_path(REPORT_FORMATS[0], time.time())))
        self.path.setObjectName("shift_report_path")
        self.path.setMinimumWidth(self.path.fontMetrics().horizontalAdvance("x" * PATH_CHARS))
        self.outcome = QLabel("Enter makes the report; Esc closes.")
        self.outcome.setObjectName("shift_report_outcome")
        self.outcome.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Close
        )
        self.make_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.make_button.setText("Make report")
        buttons.accepted.connect(self.make)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("From", self.start)
        form.addRow("To", self.end)
        form.addRow("Format", self.format)
        form.addRow("File", self.path)
        form.addRow(self.outcome)
        form.addRow(buttons)
        self.format.currentTextChanged.connect(self._format_changed)
        self.task: asyncio.Task[None] | None = None
        self.written: Path | None = None

    def chosen_format(self) -> str:
        return self.format.currentText().lower()

    def _format_changed(self, _text: str) -> None:
        path = Path(self.path.text())
        self.path.setText(str(path.with_suffix(f".{self.chosen_format()}")))

    def make(self) -> None:
        """Ask the server for the report and write it (in the background: the dialog stays)."""
        if self.task is not None and not self.task.done():
            return
        self.task = asyncio.ensure_future(self._make(Path(self.path.text()).expanduser()))

    async def _make(self, path: Path) -> None:
        start = float(self.start.dateTime().toSecsSinceEpoch())
        end = float(self.end.dateTime().toSecsSinceEpoch())
        fmt = self.chosen_format()
        self.make_button.setEnabled(False)
        self.outcome.setText("Making the report on the server…")
        try:
            figures = await self.service.shift_report(start, end, local_zone())
            data = await asyncio.to_thread(report_bytes, figures, fmt)  # a PDF takes a moment
            await asyncio.to_thread(path.write_bytes, data)
        except CommandRefused as exc:
            self._say(f"No report: {exc.message}.")
        except ConnectionError:
            self._say("No report: the server is not reachable now (the report is made there).")
        except TimeoutError:
            self._say("No report: the server did not answer in time. Try a shorter range.")
        except OSError as exc:
            self._say(f"The report could not be written to {path}: {exc.strerror or exc}.")
        else:
            self.written = path
            self._say(f"Written: {path} ({figures.get('calls', 0)} calls).")
        finally:
            self.make_button.setEnabled(True)

    def _say(self, text: str) -> None:
        self.outcome.setText(text)
        self.outcome.setAlignment(Qt.AlignmentFlag.AlignLeft)
