"""Entry point of ``dispatch-desktop``: QApplication on a qasync event loop, one excepthook, an
explicit shutdown (stop the link, close the socket with a timeout, checkpoint SQLite).

    dispatch-desktop --demo                     embedded server, demo roster, simulated calls
    dispatch-desktop --server wss://host:port   sign in to a dispatch server
    dispatch-desktop --server wss://a:8765,wss://b:8765   ... and fail over to b when a is down
    dispatch-desktop --monitor ...              supervisor monitoring mode (read-only)
    dispatch-desktop --monitor --wallboard ...  the same, with the floor's wall-board open
    dispatch-desktop --demo --screenshot a.png  PNG of every window once the board is live
    dispatch-desktop --check-config             check the workstation configuration, exit 0/2

The workstation configuration IT deploys (`desktop.workstation_config`) is read once, here,
before Qt starts; a file that cannot be used stops the start with the file and the key named
(a dialog, or stderr when nobody can read one: `ui.dialogs.fatal`), exit code 2.

``--server`` takes one URL or several separated by commas, in failover order (one flag: a
list written once, as IT's ``servers.urls`` is); they come before IT's servers, which follow
when the first is one of them (`WorkstationConfig.server_list`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from desktop import APP_ID, __version__
from desktop.workstation_config import (
    ENV_VAR,
    THEME_NAMES,
    WorkstationConfig,
    WorkstationConfigError,
    load_system,
    parse_server_list,
)

if TYPE_CHECKING:
    from ui.layouts import CentreLayout

__all__ = ["build_parser", "main"]

log = logging.getLogger("dispatch.ui")

#: When this process began running the workstation's code (its start-up time is counted from it).
STARTED_AT = time.monotonic()


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``dispatch-desktop``."""
    parser = argparse.ArgumentParser(
        prog="dispatch-desktop",
        description="Computer-Aided Dispatch workstation for 911 dispatch centres.",
    )
    parser.add_argument("--version", action="version", version=f"dispatch-desktop {__version__}")
    parser.add_argument(
        "--server",
        metavar="URL[,URL...]",
        type=_server_option,
        help="dispatch server, e.g. wss://cad:8765; several, separated by commas, are tried in "
        "that order when one is down (failover)",
    )
    parser.add_argument("--user", help="user name to sign in as")
    parser.add_argument(
        "--demo", action="store_true", help="run an embedded server with a live demo floor"
    )
    parser.add_argument(
        "--monitor", action="store_true", help="supervisor monitoring mode (read-only)"
    )
    parser.add_argument(
        "--wallboard", action="store_true", help="open the floor's wall-board (F11) at start"
    )
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        type=Path,
        help="with --demo: save PNGs of every window once live, then exit",
    )
    parser.add_argument("--data-dir", type=Path, help="where workstation data lives")
    parser.add_argument("--config-dir", type=Path, help="where settings and layouts live")
    parser.add_argument("--theme", choices=THEME_NAMES)
    parser.add_argument(
        "--check-config",
        action="store_true",
        help=f"check the workstation configuration (or the file ${ENV_VAR} names), then exit: "
        "0 if it can be used, 2 if not",
    )
    parser.add_argument(
        "--call-interval", type=float, default=20.0, help="demo: seconds between simulated calls"
    )
    return parser


