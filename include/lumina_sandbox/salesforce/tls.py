"""TLS for the sandbox: a throwaway ``trustme`` CA and a certificate for 127.0.0.1/localhost issued by it.

Clients trust the sandbox by passing the CA file as ``verify=`` (requests) — nothing is added to system stores.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CA_FILE = "ca.pem"
SERVER_FILE = "server.pem"


@dataclass(frozen=True)
class TlsFiles:
    ca_path: Path
    server_pem: Path  # private key + certificate chain, for the server only (mode 0600)


def write_certificates(directory: Path) -> TlsFiles:
    """Create a CA and a server certificate in ``directory``."""
    import trustme

    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="Lumina Salesforce Sandbox", organization_unit_name="sandbox CA")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_path = directory / CA_FILE
    server_pem = directory / SERVER_FILE
    ca.cert_pem.write_to_path(str(ca_path))
    fd = os.open(server_pem, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(cert.private_key_and_cert_chain_pem.bytes())
    return TlsFiles(ca_path, server_pem)
