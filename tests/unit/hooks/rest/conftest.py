"""Fixtures for the REST base's tests: a loopback API server, a token endpoint, a test clock (see rest_loopback)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from rest_loopback import FakeClock, LoopbackApi, MutualTls, Sleeps, TokenServer


@pytest.fixture
def api() -> Iterator[LoopbackApi]:
    server = LoopbackApi()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def tokens(api: LoopbackApi, clock: FakeClock) -> TokenServer:
    return TokenServer(api, clock)


@pytest.fixture
def mutual_tls_api(tmp_path: Path) -> Iterator[MutualTls]:
    """An HTTPS server that requires a client certificate issued by its CA."""
    import trustme

    ca = trustme.CA(organization_name="Lumina REST tests")
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    client_cert = ca.issue_cert("etl-client@lumina.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_cert.configure_cert(context)
    ca.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    ca_path, cert_path, key_path = tmp_path / "ca.pem", tmp_path / "client.pem", tmp_path / "client.key"
    ca.cert_pem.write_to_path(str(ca_path))
    client_cert.cert_chain_pems[0].write_to_path(str(cert_path))
    client_cert.private_key_pem.write_to_path(str(key_path))
    server = LoopbackApi()
    server.start(tls=context)
    yield MutualTls(server, ca_path, cert_path, key_path)
    server.stop()
