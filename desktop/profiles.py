"""Where a workstation's profiles live: one directory per (server, user) under the data dir.

A profile holds one workstation database (outbox, Needs attention, replica), so the commands a
user queued against one server never mix with another user's or another server's.

Contract: `profile_dir(data_dir, url, user)` is ``data_dir/profiles/<user>-<12 hex>``, the hex
being the start of the SHA-256 of ``"<url>\\n<user>"``. The name is part of the data on disk:
changing it would orphan every existing profile and the commands queued in it, so it never
changes. The function only computes the path; it creates nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["PROFILES", "profile_dir"]

#: The directory of ``data_dir`` that holds every profile.
PROFILES = "profiles"


def profile_dir(data_dir: Path, url: str, user: str) -> Path:
    """The profile of ``user`` on the server at ``url``: one workstation database each."""
    digest = hashlib.sha256(f"{url}\n{user}".encode()).hexdigest()[:12]
    return data_dir / PROFILES / f"{user}-{digest}"
