"""Shared helpers for the benchmark scripts: figure output and a real server process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.serverproc import ServerProcess  # noqa: E402

PASSWORD = "bench-password"


def emit(figure: str, value: float, unit: str, target: str) -> None:
    """Print one figure as the JSON line the benchmark convention asks for."""
    print(
        json.dumps({"figure": figure, "value": round(value, 4), "unit": unit, "target": target}),
        flush=True,
    )


def slow_disk_env(delay_ms: float) -> dict[str, str]:
    """The environment of a process whose every fsync/fdatasync takes ``delay_ms`` longer
    (``bench/slow_disk.c``, compiled here with gcc and preloaded). Raises SystemExit, saying
    why, where it cannot be had (no gcc, not Linux)."""
    compiler = shutil.which("gcc")
    if compiler is None or not sys.platform.startswith("linux"):
        raise SystemExit("--slow-disk-ms needs Linux and gcc (it preloads bench/slow_disk.c)")
    library = Path(tempfile.gettempdir()) / "dispatch-bench-slow-disk.so"
    source = Path(__file__).with_name("slow_disk.c")
    if not library.exists() or library.stat().st_mtime < source.stat().st_mtime:
        subprocess.run(
            [compiler, "-shared", "-fPIC", "-O2", "-o", str(library), str(source), "-ldl"],
            check=True,
        )
    return {
        **os.environ,
        "LD_PRELOAD": str(library),
        "FSYNC_DELAY_US": str(round(delay_ms * 1000)),
    }


class BenchServer(ServerProcess):
    """``python -m server serve`` on 127.0.0.1 with one dispatcher user, in a temp directory
    (the same launcher the tests use: `tests.support.serverproc.ServerProcess`)."""

    def __init__(self, *extra: str) -> None:
        directory = Path(tempfile.mkdtemp(prefix="dispatch-bench-"))
        super().__init__(directory / "server.sqlite", "--log-level", "WARNING", *extra)
        self.add_user("bench", "dispatcher", PASSWORD)

    def start(self, port: int | None = 0) -> int:
        return super().start(port)
