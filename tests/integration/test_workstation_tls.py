"""``servers.ca_cert`` really secures a wss:// connection: the context the workstation
configuration builds (what `desktop.link` hands to websockets' ``connect``) completes a TLS
handshake with a server whose certificate the centre's CA signed, on loopback, and refuses a
server that CA did not sign or one with another host name."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from desktop.workstation_config import load
from tests.support.tls import Authority


def _server_context(folder: Path, ca: Authority) -> ssl.SSLContext:
    """A server context for localhost and 127.0.0.1, its certificate signed by ``ca``."""
    chain, private = ca.issue(folder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain, private)
    return context


async def _echo(connection: ServerConnection) -> None:
    async for message in connection:
        await connection.send(message)


async def test_the_centre_s_ca_secures_wss_and_nothing_else_is_trusted(tmp_path: Path) -> None:
    centre_ca = Authority.create(tmp_path, "centre-ca")
    Authority.create(tmp_path, "other-ca")
    server_tls = _server_context(tmp_path, centre_ca)
    trusting = load(_config(tmp_path, "centre-ca.pem"))
    stranger = load(_config(tmp_path, "other-ca.pem"))
    async with serve(_echo, "127.0.0.1", 0, ssl=server_tls) as server:
        port = server.sockets[0].getsockname()[1]
        url = f"wss://localhost:{port}"
        async with connect(url, ssl=trusting.ssl_context(url), open_timeout=5) as ws:
            await ws.send("ping")
            assert await ws.recv() == "ping"
        with pytest.raises(ssl.SSLCertVerificationError):
            async with connect(url, ssl=stranger.ssl_context(url), open_timeout=5):
                pass
        # the host name is checked too: the certificate names localhost and 127.0.0.1 only
        wrong = trusting.ssl_context(url)
        assert wrong is not None
        with pytest.raises(ssl.SSLCertVerificationError):
            async with connect(url, ssl=wrong, server_hostname="cad.example.org", open_timeout=5):
                pass


def _config(folder: Path, ca_name: str) -> Path:
    path = folder / f"config-{ca_name}.toml"
    path.write_text(f'[servers]\nurls = ["wss://localhost:1"]\nca_cert = "{ca_name}"\n')
    return path
