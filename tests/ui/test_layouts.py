"""Dock layouts (ui/layouts.py, DESIGN.md section 5).

In-process tests run on the default offscreen platform (one 800x800 screen named ""). The
multi-screen tests run ``tests/ui/screens.py`` in subprocesses, one per screen set-up, with
``QT_QPA_PLATFORM=offscreen:configfile=...``: Qt reads the platform only when the QApplication is
created, so one process cannot change its screens.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QMainWindow
from pytestqt.qtbot import QtBot

from tests.ui.screens import (
    DEFAULT_AREAS,
    SETUPS,
    VERSION,
    apply_default,
    build_window,
    run_setup,
    screen,
)
from ui.layouts import LayoutManager, LayoutStore, screen_setup_key

Area = Qt.DockWidgetArea


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "layouts.json"


def make(qtbot: QtBot, path: Path, version: int = VERSION) -> tuple[QMainWindow, LayoutManager]:
    window = build_window()
    qtbot.addWidget(window)
    return window, LayoutManager(window, LayoutStore(path), apply_default, version)


def docks(window: QMainWindow) -> dict[str, QDockWidget]:
    return {d.objectName(): d for d in window.findChildren(QDockWidget)}


def assert_default(window: QMainWindow) -> None:
    for name, dock in docks(window).items():
        assert not dock.isFloating(), name
        assert window.dockWidgetArea(dock) == DEFAULT_AREAS[name], name
        assert dock.isHidden() == (name == "supervisor"), name


def rearrange(window: QMainWindow) -> None:
    """A dispatcher's own arrangement: radio floating, units on top, alerts closed."""
    d = docks(window)
    d["radio"].setFloating(True)
    d["radio"].setGeometry(100, 120, 300, 200)
    window.addDockWidget(Area.TopDockWidgetArea, d["units"])
    d["alerts"].hide()


def assert_rearranged(window: QMainWindow) -> None:
    d = docks(window)
    assert d["radio"].isFloating()
    assert d["radio"].geometry() == QRect(100, 120, 300, 200)
    assert window.dockWidgetArea(d["units"]) == Area.TopDockWidgetArea
    assert d["alerts"].isHidden()
    assert not d["map"].isFloating()


# -- round trip, named layouts, reset, versions -------------------------------------------------


def test_first_restore_applies_the_default(qtbot: QtBot, store_path: Path) -> None:
    window, manager = make(qtbot, store_path)
    assert manager.restore() is False
    assert_default(window)
    assert not store_path.exists()


def test_save_then_restore_in_a_new_window(qtbot: QtBot, store_path: Path) -> None:
    window, manager = make(qtbot, store_path)
    manager.restore()
    window.show()
    rearrange(window)
    window.setGeometry(40, 60, 700, 500)
    assert manager.save()

    doc = json.loads(store_path.read_text())
    layout = doc["setups"][manager.key()]["current"]
    assert layout["version"] == VERSION
    assert set(layout) == {"version", "geometry", "state", "floating", "window", "saved_at"}
    assert layout["floating"] == {"radio": [100, 120, 300, 200, window.screen().name()]}
    assert layout["window"] == [40, 60, 700, 500, window.screen().name()]

    again, manager2 = make(qtbot, store_path)
    assert manager2.restore() is True
    again.show()
    assert_rearranged(again)
    assert again.geometry() == QRect(40, 60, 700, 500)


def test_named_layouts_save_load_delete(qtbot: QtBot, store_path: Path) -> None:
    window, manager = make(qtbot, store_path)
    manager.restore()
    window.show()
    assert manager.save_as("Default")
    rearrange(window)
    assert manager.save_as(" Night shift ")
    assert manager.names() == ["Default", "Night shift"]

    assert manager.load("Default")
    assert_default(window)
    assert manager.load("Night shift")
    assert_rearranged(window)
    assert manager.load("nope") is False
    assert_rearranged(window)  # unchanged

    assert manager.delete("Night shift") is True
    assert manager.delete("Night shift") is False
    assert manager.names() == ["Default"]
    assert LayoutStore(store_path).names() == ["Default"]
    with pytest.raises(ValueError):
        manager.save_as("   ")


