"""``dispatch-server serve --tls-cert --tls-key`` serves wss://: a workstation that trusts the
centre's private CA (``servers.ca_cert``) signs in and works over it; a plain ws:// client, a
client that does not trust the CA, and a wrong host name are refused; certificate files that
cannot be used stop the server at start with a clear message (exit 2), never a traceback.

A real server process, a CA made in the test (tests/support/tls.py), real TLS on loopback."""

from __future__ import annotations

import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidMessage

from desktop.workstation_config import load
from tests.support.rawclient import MAX_FRAME_BYTES, RawClient
from tests.support.serverproc import ROOT, ServerProcess
from tests.support.tls import Authority


def _trusting(folder: Path, ca: Path) -> ssl.SSLContext:
    """The context a workstation configured with ``servers.ca_cert = ca`` uses."""
    config = folder / f"config-{ca.stem}.toml"
    config.write_text(f'[servers]\nurls = ["wss://localhost:1"]\nca_cert = "{ca.name}"\n')
    context = load(config).ssl_context("wss://localhost:1")
    assert context is not None
    return context


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[ServerProcess, Authority]]:
    ca = Authority.create(tmp_path)
    cert, key = ca.issue(tmp_path)
    server = ServerProcess(
        tmp_path / "server.sqlite", "--tls-cert", str(cert), "--tls-key", str(key)
    )
    server.add_user("ann", "dispatcher")
    server.start(0)
    yield server, ca
    server.stop()


async def test_a_workstation_trusting_the_centre_ca_works_over_wss(
    tls_server: tuple[ServerProcess, Authority], tmp_path: Path
) -> None:
    server, ca = tls_server
    url = f"wss://localhost:{server.port}"
    ws = await connect(
        url, ssl=_trusting(tmp_path, ca.cert_path), open_timeout=5, max_size=MAX_FRAME_BYTES
    )
    ann = RawClient(ws)
    await ann.hello("ann")
    result = await ann.command(
        "incident.create",
        {"incident_id": "i1", "type": "FIRE", "priority": 1, "location": {"address": "1 Main"}},
    )
    assert result.ok and result.events == [1]
    await ann.close()


async def test_plain_clients_strangers_and_wrong_names_are_refused(
    tls_server: tuple[ServerProcess, Authority], tmp_path: Path
) -> None:
    server, ca = tls_server
    url = f"wss://localhost:{server.port}"
    stranger = Authority.create(tmp_path, "other-ca")
    with pytest.raises(ssl.SSLCertVerificationError):
        await connect(url, ssl=_trusting(tmp_path, stranger.cert_path), open_timeout=5)
    with pytest.raises(ssl.SSLCertVerificationError):  # the certificate names localhost only
        await connect(
            url,
            ssl=_trusting(tmp_path, ca.cert_path),
            server_hostname="cad.example.org",
            open_timeout=5,
        )
    with pytest.raises((InvalidMessage, ConnectionError, EOFError, TimeoutError)):
        await connect(f"ws://127.0.0.1:{server.port}", open_timeout=5)
    # the server took no harm: a trusting client still signs in
    ws = await connect(url, ssl=_trusting(tmp_path, ca.cert_path), open_timeout=5)
    client = RawClient(ws)
    await client.hello("ann")
    await client.close()


def _serve(tmp_path: Path, *tls: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", "serve", "--db", str(tmp_path / "s.sqlite"), *tls],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unusable_certificate_files_stop_the_server_with_a_clear_message(tmp_path: Path) -> None:
    ca = Authority.create(tmp_path)
    cert, key = ca.issue(tmp_path)
    _, other_key = ca.issue(tmp_path, "other")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    cases = {
        ("--tls-cert", str(cert)): "--tls-cert and --tls-key go together",
        ("--tls-cert", str(cert), "--tls-key", str(tmp_path / "nope.key")): "does not exist",
        ("--tls-cert", str(cert), "--tls-key", str(other_key)): "does not match",
        ("--tls-cert", str(garbage), "--tls-key", str(key)): "must be PEM",
    }
    for args, said in cases.items():
        done = _serve(tmp_path, *args)
        assert done.returncode == 2, (args, done.stderr)
        assert said in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
