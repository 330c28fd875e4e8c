"""The Windows version resource of ``dispatch-desktop.exe`` (Explorer's Properties → Details,
and what Intune/SCCM file-version detection rules read), from the package metadata.

Imported by the spec on Windows only: PyInstaller's version classes need ``pefile``, which
PyInstaller installs only there. Not run on this project's Linux CI."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metadata import Metadata
from PyInstaller.utils.win32.versioninfo import (
    FixedFileInfo,
    StringFileInfo,
    StringStruct,
    StringTable,
    VarFileInfo,
    VarStruct,
    VSVersionInfo,
)

__all__ = ["version_info"]

_US_ENGLISH_UNICODE = "040904B0"  # language 0x0409, code page 1200 (UTF-16)


def _numbers(version: str) -> tuple[int, int, int, int]:
    """``1.2.3`` (or ``1.2.3rc1``) as the four numbers Windows keeps."""
    parts = [int("".join(c for c in p if c.isdigit()) or 0) for p in version.split(".")[:3]]
    major, minor, patch = [*parts, 0, 0, 0][:3]
    return major, minor, patch, 0


def version_info(meta: Metadata) -> VSVersionInfo:
    """The version resource for PyInstaller's ``EXE(version=...)``."""
    numbers = _numbers(meta.version)
    return VSVersionInfo(
        ffi=FixedFileInfo(filevers=numbers, prodvers=numbers),
        kids=[
            StringFileInfo(
                [
                    StringTable(
                        _US_ENGLISH_UNICODE,
                        [
                            StringStruct("CompanyName", meta.vendor),
                            StringStruct("FileDescription", meta.title),
                            StringStruct("FileVersion", meta.version),
                            StringStruct("InternalName", meta.name),
                            StringStruct("OriginalFilename", f"{meta.name}.exe"),
                            StringStruct("ProductName", meta.title),
                            StringStruct("ProductVersion", meta.version),
                        ],
                    )
                ]
            ),
            VarFileInfo([VarStruct("Translation", [0x0409, 1200])]),
        ],
    )
