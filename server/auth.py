"""Authentication: scrypt password hashes, opaque tokens, role grants and login throttling.

* Passwords are hashed with `hashlib.scrypt` (n=2**14, r=8, p=1, 16-byte random salt) and stored
  as ``scrypt$n$r$p$salt_b64$hash_b64``; verification is constant-time.
* Tokens are ``secrets.token_urlsafe(32)`` strings; the store only ever sees their sha256 digest.
  Session tokens live `SESSION_TTL` seconds, refresh tokens `REFRESH_TTL`.
* Which role a session gets is `desktop.domain.roles.grant_role`'s to say.
* `authenticate` never raises for bad credentials: it returns an `Identity` or an `AuthFailure`
  carrying the protocol `ErrorCode` (``auth_failed``, ``token_expired``, ``role_not_allowed``,
  ``rate_limited`` when `LoginThrottle` blocks the user name or the peer's address).
  It is slow on purpose (scrypt): call it from a worker thread.
* Signing out deletes the workstation's tokens (`revoke_tokens`): they never work again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import secrets
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Literal

from desktop.domain.roles import grant_role
from desktop.protocol.errors import ErrorCode
from desktop.protocol.messages import PasswordAuth, Role, TokenAuth
from server.store.base import Store, TokenKind, TokenRecord, UserRecord

__all__ = [
    "REFRESH_TTL",
    "SESSION_TTL",
    "AuthFailure",
    "Blocked",
    "Identity",
    "IssuedTokens",
    "LoginThrottle",
    "authenticate",
    "hash_password",
    "hash_token",
    "issue_tokens",
    "new_token",
    "revoke_tokens",
    "verify_password",
]

SESSION_TTL = 15 * 60.0
REFRESH_TTL = 30 * 24 * 3600.0

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
_MAX_N = 2**20  # refuse stored parameters that would take absurd memory or time


# --- passwords ---------------------------------------------------------------------------------


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """A new salted scrypt hash of ``password`` in the ``scrypt$n$r$p$salt$hash`` format."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, n, r, p)
    return "$".join(("scrypt", str(n), str(r), str(p), _b64(salt), _b64(digest)))


def verify_password(password: str, encoded: str) -> bool:
    """True if ``password`` matches ``encoded``; False (never raises) on a malformed hash."""
    try:
        scheme, n_text, r_text, p_text, salt_text, hash_text = encoded.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt = base64.b64decode(salt_text, validate=True)
        expected = base64.b64decode(hash_text, validate=True)
    except (ValueError, binascii.Error):
        return False
    if scheme != "scrypt" or not (1 < n <= _MAX_N) or n & (n - 1) or r < 1 or p < 1:
        return False
    if r * p >= 2**20 or not expected:
        return False
    try:
        actual = _scrypt(password, salt, n, r, p, len(expected))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, size: int = HASH_BYTES) -> bytes:
    data = password.encode("utf-8", "surrogatepass")
    return hashlib.scrypt(data, salt=salt, n=n, r=r, p=p, dklen=size, maxmem=256 * r * n + 2**20)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown users, so timing does not reveal which names exist."""
    return hash_password(secrets.token_urlsafe(16))


# --- tokens ------------------------------------------------------------------------------------


def new_token() -> str:
    """A fresh opaque token (256 bits of randomness)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The form a token is stored and looked up in: its sha256 hex digest."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    session_token: str
    session_expires_at: float
    refresh_token: str | None = None
    refresh_expires_at: float | None = None


def issue_tokens(
    store: Store,
    user: str,
    now: float,
    *,
    refresh: bool,
    session_ttl: float = SESSION_TTL,
    refresh_ttl: float = REFRESH_TTL,
) -> IssuedTokens:
    """Create and store a session token (and a refresh token when ``refresh``) for ``user``.

    May raise `server.store.base.StorageUnavailable`.
    """
    session = new_token()
    store.insert_token(TokenRecord(hash_token(session), user, "session", now + session_ttl, now))
    if not refresh:
        return IssuedTokens(session, now + session_ttl)
    refresh_token = new_token()
    store.insert_token(
        TokenRecord(hash_token(refresh_token), user, "refresh", now + refresh_ttl, now)
    )
    return IssuedTokens(session, now + session_ttl, refresh_token, now + refresh_ttl)


def revoke_tokens(store: Store, user: str, digests: Iterable[str]) -> int:
    """Delete the tokens of ``user`` among ``digests`` (`hash_token` values; others' tokens and
    unknown digests are left alone); return how many were deleted (signing out).

    May raise `server.store.base.StorageUnavailable`.
    """
    revoked = 0
    for digest in set(digests):
        record = store.lookup_token(digest)
        if record is not None and record.user == user:
            store.delete_token(digest)
            revoked += 1
    return revoked


# --- throttling --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Blocked:
    """Why `LoginThrottle` refuses a sign-in: the user name's failures or the address's, and
    how many seconds until the oldest of them no longer counts."""

    by: Literal["user", "address"]
    retry_after: float

    @property
    def message(self) -> str:
        """The refusal in a person's words."""
        whose = "for this user name" if self.by == "user" else "from this address"
        wait = max(1, math.ceil(self.retry_after))
        return f"too many attempts {whose}; wait {wait} s before trying again"


