"""Where the shipped read-only data lives (``resources/`` beside the packages, in a checkout, an
installed wheel, or a frozen build)."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["resource_path"]


def resource_path(*parts: str) -> Path:
    """Path of a file under ``resources/``."""
    frozen_root = getattr(sys, "_MEIPASS", None)  # PyInstaller onedir/onefile
    root = Path(frozen_root) if frozen_root else Path(__file__).resolve().parents[1]
    return root.joinpath("resources", *parts)
