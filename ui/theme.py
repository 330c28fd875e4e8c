"""Themes (dark by default: dispatch floors are dim), light, high contrast; font scaling; and
the application's icon.

A theme is a Fusion palette plus a small style sheet from ``resources/styles/<name>.qss`` for
what palettes cannot say (the connection banner's states, table density).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from desktop.resources import resource_path

__all__ = ["DEFAULT_THEME", "THEMES", "application_icon", "apply_theme", "scale_font"]


@dataclass(frozen=True, slots=True)
class Theme:
    name: str
    window: str
    base: str
    alternate: str
    text: str
    muted: str
    highlight: str
    highlight_text: str
    button: str


THEMES: dict[str, Theme] = {
    "dark": Theme(
        "dark",
        "#161b22",
        "#0d1117",
        "#131920",
        "#c9d1d9",
        "#8b949e",
        "#1f6feb",
        "#ffffff",
        "#21262d",
    ),
    "light": Theme(
        "light",
        "#f3f4f6",
        "#ffffff",
        "#f6f8fa",
        "#1f2328",
        "#57606a",
        "#0969da",
        "#ffffff",
        "#e7e9ec",
    ),
    "high-contrast": Theme(
        "high-contrast",
        "#000000",
        "#000000",
        "#0a0a0a",
        "#ffffff",
        "#ffff00",
        "#ffff00",
        "#000000",
        "#000000",
    ),
}
DEFAULT_THEME = "dark"
BASE_POINT_SIZE = 10.0


def apply_theme(app: QApplication, name: str) -> Theme:
    """Apply the named theme (unknown names fall back to the default)."""
    theme = THEMES.get(name, THEMES[DEFAULT_THEME])
    app.setStyle(QStyleFactory.create("Fusion"))
    palette = QPalette()
    role = QPalette.ColorRole
    for roles, colour in (
        ((role.Window,), theme.window),
        ((role.Base,), theme.base),
        ((role.AlternateBase,), theme.alternate),
        ((role.WindowText, role.Text, role.ButtonText, role.ToolTipText), theme.text),
        ((role.PlaceholderText,), theme.muted),
        ((role.Highlight,), theme.highlight),
        ((role.HighlightedText,), theme.highlight_text),
        ((role.Button, role.ToolTipBase), theme.button),
    ):
        for item in roles:
            palette.setColor(item, QColor(colour))
    app.setPalette(palette)
    sheet = resource_path("styles", f"{theme.name}.qss")
    app.setStyleSheet(sheet.read_text(encoding="utf-8") if sheet.exists() else "")
    app.setProperty("dispatch_theme", theme.name)
    return theme


def scale_font(app: QApplication, scale: float) -> float:
    """Scale the application font (clamped to 0.8-2.0); returns the scale applied."""
    scale = min(2.0, max(0.8, scale))
    font = QFont(app.font())
    font.setPointSizeF(BASE_POINT_SIZE * scale)
    app.setFont(font)
    app.setProperty("dispatch_font_scale", scale)
    return scale


def application_icon() -> QIcon:
    """The window icon in every size of ``resources/icons`` (the installers' menu entries show
    the same renders); an empty icon, never an error, when they are missing."""
    icon = QIcon()
    for path in sorted(resource_path("icons").glob("dispatch-desktop-*.png")):
        icon.addFile(str(path))
    return icon
