"""TLS for the Salesforce sandbox: ``common.tls`` with the CA named for Salesforce.

Clients trust the sandbox by passing the CA file as ``verify=`` (requests) — nothing is added to system stores.
"""

from __future__ import annotations

from pathlib import Path

from lumina_sandbox.common.tls import CA_FILE, SERVER_FILE, TlsFiles
from lumina_sandbox.common.tls import write_certificates as _write

__all__ = ["CA_FILE", "SERVER_FILE", "TlsFiles", "write_certificates"]
ORGANIZATION = "Lumina Salesforce Sandbox"


def write_certificates(directory: Path) -> TlsFiles:
    """Create a CA and a server certificate in ``directory``."""
    return _write(directory, ORGANIZATION)
