"""Authentication: scrypt hashes, tokens, expiry, role grants, login throttling."""

from __future__ import annotations

import time

import pytest
from srvkit import FAST_N, PASSWORD

from desktop.protocol.errors import ErrorCode
from desktop.protocol.messages import PasswordAuth, TokenAuth
from server.auth import (
    AuthFailure,
    Identity,
    LoginThrottle,
    authenticate,
    hash_password,
    hash_token,
    issue_tokens,
    revoke_tokens,
    verify_password,
)
from server.store.sqlite import SqliteStore


def test_hash_format_and_verify() -> None:
    encoded = hash_password("pw")
    scheme, n, r, p, salt, digest = encoded.split("$")
    assert (scheme, n, r, p) == ("scrypt", str(2**14), "8", "1")
    assert len(salt) == 24 and len(digest) == 44  # 16 and 32 bytes, base64
    assert verify_password("pw", encoded)
    assert not verify_password("pw ", encoded)
    assert not verify_password("", encoded)
    assert hash_password("pw") != encoded  # salted


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "plain",
        "scrypt$16384$8$1$abc",
        "bcrypt$16384$8$1$AAAA$AAAA",
        "scrypt$1000$8$1$AAAA$AAAA",  # n not a power of two
        "scrypt$16384$8$1$!!!!$AAAA",
        "scrypt$16384$8$1$AAAA$",
        "scrypt$4294967296$8$1$AAAA$AAAA",
    ],
)
def test_malformed_hashes_never_verify(bad: str) -> None:
    assert not verify_password("pw", bad)


def test_password_login_and_wrong_password(store: SqliteStore) -> None:
    now = time.time()
    ok = authenticate(store, PasswordAuth(username="ann", password=PASSWORD), now)
    assert isinstance(ok, Identity)
    assert (ok.user.name, ok.role, ok.method) == ("ann", "dispatcher", "password")
    for auth in (
        PasswordAuth(username="ann", password="wrong"),
        PasswordAuth(username="nobody", password=PASSWORD),
    ):
        failure = authenticate(store, auth, now)
        assert isinstance(failure, AuthFailure) and failure.code is ErrorCode.AUTH_FAILED


def test_disabled_user_is_refused(store: SqliteStore) -> None:
    store.set_disabled("bob", True)
    failure = authenticate(store, PasswordAuth(username="bob", password=PASSWORD), time.time())
    assert isinstance(failure, AuthFailure) and failure.code is ErrorCode.AUTH_FAILED


def test_tokens_are_stored_hashed_and_expire(store: SqliteStore) -> None:
    now = 1_000_000.0
    issued = issue_tokens(store, "ann", now, refresh=True, session_ttl=900, refresh_ttl=3600)
    assert issued.refresh_token is not None and issued.session_expires_at == now + 900
    assert store.lookup_token(issued.session_token) is None  # never stored in clear
    record = store.lookup_token(hash_token(issued.session_token))
    assert record is not None and record.kind == "session" and record.user == "ann"

    ok = authenticate(store, TokenAuth(token=issued.session_token), now + 899)
    assert isinstance(ok, Identity) and ok.method == "token"
    expired = authenticate(store, TokenAuth(token=issued.session_token), now + 901)
    assert isinstance(expired, AuthFailure) and expired.code is ErrorCode.TOKEN_EXPIRED
    refreshed = authenticate(store, TokenAuth(token=issued.refresh_token), now + 3000)
    assert isinstance(refreshed, Identity)
    expired = authenticate(store, TokenAuth(token=issued.refresh_token), now + 3601)
    assert isinstance(expired, AuthFailure) and expired.code is ErrorCode.TOKEN_EXPIRED
    unknown = authenticate(store, TokenAuth(token="made-up"), now)
    assert isinstance(unknown, AuthFailure) and unknown.code is ErrorCode.AUTH_FAILED

    plain = issue_tokens(store, "ann", now, refresh=False)
    assert plain.refresh_token is None


def test_token_of_a_disabled_user_is_refused(store: SqliteStore) -> None:
    issued = issue_tokens(store, "bob", 100.0, refresh=False)
    store.set_disabled("bob", True)
    failure = authenticate(store, TokenAuth(token=issued.session_token), 101.0)
    assert isinstance(failure, AuthFailure) and failure.code is ErrorCode.AUTH_FAILED


def test_role_request_above_own_gives_role_not_allowed(store: SqliteStore) -> None:
    auth = PasswordAuth(username="carl", password=PASSWORD)
    failure = authenticate(store, auth, time.time(), role_requested="dispatcher")
    assert isinstance(failure, AuthFailure) and failure.code is ErrorCode.ROLE_NOT_ALLOWED
    sam = authenticate(
        store, PasswordAuth(username="sam", password=PASSWORD), 1.0, role_requested="dispatcher"
    )
    assert isinstance(sam, AuthFailure) and sam.code is ErrorCode.ROLE_NOT_ALLOWED
    assert "may not sign in as dispatcher" in sam.message


