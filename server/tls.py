"""The server's TLS: `server_context` builds the context ``dispatch-server serve --tls-cert
--tls-key`` serves wss:// with.

The certificate file holds the server's certificate followed by any intermediate ones (PEM);
the key file its private key (PEM, not encrypted: the server starts unattended). TLS 1.2 is
the oldest version offered. A file that is missing, unreadable, not PEM, or a key that does not
match the certificate raises `TlsConfigError` naming the file, never a traceback.
"""

from __future__ import annotations

import ssl
from pathlib import Path

__all__ = ["TlsConfigError", "server_context"]


class TlsConfigError(ValueError):
    """The certificate or key cannot be used (the message says which file and why)."""


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side TLS context presenting ``cert`` with ``key`` (module docstring)."""
    for label, path in (("certificate", cert), ("key", key)):
        if not path.is_file():
            raise TlsConfigError(f"the TLS {label} file {path} does not exist")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    except PermissionError as exc:
        raise TlsConfigError(f"cannot read {exc.filename or cert}: permission denied") from None
    except ssl.SSLError as exc:
        reason = exc.reason or str(exc)
        if "KEY_VALUES_MISMATCH" in str(exc) or reason == "KEY_VALUES_MISMATCH":
            raise TlsConfigError(f"the key {key} does not match the certificate {cert}") from None
        raise TlsConfigError(
            f"cannot use the TLS certificate {cert} with the key {key}: {reason}"
            " (both must be PEM; the key not encrypted)"
        ) from None
    return context
