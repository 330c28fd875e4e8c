"""Start-up failures: say why the workstation cannot start, and end with exit code 2.

`show_fatal` logs the reason and shows a critical message box, waiting until the user has read
and closed it (opened with ``open()`` and awaited through a future, never ``exec()`` under
qasync). When nobody can close a box — ``--screenshot``, Qt's ``offscreen`` or ``minimal``
platform (`someone_to_read`), no display at all (`display_problem`) — it writes the reason to
stderr instead and returns at once, so the process ends non-zero instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Mapping

from PySide6.QtWidgets import QMessageBox

__all__ = [
    "EXIT_CANNOT_START",
    "display_problem",
    "say_cannot_start",
    "show_fatal",
    "someone_to_read",
]

log = logging.getLogger("dispatch.ui")

#: The exit code of a workstation that could not start (as for a usage error).
EXIT_CANNOT_START = 2
#: Qt platforms that show nothing to anyone.
_NO_SCREEN_PLATFORMS = frozenset({"offscreen", "minimal"})


def display_problem(
    platform: str = sys.platform, environ: Mapping[str, str] = os.environ
) -> str | None:
    """Why Qt will find no display here, or None. On Linux and the BSDs with no
    ``QT_QPA_PLATFORM``, Qt needs ``DISPLAY`` (X11) or ``WAYLAND_DISPLAY``; without either it
    aborts the process with a message about plugins."""
    if platform in ("win32", "darwin") or environ.get("QT_QPA_PLATFORM"):
        return None
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "there is no display: neither DISPLAY nor WAYLAND_DISPLAY is set "
        "(to run without a screen, set QT_QPA_PLATFORM=offscreen)"
    )


def someone_to_read(screenshot: bool, platform_name: str) -> bool:
    """Whether a dialog can be read and closed: not while taking screenshots, not on a Qt
    platform that shows nothing (``platform_name``: ``QGuiApplication.platformName()``, or
    ``QT_QPA_PLATFORM`` before Qt starts, options after ``:`` ignored)."""
    return not screenshot and platform_name.split(":", 1)[0] not in _NO_SCREEN_PLATFORMS


def say_cannot_start(text: str, detail: str = "") -> int:
    """Write why the workstation cannot start to stderr; returns `EXIT_CANNOT_START`."""
    lines = [f"dispatch-desktop: cannot start: {text}"]
    if detail:
        lines.append(detail)
    print("\n".join(lines), file=sys.stderr, flush=True)
    return EXIT_CANNOT_START


async def show_fatal(title: str, text: str, detail: str = "", *, dialog: bool = True) -> int:
    """Log the reason, then show a critical message box and return once it is closed; with
    ``dialog`` False (nobody to close it), write the reason to stderr instead. Returns
    `EXIT_CANNOT_START`."""
    log.error("cannot start: %s %s", text, detail)
    if not dialog:
        return say_cannot_start(text, detail)
    box = QMessageBox(QMessageBox.Icon.Critical, title, text)
    box.setObjectName("fatal_dialog")
    if detail:
        box.setInformativeText(detail)
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def closed(_result: int) -> None:
        if not done.done():
            done.set_result(None)

    box.finished.connect(closed)
    box.open()
    await done
    return EXIT_CANNOT_START
