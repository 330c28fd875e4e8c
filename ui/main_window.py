"""`MainWindow`: the dispatcher's workstation — dock panels, command line, connection banner.

Every panel is a `QDockWidget` with a stable objectName so layouts can be saved per screen
set-up (`ui.layouts`); every dock floats onto any monitor, tabs, closes, and comes back from the
View menu. The tables show live data through `BoardModels`, refreshed from the `Bridge` at most
once per frame.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QToolBar,
    QWidget,
)

from desktop.board_filter import area_labeller
from desktop.centre import CentreRules, load_centre_rules
from desktop.domain.roles import is_read_only
from desktop.geo.advice import Advisor
from desktop.geo.areas import AreaIndex
from desktop.link import LinkPhase, LinkStatus
from desktop.radio_clock import Sound
from desktop.service import DispatchService
from desktop.state import Change
from desktop.workstation_config import WorkstationConfig
from ui.activity_watch import ActivityWatch
from ui.background import run_behind
from ui.bridge import Bridge
from ui.collector import freeze_survivors
from ui.dialogs.questions import commands, question_box
from ui.docks import DOCKS, GO_TO_KEYS, apply_default_layout
from ui.layouts import CentreLayout, LayoutManager, LayoutStore
from ui.map.docks import MapDocks
from ui.models.board import BoardModels
from ui.panels.alerts import ACKNOWLEDGE_KEYS, AlertsPanel
from ui.panels.calltaking import CallTakingPanel
from ui.panels.incident_detail import IncidentDetailPanel
from ui.panels.incidents import IncidentsPanel
from ui.panels.radio import ACKNOWLEDGE_ALARM_KEYS, RadioPanel
from ui.panels.recommendation import DISPATCH_RECOMMENDED_KEYS
from ui.panels.supervisor import SupervisorPanel
from ui.panels.units import UnitsPanel
from ui.selection import Selection
from ui.theme import THEMES, apply_theme, scale_font
from ui.wallboard import WALLBOARD_KEYS, WallBoard
from ui.widgets.clock import ClockLabel
from ui.widgets.command_line import CommandLine
from ui.widgets.connection_banner import ConnectionBanner
from ui.widgets.message_line import MessageState
from ui.widgets.outage_bar import OutageBar
from ui.widgets.scrolling import scrolling

__all__ = ["LAYOUT_VERSION", "MainWindow", "identity_words", "quit_words"]

LAYOUT_VERSION = 1
#: Link phases in which the board shows what there is to show: the road graph may load now.
_BOARD_SETTLED = frozenset(
    {LinkPhase.LIVE, LinkPhase.REPLAYING, LinkPhase.OFFLINE, LinkPhase.SIGNED_OUT}
)
_ERROR_STYLE = "background:#490202;color:#ffdcd7;padding:4px 10px;"
_NOTICE_STYLE = "background:#1d2b3a;color:#dbe9f7;padding:4px 10px;"
#: The road graph starts loading this long after the window is shown, settled or not (ms).
ROADS_AT_THE_LATEST_MS = 3000


def identity_words(service: DispatchService) -> str:
    """Who is signed in at this position, in which role: ``ann · dispatcher``. Before the
    server has confirmed it: the role asked for, or that it is not known yet."""
    user = service.state.actor
    if service.link.role is not None:
        role = service.link.role
        return f"{user} · {role}" + (" (monitoring)" if role == "supervisor" else "")
    if not service.status.ever_connected:
        return f"{user} · not signed in yet (server never reached)"
    if service.config.role_requested is not None:
        return f"{user} · {service.config.role_requested} (not confirmed yet)"
    return f"{user} · role not confirmed yet"


def quit_words(service: DispatchService) -> tuple[str, str] | None:
    """(text, detail) of the question Quit asks while commands are queued or refused here;
    None when nothing is waiting (Quit asks nothing)."""
    queued, refused = len(service.outbox), len(service.needs_attention())
    if not queued and not refused:
        return None
    url, user = service.config.url, service.state.actor
    lines = []
    if queued:
        verb = "is" if queued == 1 else "are"
        text = f"{commands(queued)} {verb} queued and not sent."
        lines.append(
            f"{commands(queued)} will be kept on this workstation and sent to {url} the next "
            f"time {user} signs in to it (or moved to another server when asked at sign-in)."
        )
        if not service.status.ever_connected:
            lines.append(
                f"{url} has never answered this workstation: the password was never checked. "
                "Check the server address with IT."
            )
    else:
        text = f"{commands(refused)} refused by the server wait in Needs attention."
    if queued and refused:
        lines.append(f"{commands(refused)} refused by the server wait in Needs attention.")
    return text, "\n\n".join(lines)


class MainWindow(QMainWindow):
    """The workstation window. ``closed`` is emitted once the window has saved and closed."""

    closed = Signal()

    def __init__(
        self,
        service: DispatchService,
        bridge: Bridge,
        config_dir: Path,
        *,
        on_log_out: Callable[[], None] | None = None,
        sound: Callable[[], object] | None = None,
        radio_sound: Callable[[Sound], object] | None = None,
        rules: CentreRules | None = None,
        on_sign_in_again: Callable[[], None] | None = None,
        config: WorkstationConfig | None = None,
        centre_layout: CentreLayout | None = None,
    ) -> None:
        """``on_sign_in_again`` backs File → Sign in again, offered while signed out;
        ``sound`` is played when timers raise new alerts (default: `desktop.sound`);
        ``radio_sound`` sounds radio alarms, given the level (default: the emergency alarms);
        ``rules``: the centre's timers and run cards (default: read from resources/); units
        are recommended over the SF road graph. ``config``: the workstation configuration
        (default: none); what IT locked in it cannot be changed from the View menu.
        ``centre_layout``: the centre's default layout (`ui.layouts.LayoutManager`)."""
        super().__init__()
        self.setObjectName("main_window")
        self.setWindowTitle(f"dispatch-desktop — {service.state.actor} — {service.link.url}")
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
            | QMainWindow.DockOption.AllowNestedDocks
        )
        self.service = service
        self.bridge = bridge
        self.config = config or WorkstationConfig.defaults()
        self.settings = QSettings(str(config_dir / "workstation.ini"), QSettings.Format.IniFormat)
        self._on_log_out = on_log_out
        self._radio_sound = radio_sound
        self._on_sign_in_again = on_sign_in_again
        self._quit_confirmed = False
        self._logging_out = False
        self.quit_question: QMessageBox | None = None
        self.area_index = AreaIndex.load_default()
        rules = rules or load_centre_rules()
        self.rules = rules
        self.models = BoardModels(
            service,
            sound=sound,
            area_of=area_labeller(self.area_index),
            timer_config=rules.timers,
        )
        self.selection = Selection(self)
        self.advisor = Advisor(rules.runcards)
        self.docks: dict[str, QDockWidget] = {}
        self._build_outage_bar()
        self._build_error_banner()
        self._build_docks()
        self._build_command_line()
        self.activity = ActivityWatch(self)  # what this position has open, for the supervisors
        self.alerts_panel.edit_requested.connect(self.command_line.edit_refused)
        self._build_status_bar()
        apply_default_layout(self)  # until the saved layout is restored on first show
        self.layouts = LayoutManager(
            self,
            LayoutStore(config_dir / "layouts.json"),
            apply_default_layout,
            LAYOUT_VERSION,
            centre=centre_layout,
            create_dock=self.maps.create_dock,  # extra maps a saved layout names
        )
        self._build_menus()
        for keys in ("F2", "Ctrl+L"):
            QShortcut(
                QKeySequence(keys),
                self,
                self.command_line.focus_input,
                context=Qt.ShortcutContext.ApplicationShortcut,
            )
        QShortcut(
            QKeySequence(DISPATCH_RECOMMENDED_KEYS),
            self,
            self.dispatch_recommended,
            context=Qt.ShortcutContext.ApplicationShortcut,
        )
        QShortcut(
            QKeySequence(ACKNOWLEDGE_ALARM_KEYS),
            self,
            self.radio_panel.acknowledge_first,
            context=Qt.ShortcutContext.ApplicationShortcut,
        )
        QShortcut(
            QKeySequence(ACKNOWLEDGE_KEYS),
            self,
            self.alerts_panel.acknowledge_selected_or_oldest,
            context=Qt.ShortcutContext.ApplicationShortcut,
        )
        bridge.changed.connect(self._on_changed)
        bridge.status.connect(self._on_status)
        bridge.error.connect(self.show_error)
        self._second = QTimer(self)
        self._second.setInterval(1000)
        self._second.timeout.connect(self._tick)
        self._second.start()
        self._restored = False
        self._roads_started = False
        self._roads_timer = QTimer(self)
        self._roads_timer.setSingleShot(True)
        self._roads_timer.setInterval(ROADS_AT_THE_LATEST_MS)
        self._roads_timer.timeout.connect(self._load_roads_behind_the_board)
        self.resize(1600, 950)

    # --- building ------------------------------------------------------------------------------

    def _build_outage_bar(self) -> None:
        self.outage_bar = OutageBar(
            self.service.link.url,
            self.service.link.reconnect_now,
            self._sign_in_again if self._on_sign_in_again is not None else None,
        )
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.outage_bar)
        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)  # full width: a row of its own

    def _build_error_banner(self) -> None:
        self.error_banner = QLabel()
        self.error_banner.setObjectName("error_banner")
        self.error_banner.setStyleSheet(_ERROR_STYLE)
        self.error_banner.setWordWrap(True)
        self.error_banner.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        # never hidden itself: a toolbar's widget hidden before it is added stays hidden (its
        # action is), and the bar would show only "Dismiss"; the bar shows and hides for it
        self.error_bar = bar = QToolBar("Errors")
        bar.setObjectName("error_bar")
        bar.setMovable(False)
        bar.addWidget(self.error_banner)
        bar.addAction("Dismiss", bar.hide)
        bar.toggleViewAction().setVisible(False)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        bar.hide()

    def _build_docks(self) -> None:
        self.incidents_panel = IncidentsPanel(
            self.service,
            self.models,
            self.selection,
            areas=self.area_index.battalions(),
            settings=self.settings,
            types=self.advisor.runcards.incident_types(),
        )
        self.incidents_view = self.incidents_panel.view  # bench/ui_latency.py and tests use it
        self.units_panel = UnitsPanel(self.service, self.models, self.selection)
        self.units_view = self.units_panel.view
        self.alerts_panel = AlertsPanel(self.service, self.models, self.selection)
        self.incident_detail = IncidentDetailPanel(self.service, self.selection, self.advisor)
        self.call_taking = CallTakingPanel(
            self.service,
            self.advisor.runcards,
            rule=self.config.duplicate_rule,
            cards_dir=self.config.cards_dir,
        )
        self.call_taking.focus_requested.connect(lambda: self.go_to("call_taking"))
        self.call_taking.incident_saved.connect(self._select_beside_call_taking)
        self.call_taking.questioning.recommended = self._recommended_for
        self._keep_call_taking_in_front = False  # see _select_beside_call_taking
        self.radio_panel = RadioPanel(
            self.service, self.rules.radio, settings=self.settings, play=self._radio_sound
        )
        self.supervisor_panel = SupervisorPanel(self.service, self._unacknowledged)
        self.wallboard: WallBoard | None = None
        self._monitoring_shown = False
        self.maps = MapDocks(self)  # built behind the board: see _load_roads_behind_the_board
        self.maps.loaded.connect(freeze_survivors)  # the last of start-up's loads
        self.maps.loaded.connect(self.call_taking.questioning.load_cards)  # then the cards
        self.maps.loaded.connect(self.supervisor_panel.load_charts)  # pyqtgraph is loaded now
        content: dict[str, QWidget] = {
            "map": self.maps.holder("map"),
            # the tall panels scroll rather than hold the map beside them to a sliver
            "call_taking": scrolling(self.call_taking),
            "incidents": self.incidents_panel,
            "units": self.units_panel,
            "alerts": self.alerts_panel,
            "incident_detail": scrolling(self.incident_detail),
            "radio": self.radio_panel,
            "supervisor": scrolling(self.supervisor_panel),
        }
        for spec in DOCKS:
            dock = QDockWidget(spec.title, self)
            dock.setObjectName(spec.name)
            dock.setFeatures(
                QDockWidget.DockWidgetFeature.DockWidgetClosable
                | QDockWidget.DockWidgetFeature.DockWidgetMovable
                | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            )
            dock.setWidget(content[spec.name])
            self.docks[spec.name] = dock
            self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        # the Alerts dock's title counts the unacknowledged alerts
        self.alerts_panel.windowTitleChanged.connect(self.docks["alerts"].setWindowTitle)
        # choosing an incident anywhere brings its detail to the front
        self.selection.incident_changed.connect(self._show_detail)
        self.docks["alerts"].setWindowTitle(self.alerts_panel.windowTitle())
        # the Incidents dock's title names the filter; Enter on a row opens Incident detail
        self.incidents_panel.windowTitleChanged.connect(self.docks["incidents"].setWindowTitle)
        self.docks["incidents"].setWindowTitle(self.incidents_panel.windowTitle())
        self.incidents_panel.open_requested.connect(self._show_detail)
        self.radio_watch = self.radio_panel.attach(self.docks["radio"])
        self.radio_watch.queue_changed.connect(self.maps.show_alarms)
        self.radio_watch.shown.connect(self._centre_on_alarm)
        self.maps.loaded.connect(self._centre_on_first_alarm)  # one raised before the maps

    def _build_command_line(self) -> None:
        self.command_line = CommandLine(
            self.service,
            self.selection,
            incident_types=self.advisor.runcards.incident_types(),
            radio=self.radio_panel.plan,
        )
        bar = QToolBar("Command line")
        bar.setObjectName("command_line_bar")
        bar.setMovable(False)
        bar.setFloatable(False)
        bar.addWidget(self.command_line)
        bar.toggleViewAction().setVisible(False)
        self.addToolBar(Qt.ToolBarArea.BottomToolBarArea, bar)

    def _build_status_bar(self) -> None:
        self.banner = ConnectionBanner(lambda: self.service.status)
        self.clock = ClockLabel(lambda: self.service.status.clock_offset)
        self.identity = QLabel(identity_words(self.service))
        self.identity.setObjectName("signed_in_as")
        self.identity.setToolTip("Signed in at this position as")
        self.statusBar().addWidget(self.banner)
        self.statusBar().addPermanentWidget(self.identity)
        self.statusBar().addPermanentWidget(self.clock)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.sign_in_again_action = file_menu.addAction("Sign &in again…", self._sign_in_again)
        self.sign_in_again_action.setObjectName("sign_in_again")
        self.sign_in_again_action.setEnabled(False)  # only while signed out
        self.sign_in_again_action.setVisible(self._on_sign_in_again is not None)
        if self._on_log_out is not None:
            file_menu.addAction("Log &out", self._log_out)
        quit_action = file_menu.addAction("&Quit", self.close)
        quit_action.setObjectName("quit")
        # Ctrl+Q on every platform (the platform's own Quit keys are empty on some), and it
        # goes through closeEvent like File → Quit: asked while commands wait
        quit_keys = [QKeySequence("Ctrl+Q")]
        quit_keys += [
            k for k in QKeySequence.keyBindings(QKeySequence.StandardKey.Quit) if k != quit_keys[0]
        ]
        quit_action.setShortcuts(quit_keys)
        quit_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        view = self.menuBar().addMenu("&View")
        for spec in DOCKS:
            action = self.docks[spec.name].toggleViewAction()
            action.setObjectName(f"show_{spec.name}")
            view.addAction(action)
        view.addAction(self.maps.new_map_action)
        self.wallboard_action = view.addAction("&Wall-board", self.toggle_wallboard)
        self.wallboard_action.setObjectName("wallboard")
        self.wallboard_action.setShortcut(QKeySequence(WALLBOARD_KEYS))
        self.wallboard_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        view.addSeparator()
        go_to = view.addMenu("&Go to")
        for name, keys in GO_TO_KEYS.items():
            action = go_to.addAction(self.docks[name].windowTitle().split(" · ")[0])
            action.setObjectName(f"go_to_{name}")
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            action.triggered.connect(lambda _=False, n=name: self.go_to(n))
        view.addSeparator()
        view.setToolTipsVisible(True)  # a control IT locked says so
        self.theme_menu = themes = view.addMenu("&Theme")
        themes.setObjectName("theme_menu")
        for name in THEMES:
            label = name.replace("-", " ").title()
            themes.addAction(label, functools.partial(self.set_theme, name))
        self._lock(themes.menuAction(), "workstation.theme")
        self.text_size_actions = [
            view.addAction("&Bigger text", QKeySequence("Ctrl++"), lambda: self.zoom(0.1)),
            view.addAction("&Smaller text", QKeySequence("Ctrl+-"), lambda: self.zoom(-0.1)),
            view.addAction("&Normal text", QKeySequence("Ctrl+0"), lambda: self.zoom(None)),
        ]
        for action in self.text_size_actions:
            self._lock(action, "workstation.font_scale")
        self.layouts_menu = self.menuBar().addMenu("&Layouts")
        self.layouts_menu.aboutToShow.connect(self._fill_layouts_menu)
        self._fill_layouts_menu()

    def _lock(self, action: QAction, key: str) -> None:
        """Disable ``action`` when IT locked ``key``, saying so where the action is."""
        if self.config.is_locked(key):
            action.setEnabled(False)
            action.setToolTip(self.config.locked_words(key))
            action.setStatusTip(self.config.locked_words(key))

    def _fill_layouts_menu(self) -> None:
        menu = self.layouts_menu
        menu.clear()
        menu.addAction("&Save layout as…", self._save_layout_as)
        load = QMenu("&Load", menu)
        delete = QMenu("&Delete", menu)
        for name in self.layouts.names():
            load.addAction(name, functools.partial(self.layouts.load, name))
            delete.addAction(name, functools.partial(self.layouts.delete, name))
        load.setEnabled(bool(self.layouts.names()))
        delete.setEnabled(bool(self.layouts.names()))
        menu.addMenu(load)
        menu.addMenu(delete)
        menu.addSeparator()
        reset = menu.addAction("&Reset to default", self.layouts.reset)
        if self.layouts.centre is not None:
            said = f'The centre\'s layout "{self.layouts.centre.name}", set by your IT staff'
            reset.setStatusTip(said)
            reset.setToolTip(said)
            menu.setToolTipsVisible(True)

    # --- behaviour -----------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        if not self._restored:
            self._restored = True
            self.layouts.restore()
            self._roads_timer.start()  # in case the link never settles (no server at all)
            self.outage_bar.show_status(self.service.status)  # restoreState may have shown it
            # once this window is up, floating docks come to the front (a dock restored before
            # the window was mapped would otherwise stay behind it)
            QTimer.singleShot(0, self.layouts.bring_floating_to_front)
        super().showEvent(event)

    def _load_roads_behind_the_board(self) -> None:
        """The board first: once it is up to date (or offline), the road graph (scipy, the graph
        file) loads in a worker thread, and Incident detail works out its recommendation when
        it is there; then the maps load (`ui.map.docks.MapDocks.start`). Loading it during the
        resync would compete with it for the interpreter."""
        self._roads_timer.stop()
        if not self._roads_started and not self.advisor.ready:
            self._roads_started = True

            def loaded(_error: str | None) -> None:
                self.incident_detail.refresh_advice()
                self.maps.start()  # the map third (between events: `MapDocks.start`)

            run_behind(self, "road graph", self.advisor.load, loaded)
        elif not self._roads_started:
            self.maps.start()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Quit (File → Quit, Ctrl+Q, the window's close button, Log out) asks first while
        commands are queued or refused here, saying how many and where they will go."""
        words = None if self._quit_confirmed else quit_words(self.service)
        if words is not None:
            event.ignore()
            self._ask_before_quitting(*words)
            return
        if self._logging_out and self._on_log_out is not None:
            self._on_log_out()
        self.layouts.save()
        self.activity.stop()
        super().closeEvent(event)
        self.closed.emit()

    def _ask_before_quitting(self, text: str, detail: str) -> None:
        if self.quit_question is not None and self.quit_question.isVisible():
            self.quit_question.raise_()
            return
        verb = "Log out" if self._logging_out else "Quit"
        box, (keep, _) = question_box(
            "quit_question",
            f"{verb} · dispatch-desktop",
            text,
            detail,
            [
                ("Keep working", QMessageBox.ButtonRole.RejectRole),
                (f"{verb} anyway", QMessageBox.ButtonRole.DestructiveRole),
            ],
            parent=self,
        )
        self.quit_question = box

        def answered(_result: int) -> None:
            if box.clickedButton() not in (None, keep):
                self._quit_confirmed = True
                QTimer.singleShot(0, self.close)
            else:
                self._logging_out = False

        box.finished.connect(answered)
        box.open()  # never exec() under qasync

    def _recommended_for(self, incident_id: str) -> list[str]:
        """The units F9 would send for ``incident_id`` now (none unless it is in detail)."""
        if self.selection.incident_id != incident_id:
            return []
        return self.incident_detail.recommendation.recommended()

    def dispatch_recommended(self) -> bool:
        """F9: send the recommended units of the incident in detail — only if the dispatcher
        can see them: in Incident detail, or beside the questioning in Call-taking (which
        shows them). A closed or hidden Incident detail is brought up instead, to check the
        recommendation and press F9 again. True if the dispatch was queued."""
        questioning = self.call_taking.questioning
        calltaking = self.docks["call_taking"]
        if (
            questioning.incident_id is not None
            and questioning.incident_id == self.selection.incident_id
            and calltaking.isVisible()
            and not calltaking.visibleRegion().isEmpty()
            and self._recommended_for(questioning.incident_id)
        ):
            return self.incident_detail.dispatch_recommended()
        dock = self.docks["incident_detail"]
        if not dock.isVisible() or dock.visibleRegion().isEmpty():
            self.go_to("incident_detail")
            self.incident_detail.say(
                f"Check the recommendation, then press {DISPATCH_RECOMMENDED_KEYS} again",
                MessageState.REFUSED,
            )
            return False
        return self.incident_detail.dispatch_recommended()

    def go_to(self, name: str) -> None:
        """Bring the dock ``name`` to the front (shown, raised, its window active) and put the
        keyboard in it: the table of a board panel, the note line of Incident detail, the
        first map's view (arrows, +/-, Menu)."""
        dock = self.docks[name]
        dock.show()
        dock.raise_()
        dock.activateWindow()
        target = {
            "incidents": self.incidents_view,
            "units": self.units_view,
            "incident_detail": self.incident_detail.note,
            "alerts": self.alerts_panel.alerts_view,
            "call_taking": self.call_taking.address.field,
            "map": self.maps.holder("map").focus_target(),
            "radio": self.radio_panel.entry,
            "supervisor": self.supervisor_panel,
        }[name]
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def set_theme(self, name: str) -> bool:
        """Apply and remember theme ``name``; refused (False, said) when IT locked the theme."""
        app = QApplication.instance()
        if self.config.is_locked("workstation.theme"):
            said = self.config.locked_words("workstation.theme")
            self.show_notice(f"The theme cannot be changed here. {said}.")
            return False
        if isinstance(app, QApplication):
            apply_theme(app, name)
            self.settings.setValue("theme", name)
        return True

    def zoom(self, step: float | None) -> None:
        """Bigger (+step), smaller (-step) or normal (None) text; nothing when IT locked it."""
        app = QApplication.instance()
        if not isinstance(app, QApplication) or self.config.is_locked("workstation.font_scale"):
            return
        current = float(app.property("dispatch_font_scale") or 1.0)
        scale = scale_font(app, 1.0 if step is None else current + step)
        self.settings.setValue("font_scale", scale)

    def show_error(self, message: str) -> None:
        """Show an unexpected error above the panels (it stays until the next one or a click)."""
        self.error_banner.setStyleSheet(_ERROR_STYLE)
        self.error_banner.setText(f"⚠ {message}")
        self.error_bar.show()

    def show_notice(self, message: str) -> None:
        """Tell the dispatcher something they must know but that is not an error (the sign-in
        could not be remembered, queued work was sent), in the same place, calmer."""
        self.error_banner.setStyleSheet(_NOTICE_STYLE)
        self.error_banner.setText(message)
        self.error_bar.show()

    def _save_layout_as(self) -> None:
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Save layout")
        dialog.setLabelText("Name of this layout:")
        dialog.textValueSelected.connect(lambda name: name.strip() and self.layouts.save_as(name))
        dialog.open()  # never exec() under qasync

    def _sign_in_again(self) -> None:
        if self._on_sign_in_again is not None:
            self._on_sign_in_again()

    def _log_out(self) -> None:
        """Log out: asked first like Quit while commands are waiting; the remembered sign-in
        is forgotten only once the window really closes."""
        self._logging_out = True
        self.close()

    def _on_changed(self, change: Change) -> None:
        self.models.apply(change)
        self.incident_detail.on_change(change)
        self.call_taking.on_change(change)
        self.maps.on_change(change)
        self.radio_panel.on_change(change)
        self.supervisor_panel.on_change(change)

    def _on_status(self, status: LinkStatus) -> None:
        if status.phase in _BOARD_SETTLED:
            self._load_roads_behind_the_board()
        self.banner.show_status(status)
        self.outage_bar.show_status(status)
        self.identity.setText(identity_words(self.service))
        self.sign_in_again_action.setEnabled(status.phase is LinkPhase.SIGNED_OUT)
        # monitoring mode (`ui.read_only`): the role granted, or asked for until the welcome
        # (``--monitor``), as `DispatchService` refuses by it
        role = self.service.role
        for panel in (
            self.command_line,
            self.incident_detail,
            self.radio_panel,
            self.units_panel,
            self.alerts_panel,
            self.call_taking,
            self.maps,
        ):
            panel.set_read_only_role(role)
        if is_read_only(role) and not self._monitoring_shown:
            self._monitoring_shown = True  # a monitoring position opens on the Supervisor panel
            self.docks["supervisor"].show()
            self.docks["supervisor"].raise_()

    def toggle_wallboard(self) -> WallBoard | None:
        """Open the wall-board full screen on this window's screen, or close it (F11)."""
        if self.wallboard is not None:
            self.wallboard.close()
            return None
        board = self.wallboard = WallBoard(self.supervisor_panel, self._link_words)
        board.closed.connect(self._wallboard_closed)
        screen = self.screen()
        if screen is not None:
            board.setGeometry(screen.geometry())
        self.supervisor_panel.tick()
        board.showFullScreen()
        return board

    def _link_words(self) -> str:
        """The connection as the status bar says it (``LIVE · last confirmed 2 s ago``)."""
        return f"{self.banner.state_label.text()} · {self.banner.confirmed_label.text()}"

    def _wallboard_closed(self) -> None:
        self.wallboard = None

    def _unacknowledged(self) -> tuple[int, int]:
        """(radio alarms, timer alerts) not acknowledged: the Supervisor panel's tile."""
        watch = getattr(self, "radio_watch", None)
        alarms = (
            0
            if watch is None
            else sum(i.alarm is not None and i.alarm.acknowledged_at is None for i in watch.queue)
        )
        return alarms, len(self.models.alert_book.unacknowledged())

    def _centre_on_alarm(self, key: str) -> None:
        """A radio alarm just brought forward: every map shows where the unit is."""
        for item in self.radio_watch.queue:
            if item.key == key:
                self.maps.centre_on_alarm(item)
                return

    def _centre_on_first_alarm(self) -> None:
        self.maps.show_alarms(self.radio_watch.queue)
        first = self.radio_watch.top()
        if first is not None and first.alarm is not None:
            self.maps.centre_on_alarm(first)

    def _show_detail(self, incident_id: str | None) -> None:
        if incident_id is not None and not self._keep_call_taking_in_front:
            self.docks["incident_detail"].raise_()

    def _select_beside_call_taking(self, incident_id: str) -> None:
        """An incident saved in Call-taking is selected everywhere, but Call-taking stays in
        front: the call-taker is still questioning the caller."""
        self._keep_call_taking_in_front = True
        try:
            self.selection.select_incident(incident_id)
        finally:
            self._keep_call_taking_in_front = False

    def _tick(self) -> None:
        if self.models.tick().raised:
            self.docks["alerts"].raise_()  # a new alert: bring the Alerts panel to the front
        self.incident_detail.tick()
        self.radio_panel.tick()
        if self.wallboard is not None or not self.docks["supervisor"].visibleRegion().isEmpty():
            self.supervisor_panel.tick()  # only while they show: the figures cost a scan
        self.banner.tick()
        self.outage_bar.show_status(self.service.status)  # the countdown to the next try
        self.clock.tick()
