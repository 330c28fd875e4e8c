"""`LoginDialog`: server URL, user, password, remember me.

Opened with ``open()`` (never ``exec()`` under qasync); the caller awaits `wait_submitted`.
The password only ever lives in memory; "remember me" stores a refresh token in the OS keyring.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

__all__ = ["LoginDialog", "LoginRequest"]


@dataclass(frozen=True, slots=True)
class LoginRequest:
    url: str
    user: str
    password: str
    remember: bool


class LoginDialog(QDialog):
    """Collects a login; `wait_submitted` resolves with it, or None if cancelled."""

    def __init__(
        self, url: str = "", user: str = "", message: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("login_dialog")
        self.setWindowTitle("Sign in · dispatch-desktop")
        self.url = QLineEdit(url)
        self.url.setPlaceholderText("wss://cad.example.org:8765")
        self.user = QLineEdit(user)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox("Remember me on this workstation")
        self.message = QLabel(message)
        self.message.setObjectName("login_message")
        self.message.setWordWrap(True)
        self.message.setVisible(bool(message))
        form = QFormLayout()
        form.addRow("Server", self.url)
        form.addRow("User", self.user)
        form.addRow("Password", self.password)
        form.addRow("", self.remember)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign in")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._result: asyncio.Future[LoginRequest | None] | None = None
        self.rejected.connect(lambda: self._resolve(None))
        self.focus_first_blank()

    def fix(self, *fields: QLineEdit, why: str = "") -> None:
        """Make ``fields`` read-only (``why`` as their tooltip) and move the focus to the first
        field left to type in, so that the dispatcher's keys never land in a fixed one."""
        for field in fields:
            field.setReadOnly(True)
            if why:
                field.setToolTip(why)
        self.focus_first_blank()

    def focus_first_blank(self) -> None:
        """Focus the first empty field that can be typed in (server, user), else the password."""
        blank = [f for f in (self.url, self.user) if not f.text() and not f.isReadOnly()]
        (blank[0] if blank else self.password).setFocus()

    async def wait_submitted(self) -> LoginRequest | None:
        """Show the dialog and wait for Sign in (the request) or Cancel (None)."""
        self._result = asyncio.get_running_loop().create_future()
        self.open()
        return await self._result

    def _accept(self) -> None:
        url, user, password = (
            self.url.text().strip(),
            self.user.text().strip(),
            self.password.text(),
        )
        if not (url.startswith("ws://") or url.startswith("wss://")):
            self._complain("The server address starts with wss:// (or ws:// on a test network).")
            return
        if not user or not password:
            self._complain("Enter your user name and password.")
            return
        self.accept()
        self._resolve(LoginRequest(url, user, password, self.remember.isChecked()))

    def _complain(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    def _resolve(self, value: LoginRequest | None) -> None:
        if self._result is not None and not self._result.done():
            self._result.set_result(value)