class _Failures:
    """Failure times per key within ``window`` seconds: at most ``limit`` per key, at most
    ``max_keys`` keys (the least recently failed forgotten first). Not thread-safe."""

    def __init__(self, limit: int, window: float, max_keys: int) -> None:
        if limit < 1 or window <= 0 or max_keys < 1:
            raise ValueError("login throttle: limits must be >= 1 and the window > 0")
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._times: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._times)

    def blocked_for(self, key: str, now: float) -> float | None:
        """Seconds ``key`` stays blocked (None: it is not)."""
        times = self._current(key, now)
        if times is None or len(times) < self.limit:
            return None
        return times[0] + self.window - now

    def add(self, key: str, now: float) -> None:
        times = self._current(key, now)
        if times is None:
            times = self._times[key] = deque(maxlen=self.limit)
            while len(self._times) > self.max_keys:
                self._times.popitem(last=False)
        else:
            self._times.move_to_end(key)
        times.append(now)

    def clear(self, key: str) -> None:
        self._times.pop(key, None)

    def _current(self, key: str, now: float) -> deque[float] | None:
        """``key``'s failures still within the window (the key forgotten when none are)."""
        times = self._times.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._times[key]
            return None
        return times


class LoginThrottle:
    """Failed password sign-ins counted per user name and per peer address over the last
    ``window`` seconds.

    A name with ``max_failures`` failures, or an address with ``address_max_failures``
    (whatever names were tried from it: password spraying), is blocked until its oldest counted
    failure is ``window`` s old; while blocked, even a correct password is refused without
    being checked. A success clears its name's count, never its address's (a sprayer who knows
    one account could otherwise reset it). Memory is bounded: at most ``max_tracked`` names and
    as many addresses are followed (the least recently failed forgotten first), each with at
    most its threshold of times. Thread-safe.
    """

    def __init__(
        self,
        max_failures: int = 5,
        window: float = 60.0,
        *,
        address_max_failures: int = 20,
        max_tracked: int = 10_000,
    ) -> None:
        self.max_failures = max_failures
        self.address_max_failures = address_max_failures
        self.window = window
        self._names = _Failures(max_failures, window, max_tracked)
        self._addresses = _Failures(address_max_failures, window, max_tracked)
        self._lock = threading.Lock()

    def blocked(self, name: str, now: float, address: str | None = None) -> Blocked | None:
        """Why a sign-in as ``name`` from ``address`` is refused now (None: it is not)."""
        with self._lock:
            by_name = self._names.blocked_for(name, now)
            by_address = None if not address else self._addresses.blocked_for(address, now)
        if by_address is not None and (by_name is None or by_address >= by_name):
            return Blocked("address", by_address)
        return None if by_name is None else Blocked("user", by_name)

    def failed(self, name: str, now: float, address: str | None = None) -> None:
        """Count a failed sign-in as ``name`` (from ``address``, when known)."""
        with self._lock:
            self._names.add(name, now)
            if address:
                self._addresses.add(address, now)

    def succeeded(self, name: str) -> None:
        """``name`` signed in: its failures no longer count (its address's still do)."""
        with self._lock:
            self._names.clear(name)

    def tracked(self) -> tuple[int, int]:
        """(names, addresses) currently followed (for tests and diagnostics)."""
        with self._lock:
            return len(self._names), len(self._addresses)


# --- authenticate ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated session: the account, the role granted, and how it signed in."""

    user: UserRecord
    role: Role
    method: Literal["password", "token"]


@dataclass(frozen=True, slots=True)
class AuthFailure:
    code: ErrorCode
    message: str


_BAD_CREDENTIALS = AuthFailure(ErrorCode.AUTH_FAILED, "wrong user name or password")


def authenticate(
    store: Store,
    auth: PasswordAuth | TokenAuth,
    now: float,
    *,
    role_requested: str | None = None,
    throttle: LoginThrottle | None = None,
    address: str | None = None,
) -> Identity | AuthFailure:
    """Check credentials and the requested role; never raises for bad input. A password
    sign-in goes through ``throttle`` (failures counted for the name and for ``address``, the
    peer's host); one it blocks fails with ``rate_limited``.

    May raise `server.store.base.StorageUnavailable` if the store cannot be read.
    """
    if isinstance(auth, PasswordAuth):
        found = _by_password(store, auth, now, throttle, address)
        method: Literal["password", "token"] = "password"
    else:
        found = _by_token(store, auth.token, now)
        method = "token"
    if isinstance(found, AuthFailure):
        return found
    role = grant_role(found.role, role_requested)
    if role is None:
        return AuthFailure(
            ErrorCode.ROLE_NOT_ALLOWED,
            f"user {found.name} ({found.role}) may not sign in as {role_requested}",
        )
    return Identity(found, role, method)


def _by_password(
    store: Store,
    auth: PasswordAuth,
    now: float,
    throttle: LoginThrottle | None,
    address: str | None,
) -> UserRecord | AuthFailure:
    if throttle is not None and (blocked := throttle.blocked(auth.username, now, address)):
        return AuthFailure(ErrorCode.RATE_LIMITED, blocked.message)
    user = store.get_user(auth.username)
    ok = verify_password(auth.password, user.password_hash if user else _dummy_hash())
    if user is None or not ok or user.disabled:
        if throttle is not None:
            throttle.failed(auth.username, now, address)
        if user is not None and ok and user.disabled:
            return AuthFailure(ErrorCode.AUTH_FAILED, "this account is disabled")
        return _BAD_CREDENTIALS
    if throttle is not None:
        throttle.succeeded(auth.username)
    return user


def _by_token(store: Store, token: str, now: float) -> UserRecord | AuthFailure:
    digest = hash_token(token)
    record = store.lookup_token(digest)
    if record is None:
        return AuthFailure(ErrorCode.AUTH_FAILED, "unknown or revoked token")
    if record.expires_at <= now:
        kind: TokenKind = record.kind
        return AuthFailure(ErrorCode.TOKEN_EXPIRED, f"the {kind} token has expired; sign in again")
    user = store.get_user(record.user)
    if user is None or user.disabled:
        return AuthFailure(ErrorCode.AUTH_FAILED, "the account of this token is disabled or gone")
    return user
