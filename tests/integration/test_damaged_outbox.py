"""A damaged workstation database with a command the server had already applied (its answer
lost): read back under its original key, replayed, and applied once (issue #17, deliverable 7).

Real SQLite files, a real server process on loopback. The command is queued, then the file is
copied (the copy is the workstation as it was before the answer was recorded); the original
sends it and it is applied; the copy is damaged on disk and started: its start keeps the file
aside, reads the command back, resyncs the board from the server, replays the key, and the
server answers it from its first result.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import msgspec

from desktop.domain.incidents import IncidentAddNote
from desktop.ids import uuid7
from desktop.localdb import LocalDatabase
from desktop.outbox import Outbox
from desktop.service import DispatchService
from tests.integration.test_sync import live, new_incident, settled
from tests.support.fixtures import ClientFactory
from tests.support.serverproc import ServerProcess
from tests.support.storage_faults import damage_page, page_of
from tests.support.waiting import wait_until


def notes(service: DispatchService, text: str) -> int:
    incident = service.incident("inc-1")
    return 0 if incident is None else sum(1 for n in incident.narrative if n.text == text)


async def test_a_command_read_back_from_a_damaged_file_is_applied_once(
    server: ServerProcess, make_client: ClientFactory, tmp_path: Path
) -> None:
    watcher = make_client("bob", server.url)
    await wait_until(lambda: live(watcher))
    watcher.submit(new_incident("inc-1"))
    await wait_until(lambda: settled(watcher) and watcher.incident("inc-1") is not None)

    first, copy = tmp_path / "first", tmp_path / "copy"
    db = LocalDatabase(first / "workstation.sqlite")
    key = uuid7()
    once = IncidentAddNote(incident_id="inc-1", text="once")
    Outbox(db).enqueue("incident.add_note", msgspec.json.encode(once), time.time(), key=key)
    db.close()
    shutil.copytree(first, copy)

    sender = make_client("ann", server.url, data_dir=first)
    await wait_until(lambda: settled(sender) and notes(watcher, "once") == 1, what="applied")
    await sender.stop(close_within=2.0)

    path = copy / "workstation.sqlite"
    damage_page(path, page_of(path, "replica"))
    restarted = make_client("ann", server.url, data_dir=copy)
    [recovery] = restarted.db.recoveries
    assert recovery.queued == 1 and recovery.kept.exists()
    await wait_until(lambda: settled(restarted), what="the read-back key answered")
    assert notes(restarted, "once") == 1  # the board came from the server (resync from 0)

    watcher.submit(IncidentAddNote(incident_id="inc-1", text="after"))  # events are in order:
    await wait_until(lambda: notes(watcher, "after") == 1, what="a later note")
    assert notes(watcher, "once") == 1  # ... a second "once" would have come before it
