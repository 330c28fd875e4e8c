"""Profiles on disk: the directory name of a (server, user) never changes, so existing profiles
(and the commands queued in them) are found again after an upgrade."""

from __future__ import annotations

from pathlib import Path

from desktop.profiles import profile_dir


def test_profile_name_is_the_user_and_a_digest_of_server_and_user() -> None:
    # 798a9137d51c = sha256("ws://127.0.0.1:8765\nann")[:12]: the name workstations already use
    assert profile_dir(Path("/data"), "ws://127.0.0.1:8765", "ann") == Path(
        "/data/profiles/ann-798a9137d51c"
    )


def test_profiles_of_other_servers_and_users_differ(tmp_path: Path) -> None:
    names = {
        profile_dir(tmp_path, url, user)
        for url in ("ws://127.0.0.1:8765", "wss://cad:8765")
        for user in ("ann", "bob")
    }
    assert len(names) == 4
    assert all(path.parent == tmp_path / "profiles" for path in names)
    assert not (tmp_path / "profiles").exists()  # computes the path, creates nothing
