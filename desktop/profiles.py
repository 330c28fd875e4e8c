"""Where a workstation's profiles live: one directory per (server, user) under the data dir.

A profile holds one workstation database (outbox, Needs attention, replica), so the commands a
user queued against one server never mix with another user's or another server's.

Contract: `profile_dir(data_dir, url, user)` is ``data_dir/profiles/<user>-<12 hex>``, the hex
being the start of the SHA-256 of ``"<url>\\n<user>"``. The name is part of the data on disk:
changing it would orphan every existing profile and the commands queued in it, so it never
changes. The function only computes the path; it creates nothing.

Failover: a workstation given several servers (one centre's instances on one database, in
failover order) keeps ONE profile for all of them, so moving to another server keeps its outbox,
Needs attention and replica. The profile of such a group is named by one URL, `group_url`: the
centre's first server (IT's list, ``servers.urls``) when the group is the centre's, whichever of
its servers the user signed in to; otherwise (a server of the user's own) the group's first.
Existing profiles keep their names: a single server names its profile as before, and a
workstation of a centre with several servers already used its first.

The hash cannot be read back, so every profile database also names its server and user (meta
``profile_url`` and ``profile_user``, written by `record_identity` when the service opens it):
that is how queued work left in a profile is sent to the server it was meant for
(`desktop.stranded`). A profile older than that is recognised by `profile_dir` from a URL the
workstation knows (its settings), or offered only to the server signed in to now.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from desktop.localdb import LocalDatabase

__all__ = [
    "PROFILES",
    "PROFILE_URL",
    "PROFILE_USER",
    "group_url",
    "profile_dir",
    "record_identity",
]

#: The directory of ``data_dir`` that holds every profile.
PROFILES = "profiles"
#: Meta keys of a profile database: its server's URL and its user.
PROFILE_URL = "profile_url"
PROFILE_USER = "profile_user"


def profile_dir(data_dir: Path, url: str, user: str) -> Path:
    """The profile of ``user`` on the server at ``url`` (for a failover group, its `group_url`):
    one workstation database each."""
    digest = hashlib.sha256(f"{url}\n{user}".encode()).hexdigest()[:12]
    return data_dir / PROFILES / f"{user}-{digest}"


def group_url(servers: Sequence[str], centre: Sequence[str] = ()) -> str:
    """The URL that names the profile of a workstation on ``servers`` (in failover order; not
    empty): ``centre``'s first (the servers IT listed) when the first of ``servers`` is one of
    ``centre``'s, else the first of ``servers``. Give it to `profile_dir`."""
    first = servers[0]
    return centre[0] if centre and first in centre else first


def record_identity(db: LocalDatabase, url: str, user: str) -> None:
    """Write down in a profile's database which server and user it belongs to (once)."""
    for key, value in ((PROFILE_URL, url), (PROFILE_USER, user)):
        if db.get_meta(key) != value:
            db.set_meta(key, value)
