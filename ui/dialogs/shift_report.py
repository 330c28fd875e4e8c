"""`ShiftReportDialog`: the shift report from the Supervisor panel (issue #16). The supervisor
picks the range (by default the last 12 hours, to the next whole minute; at most
`MAX_REPORT_S`), the format and the file, and sees the zone the times are written in; the
server makes the report from its event log (`DispatchService.shift_report`, the
same figures as ``dispatch-server report``) and the workstation writes it in the format
chosen (`desktop.reports.files.report_bytes`: PDF with charts, CSV or JSON). Keyboard-first:
Enter makes it, Esc closes. Opened with ``open()`` (never ``exec()`` under qasync).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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

from desktop.domain.floor_figures import HOUR_S, report_range_problem
from desktop.reports.files import REPORT_FORMATS, report_bytes
from desktop.service import CommandRefused, DispatchService

__all__ = ["DEFAULT_HOURS", "ShiftReportDialog", "default_end", "local_zone"]

log = logging.getLogger("dispatch.ui")

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
    """The IANA name of this machine's zone, from the first of ``TZ`` (a name, or a path into
    a zoneinfo folder), where /etc/localtime points, and /etc/timezone that names a zone this
    machine knows; else ``UTC``. The dialog shows it: the report's times are written in it."""
    for name in _zone_candidates():
        if _is_zone(name):
            return name
    return "UTC"


def _zone_candidates() -> list[str]:
    names = []
    given = os.environ.get("TZ", "").lstrip(":")
    if given:
        names.append(_zone_of_path(given) if given.startswith("/") else given)
    names.append(_zone_of_path("/etc/localtime"))
    with contextlib.suppress(OSError, UnicodeDecodeError):
        names.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    return [name for name in names if name]


def _zone_of_path(path: str) -> str:
    """The zone name a zoneinfo file's real path ends with ("" when it is not in one)."""
    marker = "zoneinfo/"
    real = os.path.realpath(path)
    return real.split(marker, 1)[1] if marker in real else ""


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


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
        self.start = QDateTimeEdit(end.addSecs(-DEFAULT_HOURS * HOUR_S))
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
        self.zone = local_zone()
        form.addRow("Zone", QLabel(self.zone))
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
        problem = report_range_problem(start, end)
        if problem is not None:
            self._say(f"No report: {problem.rstrip('.')}.")
            return
        self.make_button.setEnabled(False)
        self.outcome.setText("Making the report on the server…")
        try:
            figures = await self.service.shift_report(start, end, self.zone)
            data = await asyncio.to_thread(report_bytes, figures, fmt)  # a PDF takes a moment
            await asyncio.to_thread(path.write_bytes, data)
        except CommandRefused as exc:
            self._say(f"No report: {exc.message.rstrip('.')}.")
        except ConnectionError:
            self._say("No report: the server is not reachable now (the report is made there).")
        except TimeoutError:
            self._say("No report: the server did not answer in time. Try a shorter range.")
        except OSError as exc:
            self._say(f"The report could not be written to {path}: {exc.strerror or exc}.")
        except Exception:  # a bug must not leave the dialog saying it is still making it
            log.exception("the shift report failed")
            self._say("No report: it failed on this workstation (the details are in its log).")
        else:
            self.written = path
            self._say(f"Written: {path} ({figures.get('calls', 0)} calls).")
        finally:
            self.make_button.setEnabled(True)

    def _say(self, text: str) -> None:
        self.outcome.setText(text)
        self.outcome.setAlignment(Qt.AlignmentFlag.AlignLeft)