def test_reset_applies_the_default_and_keeps_saved_layouts(qtbot: QtBot, store_path: Path) -> None:
    window, manager = make(qtbot, store_path)
    manager.restore()
    window.show()
    rearrange(window)
    manager.save_as("mine")
    manager.reset()
    assert_default(window)
    assert manager.names() == ["mine"]


def test_layout_of_another_version_is_ignored(qtbot: QtBot, store_path: Path) -> None:
    window, manager = make(qtbot, store_path)
    manager.restore()
    rearrange(window)
    manager.save()
    manager.save_as("old")

    newer, manager2 = make(qtbot, store_path, version=VERSION + 1)
    assert manager2.restore() is False
    assert_default(newer)
    assert manager2.load("old") is False
    assert_default(newer)


def test_state_that_qt_rejects_is_ignored(qtbot: QtBot, store_path: Path) -> None:
    _window, manager = make(qtbot, store_path)
    manager.restore()
    manager.save()
    doc = json.loads(store_path.read_text())
    doc["setups"][manager.key()]["current"]["state"] = "AAAA"  # valid base64, not a dock state
    store_path.write_text(json.dumps(doc))
    again, manager2 = make(qtbot, store_path)
    assert manager2.restore() is False
    assert_default(again)


# -- the file: corruption, malformed entries, atomic writes ----------------------------------


@pytest.mark.parametrize(
    "content", [b"{not json", b"[]", b'{"setups": 3}', b"\xff\xfe\x00", b'{"setups": {"k": 1}}']
)
def test_corrupt_file_is_moved_aside_and_treated_as_empty(
    qtbot: QtBot, store_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    store_path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="ui.layouts"):
        window, manager = make(qtbot, store_path)
    assert "corrupt" in caplog.text
    (aside,) = store_path.parent.glob("layouts.json.corrupt-*")
    assert aside.read_bytes() == content
    assert not store_path.exists()

    assert manager.restore() is False
    assert_default(window)
    assert manager.save()
    assert LayoutStore(store_path).current(manager.key()) is not None


