"""`ConnectionBanner`: the status-bar strip that always says how the link is.

States: ``LIVE``, ``RECONNECTING (next try in n s)``, ``OFFLINE · N queued``, ``SYNCING k/N`` with
a progress bar, ``SIGNED OUT``, ``SERVER NEVER REACHED`` (this profile's server has never
answered: the password is unchecked); plus "last confirmed n s ago". Connected (syncing or live)
it names the server it is on, ``LIVE · cad2:8765`` (`desktop.link_policy.server_name`; the
tooltip has the URL and its place in the failover list). The full-width outage bar
(`ui.widgets.outage_bar`) says the same at the top of the window. Colours are calm except when the
dispatcher must know something is wrong.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget

from desktop.link import LinkPhase, LinkStatus
from desktop.link_policy import server_name

__all__ = ["ConnectionBanner", "banner_text", "banner_tooltip"]


def banner_text(status: LinkStatus, now_monotonic: float) -> tuple[str, str]:
    """(text, state) for a status; state names the style (live, warn, alert, sync)."""
    if status.local_error:  # the dispatcher must know before anything else
        return ("LOCAL STORAGE ERROR · see tooltip", "alert")
    phase = status.phase
    on = f" · {server_name(status.server)}" if status.server else ""
    if phase is LinkPhase.LIVE:
        return (f"LIVE{on}" + (f" · {status.queued} sending" if status.queued else ""), "live")
    if phase is LinkPhase.SYNCING:
        return (f"SYNCING {status.sync_done}/{status.sync_total}{on}", "sync")
    if phase is LinkPhase.REPLAYING:
        return (f"SYNCING{on} · sending {status.queued} queued", "sync")
    if phase is LinkPhase.SIGNED_OUT:
        return ("SIGNED OUT · sign in again", "alert")
    if phase is LinkPhase.STOPPED:
        return ("STOPPED", "warn")
    if phase is LinkPhase.OFFLINE and not status.ever_connected:
        queued = f" · {status.queued} queued, not sent" if status.queued else ""
        return (f"SERVER NEVER REACHED{queued}", "alert")
    if status.queued:
        return (f"OFFLINE · {status.queued} queued", "alert")
    if phase is LinkPhase.OFFLINE and status.next_retry_at is not None:
        wait = max(0, round(status.next_retry_at - now_monotonic))
        return (f"RECONNECTING (next try in {wait} s)", "warn")
    return ("RECONNECTING", "warn")


_CONNECTED = frozenset({LinkPhase.SYNCING, LinkPhase.REPLAYING, LinkPhase.LIVE})


def banner_tooltip(status: LinkStatus) -> str:
    """What the banner's tooltip says: the local error, else why the last connection ended,
    else (connected) the server's URL and, with several, its place in the failover order."""
    if status.local_error or status.detail:
        return status.local_error or status.detail
    if status.phase not in _CONNECTED or not status.server:
        return ""
    said = f"Connected to {status.server}"
    if len(status.servers) > 1 and status.server in status.servers:
        place = status.servers.index(status.server) + 1
        said += f" (server {place} of {len(status.servers)} in failover order)"
    return said


class ConnectionBanner(QWidget):
    """Shows the newest `LinkStatus`; `tick` once a second keeps the countdowns honest."""

    def __init__(
        self,
        status: Callable[[], LinkStatus],
        parent: QWidget | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("connection_banner")
        self._status = status
        self._clock = clock
        self.state_label = QLabel()
        self.state_label.setObjectName("banner_state")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(140)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.confirmed_label = QLabel()
        self.confirmed_label.setObjectName("banner_confirmed")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.state_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.confirmed_label)
        self.show_status(status())

    def tick(self) -> None:
        self.show_status(self._status())

    def show_status(self, status: LinkStatus) -> None:
        text, state = banner_text(status, time.monotonic())
        if text != self.state_label.text():
            self.state_label.setText(text)
        if self.state_label.property("state") != state:
            self.state_label.setProperty("state", state)
            self.state_label.style().unpolish(self.state_label)
            self.state_label.style().polish(self.state_label)
        syncing = status.phase is LinkPhase.SYNCING and status.sync_total > 0
        self.progress.setVisible(syncing)
        if syncing:
            self.progress.setRange(0, status.sync_total)
            self.progress.setValue(status.sync_done)
        if status.last_confirmed_at is None:
            self.confirmed_label.setText("never confirmed")
        else:
            ago = max(0, int(self._clock() - status.last_confirmed_at))
            self.confirmed_label.setText(f"last confirmed {ago} s ago")
        self.setToolTip(banner_tooltip(status))
