"""Shared test set-up. Keep it small: fixtures belong next to the tests that use them."""

from __future__ import annotations

import os

# Qt picks its platform plugin when the QApplication is created; set it before any test makes
# one so that every Qt test runs without a screen (DESIGN.md section 8).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

#: Real-server fixtures (server process, fault proxy, client factory) for any test directory.
pytest_plugins = ["tests.support.fixtures"]
