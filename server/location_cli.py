"""``dispatch-server location``: print the caller locations of PIDF-LO documents.

    dispatch-server location FILE...

One JSON line per file, in the order given::

    {"file": "<path as given>", "ok": true, "locations": [...], "error": null}
    {"file": "<path as given>", "ok": false, "locations": [],
     "error": {"code": "<code>", "message": "..."}}

The codes are those of `desktop.geo.pidf_lo.ERROR_CODES`, and ``unreadable`` for a file that
cannot be read. Each location (`location_json`) is one of::

    {"kind": "geodetic", "shape", "lat", "lon", "uncertainty_m", "confidence", "method"}
    {"kind": "civic", "civic": {every element present, by name}, "method"}
    {"kind": "reference", "reference", "method"}

``confidence`` is what the document states (null when it states none). Exit code 0 when every
file parsed, 1 when any did not, 2 for a usage error (no file).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from desktop.domain.caller_location import CallerLocation
from desktop.geo.pidf_lo import MAX_BYTES, PidfError, parse_pidf

__all__ = ["add_location_command", "location_json", "run_location"]


def add_location_command(commands: Any) -> None:
    """Register ``location`` on the ``dispatch-server`` sub-command parser."""
    sub = commands.add_parser("location", help="print the caller locations of PIDF-LO files")
    sub.add_argument("files", nargs="+", metavar="FILE", help="a PIDF-LO (pidf+xml) document")


def location_json(loc: CallerLocation) -> dict[str, Any]:
    """The JSON object that stands for ``loc`` on a ``location`` line (module docstring)."""
    if loc.kind == "geodetic" and loc.geodetic is not None:
        g = loc.geodetic
        return {
            "kind": "geodetic",
            "shape": g.shape,
            "lat": g.lat,
            "lon": g.lon,
            "uncertainty_m": g.uncertainty_m,
            "confidence": g.confidence,
            "method": loc.method,
        }
    if loc.kind == "civic" and loc.civic is not None:
        return {"kind": "civic", "civic": dict(loc.civic.fields), "method": loc.method}
    return {"kind": loc.kind, "reference": loc.reference, "method": loc.method}


def _report(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_BYTES + 1)  # enough for parse_pidf to refuse a larger one
    except OSError as exc:
        error = {"code": "unreadable", "message": exc.strerror or str(exc)}
        return {"file": path, "ok": False, "locations": [], "error": error}
    try:
        locations = parse_pidf(data)
    except PidfError as exc:
        error = {"code": exc.code, "message": exc.message}
        return {"file": path, "ok": False, "locations": [], "error": error}
    return {
        "file": path,
        "ok": True,
        "locations": [location_json(x) for x in locations],
        "error": None,
    }


def run_location(args: argparse.Namespace) -> int:
    """Run ``location``: one JSON line per file; exit code 0, or 1 when any file failed."""
    failed = False
    for path in args.files:
        report = _report(path)
        failed = failed or not report["ok"]
        print(json.dumps(report, ensure_ascii=False), flush=True)
    return 1 if failed else 0
