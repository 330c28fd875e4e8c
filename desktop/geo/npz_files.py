"""Derived data files (`.npz`) whose bytes depend only on what is in them, so a derivation run
twice, or on another machine, gives the same file (the shipped road graph, street index and
road render file are checked in and compared byte for byte)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["write_npz"]

#: The time stamp of every entry (zip's earliest): no build time leaks into the bytes.
_ENTRY_TIME = (1980, 1, 1, 0, 0, 0)


def write_npz(path: str | Path, entries: Mapping[str, npt.ArrayLike | Any]) -> None:
    """Write ``entries`` (name -> array, in the mapping's order) as a deflated ``.npz`` that
    `numpy.load` reads, with fixed time stamps and modes and no pickles; the same entries give
    the same bytes. Replaces ``path`` atomically (a ``.tmp`` beside it, then a rename)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, array in entries.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array, order="C"), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=_ENTRY_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buffer.getvalue(), compresslevel=9)
    tmp.replace(target)
