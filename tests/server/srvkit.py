"""Helpers for the server tests: the in-process server factory type and fast user creation.

The protocol client is `tests.support.rawclient.RawClient`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from server.auth import hash_password
from server.store.base import Store
from tests.support.serverproc import PASSWORD

if TYPE_CHECKING:
    from server.app import DispatchServer

__all__ = ["FAST_N", "PASSWORD", "USERS", "ServerFactory", "add_users"]

#: The ``start_server`` fixture: ``await start_server(limits=None, config=None, db=None)``.
ServerFactory = Callable[..., Awaitable["DispatchServer"]]

#: Cheap scrypt parameters for test users (the verifier reads them from the hash).
FAST_N = 2**8

USERS: dict[str, str] = {
    "ann": "dispatcher",
    "bob": "dispatcher",
    "carl": "calltaker",
    "sam": "supervisor",
    "root": "admin",
}


def add_users(store: Store, users: dict[str, str] | None = None) -> None:
    """Add ``users`` (default `USERS`: name -> role), each with the password `PASSWORD`."""
    for name, role in (users or USERS).items():
        store.add_user(name, role, hash_password(PASSWORD, n=FAST_N), time.time())