def test_malformed_entries_are_dropped_and_the_rest_kept(
    qtbot: QtBot, store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _window, manager = make(qtbot, store_path)
    manager.restore()
    manager.save_as("good")
    doc = json.loads(store_path.read_text())
    doc["setups"][manager.key()]["named"]["bad"] = {"version": "1", "state": 3}
    store_path.write_text(json.dumps(doc))
    with caplog.at_level(logging.WARNING, logger="ui.layouts"):
        store = LayoutStore(store_path)
    assert store.names() == ["good"]
    assert "malformed" in caplog.text
    assert not list(store_path.parent.glob("*.corrupt-*"))


def test_failed_write_keeps_the_old_file(
    qtbot: QtBot, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window, manager = make(qtbot, store_path)
    manager.restore()
    assert manager.save()
    before = store_path.read_bytes()

    def refuse(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("ui.layouts.os.replace", refuse)
    rearrange(window)
    assert manager.save() is False
    assert store_path.read_bytes() == before
    assert [p.name for p in store_path.parent.iterdir()] == ["layouts.json"]  # no temp file left


# -- object names, screen keys, ensure_visible in one process -------------------------------


def test_docks_without_a_unique_object_name_are_reported(
    qtbot: QtBot, store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    window = build_window()
    qtbot.addWidget(window)
    window.addDockWidget(Area.LeftDockWidgetArea, QDockWidget("Nameless", window))
    twin = QDockWidget("Twin", window)
    twin.setObjectName("map")
    window.addDockWidget(Area.LeftDockWidgetArea, twin)
    with caplog.at_level(logging.WARNING, logger="ui.layouts"):
        manager = LayoutManager(window, LayoutStore(store_path), apply_default, VERSION)
    assert "'Nameless' has no objectName" in caplog.text
    assert "'map' is used twice" in caplog.text
    assert len(manager.check_object_names()) == 2


class FakeScreen:
    def __init__(self, name: str, x: int, width: int = 1920, dpr: float = 1.0) -> None:
        self._name, self._rect, self._dpr = name, QRect(x, 0, width, 1080), dpr

    def name(self) -> str:
        return self._name

    def geometry(self) -> QRect:
        return self._rect

    def devicePixelRatio(self) -> float:
        return self._dpr


def test_screen_setup_keys() -> None:
    left, right = FakeScreen("LEFT", 0), FakeScreen("RIGHT", 1920)
    two = screen_setup_key([left, right])
    assert two == screen_setup_key([right, left])  # order does not matter
    assert two.startswith("2 screens-")
    assert screen_setup_key([left]).startswith("1 screen-")
    variants = [
        [left],
        [left, right, FakeScreen("THIRD", 3840)],
        [left, FakeScreen("OTHER", 1920)],
        [left, FakeScreen("RIGHT", 2000)],
        [left, FakeScreen("RIGHT", 1920, width=2560)],
        [left, FakeScreen("RIGHT", 1920, dpr=1.5)],
    ]
    keys = {screen_setup_key(v) for v in variants} | {two}
    assert len(keys) == len(variants) + 1
    assert screen_setup_key(QGuiApplication.screens()).startswith("1 screen-")


def test_ensure_visible_brings_lost_windows_onto_the_screen(qtbot: QtBot, store_path: Path) -> None:
    window, manager = make(qtbot, store_path)
    manager.restore()
    window.show()
    d = docks(window)
    for name, where in [
        ("map", QRect(5000, 5000, 3000, 3000)),
        ("radio", QRect(-900, 0, 500, 300)),
        ("units", QRect(700, 700, 300, 300)),
    ]:
        d[name].setFloating(True)
        d[name].setGeometry(where)
    window.move(-5000, -5000)

    moved = manager.ensure_visible()
    assert sorted(moved) == ["main_window", "map", "radio"]
    area = QGuiApplication.primaryScreen().availableGeometry()
    for widget in (window, d["map"], d["radio"]):
        assert area.contains(widget.frameGeometry()), widget.objectName()
    assert d["map"].frameGeometry().width() <= area.width()
    assert d["radio"].size().width() == 500  # not larger than the screen: size kept
    assert d["units"].geometry() == QRect(700, 700, 300, 300)  # partly visible: left alone
    assert manager.ensure_visible() == []


# -- several screens, one subprocess per set-up --------------------------------------------


def test_offscreen_configfile_gives_the_screens_asked_for(tmp_path: Path) -> None:
    report = run_setup(tmp_path, 2, tmp_path / "l.json", "restore")
    assert report["screens"] == {"LEFT": [0, 0, 1920, 1080], "RIGHT": [1920, 0, 1920, 1080]}
    assert report["primary"] == "LEFT"
    assert report["used"] is False


def test_offscreen_lists_screens_by_name_not_by_file_order(tmp_path: Path) -> None:
    """Qt 6.11's offscreen platform sorts the configured screens by name, and the first is the
    primary. So ``saveGeometry``'s screen *index* for LEFT is 1 with three screens and 0 with two,
    which is why the layout records screen names (see the 3 -> 2 case below)."""
    report = run_setup(tmp_path, 3, tmp_path / "l.json", "restore")
    assert list(report["screens"]) == ["CENTER", "LEFT", "RIGHT"]
    assert report["primary"] == "CENTER"


def on(report: dict[str, Any], dock: str, screen_name: str) -> None:
    info = report["docks"][dock]
    assert info["floating"] and info["visible"], info
    assert info["screen"] == screen_name, info
    assert info["at_center"] == screen_name, info
    assert report["window"]["at_center"] in report["screens"]


def test_two_screens_dock_comes_back_on_right(tmp_path: Path) -> None:
    store = tmp_path / "layouts.json"
    saved = run_setup(tmp_path, 2, store, "float", "RIGHT")
    on(saved, "map", "RIGHT")
    record = json.loads(store.read_text())["setups"][saved["key"]]["current"]["floating"]["map"]
    assert record == [2120, 150, 640, 480, "RIGHT"]

    restored = run_setup(tmp_path, 2, store, "restore")
    assert restored["used"] is True
    on(restored, "map", "RIGHT")
    assert restored["docks"]["map"]["geometry"] == [2120, 150, 640, 480]
    x, y, w, h = restored["screens"]["RIGHT"]
    gx, gy, gw, gh = restored["docks"]["map"]["geometry"]
    assert x <= gx + gw // 2 < x + w and y <= gy + gh // 2 < y + h


def test_one_screen_left_brings_the_dock_onto_it(tmp_path: Path) -> None:
    store = tmp_path / "layouts.json"
    saved = run_setup(tmp_path, 2, store, "float", "RIGHT")
    restored = run_setup(tmp_path, 1, store, "restore")
    assert restored["key"] != saved["key"]
    assert restored["used"] is True  # the two-screen layout, brought onto the one screen
    on(restored, "map", "LEFT")
    assert restored["window"]["screen"] == "LEFT"
    # Back on two screens, the two-screen layout is still there.
    on(run_setup(tmp_path, 2, store, "restore"), "map", "RIGHT")


def test_three_screens_round_trip(tmp_path: Path) -> None:
    store = tmp_path / "layouts.json"
    saved = run_setup(tmp_path, 3, store, "float", "RIGHT")
    assert saved["key"].startswith("3 screens-")
    restored = run_setup(tmp_path, 3, store, "restore")
    assert restored["used"] is True
    on(restored, "map", "RIGHT")
    assert restored["docks"]["map"]["geometry"][0] == 3840 + 200


@pytest.mark.parametrize(
    ("saved_on", "restored_on"), [(1, 1), (1, 2), (1, 3), (2, 3), (3, 2), (3, 1)]
)
def test_layout_saved_on_n_screens_restores_on_m(
    tmp_path: Path, saved_on: int, restored_on: int
) -> None:
    """The map dock goes onto the rightmost screen; on restore it is on the screen of that name if
    there is one (RIGHT moves from x=1920 to 3840 between two and three screens), else visible."""
    store = tmp_path / "layouts.json"
    target = SETUPS[saved_on][-1]["name"]
    run_setup(tmp_path, saved_on, store, "float", target)
    restored = run_setup(tmp_path, restored_on, store, "restore")
    assert restored["used"] is True
    assert restored["window"]["at_center"] == "LEFT"  # saved there; Qt alone moves it by index
    names = [s["name"] for s in SETUPS[restored_on]]
    if target in names:
        on(restored, "map", target)
    else:
        on(restored, "map", restored["docks"]["map"]["screen"])
        assert restored["docks"]["map"]["screen"] in names


def test_ensure_visible_with_two_screens_uses_the_primary(tmp_path: Path) -> None:
    report = run_setup(tmp_path, 2, tmp_path / "l.json", "lost")
    assert report["moved"] == ["map"]
    on(report, "map", "LEFT")


def test_screens_at_other_scale_or_place_get_their_own_key(tmp_path: Path) -> None:
    store = tmp_path / "layouts.json"
    base = run_setup(tmp_path, [screen("LEFT", 0), screen("RIGHT", 1920)], store, "restore")
    hidpi = [screen("LEFT", 0), {**screen("RIGHT", 1920), "dpr": 2}]
    other = run_setup(tmp_path, hidpi, store, "restore")
    assert base["key"] != other["key"]
    assert base["key"].startswith("2 screens-") and other["key"].startswith("2 screens-")
