"""Encoding of the frames the server sends: events, results, snapshots and positions.

Each event frame is encoded once and the same bytes go to every connection; so is each
``positions`` frame (at most `POSITIONS_PER_FRAME` fixes in one). Snapshot parts hold
at most `SNAPSHOT_PART_ENTITIES` entities (incidents first, then units, calls, premises) and
roughly at most `SNAPSHOT_PART_BYTES` of entity JSON (always at least one entity).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from desktop.domain.world import COLLECTIONS, World
from desktop.protocol.codec import encode
from desktop.protocol.messages import (
    Event,
    EventBody,
    PositionFix,
    Positions,
    PositionsBody,
    Result,
    ResultBody,
    Snapshot,
    SnapshotBody,
)
from server.store.base import StoredEvent

__all__ = [
    "POSITIONS_PER_FRAME",
    "SNAPSHOT_PART_BYTES",
    "SNAPSHOT_PART_ENTITIES",
    "event_frame",
    "positions_frames",
    "result_frame",
    "snapshot_frames",
    "stored_event_frame",
    "stored_result",
]

SNAPSHOT_PART_ENTITIES = 500
SNAPSHOT_PART_BYTES = 1024 * 1024
#: Most fixes in one ``positions`` frame (about 100 bytes each: ~100 KB).
POSITIONS_PER_FRAME = 1000

_json = msgspec.json.Encoder()
_result_decoder = msgspec.json.Decoder(ResultBody)


def event_frame(
    seq: int,
    kind: str,
    data: bytes,
    at: float,
    actor: str,
    key: str | None,
    acted_at: float | None = None,
) -> bytes:
    """An event frame; ``data`` is the event data already encoded as JSON."""
    body = EventBody(
        kind=kind, data=msgspec.Raw(data), at=at, actor=actor, key=key, acted_at=acted_at
    )
    return encode(Event(seq=seq, body=body, ts=at))


def stored_event_frame(event: StoredEvent) -> bytes:
    return event_frame(
        event.seq, event.kind, event.data, event.at, event.actor, event.key, event.acted_at
    )


def result_frame(body: ResultBody, now: float) -> bytes:
    return encode(Result(body=body, ts=now))


def stored_result(data: bytes) -> ResultBody:
    """Decode a result kept in the idempotency table."""
    return _result_decoder.decode(data)


def positions_frames(
    fixes: Sequence[PositionFix], now: float, per_frame: int = POSITIONS_PER_FRAME
) -> list[bytes]:
    """``fixes`` as ``positions`` frames of at most ``per_frame`` fixes each."""
    return [
        encode(Positions(body=PositionsBody(fixes=list(fixes[i : i + per_frame])), ts=now))
        for i in range(0, len(fixes), per_frame)
    ]


def snapshot_frames(
    world: World,
    seq: int,
    now: float,
    *,
    max_entities: int = SNAPSHOT_PART_ENTITIES,
    max_bytes: int = SNAPSHOT_PART_BYTES,
) -> list[bytes]:
    """The whole of ``world`` at ``seq`` as snapshot frames; the last has ``last=True``.

    Entities go in `desktop.domain.world.COLLECTIONS` order (incidents, units, calls,
    premises). An empty world gives one empty part.
    """
    parts: list[dict[str, list[bytes]]] = []
    part: dict[str, list[bytes]] = {c.field: [] for c in COLLECTIONS}
    count = size = 0
    for collection in COLLECTIONS:
        for entity in world.holding(collection).values():
            blob = _json.encode(entity)
            if count and (count >= max_entities or size + len(blob) > max_bytes):
                parts.append(part)
                part = {c.field: [] for c in COLLECTIONS}
                count = size = 0
            part[collection.field].append(blob)
            count += 1
            size += len(blob)
    parts.append(part)
    frames = []
    for index, lists in enumerate(parts):
        body = SnapshotBody(
            part=index,
            last=index == len(parts) - 1,
            **{field: _raw_list(blobs) for field, blobs in lists.items()},
        )
        frames.append(encode(Snapshot(seq=seq, body=body, ts=now)))
    return frames


def _raw_list(items: Iterable[bytes]) -> msgspec.Raw:
    return msgspec.Raw(b"[" + b",".join(items) + b"]")
