"""The refresh token in the OS keyring, and nowhere else.

Contract:
- The token is stored under service ``dispatch-desktop`` and the account ``<user>@<server url>``;
  no secret is ever written to settings, logs or the workstation database.
- Every keyring call runs in a worker thread (Secret Service and Keychain calls can block on a
  prompt or on D-Bus) so the event loop never waits on them.
- Fail closed: when no keyring is available or it refuses, `load` returns None (the user types
  the password), and `store` reports False (the token is simply not remembered); `unavailable`
  then holds why, for the application to tell the dispatcher.
- Calls on one vault take effect in the order they were made (a `forget` at logging out is never
  overtaken by a `store` started just before it).
"""

from __future__ import annotations

import asyncio
import logging

import keyring
import keyring.errors

__all__ = ["SERVICE_NAME", "TokenVault"]

SERVICE_NAME = "dispatch-desktop"

log = logging.getLogger(__name__)


class TokenVault:
    """Refresh tokens per (server, user) in the OS keyring."""

    def __init__(self, service_name: str = SERVICE_NAME) -> None:
        self.service_name = service_name
        # Worker threads may run concurrently; the lock (FIFO) keeps the calls in order.
        self._order = asyncio.Lock()
        #: Why the last call could not use the keyring (None: it worked).
        self.unavailable: str | None = None

    @staticmethod
    def account(server_url: str, user: str) -> str:
        return f"{user}@{server_url}"

    async def load(self, server_url: str, user: str) -> str | None:
        """The remembered refresh token, or None (none stored, or no usable keyring)."""
        try:
            async with self._order:
                token = await asyncio.to_thread(
                    keyring.get_password, self.service_name, self.account(server_url, user)
                )
        except keyring.errors.KeyringError as exc:
            log.warning("keyring unavailable, not signing in silently: %s", exc)
            self.unavailable = str(exc) or type(exc).__name__
            return None
        self.unavailable = None
        return token

    async def store(self, server_url: str, user: str, token: str) -> bool:
        """Remember ``token``; False if the keyring refused (nothing else is written)."""
        try:
            async with self._order:
                await asyncio.to_thread(
                    keyring.set_password, self.service_name, self.account(server_url, user), token
                )
        except keyring.errors.KeyringError as exc:
            log.warning("keyring unavailable, the sign-in will not be remembered: %s", exc)
            self.unavailable = str(exc) or type(exc).__name__
            return False
        self.unavailable = None
        return True

    async def forget(self, server_url: str, user: str) -> None:
        """Remove the token (logging out). Missing entries and keyring errors are ignored."""
        try:
            async with self._order:
                await asyncio.to_thread(
                    keyring.delete_password, self.service_name, self.account(server_url, user)
                )
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError as exc:
            log.warning("keyring unavailable, could not forget the sign-in: %s", exc)