def test_login_throttle_blocks_after_five_failures_per_minute(store: SqliteStore) -> None:
    throttle = LoginThrottle(max_failures=5, window=60.0)
    now = 1000.0
    wrong = PasswordAuth(username="ann", password="nope")
    right = PasswordAuth(username="ann", password=PASSWORD)
    for i in range(5):
        failure = authenticate(store, wrong, now + i, throttle=throttle)
        assert isinstance(failure, AuthFailure) and "too many" not in failure.message
    blocked = authenticate(store, right, now + 5, throttle=throttle)
    assert isinstance(blocked, AuthFailure) and blocked.code is ErrorCode.RATE_LIMITED
    assert "too many attempts for this user name" in blocked.message
    assert "wait 55 s" in blocked.message
    # Other names are not affected.
    assert isinstance(
        authenticate(
            store, PasswordAuth(username="bob", password=PASSWORD), now, throttle=throttle
        ),
        Identity,
    )
    # A minute after the first failures, the right password works and clears the count.
    assert isinstance(authenticate(store, right, now + 61, throttle=throttle), Identity)
    assert not throttle.blocked("ann", now + 62)


def test_fast_test_hash_still_verifies() -> None:
    assert verify_password("x", hash_password("x", n=FAST_N))


def test_throttle_blocks_an_address_that_tries_many_names(store: SqliteStore) -> None:
    """Password spraying: a few tries at each of many names from one address blocks the
    address, whatever name comes next, while another address is not affected."""
    throttle = LoginThrottle(max_failures=5, window=60.0, address_max_failures=4)
    now = 1000.0
    for i, name in enumerate(["ann", "bob", "carl", "nobody"]):
        wrong = PasswordAuth(username=name, password="guess")
        failure = authenticate(store, wrong, now + i, throttle=throttle, address="10.0.0.9")
        assert isinstance(failure, AuthFailure) and failure.code is ErrorCode.AUTH_FAILED
    right = PasswordAuth(username="sam", password=PASSWORD)
    blocked = authenticate(store, right, now + 4, throttle=throttle, address="10.0.0.9")
    assert isinstance(blocked, AuthFailure) and blocked.code is ErrorCode.RATE_LIMITED
    assert "from this address" in blocked.message and "wait 56 s" in blocked.message
    elsewhere = authenticate(store, right, now + 4, throttle=throttle, address="10.0.0.10")
    assert isinstance(elsewhere, Identity)
    # No name reached its own limit; and a success elsewhere does not clear the address.
    assert throttle.blocked("ann", now + 4) is None
    assert throttle.blocked("sam", now + 5, "10.0.0.9") is not None
    # Once the oldest failures are a window old, the address may try again.
    assert isinstance(
        authenticate(store, right, now + 61, throttle=throttle, address="10.0.0.9"), Identity
    )


def test_throttle_memory_is_bounded_forgetting_the_least_recent_first() -> None:
    throttle = LoginThrottle(max_failures=2, window=60.0, address_max_failures=3, max_tracked=50)
    for i in range(1000):
        for _ in range(5):  # more failures than any limit: each keeps at most its limit
            throttle.failed(f"user{i}", 10.0 + i * 0.01, f"10.0.{i // 250}.{i % 250}")
    names, addresses = throttle.tracked()
    assert names == 50 and addresses == 50
    assert throttle.blocked("user999", 20.0) is not None  # the most recent are kept
    assert throttle.blocked("user0", 20.0) is None  # the oldest were forgotten
    # Expired entries go when looked at.
    assert throttle.blocked("user999", 200.0) is None
    assert throttle.tracked()[0] == 49
    with pytest.raises(ValueError):
        LoginThrottle(max_failures=0)


def test_revoke_tokens_deletes_only_the_users_own(store: SqliteStore) -> None:
    now = time.time()
    ann = issue_tokens(store, "ann", now, refresh=True)
    bob = issue_tokens(store, "bob", now, refresh=True)
    assert ann.refresh_token is not None and bob.refresh_token is not None
    digests = [hash_token(t) for t in (ann.session_token, ann.refresh_token, bob.session_token)]
    assert revoke_tokens(store, "ann", [*digests, hash_token("unknown")]) == 2
    for token in (ann.session_token, ann.refresh_token):
        refused = authenticate(store, TokenAuth(token=token), now)
        assert isinstance(refused, AuthFailure) and refused.code is ErrorCode.AUTH_FAILED
    assert isinstance(authenticate(store, TokenAuth(token=bob.session_token), now), Identity)
