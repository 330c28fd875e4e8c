"""Workstation failover between two server instances on one PostgreSQL database (#17).

- ``failover_kill_s``: seconds from ``kill -9`` of the instance a workstation is LIVE on, with
  commands just queued, to that workstation LIVE on the other instance with its queue replayed
  (every command answered), target <= 10;
- ``failover_blackhole_s``: the same when the instance goes silent instead (a fault proxy in
  front of it swallows every byte, no FIN: found dead after ``dead_after``, 6 s), target <= 15.

Method. Two ``dispatch-server serve`` processes (A and B) on one PostgreSQL database, in a
schema of their own created for the run and dropped after it (the DSN's ``search_path``, as
tests/support/postgres.py does). A workstation core (`DispatchService`, no Qt, the product's
heartbeat, open timeout and backoff) is given ``[A, B]``; LIVE on A, it creates an incident,
then queues ``--notes`` notes on it, and A is killed as soon as it has answered the first (the
rest applied with their answers lost, in flight, or not sent). The clock runs from the kill
until the workstation is LIVE on B with an empty outbox. Then A is started again, a second
workstation is given ``[proxy to B, A]``, and once LIVE on B it goes silent (blackholed) while
the same number of notes is queued; the clock runs until it is LIVE on A, its queue replayed.

Each phase also checks the outcome: a workstation that has never run, signed in to the
surviving instance, must see every note exactly once, in order (nothing lost, nothing applied
twice). That needs the instances to follow each other's commits; a phase whose check fails
says what it saw and the script exits 1 (after the figures).

Run: ``python bench/failover.py --dsn postgresql://postgres@127.0.0.1:5432/test`` (or with
``DISPATCH_TEST_POSTGRES`` set; about 30 s). Reads nothing from ../shared.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._support import PASSWORD, emit
from desktop.domain.incidents import IncidentAddNote, IncidentCreate
from desktop.domain.types import LocationArgs
from desktop.link import LinkPhase
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from tests.support.faultproxy import FaultProxy
from tests.support.serverproc import ServerProcess

ENV = "DISPATCH_TEST_POSTGRES"
NOTES = 200
USER = "bench"
#: How long a phase may take before the run gives up on it (s).
GIVE_UP = 60.0


@contextlib.contextmanager
def fresh_schema(dsn: str) -> Iterator[str]:
    """A new empty schema in the database of ``dsn``; yields the DSN whose ``search_path`` is
    that schema; drops it, with everything in it, afterwards."""
    import psycopg
    from psycopg import sql

    url = urlsplit(dsn)
    if url.scheme not in ("postgresql", "postgres"):
        raise SystemExit(f"--dsn must be a postgresql:// URL, not {dsn!r}")
    name = f"bench_failover_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    query = dict(parse_qsl(url.query))
    query["options"] = f"{query.get('options', '')} -c search_path={name}".strip()
    try:
        yield urlunsplit(url._replace(query=urlencode(query, quote_via=quote)))
    finally:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def instance(dsn: str, work: Path, name: str) -> ServerProcess:
    """A ``serve`` process on the shared database, its log in ``work``."""
    return ServerProcess(dsn, "--log-level", "WARNING", log_path=work / f"{name}.log")


def workstation(work: Path, name: str, servers: list[str]) -> DispatchService:
    """A workstation core on ``servers`` (failover order), with the product's timings."""
    config = ServiceConfig(
        data_dir=work / name, url=servers[0], failover=tuple(servers[1:]), workstation=name
    )
    return DispatchService(config, SignIn(USER, PASSWORD))


