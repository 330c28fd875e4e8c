"""Queued work left in another profile is found, sent to its own server or moved here, never
lost and never applied twice (desktop/stranded.py, issue #10 point 2).

Real SQLite files and a real server process on loopback. The stranded profile is made as a
dispatcher makes it: signed in with a server address nothing answers (the password is never
checked), a P1 incident queued, the application closed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from desktop.domain.incidents import IncidentCreate
from desktop.domain.types import LocationArgs
from desktop.link import LinkPhase
from desktop.localdb import LocalDatabase
from desktop.outbox import Outbox, OutboxEntry
from desktop.profiles import profile_dir
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from desktop.stranded import find_queued_work, move_here, send_queued
from tests.support.fixtures import FAST, ClientFactory
from tests.support.serverproc import PASSWORD, ServerProcess
from tests.support.waiting import wait_until

DEAD_URL = "ws://127.0.0.1:9"  # discard port: nothing answers


def p1(incident_id: str = "i-p1") -> IncidentCreate:
    return IncidentCreate(
        incident_id=incident_id,
        type="FIRE-STRUCTURE",
        priority=1,
        location=LocationArgs(address="1 Market St"),
    )


async def queue_offline(data_dir: Path, url: str, user: str = "ann", n: int = 1) -> Path:
    """Sign in to ``url`` (never answering), queue ``n`` P1 incidents, quit. The profile."""
    profile = profile_dir(data_dir, url, user)
    service = DispatchService(
        ServiceConfig(data_dir=profile, url=url, **FAST),  # type: ignore[arg-type]
        SignIn(user, PASSWORD),
    )
    service.start()
    for i in range(n):
        service.submit(p1(f"i-p1-{i}"))
    await wait_until(lambda: service.status.phase is LinkPhase.OFFLINE, what="offline")
    await service.stop(close_within=1.0)
    return profile


def digest(profile: Path) -> str:
    """The database file's content, and no write waiting in a WAL beside it."""
    wal = profile / "workstation.sqlite-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    return hashlib.sha256((profile / "workstation.sqlite").read_bytes()).hexdigest()


