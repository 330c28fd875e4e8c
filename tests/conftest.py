"""Shared test set-up. Keep it small: fixtures belong next to the tests that use them."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Qt picks its platform plugin when the QApplication is created; set it before any test makes
# one so that every Qt test runs without a screen (DESIGN.md section 8).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# A workstation configuration IT deployed on this machine (/etc/dispatch-desktop/config.toml)
# must not change what the tests see: every workstation the tests start, in this process or in
# a subprocess, reads an empty file instead (tests of the configuration set their own).
_NO_IT_CONFIG = Path(tempfile.mkdtemp(prefix="dispatch-tests-")) / "config.toml"
_NO_IT_CONFIG.write_text("# tests/conftest.py: no IT configuration\n", encoding="utf-8")
os.environ["DISPATCH_DESKTOP_CONFIG"] = str(_NO_IT_CONFIG)

#: Real-server fixtures (server process, fault proxy, client factory) for any test directory.
pytest_plugins = ["tests.support.fixtures"]
