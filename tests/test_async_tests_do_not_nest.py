"""Async tests never spin a nested Qt event loop.

Under qasync an ``async def`` test runs as an asyncio task; ``qtbot.waitUntil`` (and
``qtbot.wait``, ``waitSignal``...) spin a nested Qt loop *inside that task's step*. Any other
task woken in that nested loop fails asyncio's ``_enter_task`` ("another task is being
executed"), its wake-up is lost, and it hangs for good: a link that never stops in teardown.
Async tests wait with ``tests.support.waiting.wait_until`` instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
NESTING_WAITS = frozenset(
    {"wait", "waitUntil", "waitSignal", "waitSignals", "waitExposed", "waitActive",
     "waitCallback", "assertNotEmitted"}
)  # fmt: skip


def nested_waits(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, ``qtbot.<wait>``) of every nesting wait called inside an ``async def``."""
    found: list[tuple[int, str]] = []
    for function in ast.walk(ast.parse(source, filename)):
        if not isinstance(function, ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in NESTING_WAITS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "qtbot"
            ):
                found.append((node.lineno, f"qtbot.{node.func.attr}"))
    return found


def test_the_scanner_finds_a_nested_wait_in_an_async_test_only() -> None:
    source = (
        "async def test_a(qtbot):\n"
        "    qtbot.waitUntil(lambda: True)\n"
        "def test_b(qtbot):\n"
        "    qtbot.waitUntil(lambda: True)\n"
    )
    assert nested_waits(source) == [(2, "qtbot.waitUntil")]


def test_no_async_test_spins_a_nested_qt_loop() -> None:
    offences = [
        f"{path.relative_to(TESTS)}:{line}: {call} in an async test (use wait_until)"
        for path in sorted(TESTS.rglob("*.py"))
        for line, call in nested_waits(path.read_text(encoding="utf-8"), str(path))
    ]
    assert offences == []
