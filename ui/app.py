"""Entry point of ``dispatch-desktop``: QApplication on a qasync event loop, one excepthook, an
explicit shutdown (stop the link, close the socket with a timeout, checkpoint SQLite).

    dispatch-desktop --demo                     embedded server, demo roster, simulated calls
    dispatch-desktop --server wss://host:port   sign in to a dispatch server
    dispatch-desktop --monitor ...              supervisor monitoring mode (read-only)
    dispatch-desktop --demo --screenshot a.png  PNG of every window once the board is live
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from desktop import __version__

__all__ = ["build_parser", "main"]

log = logging.getLogger("dispatch.ui")


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``dispatch-desktop``."""
    parser = argparse.ArgumentParser(
        prog="dispatch-desktop",
        description="Computer-Aided Dispatch workstation for 911 dispatch centres.",
    )
    parser.add_argument("--version", action="version", version=f"dispatch-desktop {__version__}")
    parser.add_argument("--server", metavar="URL", help="dispatch server, e.g. wss://cad:8765")
    parser.add_argument("--user", help="user name to sign in as")
    parser.add_argument(
        "--demo", action="store_true", help="run an embedded server with a live demo floor"
    )
    parser.add_argument(
        "--monitor", action="store_true", help="supervisor monitoring mode (read-only)"
    )
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        type=Path,
        help="with --demo: save PNGs of every window once live, then exit",
    )
    parser.add_argument("--data-dir", type=Path, help="where workstation data lives")
    parser.add_argument("--config-dir", type=Path, help="where settings and layouts live")
    parser.add_argument("--theme", choices=["dark", "light", "high-contrast"])
    parser.add_argument(
        "--call-interval", type=float, default=20.0, help="demo: seconds between simulated calls"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the workstation until its window closes; returns the process exit code."""
    args = build_parser().parse_args(argv)
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

    data_dir = args.data_dir or Path(platformdirs.user_data_dir("dispatch-desktop", False))
    config_dir = args.config_dir or Path(platformdirs.user_config_dir("dispatch-desktop", False))
    data_dir.mkdir(parents=True, exist_ok=True)
    config_dir.mkdir(parents=True, exist_ok=True)
    _configure_logging(data_dir / "logs")
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
    app.setQuitOnLastWindowClosed(False)  # the shutdown sequence decides when to quit
    from ui.collector import install_gui_thread_collector

    install_gui_thread_collector(app)  # garbage holding Qt objects dies on the GUI thread
    # asyncio.run(..., loop_factory=QEventLoop) is Python 3.12+; Runner takes it on 3.11.
    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        from ui.session import Workstation

        workstation = Workstation(app, args, data_dir, config_dir)
        _install_excepthook(workstation)
        runner.get_loop().set_exception_handler(workstation.on_loop_exception)
        return runner.run(workstation.run())


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
