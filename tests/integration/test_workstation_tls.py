"""``servers.ca_cert`` really secures a wss:// connection: the context the workstation
configuration builds (what `desktop.link` hands to websockets' ``connect``) completes a TLS
handshake with a server whose certificate the centre's CA signed, on loopback, and refuses a
server that CA did not sign or one with another host name."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from desktop.workstation_config import load

x509 = pytest.importorskip("cryptography.x509")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _authority(folder: Path, label: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(label))
        .issuer_name(_name(label))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (folder / f"{label}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _server_context(
    folder: Path, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
) -> ssl.SSLContext:
    """A server certificate for localhost and 127.0.0.1, signed by ``ca``."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    chain, private = folder / "server.pem", folder / "server.key"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain, private)
    return context


async def _echo(connection: ServerConnection) -> None:
    async for message in connection:
        await connection.send(message)


async def test_the_centre_s_ca_secures_wss_and_nothing_else_is_trusted(tmp_path: Path) -> None:
    centre_ca, centre_key = _authority(tmp_path, "centre-ca")
    _authority(tmp_path, "other-ca")
    server_tls = _server_context(tmp_path, centre_ca, centre_key)
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