async def test_queued_work_of_another_profile_is_found_without_touching_it(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    stranded = await queue_offline(data_dir, DEAD_URL)
    before = digest(stranded)

    (work,) = find_queued_work(data_dir)

    assert digest(stranded) == before  # read-only: no recovery, no checkpoint
    assert (work.profile, work.user, work.url) == (stranded, "ann", DEAD_URL)
    assert (work.queued, work.unsent, work.refused, work.movable) == (1, 1, 0, 1)
    assert work.ever_connected is False  # the password was never checked
    assert work.oldest_issued_at is not None
    assert "FIRE-STRUCTURE" in work.commands[0] and "P1" in work.commands[0]
    assert find_queued_work(data_dir, exclude=stranded) == []


async def test_an_old_profile_without_its_url_is_recognised_from_a_known_url(
    tmp_path: Path,
) -> None:
    import sqlite3

    data_dir = tmp_path / "data"
    stranded = await queue_offline(data_dir, DEAD_URL)
    with sqlite3.connect(stranded / "workstation.sqlite") as conn:  # as main wrote it before
        conn.execute("DELETE FROM meta WHERE k IN ('profile_url', 'profile_user')")
    (unknown,) = find_queued_work(data_dir)
    assert unknown.url is None and unknown.user == "ann"
    (known,) = find_queued_work(data_dir, known_urls=["ws://other:1", DEAD_URL])
    assert known.url == DEAD_URL


async def test_the_link_knows_whether_its_server_was_ever_reached_across_restarts(
    tmp_path: Path, server: ServerProcess
) -> None:
    data_dir = tmp_path / "data"
    profile = await queue_offline(data_dir, DEAD_URL)
    never = DispatchService(ServiceConfig(data_dir=profile, url=DEAD_URL), SignIn("ann", "x"))
    assert never.status.ever_connected is False
    never.db.close()

    reached = profile_dir(data_dir, server.url, "ann")
    config = ServiceConfig(data_dir=reached, url=server.url, **FAST)  # type: ignore[arg-type]
    service = DispatchService(config, SignIn("ann", PASSWORD))
    assert service.status.ever_connected is False
    service.start()
    await wait_until(lambda: service.status.phase is LinkPhase.LIVE, what="LIVE")
    assert service.status.ever_connected is True
    await service.stop()
    server.stop()  # an outage: the restarted workstation still knows it was reached once
    again = DispatchService(config, SignIn("ann", PASSWORD))
    assert again.status.ever_connected is True
    again.db.close()


async def test_moved_work_is_applied_here_once_under_its_own_key(
    tmp_path: Path, server: ServerProcess, make_client: ClientFactory
) -> None:
    data_dir = tmp_path / "data"
    stranded = await queue_offline(data_dir, DEAD_URL, n=2)
    entries = _outbox_entries(stranded)
    old_key = entries[0].key
    here = make_client("ann", server.url, data_dir=profile_dir(data_dir, server.url, "ann"))
    await wait_until(lambda: here.status.phase is LinkPhase.LIVE, what="LIVE")

    result = move_here(stranded, here)

    assert (result.queued, result.refused, result.left) == (2, 0, 0)
    assert find_queued_work(data_dir, exclude=here.config.data_dir) == []
    await wait_until(lambda: len(here.outbox) == 0 and len(here.incidents()) == 2, what="applied")
    incident = here.incident("i-p1-0")
    assert incident is not None and incident.number  # numbered by the server: applied
    # the same key again (a move interrupted after this profile's commit) applies nothing twice
    assert here.adopt(entries, [], "again") == ([], [])
    other = make_client("bob", server.url)
    await wait_until(lambda: len(other.incidents()) == 2, what="bob sees both")
    assert [a for _, k, a, _ in here.outbox.journal() if k == old_key] == ["adopt"]


async def test_a_command_that_went_out_once_stays_with_its_own_server(
    tmp_path: Path, server: ServerProcess, make_client: ClientFactory
) -> None:
    import sqlite3

    data_dir = tmp_path / "data"
    stranded = await queue_offline(data_dir, DEAD_URL, n=2)
    with sqlite3.connect(stranded / "workstation.sqlite") as conn:  # the first went out once
        conn.execute("UPDATE outbox SET attempts = 1 WHERE client_seq = 1")
    here = make_client("ann", server.url, data_dir=profile_dir(data_dir, server.url, "ann"))

    result = move_here(stranded, here)

    assert (result.queued, result.left) == (1, 1)
    (left,) = find_queued_work(data_dir, exclude=here.config.data_dir)
    assert (left.queued, left.unsent, left.movable) == (1, 0, 0)


async def test_refused_commands_move_into_needs_attention_here(
    tmp_path: Path, server: ServerProcess, make_client: ClientFactory
) -> None:
    data_dir = tmp_path / "data"
    origin = profile_dir(data_dir, server.url, "carl")  # a calltaker: may not add units
    service = make_client("carl", server.url, data_dir=origin)
    service.outbox.enqueue("unit.add", b'{"unit_id":"E1","type":"ENGINE"}', 1.0)
    service.link.wake()
    await wait_until(lambda: len(service.needs_attention()) == 1, what="refused")
    await service.stop()
    (work,) = find_queued_work(data_dir)
    assert (work.queued, work.refused, work.ever_connected) == (0, 1, True)
    assert work.commands[0].endswith("(refused)")
    here = make_client("ann", server.url, data_dir=profile_dir(data_dir, server.url, "ann"))

    result = move_here(origin, here)

    assert (result.queued, result.refused) == (0, 1)
    (rejection,) = here.needs_attention()
    assert rejection.code == "forbidden"
    assert len(here.outbox) == 0  # not sent again by itself: the dispatcher decides
    assert find_queued_work(data_dir, exclude=here.config.data_dir) == []


async def test_send_queued_drains_the_profile_to_its_own_server(
    tmp_path: Path, server: ServerProcess, make_client: ClientFactory
) -> None:
    data_dir = tmp_path / "data"
    stranded = await queue_offline(data_dir, server.url.replace("127.0.0.1", "localhost"))
    # the same server under another address: the profile's own URL, reachable now
    (work,) = find_queued_work(data_dir)
    config = ServiceConfig(data_dir=stranded, url=work.url or "", **FAST)  # type: ignore[arg-type]

    result = await send_queued(work, SignIn("ann", PASSWORD), config=config)

    assert (result.sent, result.left, result.refused) == (1, 0, 0)
    assert find_queued_work(data_dir) == []
    other = make_client("bob", server.url)
    await wait_until(lambda: len(other.incidents()) == 1, what="applied on the server")


async def test_send_queued_stops_when_the_password_is_refused(
    tmp_path: Path, server: ServerProcess
) -> None:
    data_dir = tmp_path / "data"
    stranded = await queue_offline(data_dir, server.url.replace("127.0.0.1", "localhost"))
    (work,) = find_queued_work(data_dir)
    config = ServiceConfig(data_dir=stranded, url=work.url or "", **FAST)  # type: ignore[arg-type]

    result = await send_queued(work, SignIn("ann", "wrong"), config=config)

    assert result.phase is LinkPhase.SIGNED_OUT
    assert "auth_failed" not in result.detail and "password" in result.detail
    assert result.left == 1  # nothing lost
    assert len(find_queued_work(data_dir)) == 1


def _outbox_entries(profile: Path) -> list[OutboxEntry]:
    db = LocalDatabase(profile / "workstation.sqlite")
    try:
        return Outbox(db).entries()
    finally:
        db.close()
