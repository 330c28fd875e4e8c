"""Smoke tests of what ``build.py linux`` built: ``python packaging/smoke.py [--out DIR]``.

Run as root on a Debian machine (CI runs it as a separate step of ``.ci/run``). Each check
does what IT or a dispatcher would do, and stops at the first failure with what went wrong:

1. **bundle**: the frozen workstation runs ``--demo --screenshot`` offscreen and exits 0 with a
   non-empty PNG (the demo floor live, the top incident's recommendation on screen).
2. **deb**: ``dpkg -i`` installs the workstation; ``dispatch-desktop --version`` runs from
   ``/usr/bin``; the installed application runs the same demo as a user (so that user has
   real data); ``dpkg --purge`` removes every file it installed and leaves that user's data and
   IT's ``/etc/dispatch-desktop/config.toml`` alone.
3. **server deb**: ``dpkg -i`` creates the ``dispatch-server`` user and
   ``/var/lib/dispatch-server``; the unit file passes ``systemd-analyze verify``; an admin
   account is added and ``dispatch-server serve`` runs as that user on the database under
   ``/var/lib`` until SIGTERM; ``dpkg --purge`` keeps the database.
4. **AppImage** (or the tarball): ``--version`` runs from it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "linux")]

import templates  # noqa: E402
from metadata import ROOT, load  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SYSTEM_CONFIG = Path("/etc/dispatch-desktop/config.toml")
#: A workstation configuration IT could deploy (kept through install and purge).
SMOKE_ADMIN, SMOKE_PASSWORD = "smoke-admin", "smoke-password-1"
SMOKE_CONFIG = '# written by packaging/smoke.py\n[workstation]\ntheme = "dark"\n'


class SmokeFailure(Exception):
    """A check failed; the message says which and what was seen."""


def _run(
    cmd: Sequence[str | Path],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 180,
    stdin: str | None = None,
) -> str:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    try:
        result = subprocess.run(
            [str(c) for c in cmd],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise SmokeFailure(f"{cmd[0]} did not finish in {timeout:.0f} s") from exc
    if result.returncode != 0:
        raise SmokeFailure(
            f"{' '.join(map(str, cmd))} exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
        )
    return result.stdout


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)
    print(f"  ok: {message}", flush=True)


def _offscreen(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "DISPLAY"))}
    env.update(QT_QPA_PLATFORM="offscreen", HOME=str(home))
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env.pop(var, None)
    return env


def _screenshot_run(executable: str | Path, work: Path, *extra: str) -> Path:
    """Run the workstation's demo once offscreen; returns the first PNG, checked."""
    shot = work / "shot.png"
    _run(
        [executable, "--demo", "--screenshot", shot, "--call-interval", "5", *extra],
        env=_offscreen(work / "home"),
        timeout=120,
    )
    _check(shot.exists() and shot.stat().st_size > 10_000, f"{shot.name} written, non-empty")
    _check(shot.read_bytes()[:8] == PNG_SIGNATURE, f"{shot.name} is a PNG")
    return shot


def check_bundle(out: Path, work: Path) -> None:
    """The frozen binary: ``--demo --screenshot`` offscreen, exit 0, a PNG."""
    print("== the frozen workstation", flush=True)
    bundle = out / "dispatch-desktop" / "dispatch-desktop"
    version = _run([bundle, "--version"])
    _check(version.strip() == f"dispatch-desktop {load().version}", f"--version: {version.strip()}")
    run = work / "bundle"
    run.mkdir()
    _screenshot_run(bundle, run, "--data-dir", run / "data", "--config-dir", run / "config")
    internal = out / "dispatch-desktop" / "_internal"
    drivers = sorted(p.name for p in internal.glob("psycopg*"))
    _check(not drivers, f"no PostgreSQL driver in the workstation ({drivers or 'none'})")


def _package_files(package: str) -> list[Path]:
    listing = _run(["dpkg-query", "-L", package])
    return [Path(line) for line in listing.splitlines() if line.startswith("/")]


def check_desktop_deb(out: Path, work: Path, deb: Path) -> None:
    """Install, run as a user, purge; user data and IT's configuration stay."""
    print(f"== {deb.name}", flush=True)
    meta = load()
    created_config = not SYSTEM_CONFIG.exists()
    if created_config:
        SYSTEM_CONFIG.parent.mkdir(parents=True, exist_ok=True)
        SYSTEM_CONFIG.write_text(SMOKE_CONFIG, encoding="utf-8")
    it_config = SYSTEM_CONFIG.read_bytes()
    try:
        _run(["dpkg", "-i", deb])
        installed = [p for p in _package_files(meta.name) if p.is_file() or p.is_symlink()]
        _check(Path("/usr/bin/dispatch-desktop").is_symlink(), "/usr/bin/dispatch-desktop")
        for path in (
            f"/usr/share/applications/{meta.app_id}.desktop",
            f"/usr/share/icons/hicolor/256x256/apps/{meta.app_id}.png",
            f"/usr/share/metainfo/{meta.app_id}.metainfo.xml",
        ):
            _check(Path(path).exists(), path)
        if shutil.which("desktop-file-validate"):
            _run(["desktop-file-validate", f"/usr/share/applications/{meta.app_id}.desktop"])
        version = _run(["dispatch-desktop", "--version"])
        _check(
            version.strip() == f"dispatch-desktop {meta.version}", f"installed: {version.strip()}"
        )
        user = work / "deb"
        user.mkdir()
        _screenshot_run("/usr/bin/dispatch-desktop", user)
        data = user / "home" / ".local" / "share" / meta.name
        before = sorted(p.relative_to(data) for p in data.rglob("*"))
        _check(any(p.name == "workstation.sqlite" for p in before), f"user data in {data}")
        _run(["dpkg", "--purge", meta.name])
        left = [p for p in installed if p.exists() or p.is_symlink()]
        _check(not left, f"purge removed all {len(installed)} files it installed")
        after = sorted(p.relative_to(data) for p in data.rglob("*"))
        _check(after == before, "purge left the user's data alone")
        kept = SYSTEM_CONFIG.exists() and SYSTEM_CONFIG.read_bytes() == it_config
        _check(kept, f"purge left {SYSTEM_CONFIG} alone")
    finally:
        if created_config:
            SYSTEM_CONFIG.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # not empty: someone else's files
                SYSTEM_CONFIG.parent.rmdir()


