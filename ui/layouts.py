"""Dock layouts: saved per screen set-up, named, with a default in code (DESIGN.md section 5).

A layout is the main window's ``saveGeometry`` and ``saveState(version)``, saved together, plus the
rect and screen name of the main window and of each floating dock, kept per screen set-up
(:func:`screen_setup_key`). Every dock and toolbar needs a unique, stable ``objectName`` (a warning
is logged otherwise). :class:`LayoutStore` writes atomically and never raises for a bad file (a
corrupt one is moved aside as ``<name>.corrupt-<UTC time>``). After every restore, load or reset,
windows showing on no attached screen are brought onto the primary one, and once the main window
is shown its floating docks are brought in front of it (`LayoutManager.bring_floating_to_front`).

A dock's widget may keep state of its own in the layout (a map's view and layers): a widget
with ``save_state() -> dict`` (JSON-able) has it saved under ``panels`` by dock objectName, and
given back to its ``restore_state(dict)`` once the docks are restored. A dock a layout names in
``panels`` that the window does not have yet (an extra map) is first made by the manager's
``create_dock(name)``, so that ``restoreState`` places it.

A centre's default layout (`CentreLayout`, the workstation configuration's
``workstation.default_layout``) is a named layout in a layouts file IT exported from a
configured workstation, opened read-only: it applies when the user has nothing saved for the
screen set-up, and is what Layouts → Reset to default applies.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NotRequired, Protocol, TypedDict

from PySide6.QtCore import QByteArray, QPoint, QRect, Qt
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QDockWidget, QMainWindow, QToolBar, QWidget

__all__ = [
    "CentreLayout",
    "Layout",
    "LayoutFileError",
    "LayoutManager",
    "LayoutStore",
    "read_centre_layout",
    "screen_setup_key",
]

log = logging.getLogger(__name__)

FILE_FORMAT = 1
MIN_VISIBLE = 32  # px of a window's frame, each way, that must show on a screen
CASCADE = 32  # px between windows brought back together


class ScreenLike(Protocol):
    """What :func:`screen_setup_key` reads from a screen (``QScreen`` satisfies it)."""

    def name(self) -> str: ...
    def geometry(self) -> QRect: ...
    def devicePixelRatio(self) -> float: ...


class Layout(TypedDict):
    """One saved layout, as stored in the JSON file."""

    version: int
    geometry: str  # base64 of QMainWindow.saveGeometry()
    state: str  # base64 of QMainWindow.saveState(version)
    floating: dict[str, list[Any]]  # dock objectName -> [x, y, w, h, screen name]
    window: NotRequired[list[Any]]  # the main window: [x, y, w, h, screen name]
    panels: NotRequired[dict[str, Any]]  # dock objectName -> its widget's save_state()
    saved_at: str  # ISO 8601, UTC


def _rect(r: QRect) -> list[int]:
    return [r.x(), r.y(), r.width(), r.height()]


def screen_setup_key(screens: Sequence[ScreenLike]) -> str:
    """A stable key for a set of screens, e.g. ``"2 screens-3f9a0c1b7e22"``.

    Derived from each screen's name, geometry and device pixel ratio, sorted, so the order Qt lists
    the screens in does not matter, while renaming, moving, resizing or rescaling any screen does.
    """
    parts = sorted(f"{s.name()}|{_rect(s.geometry())}|{s.devicePixelRatio():g}" for s in screens)
    digest = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:12]
    return f"{len(parts)} screen{'' if len(parts) == 1 else 's'}-{digest}"


_FIELDS = {"version": int, "geometry": str, "state": str, "floating": dict, "saved_at": str}


def _is_layout(obj: object) -> bool:
    return isinstance(obj, dict) and all(type(obj.get(k)) is t for k, t in _FIELDS.items())


class LayoutFileError(ValueError):
    """A read-only layouts file cannot be used (missing, unreadable, not a layouts file)."""


class LayoutStore:
    """Layouts in one JSON file: per screen-set-up key, the current layout and named layouts.

    File shape: ``{"format": 1, "setups": {key: {"current": Layout | null, "named": {name:
    Layout}}}}``. The file is read once, at construction; every change is written at once.
    Entries that are not well-formed layouts are dropped with a warning. ``read_only`` (a file
    IT deployed): a file that cannot be used raises `LayoutFileError` instead of being moved
    aside, and nothing is ever written.
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._setups: dict[str, dict[str, Any]] = self._read()

    def _read(self) -> dict[str, dict[str, Any]]:
        if not self.read_only and not self.path.exists():
            return {}
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            if self.read_only:
                raise LayoutFileError(f"{self.path} cannot be read ({exc.strerror})") from None
            log.exception("cannot read layouts from %s; starting with none", self.path)
            return {}
        try:
            doc = json.loads(raw.decode("utf-8"))
            if not isinstance(doc, dict) or not isinstance(doc.get("setups"), dict):
                raise ValueError("not a layout file")
            return {str(k): self._clean(str(k), v) for k, v in doc["setups"].items()}
        except (ValueError, TypeError, AttributeError) as exc:
            if self.read_only:
                raise LayoutFileError(f"{self.path} is not a layouts file ({exc})") from None
            self._move_aside(exc)
            return {}

    def _clean(self, key: str, setup: Any) -> dict[str, Any]:
        current, given = setup.get("current"), dict(setup.get("named") or {})
        named = {str(name): lay for name, lay in given.items() if _is_layout(lay)}
        if (current is not None and not _is_layout(current)) or len(named) < len(given):
            log.warning("layouts for %s: dropping malformed entries", key)
        return {"current": current if _is_layout(current) else None, "named": named}

    def _move_aside(self, exc: Exception) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        try:
            os.replace(self.path, aside)
            log.warning("layout file %s is corrupt (%s); moved to %s", self.path, exc, aside.name)
        except OSError:
            log.exception("layout file %s is corrupt (%s) and cannot be moved", self.path, exc)

    def _write(self) -> bool:
        if self.read_only:
            log.warning("layouts file %s is read-only: not written", self.path)
            return False
        text = json.dumps({"format": FILE_FORMAT, "setups": self._setups}, indent=1, sort_keys=True)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(".tmp", f".{self.path.name}.", self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError:
            log.exception("cannot write layouts to %s", self.path)
            return False
        return True

    def _setup(self, key: str) -> dict[str, Any]:
        return self._setups.setdefault(key, {"current": None, "named": {}})

    def current(self, key: str) -> Layout | None:
        """The current layout saved for ``key``, if any."""
        layout: Layout | None = self._setups.get(key, {}).get("current")
        return layout

    def set_current(self, key: str, layout: Layout) -> bool:
        """Save ``layout`` as the current one for ``key``; ``False`` if it could not be written."""
        self._setup(key)["current"] = layout
        return self._write()

    def current_candidates(self, key: str) -> Iterator[Layout]:
        """The current layout of ``key`` first, then those of other set-ups, newest first."""
        if (own := self.current(key)) is not None:
            yield own
        others = [s["current"] for k, s in self._setups.items() if k != key and s["current"]]
        yield from sorted(others, key=lambda lay: lay["saved_at"], reverse=True)

    def names(self) -> list[str]:
        """Every layout name, over all screen set-ups, sorted."""
        return sorted({name for s in self._setups.values() for name in s["named"]})

    def named(self, key: str, name: str) -> Layout | None:
        """Layout ``name`` as saved for ``key``, else the newest of that name for another set-up."""
        own: Layout | None = self._setups.get(key, {}).get("named", {}).get(name)
        if own is not None:
            return own
        return max(self.all_named(name), key=lambda lay: lay["saved_at"], default=None)

    def all_named(self, name: str) -> list[Layout]:
        """Layout ``name`` as saved for each screen set-up that has one."""
        return [s["named"][name] for s in self._setups.values() if name in s["named"]]

    def set_named(self, key: str, name: str, layout: Layout) -> bool:
        """Save ``layout`` as ``name`` for ``key``; ``False`` if it could not be written."""
        self._setup(key)["named"][name] = layout
        return self._write()

    def delete_named(self, name: str) -> bool:
        """Delete layout ``name`` for every set-up; ``True`` if there was one."""
        found = [s["named"].pop(name) for s in self._setups.values() if name in s["named"]]
        return bool(found) and self._write()


@dataclass(frozen=True)
class CentreLayout:
    """The centre's default layout: the layout ``name`` of a layouts file IT exported (a copy
    of a configured workstation's ``layouts.json``), opened read-only."""

    store: LayoutStore
    name: str

    def for_setup(self, key: str) -> Layout | None:
        """The layout as saved for screen set-up ``key``, else the newest saved on another."""
        return self.store.named(key, self.name)


def read_centre_layout(path: Path, name: str, version: int) -> CentreLayout:
    """Open ``path`` read-only and check it has a layout ``name`` of ``version`` (the window's
    `LayoutManager` version). Raises `LayoutFileError` saying what is wrong."""
    store = LayoutStore(path, read_only=True)
    found = store.all_named(name)
    if not found:
        names = ", ".join(f'"{n}"' for n in store.names()) or "none"
        raise LayoutFileError(f'{path} has no layout named "{name}" (it has: {names})')
    if all(layout["version"] != version for layout in found):
        raise LayoutFileError(
            f'layout "{name}" in {path} was saved by another version of dispatch-desktop '
            f"(layout version {found[0]['version']}, this one reads {version}): save it again "
            "on a workstation of this version and export that file"
        )
    return CentreLayout(store, name)


def _reachable(frame: QRect, screens: Sequence[QScreen]) -> bool:
    need_w, need_h = min(MIN_VISIBLE, frame.width()), min(MIN_VISIBLE, frame.height())
    shown = (frame.intersected(s.availableGeometry()) for s in screens)
    return any(not r.isEmpty() and r.width() >= need_w and r.height() >= need_h for r in shown)


def _clamped(rect: QRect, area: QRect) -> QRect:
    """``rect`` shrunk to fit ``area`` and moved the least distance needed to lie inside it."""
    w, h = min(rect.width(), area.width()), min(rect.height(), area.height())
    x = max(area.left(), min(rect.left(), area.right() - w + 1))
    return QRect(x, max(area.top(), min(rect.top(), area.bottom() - h + 1)), w, h)


def _set_normal_geometry(widget: QWidget, rect: QRect) -> None:
    """Give ``widget`` the geometry ``rect`` as a normal window, then its maximized state back."""
    state = widget.windowState()
    big = state & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen)
    if big:
        widget.setWindowState(Qt.WindowState.WindowNoState)
    widget.setGeometry(rect)
    if big:
        widget.setWindowState(state)


