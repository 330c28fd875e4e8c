"""Regression guard for the PySide6 pin (DESIGN.md section 8).

PySide6 6.12.0 on Python 3.11 drops a reference to ``None`` on every call of a Qt method that
returns nothing; after enough calls ``None`` is deallocated and the process aborts with
``Fatal Python error: none_dealloc``. These tests fail if an upgrade brings that back.
"""

from __future__ import annotations

import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version
from PySide6 import QtCore
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

CALLS = 5_000
PIN = ">=6.11.2,<6.12"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_void_qt_method_keeps_none_alive(qtbot: QtBot) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.setEnabled(True)  # warm up the binding before counting
    before = sys.getrefcount(None)
    for i in range(CALLS):
        widget.setEnabled(i % 2 == 0)
    after = sys.getrefcount(None)
    # With the bug the count falls by about CALLS; allow a little noise from the interpreter.
    assert after >= before - 50, f"None lost {before - after} references in {CALLS} void calls"
    assert widget.isEnabled() is False


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the pin is measured on Python 3.11")
def test_installed_pyside6_satisfies_the_pin() -> None:
    installed = Version(metadata.version("PySide6-Essentials"))
    assert installed in Requirement(f"PySide6-Essentials{PIN}").specifier, installed
    assert Version(QtCore.qVersion()).release[:2] == installed.release[:2]


def test_pyproject_keeps_the_pin() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pyside = [Requirement(d) for d in dependencies if Requirement(d).name == "PySide6-Essentials"]
    assert len(pyside) == 1
    assert str(pyside[0].specifier) == str(Requirement(f"x{PIN}").specifier)
