"""`SignIn`: which credentials the next hello presents, and what a welcome hands back.

Order of preference: a session token that has not expired, then the refresh token, then the
password typed at login (held in memory only, never written anywhere). A refused token is
dropped and the next method is tried; when nothing is left the user must log in again.
``on_refresh_token`` lets the application keep the refresh token in the OS keyring.
"""

from __future__ import annotations

from collections.abc import Callable

from desktop.protocol.messages import PasswordAuth, TokenAuth, WelcomeBody

__all__ = ["SignIn"]

#: A session token this close to expiry is not presented any more (seconds).
_EXPIRY_MARGIN = 30.0


class SignIn:
    """Credentials of one user for one server."""

    def __init__(
        self,
        username: str,
        password: str | None = None,
        refresh_token: str | None = None,
        on_refresh_token: Callable[[str | None], None] | None = None,
    ) -> None:
        self.username = username
        self._password = password
        self._refresh_token = refresh_token
        self._session_token: str | None = None
        self._session_expires_at = 0.0
        self._on_refresh_token = on_refresh_token
        self._last_method: str | None = None

    def can_sign_in(self) -> bool:
        return bool(self._password or self._refresh_token or self._session_token)

    def hello_auth(self, now: float) -> PasswordAuth | TokenAuth:
        """The credentials to present in the next hello."""
        if self._session_token and now < self._session_expires_at - _EXPIRY_MARGIN:
            self._last_method = "session"
            return TokenAuth(token=self._session_token)
        if self._refresh_token:
            self._last_method = "refresh"
            return TokenAuth(token=self._refresh_token)
        if self._password:
            self._last_method = "password"
            return PasswordAuth(username=self.username, password=self._password)
        raise PermissionError("no credentials left: log in again")

    def use_password(self, password: str) -> None:
        """The user typed their password again (after SIGNED_OUT)."""
        self._password = password

    def on_welcome(self, welcome: WelcomeBody) -> None:
        """Keep the tokens a welcome returns; a new refresh token goes to ``on_refresh_token``."""
        self._session_token = welcome.session_token
        self._session_expires_at = welcome.session_expires_at
        if welcome.refresh_token and welcome.refresh_token != self._refresh_token:
            self._refresh_token = welcome.refresh_token
            if self._on_refresh_token is not None:
                self._on_refresh_token(welcome.refresh_token)

    def refused(self) -> bool:
        """The last credentials were refused; forget them. True if another method remains."""
        if self._last_method == "session":
            self._session_token = None
        elif self._last_method == "refresh":
            self._refresh_token = None
            if self._on_refresh_token is not None:
                self._on_refresh_token(None)
        elif self._last_method == "password":
            self._password = None
        return self.can_sign_in()

    def sign_out(self) -> str | None:
        """Forget everything (the application also deletes the keyring entry). Returns the
        refresh token that was held, for the server to revoke (`desktop.link.Link.log_out`)."""
        held, self._refresh_token = self._refresh_token, None
        self._password = self._session_token = None
        if held is not None and self._on_refresh_token is not None:
            self._on_refresh_token(None)
        return held