async def until(what: str, predicate: Callable[[], bool], timeout: float = GIVE_UP) -> float:
    """Poll every 5 ms until ``predicate()``; the seconds it took. SystemExit at ``timeout``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"gave up after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.005)
    return time.monotonic() - started


def live_and_drained(service: DispatchService, url: str) -> bool:
    status = service.status
    return status.phase is LinkPhase.LIVE and status.server == url and not service.outbox


def notes_of(service: DispatchService, incident_id: str) -> list[str]:
    incident = service.incident(incident_id)
    return [] if incident is None else [entry.text for entry in incident.narrative]


@dataclass(frozen=True, slots=True)
class Outcome:
    seconds: float
    check: str  # "" when every note is in the surviving instance's log once, in order


async def check_log(work: Path, name: str, url: str, incident_id: str, notes: list[str]) -> str:
    """What a workstation that has never run sees on ``url``: "" when ``notes`` are there
    once each, in order; else what differs."""
    fresh = workstation(work, name, [url])
    fresh.start()
    try:
        await until(f"a fresh workstation LIVE on {url}", lambda: live_and_drained(fresh, url))
        seen = notes_of(fresh, incident_id)
    finally:
        await fresh.stop(close_within=2.0)
    if seen == notes:
        return ""
    lost = len(set(notes) - set(seen))
    doubled = sum(1 for note in set(seen) if seen.count(note) > 1)
    return f"{len(seen)} notes in the log for {len(notes)} queued: {lost} lost, {doubled} doubled"


def queue_notes(service: DispatchService, incident_id: str, count: int) -> list[str]:
    texts = [f"{incident_id} note {i:04d}" for i in range(count)]
    for text in texts:
        service.submit(IncidentAddNote(incident_id=incident_id, text=text))
    return texts


async def on_first_with_an_incident(service: DispatchService, url: str, incident_id: str) -> None:
    service.start()
    await until(f"LIVE on {url}", lambda: live_and_drained(service, url))
    service.submit(
        IncidentCreate(
            incident_id=incident_id,
            type="MEDICAL",
            priority=2,
            location=LocationArgs(address="1 Market St"),
        )
    )
    await until("the incident answered", lambda: live_and_drained(service, url))


async def kill_phase(work: Path, a: ServerProcess, b: ServerProcess, count: int) -> Outcome:
    service = workstation(work, "ws-kill", [a.url, b.url])
    try:
        await on_first_with_an_incident(service, a.url, "inc-kill")
        notes = queue_notes(service, "inc-kill", count)
        # killed once A answers the first: the rest applied unanswered, in flight, or unsent
        await until("A's first answers", lambda: len(service.outbox) < count)
        killed_at = time.monotonic()
        a.kill()
        await until("LIVE on B, the queue replayed", lambda: live_and_drained(service, b.url))
        seconds = time.monotonic() - killed_at
    finally:
        await service.stop(close_within=2.0)
    check = await check_log(work, "fresh-kill", b.url, "inc-kill", notes)
    return Outcome(seconds, check)


async def blackhole_phase(work: Path, a: ServerProcess, b: ServerProcess, count: int) -> Outcome:
    proxy = FaultProxy(b.port)
    await proxy.start()
    service = workstation(work, "ws-blackhole", [proxy.url, a.url])
    try:
        await on_first_with_an_incident(service, proxy.url, "inc-hole")
        proxy.blackhole()
        silent_at = time.monotonic()
        notes = queue_notes(service, "inc-hole", count)
        await until("LIVE on A, the queue replayed", lambda: live_and_drained(service, a.url))
        seconds = time.monotonic() - silent_at
    finally:
        await service.stop(close_within=2.0)
        await proxy.stop()
    check = await check_log(work, "fresh-blackhole", a.url, "inc-hole", notes)
    return Outcome(seconds, check)


async def run(dsn: str, work: Path, count: int) -> tuple[Outcome, Outcome]:
    a, b = instance(dsn, work, "a"), instance(dsn, work, "b")
    a.add_user(USER, "dispatcher", PASSWORD)
    try:
        await asyncio.to_thread(a.start, 0)
        await asyncio.to_thread(b.start, 0)
        killed = await kill_phase(work, a, b, count)
        await asyncio.to_thread(
            a.start, 0
        )  # A again, a new port: the second phase fails over to it
        blackholed = await blackhole_phase(work, a, b, count)
    finally:
        for process in (a, b):
            process.stop()
    return killed, blackholed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dsn",
        default=os.environ.get(ENV, ""),
        help=f"a PostgreSQL database to make a schema in (default: ${ENV})",
    )
    parser.add_argument("--notes", type=int, default=NOTES, help="commands queued per phase")
    args = parser.parse_args()
    if not args.dsn:
        raise SystemExit(f"give --dsn postgresql://... or set {ENV}: two instances, one database")
    with (
        tempfile.TemporaryDirectory(prefix="dispatch-bench-failover-") as work,
        fresh_schema(args.dsn) as dsn,
    ):
        killed, blackholed = asyncio.run(run(dsn, Path(work), args.notes))
    for name, outcome in (("kill -9", killed), ("blackhole", blackholed)):
        said = outcome.check or f"all {args.notes} notes in the log once each, in order"
        print(f"{name}: LIVE on the other instance after {outcome.seconds:.2f} s; {said}")
    emit("failover_kill_s", killed.seconds, "s", "<= 10")
    emit("failover_blackhole_s", blackholed.seconds, "s", "<= 15")
    if killed.check or blackholed.check:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