def check_server_deb(deb: Path) -> None:
    """Install; the service's user, state directory and unit; serve as that user; purge."""
    print(f"== {deb.name}", flush=True)
    name, account, db = templates.SERVER_PACKAGE, templates.SERVER_USER, Path(templates.SERVER_DB)
    state = db.parent
    _run(["dpkg", "-i", deb])
    try:
        entry = pwd.getpwnam(account)
        _check(entry.pw_uid < 1000 and entry.pw_uid != 0, f"system user {account} ({entry.pw_uid})")
        info = state.stat()
        _check(info.st_uid == entry.pw_uid, f"{state} owned by {account}")
        _check(stat.S_IMODE(info.st_mode) == 0o750, f"{state} mode 750")
        unit = Path(f"/lib/systemd/system/{name}.service")
        _check(unit.exists(), str(unit))
        if shutil.which("systemd-analyze"):
            _run(["systemd-analyze", "verify", unit])
            _check(True, "systemd-analyze verify")
        version = _run(["dispatch-server", "--version"])
        _check(
            version.strip() == f"dispatch-server {load().version}", f"installed: {version.strip()}"
        )
        as_user = ["runuser", "-u", account, "--"]
        _run([*as_user, "dispatch-server", "users", "add", SMOKE_ADMIN, "--role", "admin",
              "--db", db], stdin=f"{SMOKE_PASSWORD}\n")  # fmt: skip
        _check(db.exists() and db.stat().st_uid == entry.pw_uid, f"{db} created by {account}")
        serve = ["dispatch-server", "serve", "--db", str(db), "--port", "0"]
        _serve_once(serve, account, client=["dispatch-server"])
        _run(["dpkg", "--purge", name])
        _check(
            not Path("/usr/bin/dispatch-server").exists(), "purge removed /usr/bin/dispatch-server"
        )
        _check(db.exists(), f"purge kept the database {db}")
    finally:
        subprocess.run(["dpkg", "--purge", name], capture_output=True)
        shutil.rmtree(state, ignore_errors=True)  # this test's database, not a centre's
        subprocess.run(["deluser", "--system", account], capture_output=True)


def _serve_once(cmd: list[str], account: str, *, client: list[str]) -> None:
    """Start the server as ``account`` (as its unit does), wait for its ``listening`` line,
    sign in to it over the protocol with ``client`` (the roster tool, as the admin account),
    stop it with SIGTERM (as systemd does): it must exit 0."""
    print(f"+ (as {account})", " ".join(cmd), flush=True)
    server = subprocess.Popen(
        cmd,
        user=account,
        group=account,
        extra_groups=[],
        cwd="/",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        listening = json.loads(line).get("listening") if line.startswith("{") else None
        _check(bool(listening and listening.get("port")), f"serving: {line.strip()}")
        url = f"ws://127.0.0.1:{listening['port']}"
        roster = _run(
            [*client, "units", "list", "--server", url, "--user", SMOKE_ADMIN],
            stdin=f"{SMOKE_PASSWORD}\n",
        )
        _check(True, f"{SMOKE_ADMIN} signed in over the protocol: {roster.strip()[:60]!r}")
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
        _check(code == 0, f"stopped by SIGTERM, exit {code}")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def check_appimage(out: Path, manifest: dict[str, object]) -> None:
    artifacts = manifest["artifacts"]
    assert isinstance(artifacts, dict)
    if "appimage" in artifacts:
        image = out / artifacts["appimage"]["path"]
        print(f"== {image.name}", flush=True)
        env = dict(os.environ, APPIMAGE_EXTRACT_AND_RUN="1")
        version = _run([image, "--version"], env=env)
        _check(
            version.strip() == f"dispatch-desktop {load().version}", f"AppImage: {version.strip()}"
        )
    else:
        tarball = out / artifacts["tarball"]["path"]
        print(f"== {tarball.name} (no AppImage was built)", flush=True)
        with tempfile.TemporaryDirectory() as unpacked:
            _run(["tar", "-xzf", tarball, "-C", unpacked])
            binary = next(Path(unpacked).glob("*/dispatch-desktop"))
            _check(bool(_run([binary, "--version"]).strip()), "the tarball's --version")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="packaging/smoke.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="build.py's --out")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    if os.geteuid() != 0:
        print("smoke.py: run as root (it installs and removes packages)", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="dispatch-smoke-") as tmp:
            work = Path(tmp)
            os.chmod(work, 0o755)
            check_bundle(out, work)
            artifacts = manifest["artifacts"]
            check_desktop_deb(out, work, out / artifacts["deb"]["path"])
            check_server_deb(out / artifacts["server_deb"]["path"])
            check_appimage(out, manifest)
    except SmokeFailure as exc:
        print(f"\nSMOKE TEST FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"\nsmoke tests passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
