"""``server_fanout_p99`` and ``server_fanout_saturation_ratio``: how fast the server fans events
out to many workstations, and how close its fan-out comes to a bare websockets server's.

Method. Everything on loopback, every process real:

1. **Two instances on PostgreSQL.** Two ``dispatch-server serve --db <DSN>`` processes on one
   fresh schema (dropped afterwards). 200 receiving workstations (``--receivers``), split evenly
   between the instances and spread over ``--procs`` receiver processes (one process of
   receivers saturates near 20k deliveries/s by itself), each a signed-in protocol client that
   reads every frame. A load connection on each instance adds incident notes, 50 events/s
   (``--rate``) in all, half on each instance: every event reaches every receiver, its own
   instance's directly and the other's through LISTEN/NOTIFY and the log. Delivery latency =
   the receiver's wall clock at the frame - the load's wall clock when it sent the command
   (the note starts with it; every process shares the machine's clock): queueing, decision,
   commit and fan-out all count. ``server_fanout_p99`` is the p99 over every
   delivery of ``--seconds`` s after a warm-up (target <= 50 ms). Memory per connection: the
   growth of the instances' resident memory from before the receivers connected to after, per
   receiver.
2. **The same on SQLite**, one instance, for comparison (``server_fanout_p99_sqlite``).
3. **Saturation.** One instance (SQLite) and a minimal raw server (websockets' own
   ``broadcast`` of a frame of the same size to every connection, no store, no protocol: the
   load's message, its send time, starts the frame's text, so both are timed alike) take
   the same receivers in turn while the offered load rises in steps of ``--step-seconds``;
   each one's saturation point is the deliveries/s at which the p99 passes 250 ms
   (interpolated between the two steps around it). ``server_fanout_saturation_ratio`` = ours /
   raw's (target >= 0.75). Both have one server process, so the ratio compares fan-out code,
   not core counts. The CPU each takes per delivery at the light load is printed beside it.

Run: ``python bench/server_load.py [--dsn postgresql://postgres@127.0.0.1:5432/test]`` (about
3 minutes). The DSN defaults to ``DISPATCH_TEST_POSTGRES``; without PostgreSQL only the SQLite
parts run, and the script says so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import msgspec

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._support import PASSWORD, emit  # noqa: E402

SATURATED_P99_S = 0.25
NOTE = "Caller reports smoke from the rear of the building, no one inside"  # a typical note


# --- the receivers (in their own processes) --------------------------------------------------


class _Entry(msgspec.Struct):
    text: str = ""


class _Data(msgspec.Struct):
    entry: _Entry | None = None


class _Body(msgspec.Struct):
    data: _Data | None = None


def _sent_at(body: _Body) -> float | None:
    """When the load sent the command (or message) of this event: the note starts with it."""
    if body.data is None or body.data.entry is None:
        return None
    stamp = body.data.entry.text.split(" ", 1)[0]
    try:
        return float(stamp)
    except ValueError:
        return None


class _Frame(msgspec.Struct):
    type: str = ""
    body: _Body | None = None


def _receiver_main(urls: Sequence[str], hello: bool, control: Any) -> None:
    """Connect to ``urls`` (one connection each), then record the latency of every event
    frame; ``control`` takes "reset" (start a window) and "report" (send the window's
    latencies, frame count and mean frame size)."""
    asyncio.run(_receive(urls, hello, control))


async def _receive(urls: Sequence[str], hello: bool, control: Any) -> None:
    from websockets.asyncio.client import connect

    from desktop.protocol.codec import encode
    from desktop.protocol.messages import Hello, HelloBody, PasswordAuth

    decode = msgspec.json.Decoder(_Frame).decode
    window: list[float] = []
    sizes = [0, 0]  # frames, bytes
    connections = []
    readers: list[asyncio.Task[None]] = []
    loop = asyncio.get_running_loop()

    async def read(ws: Any) -> None:
        nonlocal window
        with contextlib.suppress(Exception):
            async for message in ws:
                now = time.time()
                frame = decode(message)
                sent = None if frame.body is None else _sent_at(frame.body)
                if frame.type == "event" and sent is not None:
                    window.append(now - sent)
                    sizes[0] += 1
                    sizes[1] += len(message)

    for index, url in enumerate(urls):
        ws = await connect(url, max_size=None, ping_interval=None, open_timeout=60)
        if hello:
            body = HelloBody(
                client_id=str(uuid.uuid4()),
                workstation=f"load-{os.getpid()}-{index}",
                auth=PasswordAuth(username="watcher", password=PASSWORD),
                last_seq=10**9,  # a snapshot, not a replay of the log
            )
            await ws.send(encode(Hello(body=body)).decode())
        connections.append(ws)
        readers.append(loop.create_task(read(ws)))
    done = asyncio.Event()

    def commands() -> None:
        nonlocal window
        control.send("ready")
        while True:
            order = control.recv()
            if order == "reset":
                window = []
                sizes[:] = [0, 0]
                control.send("ok")
            elif order == "report":
                taken = window
                window = []
                mean = sizes[1] / sizes[0] if sizes[0] else 0.0
                control.send((taken, mean))
            else:
                loop.call_soon_threadsafe(done.set)
                return

    threading.Thread(target=commands, daemon=True).start()
    await done.wait()
    for ws in connections:
        with contextlib.suppress(Exception):
            await ws.close()


class Receivers:
    """``count`` receivers over ``procs`` processes, connected round-robin to ``urls``."""

    def __init__(self, urls: Sequence[str], count: int, procs: int, hello: bool) -> None:
        self._pipes: list[multiprocessing.connection.Connection] = []
        self._procs: list[multiprocessing.process.BaseProcess] = []
        context = multiprocessing.get_context("spawn")
        targets = [urls[i % len(urls)] for i in range(count)]
        for p in range(procs):
            mine, theirs = context.Pipe()
            proc = context.Process(
                target=_receiver_main, args=(targets[p::procs], hello, theirs), daemon=True
            )
            proc.start()
            self._pipes.append(mine)
            self._procs.append(proc)
        for pipe in self._pipes:
            if not pipe.poll(120) or pipe.recv() != "ready":
                raise SystemExit("the receivers did not connect")

    def reset(self) -> None:
        for pipe in self._pipes:
            pipe.send("reset")
        for pipe in self._pipes:
            pipe.recv()

    def report(self) -> tuple[list[float], float]:
        latencies: list[float] = []
        sizes: list[float] = []
        for pipe in self._pipes:
            pipe.send("report")
        for pipe in self._pipes:
            taken, mean = pipe.recv()
            latencies.extend(taken)
            sizes.append(mean)
        return latencies, (sum(sizes) / len(sizes) if sizes else 0.0)

    def close(self) -> None:
        for pipe in self._pipes:
            with contextlib.suppress(Exception):
                pipe.send("stop")
        for proc in self._procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()


# --- the servers ---------------------------------------------------------------------------


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SERVE = (sys.executable, "-m", "server", "serve")
#: Quiet, and no per-connection rate limit in the way of the load connection.
SERVE_OPTIONS = ("--log-level", "WARNING", "--rate-limit", "100000", "--burst", "100000")


class Instance:
    """``dispatch-server serve --db DB`` on a free port (its log in ``log``)."""

    def __init__(self, db: str, log: Path) -> None:
        self.log = log
        with log.open("a") as err:
            self.proc = subprocess.Popen(
                [*SERVE, "--db", db, "--port", "0", *SERVE_OPTIONS],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                cwd=ROOT,
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the server did not start: {log.read_text()[-2000:]}")
        self.url = json.loads(line)["listening"]["url"]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


RAW_SERVER = """
import asyncio, json, sys, time
from websockets.asyncio.server import broadcast, serve
size = int(sys.argv[1])
clients = set()
async def handler(ws):
    clients.add(ws)
    try:
        async for message in ws:  # the load connection: one broadcast per message
            head = '{"type":"event","seq":1,"body":{"kind":"incident.note_added","at":'
            frame = head + repr(time.time()) + ',"data":{"entry":{"text":"' + message + " "
            frame += "x" * max(0, size - len(frame) - 5) + '"}}}}'
            broadcast(clients - {ws}, frame)
    finally:
        clients.discard(ws)
