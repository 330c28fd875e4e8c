"""What the installers say about the product, read from ``pyproject.toml`` (its one home).

``[project]`` gives the name and description, ``desktop/__init__.py`` the version (hatchling reads
the same line for the wheel) and the application id (the running workstation uses it too), and
``[tool.dispatch-desktop.packaging]`` the title, vendor, maintainer and homepage. The
PyInstaller spec, ``build.py`` and the Windows and macOS recipes all call `load` (or
``python packaging/metadata.py --json``), so a release changes one line.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["ROOT", "Metadata", "load"]

ROOT = Path(__file__).resolve().parents[1]
_APP_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_-]*){2,}$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+([.+~-][0-9A-Za-z.+~-]+)?$")


@dataclass(frozen=True)
class Metadata:
    """The product as packages name it. ``version`` is also the Debian version (it is one)."""

    name: str
    version: str
    app_id: str
    title: str
    description: str
    vendor: str
    maintainer: str
    homepage: str


def _core_constant(root: Path, name: str) -> str:
    """``name = "..."`` of ``desktop/__init__.py``, read without importing the package."""
    tree = ast.parse((root / "desktop" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    raise ValueError(f"desktop/__init__.py: no {name} = '...' line")


def load(root: Path = ROOT) -> Metadata:
    """The metadata of the checkout at ``root``; `ValueError` naming the key when one is wrong."""
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    project = data["project"]
    extra = data.get("tool", {}).get("dispatch-desktop", {}).get("packaging", {})
    missing = [k for k in ("title", "vendor", "maintainer", "homepage") if k not in extra]
    if missing:
        raise ValueError(f"pyproject.toml: [tool.dispatch-desktop.packaging] lacks {missing}")
    meta = Metadata(
        name=project["name"],
        version=_core_constant(root, "__version__"),
        app_id=_core_constant(root, "APP_ID"),
        title=extra["title"],
        description=project["description"],
        vendor=extra["vendor"],
        maintainer=extra["maintainer"],
        homepage=extra["homepage"],
    )
    if not _APP_ID.match(meta.app_id):
        raise ValueError(f"desktop/__init__.py: APP_ID {meta.app_id!r} is not reverse DNS (a.b.C)")
    if not _VERSION.match(meta.version):
        raise ValueError(f"desktop/__init__.py: __version__ {meta.version!r} is not N.N.N")
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print every field as JSON")
    parser.add_argument("field", nargs="?", help="print one field (name, version, app_id, ...)")
    args = parser.parse_args(argv)
    fields = asdict(load())
    if args.field:
        if args.field not in fields:
            parser.error(f"no field {args.field!r}; fields: {', '.join(fields)}")
        print(fields[args.field])
    else:
        print(json.dumps(fields, indent=2 if not args.json else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
