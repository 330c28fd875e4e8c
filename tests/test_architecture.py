"""The layers hold (DESIGN.md principles 1 and 6; docs/architecture.md, "Packages").

Two independent checks: the import-linter contracts in pyproject.toml (run here, every one must
be kept), and a plain AST scan of every module so the rules still hold if import-linter is
misconfigured: desktop/, server/ and sim/ import no Qt; desktop/ imports none of server, sim,
ui; server/ imports only the protocol, domain and geography of desktop/ and nothing of sim or
ui; sim/ imports no ui; ui/ reaches sim (and through it server) only in ui/demo_launcher.py.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE_PACKAGES = ("desktop", "server", "sim")
ROOT_PACKAGES = ("desktop", "server", "sim", "ui")
FORBIDDEN = frozenset({"PySide6", "qasync", "pyqtgraph", "shiboken6"})
CONTRACT_NAME = "The core, the server and the simulators know no screen"
LAYERS = "The workstation UI above the simulators above the server above the core"
CORE_LAYERS = "The core: the workstation above the shared geography, domain and protocol"
SERVER_SURFACE = "The server uses only the shared part of the core"
DEMO_ARROW = "The workstation UI reaches the demo floor only through ui.demo_launcher"
#: What the server may import of desktop/ (the shared part of the core): the run cards and
#: protocol cards for ``dispatch-server cards check``, and the shift report's files.
SHARED_CORE = (
    "desktop.protocol",
    "desktop.domain",
    "desktop.geo",
    "desktop.cards",
    "desktop.runcards",
    "desktop.reports",
)
#: The core package itself, which the server may import for ``__version__`` (only that: not
#: what is below it beyond `SHARED_CORE`).
CORE_ROOT = "desktop"
CORE_ROOT_NAMES = frozenset({CORE_ROOT, f"{CORE_ROOT}.__version__"})
DEMO_LAUNCHER = "ui/demo_launcher.py"


def _lint_imports_command() -> list[str]:
    script = Path(sys.executable).parent / (
        "lint-imports.exe" if os.name == "nt" else "lint-imports"
    )
    if script.exists():
        return [str(script), "--no-cache"]
    # Installed without its console script: run the same click command through this interpreter.
    runner = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"
    return [sys.executable, "-c", runner, "--no-cache", "--no-logo"]


def _config() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"][
        "importlinter"
    ]
    return config


def _contract(name: str) -> dict[str, Any]:
    (contract,) = [c for c in _config()["contracts"] if c["name"] == name]
    return contract


def test_pyproject_declares_the_contract() -> None:
    assert set(_config()["root_packages"]) == set(ROOT_PACKAGES)
    contract = _contract(CONTRACT_NAME)
    assert contract["type"] == "forbidden"
    assert set(contract["source_modules"]) == set(CORE_PACKAGES)
    assert set(contract["forbidden_modules"]) == FORBIDDEN


def test_pyproject_declares_the_layers() -> None:
    layers = _contract(LAYERS)
    assert layers["type"] == "layers"
    assert layers["layers"] == ["ui", "sim", "server", "desktop"]
    assert "containers" not in layers and "ignore_imports" not in layers


def test_pyproject_declares_the_layers_of_the_core() -> None:
    core = _contract(CORE_LAYERS)
    assert core["type"] == "layers" and core["containers"] == ["desktop"]
    assert core["exhaustive"] is True and "ignore_imports" not in core
    layers = [set(re.split(r"\s*[:|]\s*", layer.strip())) for layer in core["layers"]]
    assert "protocol" in layers[-1] and layers[-2] == {"domain"}  # the bottom of the core
    assert {"geo", "runcards", "cards", "reports"} in layers
    assert {"service", "link", "profiles"} <= layers[0]
    # every module of desktop/ is placed (import-linter checks it too: exhaustive)
    placed = set().union(*layers)
    children = {
        p.stem if p.is_file() else p.name
        for p in (ROOT / "desktop").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }
    assert placed == children


def test_pyproject_declares_what_the_server_may_import_of_the_core() -> None:
    surface = _contract(SERVER_SURFACE)
    assert surface["type"] == "forbidden"
    assert surface["source_modules"] == ["server"] and surface["forbidden_modules"] == ["desktop"]
    assert "allow_indirect_imports" not in surface
    allowed = {
        expr.split("->")[1].strip().removesuffix(".**") for expr in surface["ignore_imports"]
    }
    assert allowed == {*SHARED_CORE, CORE_ROOT}
    assert all(expr.split("->")[0].strip() == "server.**" for expr in surface["ignore_imports"])


def test_pyproject_declares_the_one_arrow_to_the_demo_floor() -> None:
    arrow = _contract(DEMO_ARROW)
    assert arrow["type"] == "forbidden" and arrow["source_modules"] == ["ui"]
    assert set(arrow["forbidden_modules"]) == {"sim", "server"}
    assert arrow["ignore_imports"] == ["ui.demo_launcher -> sim.demo_floor"]
    assert (ROOT / DEMO_LAUNCHER).is_file() and (ROOT / "sim" / "demo_floor.py").is_file()


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
    names = [contract["name"] for contract in _config()["contracts"]]
    assert {CONTRACT_NAME, LAYERS, CORE_LAYERS, SERVER_SURFACE, DEMO_ARROW} <= set(names)
    for name in names:
        assert re.search(rf"^{re.escape(name)} KEPT\b", report, re.MULTILINE), report
    assert f"Contracts: {len(names)} kept, 0 broken." in report, report


def _modules(packages: tuple[str, ...] = CORE_PACKAGES) -> list[Path]:
    return sorted(
        path
        for package in packages
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def imported_names(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, dotted name) of every absolute import in ``source``.

    ``import X.y`` gives ``X.y``; ``from X import y`` gives ``X.y`` (y may be a module or a name
    in X); ``importlib.import_module("X")`` and ``__import__("X")`` with a literal give ``X``.
    Relative imports stay inside their package and are left out.
    """
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if called in {"import_module", "__import__"} and isinstance(first, ast.Constant):
                names = [str(first.value)]
        found += [(node.lineno, name) for name in names]
    return found