def _server_option(text: str) -> str:
    """``--server``: one URL or a comma-separated list, checked; given back as ``a,b``."""
    try:
        return ",".join(parse_server_list(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the workstation until its window closes; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if args.check_config:
        return check_config()
    if args.screenshot is not None and not args.demo:
        print("--screenshot needs --demo", file=sys.stderr)
        return 2
    if args.demo:
        from ui.demo_launcher import DemoUnavailable, check_demo_available

        try:
            check_demo_available()
        except DemoUnavailable as exc:
            print(f"dispatch-desktop: {exc}", file=sys.stderr)
            return 2
    import platformdirs
    import qasync
    from PySide6.QtWidgets import QApplication

    from ui.dialogs.fatal import display_problem, say_cannot_start, show_fatal, someone_to_read

    data_dir = args.data_dir or Path(platformdirs.user_data_dir("dispatch-desktop", False))
    config_dir = args.config_dir or Path(platformdirs.user_config_dir("dispatch-desktop", False))
    data_dir.mkdir(parents=True, exist_ok=True)
    config_dir.mkdir(parents=True, exist_ok=True)
    _configure_logging(data_dir / "logs")
    try:
        config, centre_layout = read_configuration()
        problem = None
    except WorkstationConfigError as exc:
        problem = exc
    no_display = display_problem()
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if problem is not None and (
        no_display or not someone_to_read(args.screenshot is not None, platform)
    ):
        log.error("cannot start: %s", problem)
        return say_cannot_start(CONFIG_UNUSABLE, str(problem))
    if no_display:
        return say_cannot_start(no_display)
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication

    # High-DPI: follow fractional scale factors (125 %, 150 %) exactly instead of rounding.
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("dispatch-desktop")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)  # Wayland and docks match the window to its menu entry
    from ui.theme import application_icon

    app.setWindowIcon(application_icon())
    app.setQuitOnLastWindowClosed(False)  # the shutdown sequence decides when to quit
    from ui.collector import install_gui_thread_collector

    install_gui_thread_collector(app)  # garbage holding Qt objects dies on the GUI thread
    # asyncio.run(..., loop_factory=QEventLoop) is Python 3.12+; Runner takes it on 3.11.
    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        if problem is not None:
            return runner.run(show_fatal(CANNOT_START, CONFIG_UNUSABLE, str(problem)))
        from ui.session import Workstation

        workstation = Workstation(app, args, data_dir, config_dir, config, centre_layout)
        _install_excepthook(workstation)
        runner.get_loop().set_exception_handler(workstation.on_loop_exception)
        return runner.run(workstation.run())


CANNOT_START = "dispatch-desktop cannot start"
CONFIG_UNUSABLE = "This workstation's configuration cannot be used. Call your IT support."


def read_configuration() -> tuple[WorkstationConfig, CentreLayout | None]:
    """Read the workstation configuration and the centre's default layout it names (checked
    against this version's layouts). Raises `WorkstationConfigError` naming file and key."""
    config = load_system()
    if config.layouts_file is None or config.default_layout is None:
        return config, None
    from desktop.workstation_config import Problem
    from ui.layouts import LayoutFileError, read_centre_layout
    from ui.main_window import LAYOUT_VERSION

    try:
        layout = read_centre_layout(config.layouts_file, config.default_layout, LAYOUT_VERSION)
    except LayoutFileError as exc:
        problem = Problem("workstation.default_layout", str(exc))
        raise WorkstationConfigError(config.path, [problem]) from None
    return config, layout


def check_config() -> int:
    """``--check-config``: say whether the workstation configuration can be used and what each
    key is; 0 if it can, 2 if not (the problems on stderr)."""
    try:
        config, _ = read_configuration()
    except WorkstationConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if config.found:
        print(f"{config.path}: can be used")
    else:
        print(f"{config.path}: no such file; every key has its built-in default")
    for line in config.summary():
        print(f"  {line}")
    return 0


def _configure_logging(log_dir: Path) -> None:
    log_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[logging.FileHandler(log_dir / "workstation.log"), logging.StreamHandler()],
    )


def _install_excepthook(workstation: object) -> None:
    """One hook for uncaught exceptions in Qt slots and callbacks: log, then show a banner."""

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        log.error("uncaught error:\n%s", "".join(traceback.format_exception(kind, error, tb)))
        report = getattr(workstation, "report_error", None)
        if report is not None:
            report(f"{kind.__name__}: {error}")

    sys.excepthook = hook


if __name__ == "__main__":
    raise SystemExit(main())
