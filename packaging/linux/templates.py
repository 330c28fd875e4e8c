"""The text files of the Linux packages: the desktop entry, AppStream metadata, Debian control
and maintainer scripts, the server's systemd unit. Each is a function of `Metadata`, so names,
versions and ids have one home (``pyproject.toml``); ``build.py`` writes them.

The maintainer scripts' contract, for a centre's IT staff:

- **Workstation**: removing or purging the package removes only what it installed. Each user's
  data (the outbox of commands not yet sent, the replica, logs, layouts, under
  ``~/.local/share/dispatch-desktop`` and ``~/.config/dispatch-desktop``) and IT's
  ``/etc/dispatch-desktop/config.toml`` (not shipped by the package) stay.
- **Server**: installing creates the system user ``dispatch-server`` and
  ``/var/lib/dispatch-server`` (mode 750), enables and starts the unit where systemd runs.
  Removing stops it. Purging removes the unit's enablement and the
  ``/etc/default/dispatch-server`` settings, but never the database: a centre's event log is a
  record it must keep; deleting it is a deliberate act (``rm -r /var/lib/dispatch-server``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metadata import Metadata

__all__ = [
    "SERVER_DB",
    "SERVER_PACKAGE",
    "SERVER_USER",
    "appstream",
    "control",
    "desktop_entry",
    "desktop_postinst",
    "desktop_postrm",
    "server_defaults",
    "server_postinst",
    "server_postrm",
    "server_prerm",
    "systemd_unit",
]

SERVER_PACKAGE = "dispatch-server"
SERVER_USER = "dispatch-server"
SERVER_STATE = "/var/lib/dispatch-server"
SERVER_DB = f"{SERVER_STATE}/dispatch.sqlite"


def desktop_entry(meta: Metadata) -> str:
    """``<app-id>.desktop`` (freedesktop Desktop Entry 1.4; ``desktop-file-validate`` clean)."""
    return f"""[Desktop Entry]
Type=Application
Version=1.4
Name={meta.title}
GenericName=Computer-Aided Dispatch
Comment={meta.description}
Exec={meta.name}
TryExec={meta.name}
Icon={meta.app_id}
Terminal=false
Categories=Utility;
Keywords=911;CAD;dispatch;emergency;
StartupNotify=true
StartupWMClass={meta.name}
"""


def appstream(meta: Metadata, released: str) -> str:
    """``<app-id>.metainfo.xml``: what software centres and appimagetool read; ``released`` is
    the release's date, ``YYYY-MM-DD`` (``appstreamcli validate`` clean on Debian 12)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<component type="desktop-application">
  <id>{meta.app_id}</id>
  <metadata_license>CC0-1.0</metadata_license>
  <project_license>LicenseRef-proprietary</project_license>
  <name>{meta.title}</name>
  <summary>Computer-Aided Dispatch for 911 dispatch centres</summary>
  <description>
    <p>{meta.description}.</p>
  </description>
  <launchable type="desktop-id">{meta.app_id}.desktop</launchable>
  <url type="homepage">{meta.homepage}</url>
  <developer_name>{meta.vendor}</developer_name>
  <content_rating type="oars-1.1"/>
  <releases>
    <release version="{meta.version}" date="{released}"/>
  </releases>
</component>
"""


def control(
    meta: Metadata,
    *,
    package: str,
    summary: str,
    depends: Sequence[str],
    installed_kib: int,
    recommends: Sequence[str] = (),
    architecture: str = "amd64",
) -> str:
    """A binary package's ``DEBIAN/control``."""
    lines = [
        f"Package: {package}",
        f"Version: {meta.version}",
        f"Architecture: {architecture}",
        f"Maintainer: {meta.maintainer}",
        f"Installed-Size: {installed_kib}",
        f"Depends: {', '.join(depends)}",
    ]
    if recommends:
        lines.append(f"Recommends: {', '.join(recommends)}")
    lines += [
        "Section: net",
        "Priority: optional",
        f"Homepage: {meta.homepage}",
        f"Description: {summary}",
        f" {meta.description}.",
        " Built with PyInstaller: the interpreter and libraries are inside /opt.",
    ]
    return "\n".join(lines) + "\n"


