"""What goes into the frozen workstation and server, and what is cut (their one home).

Both specs import this module. The size matters on hundreds of workstations: a naive onedir of
the workstation is about 317 MiB; these rules bring it to about 228 MiB (``bench/frozen_start.py``
prints the figure) without losing anything the application uses:

- **Qt modules**: only `QT_MODULES` (the application imports QtCore, QtGui and QtWidgets;
  ``tests/test_packaging.py`` checks that list against the code) and `PYQTGRAPH_QT_MODULES`
  (pyqtgraph imports them whether OpenGL is used or not; the map does not use it). Every other
  PySide6 module is excluded, and with it the Qt libraries only they need.
- **Qt plugins**: `QT_PLUGINS` lists what is kept per plugin directory: the X11, Wayland,
  offscreen and minimal platforms (no framebuffer, VNC or EGLFS kiosk platforms), the XDG portal
  theme (not the GTK 3 theme: it pulls in GTK, cairo and pango, 20 MiB), the input contexts
  (compose keys, IBus), the image formats the themes and icons use. Qt's translations go: the
  interface is English, and its dialogs' buttons are the application's own words.
- **Shared libraries** that no kept binary needs any more (what the dropped plugins pulled in)
  are cut by following ``DT_NEEDED`` from what is kept (`prune_libraries`).
- **SciPy**: the road graph needs ``sparse``, ``sparse.csgraph`` and ``spatial`` (which load
  ``linalg``, ``special`` and ``constants``); the other subpackages are excluded. NumPy is kept
  whole: excluding ``numpy.f2py`` or ``numpy.testing`` breaks SciPy, and ``strip`` breaks NumPy.
- **Build tools** (setuptools, pkg_resources) are excluded: only cffi's build-time helpers
  import them, and with them PyInstaller adds start-up hooks that cost 0.3 s at every start.
- Other Qt bindings are excluded: qasync imports PyQt5/PyQt6/PySide2 when present, and two
  bindings in one bundle make PyInstaller stop.
- **The PostgreSQL driver** (psycopg and its libpq, about 10 MiB) stays out of the workstation:
  its embedded demo server runs on SQLite, and `server.store.open_store` imports the driver only
  for a ``postgresql://`` DSN (refused there with a clear error). The server's bundle keeps it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import PurePosixPath

__all__ = [
    "DATA_PACKAGES",
    "DESKTOP_EXCLUDES",
    "PYQTGRAPH_QT_MODULES",
    "QT_MODULES",
    "QT_PLUGINS",
    "SERVER_EXCLUDES",
    "drop_dangling_links",
    "keep_qt_file",
    "package_data",
    "prune_libraries",
]

#: Packages whose data files the code reads at run time and PyInstaller does not find on its
#: own: usaddress's CRF model (``usaddr.crfsuite``, the address parser of the street index).
DATA_PACKAGES = ("usaddress",)


def package_data() -> list[tuple[str, str]]:
    """The (source, destination folder) data entries of `DATA_PACKAGES` for an Analysis."""
    from PyInstaller.utils.hooks import collect_data_files

    return [entry for package in DATA_PACKAGES for entry in collect_data_files(package)]


#: The PySide6 modules the workstation imports.
QT_MODULES = ("QtCore", "QtGui", "QtWidgets")
#: The PySide6 modules pyqtgraph 0.14 imports as it loads (``pyqtgraph.Qt.OpenGLHelpers``, from
#: ``PlotCurveItem``), though the map draws without OpenGL; libQt6OpenGL is bundled anyway (the
#: X11 platform's GLX integration needs it), so they add about 1 MiB.
PYQTGRAPH_QT_MODULES = ("QtOpenGL", "QtOpenGLWidgets")

#: Every PySide6 module a PySide6-Essentials wheel carries that neither list above holds.
_OTHER_QT_MODULES = (  # noqa: SIM905 (a list of 51 names reads better as words)
    "Qt3DAnimation Qt3DCore Qt3DExtras Qt3DInput Qt3DLogic Qt3DRender QtBluetooth QtCharts "
    "QtConcurrent QtDataVisualization QtDBus QtDesigner QtGraphs QtHelp QtHttpServer QtLocation "
    "QtMultimedia QtMultimediaWidgets QtNetwork QtNetworkAuth QtNfc "
    "QtPdf QtPdfWidgets QtPositioning QtPrintSupport QtQml QtQuick QtQuick3D QtQuickControls2 "
    "QtQuickTest QtQuickWidgets QtRemoteObjects QtScxml QtSensors QtSerialBus QtSerialPort "
    "QtSpatialAudio QtSql QtStateMachine QtSvg QtSvgWidgets QtTest QtTextToSpeech QtUiTools "
    "QtWebChannel QtWebEngineCore QtWebEngineQuick QtWebEngineWidgets QtWebSockets QtWebView "
    "QtXml"
).split()

#: Kept Qt plugins: directory → file names without ``lib`` and ``.so``; other directories go.
QT_PLUGINS: dict[str, frozenset[str]] = {
    "platforms": frozenset({"qxcb", "qwayland", "qoffscreen", "qminimal"}),
    "platformthemes": frozenset({"qxdgdesktopportal"}),
    "platforminputcontexts": frozenset(
        {"composeplatforminputcontextplugin", "ibusplatforminputcontextplugin"}
    ),
    "imageformats": frozenset({"qico", "qjpeg", "qsvg"}),
    "iconengines": frozenset({"qsvgicon"}),
    "xcbglintegrations": frozenset({"qxcb-egl-integration", "qxcb-glx-integration"}),
    "wayland-decoration-client": frozenset({"bradient", "adwaita"}),
    "wayland-graphics-integration-client": frozenset({"qt-plugin-wayland-egl"}),
    "wayland-shell-integration": frozenset({"xdg-shell"}),
}

_SCIPY_UNUSED = (  # noqa: SIM905
    "cluster datasets differentiate fft fftpack integrate interpolate io misc ndimage odr "
    "optimize signal stats"
).split()

_OTHER_BINDINGS = ["PyQt5", "PyQt6", "PySide2"]
#: Build tools that only cffi's build-time helpers import: with them PyInstaller also adds its
#: setuptools and pkg_resources start-up hooks, which cost ~0.4 s at every start.
_BUILD_TOOLS = ["setuptools", "pkg_resources", "_distutils_hack", "distutils"]

#: Modules the workstation's bundle leaves out.
DESKTOP_EXCLUDES = (
    _OTHER_BINDINGS
    + [f"PySide6.{name}" for name in _OTHER_QT_MODULES]
    + [f"scipy.{name}" for name in _SCIPY_UNUSED]
    + _BUILD_TOOLS
    + ["tkinter", "unittest.mock", "pydoc_data", "pytest", "hypothesis"]
    + ["server.store.postgres", "psycopg", "psycopg_binary", "psycopg_c", "psycopg_pool"]
)

#: Modules the server's bundle leaves out: no screen at all.
SERVER_EXCLUDES = (
    _OTHER_BINDINGS
    + ["PySide6", "shiboken6", "qasync", "pyqtgraph", "ui", "keyring", "secretstorage"]
    + [f"scipy.{name}" for name in _SCIPY_UNUSED]
    + _BUILD_TOOLS
    + ["tkinter", "pydoc_data", "pytest", "hypothesis"]
)


#: Top-level directories of a bundle whose binaries must not be stripped (it breaks NumPy).
_NO_STRIP = frozenset({"numpy", "numpy.libs", "scipy", "scipy.libs"})


def may_strip(relative: str) -> bool:
    """Whether the binary at ``relative`` (a path inside the bundle) may be stripped: every one
    but NumPy's and SciPy's (a whole-bundle ``strip`` breaks NumPy; stripping the rest saves
    about 28 MiB, mostly libpython's and the extension modules' symbols)."""
    parts = PurePosixPath(relative).parts
    inner = parts[1:] if parts[:1] == ("_internal",) else parts
    return not (inner and inner[0] in _NO_STRIP)


def _plugin_name(file_name: str) -> str:
    """``libqxcb.so`` → ``qxcb``: the names `QT_PLUGINS` uses."""
    return file_name.split(".so")[0].removeprefix("lib")


def keep_qt_file(dest: str) -> bool:
    """Whether a bundled file (its path inside the bundle) survives the Qt rules above."""
    parts = PurePosixPath(dest.replace(os.sep, "/")).parts
    if "PySide6" not in parts:
        return True
    below = parts[parts.index("PySide6") + 1 :]
    if below[:2] == ("Qt", "translations"):
        return False
    if below[:2] == ("Qt", "plugins") and len(below) >= 4:
        kept = QT_PLUGINS.get(below[2])
        return kept is not None and _plugin_name(below[-1]) in kept
    return True


def prune_libraries(
    binaries: Iterable[tuple[str, str, str]], needed_by: dict[str, set[str]]
) -> list[tuple[str, str, str]]:
    """``binaries`` (PyInstaller's ``(dest, src, typecode)``) without the shared libraries that
    nothing kept needs.

    ``needed_by[src]`` is the set of library base names ``src`` links against (``DT_NEEDED``).
    Roots are every binary that is not a plain ``lib*.so*`` (extension modules, plugins, the
    interpreter's library); a library stays when a root or a kept library needs it. A
    ``SYMLINK`` entry (PyInstaller's link from the top of the bundle to a library kept deeper
    down) stays exactly when its target does."""
    entries = list(binaries)
    files = [entry for entry in entries if entry[2] != "SYMLINK"]
    by_name: dict[str, list[tuple[str, str]]] = {}
    for dest, src, _ in files:  # numpy.libs and scipy.libs carry copies of one name: keep all
        by_name.setdefault(os.path.basename(dest), []).append((dest, src))

    def is_root(dest: str) -> bool:
        name = os.path.basename(dest)
        in_plugins = "/plugins/" in dest.replace(os.sep, "/")
        return (
            in_plugins
            or not (name.startswith("lib") and ".so" in name)
            or (name.startswith("libpython"))
        )

    kept = {dest for dest, _, _ in files if is_root(dest)}
    todo = [src for dest, src, _ in files if dest in kept]
    seen: set[str] = set()
    while todo:
        src = todo.pop()
        if src in seen:
            continue
        seen.add(src)
        for lib in needed_by.get(src, set()):
            for dest, lib_src in by_name.get(lib, []):
                if dest not in kept:
                    kept.add(dest)
                    todo.append(lib_src)
    return [
        entry for entry in entries if entry[0] in kept if entry[2] != "SYMLINK"
    ] + drop_dangling_links([e for e in entries if e[2] == "SYMLINK"], kept)


def drop_dangling_links(
    entries: Iterable[tuple[str, str, str]], present: set[str]
) -> list[tuple[str, str, str]]:
    """``entries`` without the ``SYMLINK`` ones whose target (a path inside the bundle, relative
    to the link's directory) is not in ``present``; other entries pass."""
    return [
        (dest, src, kind)
        for dest, src, kind in entries
        if kind != "SYMLINK"
        or os.path.normpath(os.path.join(os.path.dirname(dest), src)) in present
    ]
