"""Every auth mode of the connection against the sandbox, mutual TLS, token expiry, refused credentials."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from snow_reads import connection, live, read

from lumina_integration.hooks.base import StopRun
from lumina_integration.hooks.rest.client import RestError
from lumina_integration.hooks.servicenow.hook import ServiceNowHook
from lumina_sandbox.servicenow.instance import Instance
from lumina_sandbox.servicenow.server import ServiceNowServer


def refresh_token(server: Any) -> str:
    creds = server.credentials
    answer = requests.post(
        f"{server.base_url}/oauth_token.do",
        data={
            "grant_type": "password",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "username": creds.username,
            "password": creds.password,
        },
        verify=str(server.ca_path),
        timeout=10,
    )
    token: str = answer.json()["refresh_token"]
    return token


@pytest.mark.parametrize("auth", ["basic", "oauth_password", "oauth_refresh_token", "oauth_client_credentials"])
def test_every_auth_mode_connects_and_reads(server: Any, connect: Any, auth: str) -> None:
    extra = {"refresh_token": refresh_token(server)} if auth == "oauth_refresh_token" else {}
    h = connect(auth, **extra)
    assert h.settings.auth_type == auth
    ok, message = h.test_connection()
    assert ok, message
    assert "tables; instance clock" in message
    assert live(read(h, "core_company")).num_rows == len(server.control.truth("core_company"))


def test_an_expired_token_is_renewed_mid_read(server: Any, connect: Any) -> None:
    h = connect("oauth_password")
    h.server_now()
    tokens = h.client.auth.token_requests
    server.instance.faults.add("table", "expire_session", after=2)  # the third list request: 401, token revoked
    table = read(h, "incident", page_size=50)
    assert live(table).num_rows == len(server.control.truth("incident"))
    assert h.client.auth.token_requests == tokens + 1  # one refresh, and the same request sent again


def test_a_token_past_its_lifetime_on_the_instance_clock_is_renewed(server: Any, connect: Any) -> None:
    server.control.settings(access_token_ttl=120)
    h = connect("oauth_client_credentials")
    h.server_now()
    server.control.advance(3600)  # the instance's clock: the token is dead there, not on the worker's clock
    assert live(read(h, "core_company")).num_rows > 0
    assert h.client.auth.token_requests == 2


def test_wrong_credentials_fail_clearly_and_are_not_retried(server: Any, connect: Any) -> None:
    conn = connection(server)
    conn["password"] = "wrong"
    h = connect(conn=conn)
    ok, message = h.test_connection()
    assert not ok and "401" in message
    with pytest.raises(StopRun, match="refused the connection's credentials"):
        connect(conn=conn).server_now()
    bad = connection(server, "oauth_client_credentials")
    bad["extra"]["client_secret"] = "wrong"
    with pytest.raises(StopRun, match="refused the client_credentials grant"):
        connect(conn=bad).server_now()


def test_a_connection_missing_what_its_auth_type_needs_is_refused(server: Any, connect: Any) -> None:
    conn = connection(server, "oauth_client_credentials")
    del conn["extra"]["client_secret"]
    with pytest.raises(ValueError, match="needs client_secret"):
        _ = connect(conn=conn).settings
    conn = connection(server)
    conn["extra"]["auth_type"] = "kerberos"
    with pytest.raises(ValueError, match="unknown auth_type"):
        _ = connect(conn=conn).settings


def test_mutual_tls_needs_the_client_certificate(connect: Any) -> None:
    with ServiceNowServer(Instance.generate(seed=5, counts={"core_company": 3}), require_client_cert=True) as mtls:
        creds = {**mtls.credentials.as_dict(), "instance_url": mtls.base_url}
        from lumina_sandbox.servicenow.connection import airflow_connection

        with_cert = airflow_connection(creds, mtls.ca_path, client_cert=mtls.client_pem)
        h = connect(conn=with_cert)
        ok, message = h.test_connection()
        assert ok, message
        assert live(read(h, "core_company")).num_rows == 3
        # The same certificate as PEM text in the connection (a secrets backend without files).
        inline = json.loads(json.dumps(with_cert))
        inline["extra"]["client_cert"] = mtls.client_pem.read_text()
        inline["extra"]["ca_bundle"] = mtls.ca_path.read_text()
        assert connect(conn=inline).test_connection()[0]
        without = airflow_connection(creds, mtls.ca_path)
        # TLS 1.3: the server refuses the missing certificate after the handshake, so the client sees a
        # dropped connection (retried, then reported), not a handshake error.
        with pytest.raises(RestError, match=r"TLS handshake failed|Connection aborted"):
            connect(conn=without).server_now()
    mtls.instance.close()


def test_secrets_never_reach_the_hooks_repr_or_messages(server: Any, connect: Any) -> None:
    h: ServiceNowHook = connect("oauth_password")
    h.server_now()
    creds = server.credentials
    for text in (repr(h.client.auth), repr(h.settings.auth_type)):
        assert creds.password not in text and creds.client_secret not in text
