"""TLS for a sandbox: a throwaway ``trustme`` CA, a server certificate for 127.0.0.1/localhost and a client
certificate issued by the same CA (for systems that can require mutual TLS).

Clients trust the sandbox by passing the CA file as ``verify=`` (requests) — nothing is added to system
stores; a mutual-TLS client passes ``cert=client.pem`` (its key and certificate in one file).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lumina_integration.private import private_dir

CA_FILE = "ca.pem"
SERVER_FILE = "server.pem"
CLIENT_FILE = "client.pem"


@dataclass(frozen=True)
class TlsFiles:
    ca_path: Path
    server_pem: Path  # private key + certificate chain, for the server only (mode 0600)
    client_pem: Path | None = None  # private key + certificate of a client the CA issued (mode 0600)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def write_certificates(directory: Path, organization: str = "Lumina Sandbox", *, client: str | None = None) -> TlsFiles:
    """Create a CA and a server certificate in ``directory``; with ``client`` (a name) a client one too."""
    import trustme

    private_dir(directory)
    ca = trustme.CA(organization_name=organization, organization_unit_name="sandbox CA")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_path = directory / CA_FILE
    server_pem = directory / SERVER_FILE
    ca.cert_pem.write_to_path(str(ca_path))
    _write_private(server_pem, cert.private_key_and_cert_chain_pem.bytes())
    client_pem = None
    if client is not None:
        client_pem = directory / CLIENT_FILE
        issued = ca.issue_cert(client, common_name=client)
        _write_private(client_pem, issued.private_key_and_cert_chain_pem.bytes())
    return TlsFiles(ca_path, server_pem, client_pem)
