"""Profiles on disk: the directory name of a (server, user) never changes, so existing profiles
(and the commands queued in them) are found again after an upgrade; a failover group of servers
has one profile, whichever of its servers the workstation is on or signed in to."""

from __future__ import annotations

from pathlib import Path

from desktop.profiles import group_url, profile_dir


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


CAD1, CAD2, CAD3 = "wss://cad1:8765", "wss://cad2:8765", "wss://cad3:8765"


def test_a_failover_group_is_named_by_the_centre_s_first_server() -> None:
    centre = (CAD1, CAD2, CAD3)
    # signed in to any of the centre's servers: one name, the one a single server had
    for servers in [(CAD1, CAD2, CAD3), (CAD2, CAD1, CAD3), (CAD3, CAD1, CAD2), (CAD1,)]:
        assert group_url(servers, centre) == CAD1
    assert profile_dir(Path("/d"), group_url((CAD2, CAD1), centre), "ann") == profile_dir(
        Path("/d"), CAD1, "ann"
    )
    # a server of the user's own (not the centre's) names its own profile, as before
    assert group_url(("ws://test:8765",), centre) == "ws://test:8765"
    assert group_url(("ws://test:8765", CAD1), centre) == "ws://test:8765"
    assert group_url((CAD2, CAD1)) == CAD2  # no list from IT: the first