def forbidden_imports(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, module) of every import of a forbidden top-level package in ``source``.

    Catches ``import X``, ``from X import y``, and ``importlib.import_module("X")`` /
    ``__import__("X")`` with a literal name.
    """
    return [
        (line, name)
        for line, name in imported_names(source, filename)
        if name.split(".")[0] in FORBIDDEN
    ]


def _within(name: str, *packages: str) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


#: package -> may its module at (repository-relative path) import (dotted name)?
LAYER_RULES: dict[str, Callable[[str, str], bool]] = {
    "desktop": lambda path, name: not _within(name, "server", "sim", "ui"),
    "server": lambda path, name: (
        not _within(name, "sim", "ui")
        and (not _within(name, "desktop") or name in CORE_ROOT_NAMES or _within(name, *SHARED_CORE))
    ),
    "sim": lambda path, name: not _within(name, "ui"),
    "ui": lambda path, name: (
        not _within(name, "sim", "server")
        or (path == DEMO_LAUNCHER and _within(name, "sim.demo_floor"))
    ),
}


def layer_violations(package: str) -> list[str]:
    """``path:line imports name`` for every import of ``package`` that breaks LAYER_RULES."""
    allowed = LAYER_RULES[package]
    found = []
    for path in _modules((package,)):
        relative = path.relative_to(ROOT).as_posix()
        for line, name in imported_names(path.read_text(encoding="utf-8"), str(path)):
            if not allowed(relative, name):
                found.append(f"{relative}:{line} imports {name}")
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


def test_scanner_names_what_from_imports_bring_in() -> None:
    source = (
        "from desktop import ids\n"
        "from desktop.protocol.codec import encode, decode\n"
        "import server.app\n"
        "from . import sibling\n"
    )
    assert imported_names(source) == [
        (1, "desktop.ids"),
        (2, "desktop.protocol.codec.encode"),
        (2, "desktop.protocol.codec.decode"),
        (3, "server.app"),
    ]
    server_rule = LAYER_RULES["server"]
    assert not server_rule("server/x.py", "desktop.ids")
    assert not server_rule("server/x.py", "desktop.service")
    assert not server_rule("server/x.py", "desktop.geography")
    assert server_rule("server/x.py", "desktop.geo.roads.write_graph")
    assert not LAYER_RULES["ui"]("ui/session.py", "sim.demo_floor.EmbeddedServer")
    assert LAYER_RULES["ui"](DEMO_LAUNCHER, "sim.demo_floor.EmbeddedServer")
    assert not LAYER_RULES["ui"](DEMO_LAUNCHER, "server.app")


def test_core_modules_exist() -> None:
    modules = [path.relative_to(ROOT).as_posix() for path in _modules(ROOT_PACKAGES)]
    assert "desktop/protocol/session.py" in modules
    assert "desktop/domain/world.py" in modules
    assert "desktop/profiles.py" in modules
    assert "sim/demo_floor.py" in modules and "sim/callfeed.py" in modules
    assert DEMO_LAUNCHER in modules
    assert not (ROOT / "server" / "sim").exists() and not (ROOT / "server" / "embedded.py").exists()


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_core_module_imports_no_qt(path: Path) -> None:
    assert forbidden_imports(path.read_text(encoding="utf-8"), str(path)) == []


@pytest.mark.parametrize("package", ROOT_PACKAGES)
def test_package_keeps_to_its_layer(package: str) -> None:
    assert layer_violations(package) == []
