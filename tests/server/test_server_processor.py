"""`CommandProcessor`: group commit, idempotency, key conflicts, storage failure, numbering."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from desktop.domain.world import World
from desktop.protocol.codec import decode_server_frame
from desktop.protocol.messages import CommandBody, Event, Result, ResultBody
from server.processor import CommandProcessor, load_world
from server.store.sqlite import SqliteStore
from tests.support.rawclient import new_key


@dataclass
class Origin:
    user: str = "ann"
    role: str = "dispatcher"
    workstation: str = "ws-1"
    last_contact: float | None = None
    frames: list[bytes] = field(default_factory=list)

    def send(self, frame: bytes) -> None:
        self.frames.append(frame)

    @property
    def results(self) -> list[ResultBody]:
        out = []
        for raw in self.frames:
            frame = decode_server_frame(raw)
            assert isinstance(frame, Result)
            out.append(frame.body)
        return out


class Broadcast:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, frames: Sequence[bytes]) -> None:
        for raw in frames:
            frame = decode_server_frame(raw)
            assert isinstance(frame, Event)
            self.events.append(frame)


def command(kind: str, args: Any, key: str | None = None, seq: int = 1) -> CommandBody:
    return CommandBody(
        key=key or new_key(),
        client_seq=seq,
        kind=kind,
        args=msgspec.Raw(msgspec.json.encode(args)),
        issued_at=time.time(),
    )


def make(store: SqliteStore) -> tuple[CommandProcessor, Broadcast]:
    world, seq = load_world(store)
    broadcast = Broadcast()
    return CommandProcessor(store, world, seq, broadcast), broadcast


async def one_batch(processor: CommandProcessor, *items: tuple[Origin, CommandBody]) -> None:
    """Queue every item, then let the processor take them all in one batch."""
    for origin, body in items:
        processor.submit(origin, body)
    processor.stop()
    before = processor.batches
    await processor.run()
    assert processor.batches == before + 1


INC = {"incident_id": "i1", "type": "FIRE", "priority": 1, "location": {"address": "1 Main"}}


async def test_batch_commits_once_and_later_commands_see_earlier_ones(store: SqliteStore) -> None:
    processor, broadcast = make(store)
    ann = Origin()
    await one_batch(
        processor,
        (ann, command("incident.create", INC)),
        (ann, command("unit.add", {"unit_id": "E1", "type": "ENGINE", "status": "AV"})),
        (ann, command("unit.dispatch", {"incident_id": "i1", "unit_ids": ["E1"]})),
    )
    assert [r.ok for r in ann.results] == [True, True, True]
    assert [r.events for r in ann.results] == [[1], [2], [3, 4]]
    assert [e.seq for e in broadcast.events] == [1, 2, 3, 4]
    assert [e.body.kind for e in broadcast.events] == [
        "incident.created",
        "unit.added",
        "unit.dispatched",
        "incident.status_changed",
    ]
    assert processor.seq == store.server_seq() == 4
    assert processor.world.units["E1"].status == "DP"
    # Events go out before results: the origin gets its result after the broadcast.
    rebuilt, seq = load_world(store)
    assert seq == 4 and rebuilt.units == processor.world.units
    assert rebuilt.incidents == processor.world.incidents


async def test_duplicates_in_one_batch_and_across_batches(store: SqliteStore) -> None:
    processor, broadcast = make(store)
    ann = Origin()
    key = new_key()
    add = {"unit_id": "E1", "type": "ENGINE"}
    await one_batch(
        processor, (ann, command("unit.add", add, key)), (ann, command("unit.add", add, key))
    )
    first, again = ann.results
    assert first == again and first.ok and first.events == [1]
    assert len(broadcast.events) == 1
    # Later batch, even with different args: the first result, no new event.
    await one_batch(processor, (ann, command("unit.add", {"unit_id": "E9", "type": "X"}, key)))
    assert ann.results[-1] == first
    assert len(broadcast.events) == 1 and store.server_seq() == 1


async def test_rejections_are_remembered_transient_ones_are_not(store: SqliteStore) -> None:
    processor, _ = make(store)
    ann = Origin()
    key = new_key()
    refused = command("unit.dispatch", {"incident_id": "nope", "unit_ids": ["E1"]}, key)
    await one_batch(processor, (ann, refused))
    (result,) = ann.results
    assert not result.ok and result.error is not None and result.error.code == "not_found"
    assert store.lookup_result(key) is not None
    # Now the incident exists, but the replayed key still returns the first (stored) rejection.
    await one_batch(processor, (ann, command("incident.create", {**INC, "incident_id": "nope"})))
    await one_batch(processor, (ann, refused))
    assert ann.results[-1] == result


async def test_key_of_another_user_is_a_conflict(store: SqliteStore) -> None:
    processor, _ = make(store)
    ann, bob = Origin("ann"), Origin("bob")
    key = new_key()
    add = {"unit_id": "E1", "type": "ENGINE"}
    await one_batch(
        processor, (ann, command("unit.add", add, key)), (bob, command("unit.add", add, key))
    )
    assert ann.results[0].ok
    assert bob.results[0].error is not None and bob.results[0].error.code == "key_conflict"
    await one_batch(processor, (bob, command("unit.add", add, key)))
    assert bob.results[-1].error is not None and bob.results[-1].error.code == "key_conflict"
    found = store.lookup_result(key)
    assert found is not None and found[0] == "ann"


async def test_invalid_key_is_refused_and_not_stored(store: SqliteStore) -> None:
    processor, _ = make(store)
    ann = Origin()
    await one_batch(processor, (ann, command("unit.add", {"unit_id": "E1", "type": "E"}, "k")))
    assert ann.results[0].error is not None and ann.results[0].error.code == "invalid_command"
    assert store.lookup_result("k") is None


async def test_supervisor_rejection_is_forbidden(store: SqliteStore) -> None:
    processor, broadcast = make(store)
    sam = Origin("sam", "supervisor")
    await one_batch(processor, (sam, command("unit.add", {"unit_id": "E1", "type": "E"})))
    assert sam.results[0].error is not None and sam.results[0].error.code == "forbidden"
    assert broadcast.events == []


async def test_storage_failure_answers_storage_unavailable_and_keeps_serving(
    store: SqliteStore,
) -> None:
    processor, broadcast = make(store)
    ann = Origin()
    await one_batch(processor, (ann, command("incident.create", INC)))
    number_1 = processor.world.incidents["i1"].number
    done_key = ann.results[0].key
    world_before = (dict(processor.world.incidents), dict(processor.world.units))

    store.set_max_page_count(store.page_count())
    big_note = {"incident_id": "i1", "text": "x" * 4000}
    cmds = [command("incident.add_note", big_note) for _ in range(30)]
    cmds.append(command("incident.create", {**INC, "incident_id": "i2"}))
    replay = command("incident.create", INC, done_key)
    await one_batch(processor, *((ann, c) for c in [*cmds, replay]))
    results = ann.results[1:]
    assert [r.error.code for r in results[:-1] if r.error] == ["storage_unavailable"] * 31
    assert results[-1] == ann.results[0]  # a stored result is still answered
    assert (processor.world.incidents, processor.world.units) == world_before
    assert processor.seq == store.server_seq() == 1
    assert len(broadcast.events) == 1
    for c in cmds:
        assert store.lookup_result(c.key) is None  # transient: the client will retry

    store.set_max_page_count(None)
    retry = cmds[-1]
    await one_batch(processor, (ann, retry))
    assert ann.results[-1].ok and ann.results[-1].events == [2]
    number_2 = processor.world.incidents["i2"].number
    assert number_1 is not None and number_2 is not None
    assert int(number_2[-6:]) == int(number_1[-6:]) + 1  # no number lost to the failed batch


async def test_incident_numbers_persist_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "n.sqlite"
    with SqliteStore(path) as db:
        processor, _ = make(db)
        ann = Origin()
        await one_batch(
            processor,
            (ann, command("incident.create", INC)),
            (ann, command("incident.create", {**INC, "incident_id": "i2"})),
        )
        numbers = [processor.world.incidents[i].number for i in ("i1", "i2")]
    yymm = time.strftime("%y%m")
    assert numbers == [f"F{yymm}-000001", f"F{yymm}-000002"]
    with SqliteStore(path) as db:
        processor, _ = make(db)
        await one_batch(
            processor, (Origin(), command("incident.create", {**INC, "incident_id": "i3"}))
        )
        assert processor.world.incidents["i3"].number == f"F{yymm}-000003"
        assert re.fullmatch(r"F\d{4}-\d{6}", processor.world.incidents["i3"].number or "")


async def test_load_world_skips_unknown_event_kinds(store: SqliteStore) -> None:
    from server.store.base import Batch, NewEvent

    store.commit_batch(
        Batch(
            [
                NewEvent("future.kind", b"{}", 1.0, "x", None),
                NewEvent("unit.added", b'{"unit":{"id":"E1","type":"E"}}', 2.0, "x", None),
                NewEvent("unit.added", b'{"unit":"garbage"}', 3.0, "x", None),
            ]
        )
    )
    world, seq = load_world(store, chunk=1)
    assert seq == 3 and set(world.units) == {"E1"}
    assert isinstance(world, World)


async def test_run_survives_a_broken_origin(store: SqliteStore) -> None:
    processor, _ = make(store)

    class Broken(Origin):
        def send(self, frame: bytes) -> None:
            raise RuntimeError("boom")

    ann = Origin()
    processor.submit(Broken(), command("unit.add", {"unit_id": "E1", "type": "E"}))
    task = asyncio.create_task(processor.run())
    await asyncio.sleep(0.05)
    processor.submit(ann, command("unit.add", {"unit_id": "E2", "type": "E"}))
    processor.stop()
    await asyncio.wait_for(task, 5)
    assert ann.results[0].ok
