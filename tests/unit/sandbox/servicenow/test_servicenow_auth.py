"""Basic auth, the OAuth grants of /oauth_token.do, token expiry on the instance clock, mutual TLS."""

from __future__ import annotations

import pytest
import requests
from snow_client import http_session, table_url, token

from lumina_sandbox.servicenow.instance import Instance
from lumina_sandbox.servicenow.server import ServiceNowServer

NOT_AUTHENTICATED = {
    "error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
    "status": "failure",
}


def _bearer(server: ServiceNowServer, access: str) -> requests.Response:
    session = http_session(server)
    session.headers["Authorization"] = f"Bearer {access}"
    return session.get(table_url(server, "core_company"), params={"sysparm_limit": "1"})


def test_basic_auth(server: ServiceNowServer) -> None:
    session = http_session(server)
    missing = session.get(table_url(server, "incident"))
    assert missing.status_code == 401 and missing.json() == NOT_AUTHENTICATED
    assert missing.headers["WWW-Authenticate"] == 'BASIC realm="Service-now"'
    wrong = session.get(table_url(server, "incident"), auth=(server.credentials.username, "wrong"))
    assert wrong.status_code == 401 and wrong.json() == NOT_AUTHENTICATED
    assert session.get(table_url(server, "incident"), auth=server.basic_auth).status_code == 200


def test_password_grant_returns_the_valid_token_again_and_refresh_grant(server: ServiceNowServer) -> None:
    first = token(server)
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == {"access_token", "refresh_token", "scope", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 1799
    assert token(server).json()["access_token"] == body["access_token"]
    assert _bearer(server, body["access_token"]).status_code == 200
    refreshed = token(server, "refresh_token", refresh_token=body["refresh_token"])
    assert refreshed.status_code == 200 and refreshed.json()["refresh_token"] == body["refresh_token"]


def test_client_credentials_grant(server: ServiceNowServer) -> None:
    granted = token(server, "client_credentials")
    assert granted.status_code == 200 and "refresh_token" not in granted.json()
    assert _bearer(server, granted.json()["access_token"]).status_code == 200


def test_refused_grants_use_the_instance_error_shape(server: ServiceNowServer) -> None:
    wrong_secret = token(server, client_secret="nope")
    assert wrong_secret.status_code == 401
    assert wrong_secret.json() == {"error_description": "access_denied", "error": "server_error"}
    assert token(server, password="nope").status_code == 401
    assert token(server, "refresh_token", refresh_token="nope").status_code == 401
    assert token(server, "authorization_code").status_code == 400
    creds = server.credentials
    as_json = http_session(server).post(
        f"{server.base_url}/oauth_token.do",
        json={"grant_type": "password", "client_id": creds.client_id, "client_secret": creds.client_secret},
    )
    assert as_json.status_code == 400


def test_access_token_expires_on_the_instance_clock(server: ServiceNowServer) -> None:
    body = token(server, "client_credentials").json()
    server.control.advance(body["expires_in"] + 2)
    expired = _bearer(server, body["access_token"])
    assert expired.status_code == 401 and expired.json() == NOT_AUTHENTICATED
    assert "WWW-Authenticate" not in expired.headers
    fresh = token(server, "client_credentials").json()
    assert fresh["access_token"] != body["access_token"] and _bearer(server, fresh["access_token"]).status_code == 200


def test_expire_sessions_and_expiry_fault(server: ServiceNowServer) -> None:
    body = token(server).json()
    assert server.control.expire_sessions() >= 1
    assert _bearer(server, body["access_token"]).status_code == 401
    renewed = token(server, "refresh_token", refresh_token=body["refresh_token"]).json()
    server.control.add_fault("table", "expire_session")
    assert _bearer(server, renewed["access_token"]).status_code == 401  # the token was dropped mid-run
    assert _bearer(server, renewed["access_token"]).status_code == 401


def test_rotating_refresh_tokens(server: ServiceNowServer) -> None:
    server.control.settings(rotate_refresh_tokens=True, access_token_ttl=60)
    body = token(server).json()
    assert body["expires_in"] == 59
    rotated = token(server, "refresh_token", refresh_token=body["refresh_token"]).json()
    assert rotated["refresh_token"] != body["refresh_token"]
    assert token(server, "refresh_token", refresh_token=body["refresh_token"]).status_code == 401


def test_mutual_tls_requires_the_client_certificate() -> None:
    with ServiceNowServer(Instance.generate(counts={"incident": 5}), require_client_cert=True) as server:
        assert server.client_pem is not None
        session = http_session(server)
        with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
            session.get(table_url(server, "incident"), auth=server.basic_auth)
        session.cert = str(server.client_pem)
        response = session.get(table_url(server, "incident"), auth=server.basic_auth)
        assert response.status_code == 200 and len(response.json()["result"]) == 5
        assert server.control.count("incident") == 5
    server.instance.close()
