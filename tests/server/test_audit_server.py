"""Accounts and audit through a real `DispatchServer` over websockets on 127.0.0.1: every
command result and sign-in attempt in the database's audit trail, signing out (``logout``)
revoking the workstation's tokens, and login rate limiting per peer address."""

from __future__ import annotations

import asyncio

import pytest
from srvkit import PASSWORD, ServerFactory

from desktop.protocol.codec import decode_client_frame, encode
from desktop.protocol.errors import CloseCode, ErrorCode
from desktop.protocol.messages import Error, Logout, LogoutBody, PasswordAuth, Welcome
from desktop.protocol.session import (
    ClientConfig,
    ClientSession,
    LogoutRequested,
    ServerPhase,
    ServerSession,
    ServerSessionLimits,
)
from server.app import DispatchServer, ServerConfig
from server.audit import LOGIN, LOGOUT
from server.store.base import AuditRecord, StorageUnavailable
from server.store.sqlite import SqliteStore
from tests.support.rawclient import RawClient, new_key

UNIT = {"unit_id": "E1", "type": "ENGINE"}


async def trail(server: DispatchServer, **query: str) -> list[AuditRecord]:
    """The server's audit trail once everything recorded so far is written."""
    assert await asyncio.to_thread(server.audit.flush)
    return server.store.query_audit(**query)  # type: ignore[arg-type]


async def log_out(client: RawClient, refresh_token: str | None = None) -> int | None:
    """Send ``logout``; the close code the server ends the connection with."""
    await client.send(encode(Logout(body=LogoutBody(refresh_token=refresh_token))))
    return await client.closed_with()


# --- the audit trail -------------------------------------------------------------------------


async def test_commands_and_sign_in_attempts_are_in_the_database(server: DispatchServer) -> None:
    ann = await RawClient.login(server.url, "ann")
    refused = await RawClient.open(server.url)
    assert isinstance(await refused.hello("bob", password="wrong"), Error)
    key = new_key()
    assert (await ann.command("unit.add", UNIT, key=key)).ok
    assert (await ann.command("unit.add", UNIT, key=key)).ok  # answered from the table
    again = await ann.command("unit.add", UNIT)
    assert again.error is not None and again.error.code == "already_exists"
    sam = await RawClient.login(server.url, "sam")
    forbidden = await sam.command("unit.add", {"unit_id": "E2", "type": "ENGINE"})
    assert forbidden.error is not None and forbidden.error.code == "forbidden"

    logins = await trail(server, kind=LOGIN)
    assert [(r.user, r.outcome) for r in logins] == [
        ("ann", "ok"),
        ("bob", "auth_failed"),
        ("sam", "ok"),
    ]
    first = logins[0]
    assert (first.workstation, first.role) == ("ws-ann", "dispatcher")
    assert first.peer.startswith("127.0.0.1:") and first.key == ""
    assert first.detail == "by password; client test-ann"
    assert logins[1].role == "" and "wrong user name or password" in logins[1].detail

    commands = await trail(server, kind="unit.add")
    assert [(r.user, r.outcome, r.detail) for r in commands] == [
        ("ann", "ok", "seqs=[1]"),
        ("ann", "ok", "duplicate: seqs=[1]"),
        ("ann", "already_exists", commands[2].detail),
        ("sam", "forbidden", commands[3].detail),
    ]
    assert commands[0].key == commands[1].key == key
    assert commands[3].role == "supervisor" and commands[3].workstation == "ws-sam"
    assert [r.at for r in await trail(server)] == sorted(r.at for r in await trail(server))


async def test_the_trail_is_written_by_the_time_the_server_has_stopped(
    start_server: ServerFactory, store: SqliteStore
) -> None:
    server = await start_server()
    ann = await RawClient.login(server.url, "ann")
    assert (await ann.command("unit.add", UNIT)).ok
    await server.stop()
    assert [r.kind for r in store.query_audit()] == [LOGIN, "unit.add"]


# --- logout ----------------------------------------------------------------------------------


async def test_logout_revokes_the_session_and_refresh_tokens(server: DispatchServer) -> None:
    ann = await RawClient.login(server.url, "ann")
    assert ann.welcome is not None
    session, refresh = ann.welcome.body.session_token, ann.welcome.body.refresh_token
    assert refresh is not None
    # The refresh token signs in elsewhere first: it must be revoked however it was used.
    other = await RawClient.login(server.url, token=refresh)
    assert await log_out(ann, refresh) == CloseCode.NORMAL

    for token in (session, refresh):
        later = await RawClient.open(server.url)
        frame = await later.hello(token=token)
        assert isinstance(frame, Error) and frame.body.code == ErrorCode.AUTH_FAILED
        assert "revoked" in frame.body.message
    # the other session goes on until its own session token expires or it logs out
    assert (await other.command("unit.add", UNIT)).ok
    (logout,) = await trail(server, kind=LOGOUT)
    assert (logout.user, logout.outcome, logout.detail) == ("ann", "ok", "2 tokens revoked")
    assert logout.workstation == "ws-ann" and logout.role == "dispatcher"


