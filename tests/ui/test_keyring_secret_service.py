"""The refresh token through the real OS keyring: the freedesktop Secret Service (gnome-keyring).

Every other test uses an in-memory keyring. This one starts a private D-Bus session with an
unlocked gnome-keyring in it (DESIGN.md section 8) and, in a subprocess that leaves ``keyring``
to choose its default backend, stores, reads and forgets a token through
`desktop.credentials.TokenVault`; ``secret-tool`` (libsecret, as any desktop program would)
must see exactly what the vault stored. HOME and the XDG directories point into ``tmp_path``, so
the machine's own keyring and keyring configuration are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = ("dbus-run-session", "gnome-keyring-daemon", "secret-tool")
MISSING = [tool for tool in TOOLS if shutil.which(tool) is None]
ROOT = Path(__file__).resolve().parents[2]

#: Runs inside the D-Bus session: the vault with the default backend, checked with secret-tool.
PROBE = r"""
import asyncio, json, subprocess, sys

import keyring

from desktop.credentials import SERVICE_NAME, TokenVault

url, user, token = sys.argv[1:4]


def secret_tool_lookup(account):
    done = subprocess.run(
        ["secret-tool", "lookup", "service", SERVICE_NAME, "username", account],
        capture_output=True, text=True, timeout=10,
    )
    return done.returncode, done.stdout


async def main():
    vault = TokenVault()
    account = vault.account(url, user)
    report = {"backend": f"{type(keyring.get_keyring()).__module__}."
                         f"{type(keyring.get_keyring()).__qualname__}"}
    report["stored"] = await vault.store(url, user, token)
    report["loaded"] = await vault.load(url, user)
    report["lookup"] = await asyncio.to_thread(secret_tool_lookup, account)
    await vault.forget(url, user)
    report["loaded_after_forget"] = await vault.load(url, user)
    report["lookup_after_forget"] = await asyncio.to_thread(secret_tool_lookup, account)
    return report


print(json.dumps(asyncio.run(main())))
"""


def _skip_or_fail_if_missing() -> None:
    if not MISSING:
        return
    reason = (
        f"no Secret Service to test against: {', '.join(MISSING)} not installed "
        "(apt-get install --no-install-recommends gnome-keyring dbus-x11 libsecret-tools)"
    )
    if os.environ.get("CI"):  # .ci/run installs them: on CI this test must run
        pytest.fail(reason)
    pytest.skip(reason)


def test_token_stored_and_read_through_the_secret_service(tmp_path: Path) -> None:
    _skip_or_fail_if_missing()
    home = tmp_path / "home"
    runtime = tmp_path / "run"
    for path in (home, runtime):
        path.mkdir(mode=0o700)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DBUS_", "XDG_", "PYTHON_KEYRING", "GNOME_KEYRING"))
    }
    env |= {
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local" / "share"),  # gnome-keyring's keyring files
        "XDG_CONFIG_HOME": str(home / ".config"),  # keyring's keyringrc.cfg (none)
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_RUNTIME_DIR": str(runtime),  # gnome-keyring's control socket
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    }
    url, user, token = "wss://cad.example.org:8765", "ann", "refresh-Zq0x7-secret-service"
    script = (
        "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null"
        ' && exec "$0" -c "$1" "$2" "$3" "$4"'
    )
    done = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", script, sys.executable, PROBE, url, user, token],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])

    assert report["backend"] == "keyring.backends.SecretService.Keyring"
    assert report["stored"] is True
    assert report["loaded"] == token
    assert report["lookup"] == [0, token]  # what any libsecret program sees
    assert report["loaded_after_forget"] is None
    assert report["lookup_after_forget"][1] == ""
    # gnome-keyring kept its files under the temporary HOME, not the machine's.
    assert any((home / ".local" / "share" / "keyrings").iterdir())
