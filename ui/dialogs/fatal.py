"""`show_fatal`: tell the user why the workstation cannot start, and wait until they have read it.

Opened with ``open()`` and awaited through a future (never ``exec()`` under qasync).
"""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QMessageBox

__all__ = ["show_fatal"]


async def show_fatal(title: str, text: str, detail: str = "") -> None:
    """Show a critical message box; returns once it is closed."""
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
