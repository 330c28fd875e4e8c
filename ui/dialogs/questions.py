"""Questions put to the dispatcher as window-modal message boxes, opened with ``open()`` (never
``exec()`` under qasync) and awaited through a future; and the words they use about queued work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from PySide6.QtWidgets import QAbstractButton, QMessageBox, QPushButton, QWidget

from desktop.stranded import QueuedWork

__all__ = ["ask", "commands", "question_box", "stranded_words"]


def commands(n: int) -> str:
    """``1 command``, ``3 commands``."""
    return f"{n} command{'' if n == 1 else 's'}"


def question_box(
    name: str,
    title: str,
    text: str,
    detail: str,
    buttons: Sequence[tuple[str, QMessageBox.ButtonRole]],
    parent: QWidget | None = None,
) -> tuple[QMessageBox, list[QPushButton]]:
    """A question with ``buttons`` (the first is the default, and Escape takes the one whose
    role is RejectRole)."""
    box = QMessageBox(parent)
    box.setObjectName(name)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    box.setInformativeText(detail)
    made = [box.addButton(label, role) for label, role in buttons]
    box.setDefaultButton(made[0])
    for button, (_, role) in zip(made, buttons, strict=True):
        if role is QMessageBox.ButtonRole.RejectRole:
            box.setEscapeButton(button)
    return box, made


async def ask(box: QMessageBox) -> QAbstractButton | None:
    """Open ``box`` and wait for the button pressed (None if it was closed otherwise)."""
    answer: asyncio.Future[QAbstractButton | None] = asyncio.get_running_loop().create_future()

    def done(_result: int) -> None:
        if not answer.done():
            answer.set_result(box.clickedButton())

    box.finished.connect(done)
    box.open()
    try:
        return await answer
    finally:
        box.close()


def stranded_words(work: Sequence[QueuedWork]) -> str:
    """One line per profile holding queued or refused commands, for the dispatcher."""
    lines = []
    for item in work:
        parts = []
        if item.queued:
            parts.append(f"{commands(item.queued)} queued, not sent")
        if item.refused:
            parts.append(f"{commands(item.refused)} refused by the server")
        lines.append(f"• {item.where()}: {', '.join(parts)}")
    return "\n".join(lines)
