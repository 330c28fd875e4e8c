"""The dispatcher is told when the workstation's own storage fails (issue #17, deliverable 7):
a full disk at the command line (the command refused, in place, with what to do; it goes
through once there is space), a database damaged between runs and while running (the error
banner names the kept file and what was carried over; the queue is intact), and one that
cannot be opened at all (locked: the start stops and says so; the file is left as it is).

The real window offscreen, driven as ``dispatch-desktop`` runs (`tests.ui.test_signin.Run`),
signed in to an address nothing answers (the commands stay queued); real database files.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop.localdb import LocalDatabase
from desktop.outbox import Outbox
from desktop.profiles import profile_dir
from desktop.salvage import kept_files
from tests.integration.test_queued_work import DEAD_URL
from tests.support.serverproc import PASSWORD
from tests.support.storage_faults import (  # noqa: F401  (full_disk: fixture)
    FullDisk,
    checkpointed,
    damage_page,
    full_disk,
    page_of,
)
from tests.ui.test_session_outage import queue_p1_and_quit
from tests.ui.test_signin import (  # noqa: F401  (app, dirs, launch: fixtures)
    USER,
    Run,
    app,
    dirs,
    fill,
    launch,
    press,
    visible_dialogs,
)
from ui.main_window import MainWindow

P1 = "NEW FIRE-STRUCTURE P1 1 Market St"


async def signed_in(run: Run) -> MainWindow:
    fill(await run.dialog(), DEAD_URL, USER, PASSWORD, remember=False)
    await run.until(lambda: run.workstation.window is not None, "the window")
    window = run.workstation.window
    assert window is not None
    await run.until(
        lambda: window.banner.state_label.text().startswith("SERVER NEVER REACHED"), "offline"
    )
    return window


def queued(window: MainWindow, n: int) -> bool:
    said = f" · {n} queued, not sent" if n else ""
    return window.banner.state_label.text() == f"SERVER NEVER REACHED{said}"


async def quit_anyway(run: Run) -> None:
    run.errors.clear()  # said on purpose by these tests
    assert run.workstation.window is not None
    run.workstation.window.close()
    await press(run, "quit_question", "Quit anyway")
    assert await run.finished() == 0


class TestDiskFull:
    @pytest.fixture
    def dirs(self, full_disk: FullDisk, tmp_path: Path) -> tuple[Path, Path]:  # noqa: F811
        """The workstation's data on the disk that fills; its settings elsewhere."""
        data_dir, config_dir = full_disk.directory / "data", tmp_path / "config"
        data_dir.mkdir()
        config_dir.mkdir()
        return data_dir, config_dir

    async def test_a_command_refused_by_a_full_disk_is_said_in_place_and_goes_once_freed(
        self,
        launch: Callable[[], Run],  # noqa: F811
        full_disk: FullDisk,  # noqa: F811
    ) -> None:
        run = launch()
        window = await signed_in(run)
        service = run.workstation.service
        assert service is not None
        full_disk.fill(service.db)
        line = window.command_line
        for _ in range(200):  # the WAL may take a few more before the disk says no
            line.input.setText(P1 + " " + "x" * 150)
            line.submit()
            if line.feedback.state is not None and line.feedback.state.value == "failed":
                break
        said = line.feedback.text()
        assert said.startswith("The workstation's disk is full: this command was not queued")
        assert "free space on this workstation" in said and "radio or phone" in said
        queued_before = len(service.outbox)
        await run.until(lambda: queued(window, queued_before), "nothing more queued")

        full_disk.free()  # space again: the same command goes through, no restart
        line.input.setText(P1)
        line.submit()
        assert line.feedback.state is not None and line.feedback.state.value == "ok"
        await run.until(lambda: queued(window, queued_before + 1), "queued once freed")
        await quit_anyway(run)


async def test_a_database_damaged_between_runs_is_said_and_its_queue_kept(
    launch: Callable[[], Run],  # noqa: F811
) -> None:
    first = launch()
    await queue_p1_and_quit(first, DEAD_URL)
    assert first.workstation.service is not None
    path = first.workstation.service.config.database_path
    damage_page(path, page_of(path, "replica"))

    run = launch()
    window = await signed_in(run)
    await run.until(lambda: queued(window, 1), "the P1 still queued")
    said = window.error_banner.text()
    assert window.error_bar.isVisible() and window.error_banner.isVisible()  # not an empty bar
    assert "The workstation's database was damaged and could not be opened" in said
    assert ".damaged-" in said and str(path.parent) in said  # where IT finds the kept file
    assert (
        "Carried over under their original keys, so none is applied twice: 1 queued command."
        in said
    )
    assert "fetched again from the server" in said
    assert run.errors == [said.removeprefix("⚠ ")]
    await quit_anyway(run)


async def test_a_database_damaged_while_running_is_replaced_and_said(
    launch: Callable[[], Run],  # noqa: F811
) -> None:
    run = launch()
    window = await signed_in(run)
    service = run.workstation.service
    assert service is not None
    window.command_line.input.setText(P1)
    window.command_line.submit()
    await run.until(lambda: queued(window, 1), "1 queued")
    db = service.db
    checkpointed(db)  # then the outbox's page is damaged under the running workstation
    damage_page(db.path, page_of(db.path, "outbox"))
    db._relaxed.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('poke', '1')")

    window.command_line.input.setText("NEW FIRE-STRUCTURE P1 2 Market St")
    window.command_line.submit()  # finds the damage; done again on the fresh database
    assert window.command_line.feedback.state is not None
    assert window.command_line.feedback.state.value == "ok"
    await run.until(lambda: queued(window, 2), "2 queued")
    said = window.error_banner.text()
    assert window.error_banner.isVisible()
    assert "The workstation's database was damaged while in use" in said
    assert "none is applied twice: 1 queued command." in said  # the one queued before
    assert [e.kind for e in service.outbox.entries()] == ["incident.create"] * 2
    await quit_anyway(run)


async def test_a_database_that_cannot_be_opened_stops_the_start_and_is_left_as_it_is(
    launch: Callable[[], Run],  # noqa: F811
    dirs: tuple[Path, Path],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Locked by another copy of the application: said, nothing moved (it used to be taken
    for a damaged file, moved aside and its queue dropped)."""
    import ui.session

    path = profile_dir(dirs[0], DEAD_URL, USER) / "workstation.sqlite"
    db = LocalDatabase(path)
    Outbox(db).enqueue("incident.add_note", b'{"incident_id":"i1","text":"kept"}', 1.0)
    db.close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO meta (k, v) VALUES ('lock', '1')")
    monkeypatch.setattr(ui.session, "someone_to_read", lambda *_: True)  # as on a display
    run = launch()
    fill(await run.dialog(), DEAD_URL, USER, PASSWORD, remember=False)

    def box() -> QMessageBox | None:
        found = [
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.objectName() == "fatal_dialog" and w.isVisible()
        ]
        return found[0] if found else None

    await run.until(lambda: box() is not None, "the message", timeout=15.0)
    message = box()
    assert message is not None
    assert message.text().startswith("The workstation's database cannot be opened (database")
    assert "Nothing queued on it is lost" in message.text()
    assert "already running on this workstation" in message.text()
    message.accept()
    assert await run.finished() == 2
    assert visible_dialogs() == []
    other.rollback()
    other.close()
    assert kept_files(path) == []
    again = LocalDatabase(path)
    assert [e.args for e in Outbox(again).entries()] == [b'{"incident_id":"i1","text":"kept"}']
    again.close()
