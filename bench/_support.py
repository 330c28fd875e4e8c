"""Shared helpers for the benchmark scripts: figure output and a real server process."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

PASSWORD = "bench-password"
ROOT = Path(__file__).resolve().parents[1]


def emit(figure: str, value: float, unit: str, target: str) -> None:
    """Print one figure as the JSON line the benchmark convention asks for."""
    print(
        json.dumps({"figure": figure, "value": round(value, 4), "unit": unit, "target": target}),
        flush=True,
    )


class BenchServer:
    """``python -m server serve`` on 127.0.0.1 with one dispatcher user, in a temp directory."""

    def __init__(self, *extra: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="dispatch-bench-"))
        self.db = self.dir / "server.sqlite"
        self.extra = extra
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        subprocess.run(
            [
                sys.executable,
                "-m",
                "server",
                "users",
                "add",
                "bench",
                "--role",
                "dispatcher",
                "--db",
                str(self.db),
            ],
            input=PASSWORD + "\n",
            text=True,
            check=True,
            capture_output=True,
            cwd=ROOT,
        )

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server",
                "serve",
                "--db",
                str(self.db),
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--log-level",
                "WARNING",
                *self.extra,
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        self.port = int(json.loads(self.proc.stdout.readline())["listening"]["port"])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