def _bring_onto(widget: QWidget, area: QRect, shift: int) -> None:
    """Centre ``widget``'s frame, shrunk to fit, on ``area``, then ``shift`` px down and right."""
    frame, inner = widget.frameGeometry(), widget.geometry()
    margins = frame.size() - inner.size()
    size = inner.size().boundedTo(area.size() - margins)
    target = QRect(QPoint(0, 0), size + margins)
    target.moveCenter(area.center() + QPoint(shift, shift))
    offset = inner.topLeft() - frame.topLeft()
    _set_normal_geometry(widget, QRect(_clamped(target, area).topLeft() + offset, size))


class LayoutManager:
    """Saves and restores the layout of ``window`` in ``store`` for the current screen set-up.

    ``apply_default(window)`` must put every dock in its default place from *any* state (docked or
    floating, shown or hidden): it is the layout in code used when nothing saved applies.
    ``version`` is passed to ``saveState``/``restoreState``; raise it whenever the set of docks or
    their meaning changes, and layouts saved with another version are ignored. ``centre``: the
    centre's default layout, which comes before the layout in code (`restore`, `reset`).
    ``create_dock(name)``: makes a dock a layout names that the window does not have yet (or
    returns None), before the layout is applied (see the module docstring).
    """

    def __init__(
        self,
        window: QMainWindow,
        store: LayoutStore,
        apply_default: Callable[[QMainWindow], None],
        version: int,
        centre: CentreLayout | None = None,
        create_dock: Callable[[str], QDockWidget | None] | None = None,
    ) -> None:
        self.window = window
        self.store = store
        self.apply_default = apply_default
        self.version = version
        self.centre = centre
        self.create_dock = create_dock
        self.check_object_names()

    def key(self) -> str:
        """The key of the screen set-up attached now."""
        return screen_setup_key(QGuiApplication.screens())

    def docks(self) -> dict[str, QDockWidget]:
        """The window's docks by objectName (docks without a name are left out)."""
        return {d.objectName(): d for d in self.window.findChildren(QDockWidget) if d.objectName()}

    def check_object_names(self) -> list[str]:
        """Warn about each dock or toolbar without a unique objectName; returns the complaints."""
        widgets = [*self.window.findChildren(QDockWidget), *self.window.findChildren(QToolBar)]
        names = [w.objectName() for w in widgets]
        problems = [
            f"{type(w).__name__} {w.windowTitle()!r} has no objectName"
            for w in widgets
            if not w.objectName()
        ]
        twice = sorted({n for n in names if n and names.count(n) > 1})
        problems += [f"objectName {n!r} is used twice" for n in twice]
        for problem in problems:
            log.warning("layout: %s; it cannot be saved or restored", problem)
        return problems

    def capture(self) -> Layout:
        """The window's layout now: geometry and state together, plus floating docks' places."""
        docks = self.docks().items()
        floating = {
            n: [*_rect(d.geometry()), d.screen().name()] for n, d in docks if d.isFloating()
        }
        layout = Layout(
            version=self.version,
            window=[*_rect(self.window.geometry()), self.window.screen().name()],
            geometry=base64.b64encode(self.window.saveGeometry().data()).decode(),
            state=base64.b64encode(self.window.saveState(self.version).data()).decode(),
            floating=floating,
            saved_at=datetime.now(UTC).isoformat(),
        )
        panels = {
            n: save() for n, d in docks if callable(save := getattr(d.widget(), "save_state", None))
        }
        if panels:
            layout["panels"] = panels
        return layout

    def _apply(self, layout: Layout) -> bool:
        """Apply ``layout``; ``False`` (window unchanged) if its version or data do not fit."""
        if layout["version"] != self.version:
            log.info("layout of version %s, not %s: ignored", layout["version"], self.version)
            return False
        try:
            geometry = QByteArray(base64.b64decode(layout["geometry"], validate=True))
            state = QByteArray(base64.b64decode(layout["state"], validate=True))
        except (binascii.Error, ValueError):
            log.warning("layout data is not base64: ignored")
            return False
        panels = layout.get("panels")
        panels = panels if isinstance(panels, dict) else {}
        if self.create_dock is not None:
            for name in sorted(set(panels) - set(self.docks())):
                self.create_dock(str(name))
        before = self.window.saveGeometry()
        self.window.restoreGeometry(geometry)
        if not self.window.restoreState(state, self.version):
            log.warning("Qt rejected the saved dock state: ignored")
            self.window.restoreGeometry(before)
            return False
        self._place(self.window, layout.get("window"))
        docks = self.docks()
        for name, record in layout["floating"].items():
            if (dock := docks.get(name)) is not None and dock.isFloating():
                self._place(dock, record)
        for name, panel_state in panels.items():
            dock = docks.get(name)
            restore = getattr(dock.widget(), "restore_state", None) if dock else None
            if callable(restore) and isinstance(panel_state, dict):
                restore(panel_state)
        return True

    def _place(self, widget: QWidget, record: Any) -> None:
        """Move ``widget`` onto the screen it was saved on, if that screen exists and it is not on
        it: ``restoreGeometry`` goes by screen *index*, which changes between set-ups."""
        try:
            x, y, w, h, screen_name = record
            rect = QRect(int(x), int(y), int(w), int(h))
        except (TypeError, ValueError):
            return
        screens = {s.name(): s for s in QGuiApplication.screens()}
        screen = screens.get(str(screen_name))
        if screen is not None and QGuiApplication.screenAt(widget.geometry().center()) != screen:
            _set_normal_geometry(widget, _clamped(rect, screen.availableGeometry()))

    def _top_levels(self) -> list[QWidget]:
        """The main window, then every floating dock (or floating tab group) it owns."""
        group = "QDockWidgetGroupWindow"
        return [self.window] + [
            w
            for w in self.window.findChildren(QWidget)
            if w.isWindow() and (isinstance(w, QDockWidget) or w.metaObject().className() == group)
        ]

    def restore(self) -> bool:
        """Restore the layout for this screen set-up; call once, at (or just before) first show.

        Tries the layout the user saved for this set-up, then the centre's default layout (if
        IT set one), then the user's layouts of other set-ups, newest first (so a dock floated
        onto a monitor that is now gone comes back on a visible one), else applies the layout
        in code. Returns whether a saved layout (the user's or the centre's) was used.
        """
        key = self.key()
        candidates = list(self.store.current_candidates(key))
        own = 1 if self.store.current(key) is not None else 0
        if self.centre is not None and (centre := self.centre.for_setup(key)) is not None:
            candidates.insert(own, centre)
        used = any(self._apply(layout) for layout in candidates)
        if not used:
            self.apply_default(self.window)
        self.ensure_visible()
        return used

    def save(self) -> bool:
        """Save the layout now as the current one for this screen set-up."""
        self.check_object_names()
        return self.store.set_current(self.key(), self.capture())

    def save_as(self, name: str) -> bool:
        """Save the layout now as ``name`` (stripped, not empty) for this screen set-up."""
        name = name.strip()
        if not name:
            raise ValueError("a layout needs a name")
        self.check_object_names()
        return self.store.set_named(self.key(), name, self.capture())

    def load(self, name: str) -> bool:
        """Apply layout ``name`` (this set-up's, else the newest saved on another set-up).

        Returns ``False`` and leaves the window as it was if there is no such layout or it does not
        apply (another version, bad data).
        """
        layout = self.store.named(self.key(), name)
        if layout is None or not self._apply(layout):
            return False
        self.ensure_visible()
        return True

    def delete(self, name: str) -> bool:
        """Delete layout ``name`` for every screen set-up; ``True`` if it existed."""
        return self.store.delete_named(name)

    def names(self) -> list[str]:
        """The names of all saved layouts (any set-up's layout can be loaded here), sorted."""
        return self.store.names()

    def reset(self) -> None:
        """Apply the default layout: the centre's, if IT set one that applies, else the layout
        in code (the saved layouts are kept)."""
        centre = self.centre.for_setup(self.key()) if self.centre is not None else None
        if centre is None or not self._apply(centre):
            self.apply_default(self.window)
        self.ensure_visible()

    def bring_floating_to_front(self) -> list[str]:
        """Show every floating dock that should show in front of the main window, on top.

        A dock restored (or brought back from a screen that is gone) before the main window was
        mapped comes up *behind* it on X11: the window manager stacks the window mapped last on
        top, and the dock's native window was made without the main window as its transient
        parent. So once the main window is shown, each visible floating dock is made transient
        for it (window managers keep such windows above their parent) and raised. Returns the
        objectNames raised."""
        main = self.window.windowHandle()
        raised = []
        for widget in self._top_levels()[1:]:
            if not widget.isVisible():
                continue
            handle = widget.windowHandle()
            if handle is not None and main is not None and handle.transientParent() is None:
                handle.setTransientParent(main)
            widget.raise_()
            raised.append(widget.objectName() or type(widget).__name__)
        return raised

    def ensure_visible(self) -> list[str]:
        """Bring every window of this layout that shows on no attached screen onto the primary one.

        "Shows" means at least ``MIN_VISIBLE`` px each way of its frame lies in some screen's
        available geometry. A window moved is centred (staggered by ``CASCADE``) on the primary
        screen and shrunk to fit it if larger. Returns the objectNames of the windows moved.
        """
        screens = QGuiApplication.screens()
        primary = QGuiApplication.primaryScreen()
        if not screens or primary is None:
            return []
        area = primary.availableGeometry()
        moved: list[str] = []
        for widget in self._top_levels():
            if _reachable(widget.frameGeometry(), screens):
                continue
            _bring_onto(widget, area, CASCADE * len(moved))
            if widget is not self.window and widget.isVisible():
                widget.raise_()  # brought back: in front, not behind the main window
            name = widget.objectName() or type(widget).__name__
            log.info("layout: moved %s onto screen %r", name, primary.name())
            moved.append(name)
        return moved
