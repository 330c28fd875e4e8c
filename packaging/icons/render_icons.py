"""Render ``resources/icons/dispatch-desktop.svg`` to the PNG sizes the window and the
installers use (Qt's SVG renderer).

Run after changing the SVG: ``python packaging/icons/render_icons.py``; the PNGs are committed so
that building an installer needs no SVG renderer (the bundle leaves QtSvg out).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[2] / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(HERE / "dispatch-desktop.svg"))
    if not renderer.isValid():
        print("dispatch-desktop.svg: not a valid SVG", file=sys.stderr)
        return 1
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        target = HERE / f"dispatch-desktop-{size}.png"
        image.save(str(target))
        print(target.relative_to(HERE.parents[1]))
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
