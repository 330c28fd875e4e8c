"""The workstation's one way to the demo floor: ``dispatch-desktop --demo``.

The demo floor (`sim.demo_floor.EmbeddedServer`: the reference server plus the call-feed
simulator, in a thread of this process) is the only part of `sim` and `server` the workstation
uses, and this is the only module of `ui` that imports it (an import-linter contract in
pyproject.toml holds it to that). So a workstation can be packaged without `sim` and `server`:
then `demo_floor` raises `DemoUnavailable` and ``--demo`` says that this installation has no
demo server (exit code 2) instead of failing with a traceback.

Contract: `check_demo_available` raises `DemoUnavailable` when the demo floor cannot be
imported because its packages are not installed (any other import error is a bug and is
raised as is); `demo_floor` returns a floor that is not started yet.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.demo_floor import EmbeddedServer

__all__ = ["NO_DEMO_SERVER", "DemoUnavailable", "check_demo_available", "demo_floor"]

#: A demo floor that fails to import for want of one of these is not installed here.
_NOT_INSTALLED = frozenset({"sim", "sim.demo_floor", "server"})

NO_DEMO_SERVER = (
    "--demo: this installation has no demo server (it was packaged without the sim and "
    "server packages); sign in to a dispatch server with --server URL instead"
)


class DemoUnavailable(Exception):
    """This installation has no demo server; ``str()`` says so to the user."""


def check_demo_available() -> None:
    """Raise `DemoUnavailable` if ``--demo`` cannot work in this installation."""
    _floor_class()


def demo_floor(data_dir: Path, *, call_interval: float) -> EmbeddedServer:
    """The demo floor over ``data_dir`` (server database and all), not started."""
    return _floor_class()(data_dir, call_interval=call_interval)


def _floor_class() -> type[EmbeddedServer]:
    try:
        from sim.demo_floor import EmbeddedServer
    except ModuleNotFoundError as exc:
        if exc.name not in _NOT_INSTALLED:
            raise
        raise DemoUnavailable(NO_DEMO_SERVER) from exc
    return EmbeddedServer