_CACHES = """if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q /usr/share/applications || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
fi"""


def desktop_postinst(meta: Metadata) -> str:
    return f"""#!/bin/sh
# {meta.name}: refresh the menus' caches. Nothing else: user data is the users'.
set -e
{_CACHES}
exit 0
"""


def desktop_postrm(meta: Metadata) -> str:
    return f"""#!/bin/sh
# {meta.name}: leaves every user's data alone on remove and on purge: the outbox of commands not
# yet sent, the local replica, logs and layouts (~/.local/share/{meta.name},
# ~/.config/{meta.name}), and IT's /etc/{meta.name}/config.toml, which this package does not own.
set -e
case "$1" in
    remove|purge)
{_CACHES}
        ;;
esac
exit 0
"""


def systemd_unit(meta: Metadata) -> str:
    """``dispatch-server.service``: the server as its own user, its database under /var/lib."""
    return f"""[Unit]
Description={meta.title} reference dispatch server
Documentation={meta.homepage}
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
User={SERVER_USER}
Group={SERVER_USER}
EnvironmentFile=-/etc/default/{SERVER_PACKAGE}
ExecStart=/usr/bin/dispatch-server serve --db {SERVER_DB} $DISPATCH_SERVER_ARGS
# SIGTERM: connections closed with 1001 (workstations reconnect), the WAL checkpointed.
KillSignal=SIGTERM
TimeoutStopSec=30
Restart=on-failure
RestartSec=2
StateDirectory={SERVER_PACKAGE}
StateDirectoryMode=0750
UMask=0027
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true
PrivateDevices=true
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectControlGroups=true
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
"""


def server_defaults() -> str:
    """``/etc/default/dispatch-server`` (a conffile: an upgrade keeps the centre's edits)."""
    return """# Arguments of `dispatch-server serve` beyond --db (see docs/operations.md):
# --host, --port, --max-frame-bytes, --rate-limit, --burst, --log-level.
DISPATCH_SERVER_ARGS="--host 0.0.0.0 --port 8765"
"""


def server_postinst() -> str:
    return f"""#!/bin/sh
# {SERVER_PACKAGE}: its own system user and state directory; enable and start the unit.
set -e
if [ "$1" = configure ]; then
    mkdir -p {SERVER_STATE}
    if ! getent passwd {SERVER_USER} >/dev/null; then
        adduser --system --group --home {SERVER_STATE} --no-create-home \\
            --gecos "dispatch server" {SERVER_USER} >/dev/null
    fi
    chown {SERVER_USER}:{SERVER_USER} {SERVER_STATE}
    chmod 0750 {SERVER_STATE}
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload || true
        systemctl enable {SERVER_PACKAGE}.service >/dev/null || true
        systemctl restart {SERVER_PACKAGE}.service || true
    fi
fi
exit 0
"""


def server_prerm() -> str:
    return f"""#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    systemctl stop {SERVER_PACKAGE}.service || true
fi
exit 0
"""


def server_postrm() -> str:
    return f"""#!/bin/sh
# {SERVER_PACKAGE}: never deletes the database ({SERVER_STATE}), not even on purge.
set -e
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
fi
if [ "$1" = purge ]; then
    if [ -d /run/systemd/system ]; then
        systemctl disable {SERVER_PACKAGE}.service >/dev/null 2>&1 || true
    fi
    if [ -d {SERVER_STATE} ]; then
        echo "{SERVER_PACKAGE}: the database in {SERVER_STATE} is kept; remove it by hand if" \\
            "the centre no longer needs its records." >&2
    fi
fi
exit 0
"""