async def main():
    async with serve(handler, "127.0.0.1", 0, max_size=None, ping_interval=None) as server:
        print(json.dumps({"url": "ws://127.0.0.1:%d" % server.sockets[0].getsockname()[1]}),
              flush=True)
        await asyncio.Future()
asyncio.run(main())
"""


class RawServer:
    """A minimal websockets server: every message of a connection is broadcast to the others
    as an event-shaped frame of ``size`` bytes stamped with the time of the broadcast."""

    def __init__(self, size: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", RAW_SERVER, str(size)], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.url = json.loads(self.proc.stdout.readline())["url"]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


def _prepare(db: str) -> None:
    """Users (cheap scrypt parameters: many sign-ins) and an incident to add notes to."""
    from server.auth import hash_password
    from server.store import open_store

    store = open_store(db)
    try:
        for name, role in (("bench", "dispatcher"), ("watcher", "supervisor")):
            store.add_user(name, role, hash_password(PASSWORD, n=2**8), time.time())
    finally:
        store.close()


# --- the load ------------------------------------------------------------------------------


class Load:
    """Load connections (one per URL); `run` offers ``rate`` events/s for ``seconds``."""

    def __init__(self, clients: list[Any], raw: bool) -> None:
        self.clients = clients
        self.raw = raw
        self.sent = 0
        self.drains: list[asyncio.Task[None]] = []

    @classmethod
    async def open(cls, urls: Sequence[str], raw: bool) -> Load:
        from tests.support.rawclient import RawClient

        clients: list[Any] = []
        for url in urls:
            if raw:
                clients.append(await RawClient.open(url))
                continue
            client = await RawClient.login(url, "bench", password=PASSWORD, last_seq=10**9)
            clients.append(client)
        load = cls(clients, raw)
        if not raw:
            result = await clients[0].command(
                "incident.create",
                {
                    "incident_id": "load",
                    "type": "FIRE",
                    "priority": 2,
                    "location": {"address": "1 Main St"},
                },
            )
            if not result.ok and (result.error is None or result.error.code != "already_exists"):
                raise SystemExit(f"cannot create the load's incident: {result.error}")
        load.drains = [asyncio.create_task(_drain(client)) for client in clients]
        return load

    async def run(self, rate: float, seconds: float) -> None:
        """Offer ``rate`` events/s, spread over the connections, in 10 ms ticks."""
        tick = 0.01
        began = time.monotonic()
        owed = 0.0
        index = 0
        while (elapsed := time.monotonic() - began) < seconds:
            owed = rate * elapsed - self.sent
            for _ in range(int(owed)):
                client = self.clients[index % len(self.clients)]
                index += 1
                stamp = f"{time.time():.6f}"
                if self.raw:
                    await client.send(stamp)
                else:
                    await client.send_command(
                        "incident.add_note", {"incident_id": "load", "text": f"{stamp} {NOTE}"}
                    )
                self.sent += 1
            await asyncio.sleep(tick)

    async def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):
                await client.close()


async def _drain(client: Any) -> None:
    """Read (and drop) what the server sends the load connection: results, its own events."""
    with contextlib.suppress(Exception):
        async for _ in client.ws:
            pass


def _p99(latencies: list[float]) -> float:
    if not latencies:
        return math.inf
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]


async def _measure(
    receivers: Receivers, load: Load, rate: float, warmup: float, seconds: float
) -> tuple[float, int, float]:
    """(p99 s, deliveries, mean frame bytes) of ``seconds`` at ``rate`` after ``warmup``."""
    await load.run(rate, warmup)
    receivers.reset()
    load.sent = 0
    await load.run(rate, seconds)
    await asyncio.sleep(0.3)  # the last events' deliveries
    latencies, size = receivers.report()
    return _p99(latencies), len(latencies), size


async def _steady(
    urls: Sequence[str],
    load_urls: Sequence[str],
    pids: Sequence[int],
    args: argparse.Namespace,
    label: str,
) -> tuple[float, float, float]:
    """The steady run: (p99 s, memory KiB per connection, mean frame bytes)."""
    before = sum(_rss_kib(pid) for pid in pids)
    receivers = Receivers(urls, args.receivers, args.procs, hello=True)
    try:
        await asyncio.sleep(1.0)
        grown = sum(_rss_kib(pid) for pid in pids) - before
        load = await Load.open(load_urls, raw=False)
        p99, delivered, size = await _measure(receivers, load, args.rate, 3.0, args.seconds)
        await load.close()
    finally:
        receivers.close()
    expected = args.rate * args.seconds * args.receivers
    print(
        f"{label}: {delivered} deliveries of about {expected:.0f} offered"
        f" ({delivered / args.seconds:.0f}/s), p99 {p99 * 1000:.1f} ms,"
        f" {grown / args.receivers:.1f} KiB per connection, frames {size:.0f} bytes",
        flush=True,
    )
    return p99, grown / args.receivers, size


async def _saturation(
    url: str, pid: int, raw: bool, args: argparse.Namespace
) -> tuple[float, float]:
    """(deliveries/s where p99 passes 250 ms, CPU µs per delivery at ``--rate``)."""
    receivers = Receivers([url], args.receivers, args.procs, hello=not raw)
    label = "raw websockets.broadcast" if raw else "dispatch-server (SQLite)"
    try:
        load = await Load.open([url], raw=raw)
        cpu = _cpu_s(pid)
        p99, delivered, _ = await _measure(receivers, load, args.rate, 1.0, args.step_seconds)
        cpu_us = (_cpu_s(pid) - cpu) / max(1, delivered) * 1e6
        print(f"{label}: light load p99 {p99 * 1000:.1f} ms, {cpu_us:.1f} µs CPU per delivery")
        previous: tuple[float, float] | None = None
        rate = args.sweep_start / args.receivers
        while True:
            p99, delivered, _ = await _measure(receivers, load, rate, 1.0, args.step_seconds)
            per_s = delivered / args.step_seconds
            offered = rate * args.receivers
            print(
                f"{label}: offered {offered:.0f}/s delivered {per_s:.0f}/s p99 {p99 * 1000:.0f} ms",
                flush=True,
            )
            if p99 > SATURATED_P99_S or per_s < 0.8 * offered:
                if previous is None:
                    return offered, cpu_us
                low_rate, low_p99 = previous
                share = (SATURATED_P99_S - low_p99) / max(1e-9, p99 - low_p99)
                return low_rate + max(0.0, min(1.0, share)) * (offered - low_rate), cpu_us
            previous = (offered, p99)
            rate *= args.sweep_factor
            await load.close()
            await asyncio.sleep(1.0)  # let the backlog of the step drain
            load = await Load.open([url], raw=raw)
    finally:
        receivers.close()


def _schema(dsn: str) -> tuple[str, str]:
    """A fresh schema in the database of ``dsn`` (a ``postgresql://`` URL): its name, and the
    URL whose ``search_path`` is it (a URL: ``--db`` takes a PostgreSQL DSN in that form)."""
    import psycopg
    from psycopg import sql

    url = urlsplit(dsn)
    if url.scheme not in ("postgresql", "postgres"):
        raise SystemExit(f"--dsn must be a postgresql:// URL, not {url.scheme or dsn[:20]!r}")
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    query = dict(parse_qsl(url.query))
    query["options"] = f"{query.get('options', '')} -c search_path={name}".strip()
    return name, urlunsplit(url._replace(query=urlencode(query, quote_via=quote)))


def _drop(dsn: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as admin:
        admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def _postgres_available(dsn: str) -> str | None:
    """None when ``dsn`` answers, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    try:
        with psycopg.connect(dsn, connect_timeout=5):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


async def main(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="dispatch-bench-load-"))
    why_not = _postgres_available(args.dsn) if args.dsn else "no --dsn, no DISPATCH_TEST_POSTGRES"
    size = 0.0
    if why_not is None:
        schema, dsn = _schema(args.dsn)
        try:
            _prepare(dsn)
            pair = [Instance(dsn, folder / f"pg-{i}.log") for i in (1, 2)]
            try:
                urls = [i.url for i in pair]
                p99, per_conn, size = await _steady(
                    urls, urls, [i.proc.pid for i in pair], args, "two instances, PostgreSQL"
                )
            finally:
                for instance in pair:
                    instance.stop()
        finally:
            _drop(args.dsn, schema)
        emit("server_fanout_p99", p99 * 1000, "ms", "<= 50 (two instances on PostgreSQL)")
        emit("server_memory_per_connection", per_conn, "KiB", "reported")
    else:
        print(f"PostgreSQL unavailable ({why_not}): only the SQLite runs", flush=True)
    db = str(folder / "server.sqlite")
    _prepare(db)
    single = Instance(db, folder / "sqlite.log")
    try:
        p99_sqlite, per_conn_sqlite, size = await _steady(
            [single.url], [single.url], [single.proc.pid], args, "one instance, SQLite"
        )
        emit("server_fanout_p99_sqlite", p99_sqlite * 1000, "ms", "reported (comparison)")
        emit("server_memory_per_connection_sqlite", per_conn_sqlite, "KiB", "reported")
        ours, ours_cpu = await _saturation(single.url, single.proc.pid, False, args)
    finally:
        single.stop()
    raw_server = RawServer(round(size) or 300)
    try:
        raw, raw_cpu = await _saturation(raw_server.url, raw_server.proc.pid, True, args)
    finally:
        raw_server.stop()
    print(
        f"saturation: ours {ours:.0f} deliveries/s, raw {raw:.0f} deliveries/s;"
        f" CPU per delivery at light load: ours {ours_cpu:.1f} µs, raw {raw_cpu:.1f} µs"
        f" ({ours_cpu / max(raw_cpu, 1e-9):.1f}x)",
        flush=True,
    )
    emit("server_fanout_saturation", ours, "deliveries/s", "reported")
    emit("server_fanout_saturation_raw", raw, "deliveries/s", "reported")
    emit("server_fanout_saturation_ratio", ours / raw, "ratio", ">= 0.75")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("DISPATCH_TEST_POSTGRES", ""))
    parser.add_argument("--receivers", type=int, default=200)
    parser.add_argument("--procs", type=int, default=4, help="receiver processes")
    parser.add_argument("--rate", type=float, default=50.0, help="events/s of the steady runs")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured s of a steady run")
    parser.add_argument("--step-seconds", type=float, default=3.0)
    parser.add_argument("--sweep-start", type=float, default=10_000, help="deliveries/s")
    parser.add_argument("--sweep-factor", type=float, default=1.3)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(_parse()))
