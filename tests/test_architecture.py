"""The core knows no screen (DESIGN.md principle 1).

Two independent checks: the import-linter contract in pyproject.toml, and a plain AST scan of
every module in desktop/ and server/ so the rule still holds if import-linter is misconfigured.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE_PACKAGES = ("desktop", "server")
FORBIDDEN = frozenset({"PySide6", "qasync", "pyqtgraph", "shiboken6"})
CONTRACT_NAME = "The core and the server know no screen"


def _lint_imports_command() -> list[str]:
    script = Path(sys.executable).parent / (
        "lint-imports.exe" if os.name == "nt" else "lint-imports"
    )
    if script.exists():
        return [str(script), "--no-cache"]
    # Installed without its console script: run the same click command through this interpreter.
    runner = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"
    return [sys.executable, "-c", runner, "--no-cache", "--no-logo"]


def test_pyproject_declares_the_contract() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert set(config["root_packages"]) == set(CORE_PACKAGES)
    (contract,) = [c for c in config["contracts"] if c["name"] == CONTRACT_NAME]
    assert contract["type"] == "forbidden"
    assert set(contract["source_modules"]) == set(CORE_PACKAGES)
    assert set(contract["forbidden_modules"]) == FORBIDDEN


def test_import_linter_contract_is_kept() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        _lint_imports_command(),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert f"{CONTRACT_NAME} KEPT" in report, report
    assert "0 broken" in report, report


def _modules() -> list[Path]:
    return sorted(
        path
        for package in CORE_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def forbidden_imports(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, module) of every import of a forbidden top-level package in ``source``.

    Catches ``import X``, ``from X import y``, and ``importlib.import_module("X")`` /
    ``__import__("X")`` with a literal name.
    """
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if called in {"import_module", "__import__"} and isinstance(first, ast.Constant):
                names = [str(first.value)]
        found += [(node.lineno, name) for name in names if name.split(".")[0] in FORBIDDEN]
    return found


def test_scanner_catches_every_form_of_import() -> None:
    source = (
        "import os\n"
        "import PySide6.QtCore\n"
        "from qasync import QEventLoop\n"
        "import pyqtgraph as pg\n"
        "from shiboken6 import isValid\n"
        "import importlib\n"
        "importlib.import_module('PySide6.QtWidgets')\n"
        "__import__('qasync')\n"
        "from .PySide6 import nothing\n"
        "import PySide6x\n"
    )
    assert [line for line, _ in forbidden_imports(source)] == [2, 3, 4, 5, 7, 8]


def test_core_modules_exist() -> None:
    modules = [path.relative_to(ROOT).as_posix() for path in _modules()]
    assert "desktop/protocol/session.py" in modules
    assert "desktop/domain/world.py" in modules


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_core_module_imports_no_qt(path: Path) -> None:
    assert forbidden_imports(path.read_text(encoding="utf-8"), str(path)) == []
