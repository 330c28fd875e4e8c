"""`OutageBar`: the full-width bar across the top of the window while the server is not reached.

A dispatcher at 3 a.m. must not miss that the floor is not being confirmed, nor be alarmed by
it: the bar is dark amber, large and plain, says what it means for their work (queued commands
are kept and sent when the server answers), when the next try is, and has **Reconnect now**.
A profile whose server has never answered (`LinkStatus.ever_connected` false) is said plainly:
the password has not been checked and nothing has reached anyone; check the server address.
Signed out, the bar says so and offers **Sign in again**. It hides once connected (SYNCING,
replaying or LIVE) and while stopping. A workstation with several servers (failover) names them
all when none answers; moving from one to the next is no outage (the link tries the next at
once) and shows nothing here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop.link import LinkPhase, LinkStatus
from desktop.link_policy import server_name

__all__ = ["OutageBar", "outage_words"]

#: Dark and calm, in every theme: amber words on a deep brown, not a red alarm.
STYLE = """
QWidget#outage_content { background: #2b2100; border-bottom: 2px solid #b58900; }
QLabel#outage_title { color: #ffd866; font-size: 15pt; font-weight: 600; }
QLabel#outage_detail { color: #f1e3b5; font-size: 11pt; }
QPushButton#reconnect_now, QPushButton#outage_sign_in {
    color: #1b1400; background: #e0b84a; border: 1px solid #ffd866; border-radius: 3px;
    padding: 6px 16px; font-size: 11pt; font-weight: 600;
}
QPushButton#reconnect_now:focus, QPushButton#outage_sign_in:focus { border: 2px solid #ffffff; }
"""

_CONNECTED = frozenset({LinkPhase.SYNCING, LinkPhase.REPLAYING, LinkPhase.LIVE, LinkPhase.STOPPED})


def _commands(n: int) -> str:
    return f"{n} command{'' if n == 1 else 's'}"


def _servers_words(status: LinkStatus, url: str) -> tuple[str, bool]:
    """(the servers not answering, whether they are several): ``url`` alone, or every server
    of a failover list by name (``cad1:8765 and cad2:8765``)."""
    names = [server_name(u) for u in status.servers]
    if len(names) < 2:
        return url, False
    return f"{', '.join(names[:-1])} and {names[-1]}", True


def outage_words(
    status: LinkStatus, url: str, now_monotonic: float, in_outage: bool = True
) -> tuple[str, str] | None:
    """(title, detail) the bar shows for ``status``, or None when it is hidden. ``in_outage``:
    a try already failed since the last connection (else CONNECTING is the first try of a run,
    which shows nothing). ``url``: the server named when the status names no failover list."""
    if status.phase in _CONNECTED:
        return None
    if status.phase in (LinkPhase.CONNECTING, LinkPhase.OFFLINE) and not in_outage:
        return None
    servers, several = _servers_words(status, url)
    queued = status.queued
    kept = (
        f"{_commands(queued)} queued on this workstation, sent when the server answers."
        if queued
        else "Nothing queued. You can keep working: what you do is kept and sent later."
    )
    if status.phase is LinkPhase.SIGNED_OUT:
        reason = f" ({status.detail})" if status.detail else ""
        return (
            "SIGNED OUT — the server did not accept the sign-in",
            f"{status.server or url}{reason}. {kept} Sign in again to send them.",
        )
    if status.phase is LinkPhase.OFFLINE and status.next_retry_at is not None:
        wait = max(0, round(status.next_retry_at - now_monotonic))
        retry = f"Next try in {wait} s."
    else:
        retry = "Trying now…"
    if not status.ever_connected:
        return (
            "SERVER NEVER REACHED — not signed in yet",
            f"{servers} {'have' if several else 'has'} not answered since this sign-in: your "
            f"password has not been checked and nothing has been sent. {kept} Check the server "
            f"address. {retry}",
        )
    return (
        "NO CONNECTION TO THE SERVER — the board may be out of date",
        f"{servers} {'are' if several else 'is'} not answering. {kept} {retry}",
    )


class OutageBar(QToolBar):
    """Follows `show_status`; ``reconnect`` and ``sign_in`` back its two buttons."""

    def __init__(
        self,
        url: str,
        reconnect: Callable[[], None],
        sign_in: Callable[[], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Connection", parent)
        self.setObjectName("outage_bar")
        self.setMovable(False)
        self.setFloatable(False)
        self.toggleViewAction().setVisible(False)
        self.url = url
        content = QWidget()
        content.setObjectName("outage_content")
        content.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        content.setStyleSheet(STYLE)
        content.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.title = QLabel()
        self.title.setObjectName("outage_title")
        self.detail = QLabel()
        self.detail.setObjectName("outage_detail")
        for label in (self.title, self.detail):  # never widens nor heightens the window
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.reconnect_button = QPushButton("Reconnect now")
        self.reconnect_button.setObjectName("reconnect_now")
        self.reconnect_button.clicked.connect(reconnect)
        self.sign_in_button = QPushButton("Sign in again…")
        self.sign_in_button.setObjectName("outage_sign_in")
        self.sign_in_button.setVisible(False)
        if sign_in is not None:
            self.sign_in_button.clicked.connect(sign_in)
        self._can_sign_in = sign_in is not None
        self._in_outage = False
        text = QWidget()
        lines = QVBoxLayout(text)
        lines.setContentsMargins(0, 0, 0, 0)
        lines.setSpacing(2)
        lines.addWidget(self.title)
        lines.addWidget(self.detail)
        row = QHBoxLayout(content)
        row.setContentsMargins(16, 8, 16, 8)
        row.setSpacing(16)
        row.addWidget(text, 1)
        row.addWidget(self.reconnect_button, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.sign_in_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.addWidget(content)
        self.setStyleSheet("QToolBar#outage_bar { padding: 0; margin: 0; border: 0; }")
        self.hide()

    def show_status(self, status: LinkStatus) -> None:
        if status.phase in _CONNECTED:
            self._in_outage = False
        elif status.phase is LinkPhase.SIGNED_OUT or (
            status.phase is LinkPhase.OFFLINE and status.next_retry_at is not None
        ):
            self._in_outage = True  # a try failed (not the OFFLINE of a link not started yet)
        words = outage_words(status, self.url, time.monotonic(), self._in_outage)
        if words is None:
            self.hide()
            return
        title, detail = words
        if self.title.text() != title:
            self.title.setText(title)
        if self.detail.text() != detail:
            self.detail.setText(detail)
            self.detail.setToolTip(detail)
        signed_out = status.phase is LinkPhase.SIGNED_OUT
        self.reconnect_button.setVisible(not signed_out)
        self.reconnect_button.setEnabled(status.phase is LinkPhase.OFFLINE)
        self.sign_in_button.setVisible(signed_out and self._can_sign_in)
        self.show()
