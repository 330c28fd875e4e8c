"""The installers' rules, without building (the build and its smoke tests run in ``.ci/run``):
metadata from pyproject, what the bundle keeps and cuts, and the Linux packages' text files."""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import desktop

ROOT = Path(__file__).resolve().parents[1]
for folder in ("packaging", "packaging/pyinstaller", "packaging/linux"):
    if str(ROOT / folder) not in sys.path:
        sys.path.insert(0, str(ROOT / folder))

import bundle_rules  # noqa: E402
import templates  # noqa: E402
from metadata import load  # noqa: E402


def _load_build_script() -> ModuleType:
    """packaging/build.py under a name of its own (a PyPI package is called ``build``)."""
    spec = importlib.util.spec_from_file_location("dispatch_build", ROOT / "packaging" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build_script()


def test_metadata_is_the_projects() -> None:
    meta = load()
    assert meta.name == "dispatch-desktop"
    assert meta.version == desktop.__version__ == importlib.metadata.version("dispatch-desktop")
    assert meta.app_id == desktop.APP_ID


def test_metadata_names_a_bad_app_id(tmp_path: Path) -> None:
    (tmp_path / "desktop").mkdir()
    (tmp_path / "desktop" / "__init__.py").write_text('__version__ = "1.2.3"\nAPP_ID = "nodots"\n')
    shutil.copyfile(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with pytest.raises(ValueError, match="APP_ID 'nodots'"):
        load(tmp_path)


def _qt_modules_imported() -> set[str]:
    found: set[str] = set()
    for package in ("ui", "desktop", "sim", "server"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                found |= {n.split(".")[1] for n in names if n.startswith("PySide6.")}
    return found


def test_the_bundle_keeps_exactly_the_qt_modules_the_code_imports() -> None:
    assert _qt_modules_imported() == set(bundle_rules.QT_MODULES)
    excluded = {m for m in bundle_rules.DESKTOP_EXCLUDES if m.startswith("PySide6.")}
    assert not excluded & {f"PySide6.{m}" for m in bundle_rules.QT_MODULES}


@pytest.mark.parametrize(
    ("dest", "kept"),
    [
        ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", False),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", False),
        (
            "PySide6/Qt/plugins/wayland-graphics-integration-client/libqt-plugin-wayland-egl.so",
            True,
        ),
        ("PySide6/Qt/plugins/tls/libqopensslbackend.so", False),
        ("PySide6/Qt/translations/qtbase_de.qm", False),
        ("PySide6/Qt/lib/libQt6Core.so.6", True),
        ("numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so", True),
    ],
)
def test_qt_plugins_and_translations(dest: str, kept: bool) -> None:
    assert bundle_rules.keep_qt_file(dest) is kept


def test_prune_keeps_what_is_needed_and_copies_of_one_name() -> None:
    binaries = [
        ("PySide6/QtCore.abi3.so", "/s/QtCore.abi3.so", "EXTENSION"),
        ("PySide6/Qt/lib/libQt6Core.so.6", "/s/libQt6Core.so.6", "BINARY"),
        ("PySide6/Qt/lib/libQt6Network.so.6", "/s/libQt6Network.so.6", "BINARY"),
        ("libQt6Network.so.6", "PySide6/Qt/lib/libQt6Network.so.6", "SYMLINK"),
        ("libQt6Core.so.6", "PySide6/Qt/lib/libQt6Core.so.6", "SYMLINK"),
        ("numpy/_core/_umath.so", "/s/_umath.so", "EXTENSION"),
        ("numpy.libs/libopenblas.so", "/s/n/libopenblas.so", "BINARY"),
        ("numpy.libs/libgfortran.so.5", "/s/n/libgfortran.so.5", "BINARY"),
        ("scipy.libs/libgfortran.so.5", "/s/sp/libgfortran.so.5", "BINARY"),
    ]
    needed = {
        "/s/QtCore.abi3.so": {"libQt6Core.so.6"},
        "/s/_umath.so": {"libopenblas.so"},
        "/s/n/libopenblas.so": {"libgfortran.so.5"},
    }
    kept = {dest for dest, _, _ in bundle_rules.prune_libraries(binaries, needed)}
    assert "PySide6/Qt/lib/libQt6Network.so.6" not in kept
    assert "libQt6Network.so.6" not in kept  # its link goes with it
    assert {"libQt6Core.so.6", "PySide6/Qt/lib/libQt6Core.so.6", "PySide6/QtCore.abi3.so"} <= kept
    assert {"numpy.libs/libgfortran.so.5", "scipy.libs/libgfortran.so.5"} <= kept


def test_numpy_and_scipy_are_never_stripped() -> None:
    assert not bundle_rules.may_strip("_internal/numpy/_core/_umath.so")
    assert not bundle_rules.may_strip("_internal/scipy.libs/libscipy_openblas.so")
    assert bundle_rules.may_strip("_internal/libpython3.11.so.1.0")
    assert bundle_rules.may_strip("dispatch-desktop")


def test_elf_end_is_the_size_of_an_elf_file() -> None:
    """The AppImage runtime is cut where the ELF header says the file ends: for an ordinary
    executable (section headers last) that is its whole size."""
    candidates = [Path(p) for p in ("/usr/bin/true", "/bin/true") if Path(p).exists()]
    executable = candidates[0]
    data = executable.read_bytes()
    assert build._elf_end(data[:64]) == len(data)
    with pytest.raises(build.BuildError):
        build._elf_end(b"#!/bin/sh\n" + bytes(54))


def test_desktop_entry_names_the_installed_command_and_icon(tmp_path: Path) -> None:
    meta = load()
    text = templates.desktop_entry(meta)
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read_string(text)
    section = entry["Desktop Entry"]
    assert section["Exec"] == "dispatch-desktop"
    assert section["Icon"] == meta.app_id
    assert section["Type"] == "Application"
    if shutil.which("desktop-file-validate"):
        path = tmp_path / f"{meta.app_id}.desktop"
        path.write_text(text)
        subprocess.run(["desktop-file-validate", str(path)], check=True)


def test_systemd_unit_runs_serve_as_its_own_user_on_var_lib() -> None:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(templates.systemd_unit(load()))
    service = unit["Service"]
    assert service["User"] == templates.SERVER_USER != "root"
    assert service["ExecStart"].startswith(
        f"/usr/bin/dispatch-server serve --db {templates.SERVER_DB} "
    )
    assert templates.SERVER_DB.startswith("/var/lib/")
    assert service["StateDirectory"] == "dispatch-server"


def test_maintainer_scripts_never_delete_user_data_or_the_database() -> None:
    meta = load()
    scripts = [
        templates.desktop_postinst(meta),
        templates.desktop_postrm(meta),
        templates.server_postinst(),
        templates.server_prerm(),
        templates.server_postrm(),
    ]
    for script in scripts:
        assert script.startswith("#!/bin/sh\n")
        assert "rm " not in script and "rm -" not in script
    if shutil.which("sh"):
        for script in scripts:
            subprocess.run(["sh", "-n"], input=script, text=True, check=True)


def test_control_file() -> None:
    text = templates.control(
        load(),
        package="dispatch-desktop",
        summary="x",
        depends=["libc6 (>= 2.36)", "libegl1"],
        installed_kib=10,
        recommends=["gnome-keyring"],
    )
    fields = dict(line.split(": ", 1) for line in text.splitlines() if not line.startswith(" "))
    assert fields["Version"] == desktop.__version__
    assert fields["Depends"] == "libc6 (>= 2.36), libegl1"
    assert fields["Recommends"] == "gnome-keyring"


def test_windows_and_macos_targets_say_where_they_build(capsys: pytest.CaptureFixture[str]) -> None:
    assert build.main(["windows"]) == 2
    assert "packaging/windows/README.md" in capsys.readouterr().err


def test_the_data_files_read_at_run_time_are_collected() -> None:
    """The street index parses addresses with usaddress's CRF model: without it in the bundle
    the frozen workstation fails at the first address typed."""
    pytest.importorskip("PyInstaller")
    collected = {Path(source).name for source, _ in bundle_rules.package_data()}
    assert "usaddr.crfsuite" in collected
