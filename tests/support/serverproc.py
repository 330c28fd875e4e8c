"""Run the real reference server as a child process (``python -m server``) for tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

PASSWORD = "correct horse battery staple"
ROOT = Path(__file__).resolve().parents[2]


class ServerProcess:
    """A ``dispatch-server serve`` process on 127.0.0.1 over one database: a SQLite file, or a
    ``postgresql://`` DSN (then name the ``log_path``; a SQLite file's is beside it)."""

    def __init__(self, db_path: Path | str, *extra_args: str, log_path: Path | None = None) -> None:
        self.db_path = db_path
        self.extra_args = extra_args
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.log_path = log_path or Path(db_path).with_suffix(".log")

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def add_user(self, name: str, role: str, password: str = PASSWORD) -> None:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "server",
                "users",
                "add",
                name,
                "--role",
                role,
                "--db",
                str(self.db_path),
            ],
            input=password + "\n",
            cwd=ROOT,
            text=True,
            check=True,
            capture_output=True,
            timeout=30,
        )

    def start(self, port: int | None = None) -> int:
        """Start serving (on ``port``, or the previous port, or any free one); return the port."""
        port = self.port if port is None else port
        log = self.log_path.open("a")  # a file, not a pipe: a full pipe would stall the server
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server",
                "serve",
                "--db",
                str(self.db_path),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *self.extra_args,
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        log.close()
        if not line:
            self.proc.wait(timeout=10)
            raise RuntimeError(f"server did not start: {self.log_path.read_text()[-2000:]}")
        self.port = int(json.loads(line)["listening"]["port"])
        return self.port

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None
