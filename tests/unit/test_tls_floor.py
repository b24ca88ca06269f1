"""Every requests session we build refuses TLS below 1.2: a loopback server that speaks only TLS 1.0/1.1 is
refused, one that speaks 1.2+ is used, and the floor sits on the adapter actually mounted on each session."""

from __future__ import annotations

import contextlib
import ssl
import threading
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme

from lumina_integration.hooks.rest.auth import OAuth2TokenAuth
from lumina_integration.hooks.rest.retry import RetryPolicy
from lumina_integration.hooks.rest.session import TlsSettings, rest_session
from lumina_integration.hooks.salesforce.resilience import http_session
from lumina_integration.tls import MinimumTlsAdapter, minimum_tls_session


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    authority = trustme.CA()
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return authority, path


@contextlib.contextmanager
def tls_server(authority: trustme.CA, highest: ssl.TLSVersion) -> Iterator[str]:
    """An HTTPS server on loopback that speaks TLS up to ``highest`` (OpenSSL's level 0 lets it offer 1.0/1.1)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = highest
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def permissive_version(url: str, ca_path: Path) -> str | None:
    """The version an old-protocol-tolerant client negotiates: proves what the server really offers."""
    import socket

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(str(ca_path))
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    port = int(url.rsplit(":", 1)[1].strip("/"))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as wrapped,
    ):
        return wrapped.version()


def _rest(ca_path: Path) -> requests.Session:
    return rest_session(TlsSettings(ca_bundle=str(ca_path)))


def _salesforce(ca_path: Path) -> requests.Session:
    # One attempt: urllib3 would otherwise retry the refused handshake with backoff for half a minute.
    return http_session(str(ca_path), policy=RetryPolicy(attempts=1))


def _token_endpoint(ca_path: Path) -> requests.Session:
    session = OAuth2TokenAuth(
        "https://x/oauth_token.do", "client_credentials", client_id="a", client_secret="b"
    ).session
    session.verify = str(ca_path)
    return session


def _plain(ca_path: Path) -> requests.Session:
    session = minimum_tls_session()
    session.verify = str(ca_path)
    return session


SESSIONS: dict[str, Callable[[Path], requests.Session]] = {
    "rest_session (ServiceNow, Jira)": _rest,
    "Salesforce http_session": _salesforce,
    "OAuth token endpoint default": _token_endpoint,
    "minimum_tls_session": _plain,
}


@pytest.mark.parametrize("build", SESSIONS.values(), ids=SESSIONS.keys())
def test_a_tls_1_1_server_is_refused(ca: tuple[trustme.CA, Path], build: Callable[[Path], requests.Session]) -> None:
    authority, ca_path = ca
    with tls_server(authority, ssl.TLSVersion.TLSv1_1) as url:
        assert permissive_version(url, ca_path) == "TLSv1.1", "the server must really speak TLS 1.1"
        session = build(ca_path)
        # verify= on the call: REQUESTS_CA_BUNDLE in the environment would override a plain session's verify.
        with pytest.raises(requests.exceptions.SSLError, match=r"(?i)protocol"):
            session.get(url, timeout=5, verify=str(ca_path))


@pytest.mark.parametrize("build", SESSIONS.values(), ids=SESSIONS.keys())
def test_a_tls_1_2_server_is_used(ca: tuple[trustme.CA, Path], build: Callable[[Path], requests.Session]) -> None:
    authority, ca_path = ca
    with tls_server(authority, ssl.TLSVersion.TLSv1_2) as url:
        assert build(ca_path).get(url, timeout=5, verify=str(ca_path)).text == "ok"


@pytest.mark.parametrize("build", SESSIONS.values(), ids=SESSIONS.keys())
def test_the_mounted_adapter_carries_the_floor(
    ca: tuple[trustme.CA, Path], build: Callable[[Path], requests.Session]
) -> None:
    """urllib3 2 happens to default to TLS 1.2 too; this is what keeps the floor if that default changes."""
    session = build(ca[1])
    for prefix in ("https://", "http://"):
        adapter = session.get_adapter(prefix + "example.com")
        assert isinstance(adapter, MinimumTlsAdapter)
        assert adapter.poolmanager.connection_pool_kw["ssl_minimum_version"] == ssl.TLSVersion.TLSv1_2
    proxied = session.get_adapter("https://example.com").proxy_manager_for("http://127.0.0.1:3128")
    assert proxied.connection_pool_kw["ssl_minimum_version"] == ssl.TLSVersion.TLSv1_2


def test_botocore_builds_its_contexts_with_the_same_floor() -> None:
    """botocore has no TLS-version setting; its own context takes Python's default minimum (TLS 1.2 since 3.10).

    This fails if a Python, OpenSSL or botocore change ever lowers it, so the lake's clients keep the floor too.
    """
    from botocore.httpsession import create_urllib3_context

    assert create_urllib3_context().minimum_version >= ssl.TLSVersion.TLSv1_2