async def test_logout_of_a_token_sign_in_revokes_the_token_it_presented(
    server: DispatchServer,
) -> None:
    first = await RawClient.login(server.url, "ann")
    bob = await RawClient.login(server.url, "bob")
    assert first.welcome is not None and bob.welcome is not None
    refresh = first.welcome.body.refresh_token
    assert refresh is not None
    await first.close()
    again = await RawClient.login(server.url, token=refresh)  # a restart: the keyring's token
    assert again.welcome is not None
    session = again.welcome.body.session_token
    # a token of another user in the frame is left alone
    assert await log_out(again, bob.welcome.body.refresh_token) == CloseCode.NORMAL
    for token in (refresh, session):
        frame = await (await RawClient.open(server.url)).hello(token=token)
        assert isinstance(frame, Error) and frame.body.code == ErrorCode.AUTH_FAILED
    assert isinstance(
        await (await RawClient.open(server.url)).hello(token=bob.welcome.body.refresh_token or ""),
        Welcome,
    )
    (logout,) = await trail(server, kind=LOGOUT)
    assert logout.detail == "2 tokens revoked"


async def test_logout_when_the_store_fails_says_so_and_closes_1013(
    server: DispatchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = await RawClient.login(server.url, "ann")

    def broken(token_hash: str) -> None:
        raise StorageUnavailable("database write failed: disk I/O error")

    monkeypatch.setattr(server.store, "delete_token", broken)
    await ann.send(encode(Logout()))
    error = await ann.next_of(Error)
    assert error.body.code == ErrorCode.STORAGE_UNAVAILABLE
    assert "could not be revoked" in error.body.message
    assert await ann.closed_with() == CloseCode.TRY_AGAIN_LATER
    (logout,) = await trail(server, kind=LOGOUT)
    assert logout.outcome == "storage_unavailable"


async def test_logout_before_the_welcome_is_refused(server: DispatchServer) -> None:
    client = await RawClient.open(server.url)
    await client.send(encode(Logout()))
    error = await client.next_of(Error)
    assert error.body.code == ErrorCode.NOT_AUTHENTICATED
    assert await trail(server, kind=LOGOUT) == []


def test_the_logout_frame_sans_io() -> None:
    """The client machine sends ``logout`` only once welcomed; the server machine reports it
    and takes nothing after it."""
    client = ClientSession(
        ClientConfig(client_id="c", workstation="w"),
        PasswordAuth(username="ann", password=PASSWORD),
        0,
        1.0,
    )
    with pytest.raises(RuntimeError, match="cannot log out"):
        client.logout("rt", 1.0)
    frame = decode_client_frame(encode(Logout(body=LogoutBody(refresh_token="rt"))))
    assert isinstance(frame, Logout) and frame.body.refresh_token == "rt"
    bare = decode_client_frame(b'{"v": 1, "type": "logout"}')  # the body is optional
    assert isinstance(bare, Logout) and bare.body.refresh_token is None

    server = ServerSession(ServerSessionLimits(), 1.0)
    refused = server.receive(encode(Logout()), 1.0)
    assert len(refused) == 1 and isinstance(refused[0], bytes)
    assert b"not_authenticated" in refused[0]
    server.phase = ServerPhase.OPEN  # as `ServerSession.accept` leaves it
    assert server.receive(encode(Logout(body=LogoutBody(refresh_token="rt"))), 2.0) == [
        LogoutRequested("rt")
    ]
    assert server.receive(b'{"v":1,"type":"ping","body":{"t":1}}', 3.0) == []


# --- login rate limiting ---------------------------------------------------------------------


async def test_one_address_trying_many_names_is_refused_for_a_while(
    start_server: ServerFactory,
) -> None:
    server = await start_server(
        config=ServerConfig(login_max_failures=10, login_address_max_failures=3)
    )
    carl = await RawClient.login(server.url, "carl")
    assert carl.welcome is not None and carl.welcome.body.refresh_token is not None
    for name in ("ann", "bob", "nobody"):
        client = await RawClient.open(server.url)
        frame = await client.hello(name, password="guess")
        assert isinstance(frame, Error) and frame.body.code == ErrorCode.AUTH_FAILED
        assert await client.closed_with() == CloseCode.POLICY_VIOLATION
    client = await RawClient.open(server.url)
    frame = await client.hello("sam")  # the right password, from the same address
    assert isinstance(frame, Error) and frame.body.code == ErrorCode.RATE_LIMITED
    assert "from this address" in frame.body.message
    assert await client.closed_with() == CloseCode.POLICY_VIOLATION
    # a remembered sign-in (a token) is not a password attempt: it still works from there
    remembered = await RawClient.open(server.url)
    assert isinstance(await remembered.hello(token=carl.welcome.body.refresh_token), Welcome)
    outcomes = [(r.user, r.outcome) for r in await trail(server, kind=LOGIN)]
    assert outcomes[-2:] == [("sam", "rate_limited"), ("carl", "ok")]
