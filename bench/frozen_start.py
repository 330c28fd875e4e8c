"""Start-up of the frozen workstation against the same start from the virtual environment, and
the installers' sizes (issue #11: ``frozen_start_s`` <= 2 s, and <= 1.2x the venv's).

- ``frozen_start_s``: seconds from spawning the PyInstaller bundle's ``dispatch-desktop --demo``
  with no local data until the workstation logs ``workstation ready`` (the window shown, LIVE,
  the board filled from the embedded demo server: ``ui.session.READY``), median of the runs;
- ``venv_start_s``: the same launch of ``.venv/bin/dispatch-desktop``, runs interleaved with
  the frozen ones so that both see the same machine;
- ``frozen_start_ratio``: the first over the second;
- ``bundle_mib``, ``deb_mib``, ``appimage_mib``, ``server_bundle_mib``, ``server_deb_mib``: from
  the build's ``manifest.json`` (bundles: bytes on disk; packages: file size).

Each launch is ``--demo --screenshot`` offscreen (it exits by itself once it has saved the
PNGs), in a fresh data and config directory. The first launch of each kind is a warm-up and
not counted (it fills the page cache: a workstation that starts every shift has it warm).

Run: ``python bench/frozen_start.py [--out DIR] [--runs N]``. ``DIR`` (default ``dist/``)
holds what ``python packaging/build.py linux --out DIR`` built; when it has no bundle the
bundle is built first (about a minute). Reads nothing from ../shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._support import emit  # noqa: E402

READY = "workstation ready"
TIMEOUT = 120.0


def launch(executable: Path, work: Path) -> float:
    """Seconds from spawning ``executable --demo`` to its ``workstation ready`` line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env.update(QT_QPA_PLATFORM="offscreen", HOME=str(work / "home"))
    cmd = [
        str(executable), "--demo", "--screenshot", str(work / "shot.png"),
        "--data-dir", str(work / "data"), "--config-dir", str(work / "config"),
    ]  # fmt: skip
    started = time.perf_counter()
    child = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    ready: float | None = None
    assert child.stderr is not None
    for line in child.stderr:
        if ready is None and READY in line:
            ready = time.perf_counter() - started
    code = child.wait(timeout=TIMEOUT)
    if ready is None or code != 0:
        raise SystemExit(f"{executable}: exit {code}, ready line {'seen' if ready else 'missing'}")
    return ready


def sizes(out: Path) -> dict[str, float]:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {
        f"{kind}_mib": entry["bytes"] / 2**20
        for kind, entry in manifest["artifacts"].items()
        if kind != "tarball"
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    out: Path = args.out.resolve()
    frozen = out / "dispatch-desktop" / "dispatch-desktop"
    if not frozen.exists():
        print(f"no bundle in {out}: building it (packaging/build.py bundle)", file=sys.stderr)
        subprocess.run(
            [sys.executable, str(ROOT / "packaging" / "build.py"), "bundle", "--out", str(out)],
            check=True,
        )
    venv = Path(sys.executable).with_name("dispatch-desktop")
    times: dict[str, list[float]] = {"frozen": [], "venv": []}
    with tempfile.TemporaryDirectory(prefix="dispatch-frozen-start-") as tmp:
        for run in range(args.runs + 1):
            for kind, executable in (("frozen", frozen), ("venv", venv)):
                work = Path(tmp) / f"{kind}-{run}"
                work.mkdir()
                seconds = launch(executable, work)
                if run > 0:
                    times[kind].append(seconds)
                print(f"{kind} run {run}: {seconds:.3f} s", file=sys.stderr)
    frozen_s, venv_s = (statistics.median(times[k]) for k in ("frozen", "venv"))
    emit("frozen_start_s", frozen_s, "s", "<= 2")
    emit("venv_start_s", venv_s, "s", "(the comparison)")
    emit("frozen_start_ratio", frozen_s / venv_s, "x", "<= 1.2")
    for figure, value in sizes(out).items():
        emit(figure, value, "MiB", "smaller is better")


if __name__ == "__main__":
    main()
