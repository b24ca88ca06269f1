"""Login flows against the sandbox: OAuth grants, SOAP login, refresh rotation, session expiry."""

from __future__ import annotations

import base64
import time
from typing import Any

import jwt
import pytest
from sandbox_client import VERSION, http_session, password_token, url
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession
from simple_salesforce.login import soap_login

from lumina_sandbox.salesforce.server import SandboxServer


def token_request(server: SandboxServer, data: dict[str, str], **kwargs: Any) -> Any:
    return http_session(server).post(f"{server.base_url}/services/oauth2/token", data=data, **kwargs)


def test_password_grant_returns_a_working_bearer_token(server: SandboxServer) -> None:
    token = password_token(server)
    assert token["instance_url"] == server.base_url
    assert token["token_type"] == "Bearer"
    assert token["id"].endswith(server.credentials.user_id)
    assert token["refresh_token"]
    response = http_session(server).get(
        url(server, "limits/"), headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert response.status_code == 200
    assert "DailyApiRequests" in response.json()


@pytest.mark.parametrize(
    ("change", "error", "description"),
    [
        ({"password": "wrong"}, "invalid_grant", "authentication failure"),
        ({"username": "nobody@example.com"}, "invalid_grant", "authentication failure"),
        ({"client_id": "unknown"}, "invalid_client_id", "client identifier invalid"),
        ({"client_secret": "bad"}, "invalid_client", "invalid client credentials"),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type", "grant type not supported"),
    ],
)
def test_password_grant_failures_use_salesforce_wording(
    server: SandboxServer, change: dict[str, str], error: str, description: str
) -> None:
    creds = server.credentials
    data = {
        "grant_type": "password",
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "username": creds.username,
        "password": creds.password + creds.security_token,
        **change,
    }
    response = token_request(server, data)
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_password_without_security_token_is_refused(server: SandboxServer) -> None:
    creds = server.credentials
    data = {
        "grant_type": "password",
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "username": creds.username,
        "password": creds.password,
    }
    assert token_request(server, data).json()["error"] == "invalid_grant"


def test_client_credentials_with_form_fields_and_with_basic_auth(server: SandboxServer) -> None:
    creds = server.credentials
    form = token_request(
        server, {"grant_type": "client_credentials", "client_id": creds.client_id, "client_secret": creds.client_secret}
    )
    assert form.status_code == 200 and form.json()["access_token"]
    basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
    header = token_request(server, {"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"})
    assert header.status_code == 200
    assert "refresh_token" not in header.json()
    wrong = base64.b64encode(f"{creds.client_id}:nope".encode()).decode()
    refused = token_request(server, {"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {wrong}"})
    assert refused.json() == {"error": "invalid_client", "error_description": "invalid client credentials"}


def _assertion(server: SandboxServer, **claims: Any) -> str:
    creds = server.credentials
    payload = {"iss": creds.client_id, "sub": creds.username, "aud": server.base_url, "exp": int(time.time()) + 180}
    payload.update(claims)
    key = claims.pop("key", None) or creds.private_key_pem
    payload.pop("key", None)
    return jwt.encode(payload, key, algorithm="RS256")


def test_jwt_bearer_accepts_the_connected_app_key_and_login_audiences(server: SandboxServer) -> None:
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    for audience in (server.base_url, "https://login.salesforce.com", "https://test.salesforce.com"):
        response = token_request(server, {"grant_type": grant, "assertion": _assertion(server, aud=audience)})
        assert response.status_code == 200, response.text
    # simple-salesforce sends exp as text
    text_exp = _assertion(server, exp=f"{time.time() + 180:.0f}")
    assert token_request(server, {"grant_type": grant, "assertion": text_exp}).status_code == 200


def test_jwt_bearer_failures(server: SandboxServer) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    cases = [
        (_assertion(server, key=other), "invalid_grant", "invalid assertion"),
        (_assertion(server, aud="https://example.com"), "invalid_grant", "audience is invalid"),
        (_assertion(server, exp=int(time.time()) - 10), "invalid_grant", "expired authorization code"),
        (_assertion(server, iss="someone-else"), "invalid_client_id", "client identifier invalid"),
        ("not-a-jwt", "invalid_grant", "invalid assertion"),
    ]
    for assertion, error, description in cases:
        response = token_request(server, {"grant_type": grant, "assertion": assertion})
        assert response.status_code == 400
        assert response.json() == {"error": error, "error_description": description}


def test_refresh_token_grant_and_single_use_rotation(server: SandboxServer) -> None:
    creds = server.credentials
    data = {
        "grant_type": "refresh_token",
        "refresh_token": creds.refresh_token,
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
    }
    first = token_request(server, data)
    assert first.status_code == 200 and "refresh_token" not in first.json()

    server.org.settings(rotate_refresh_tokens=True)
    issued = password_token(server)["refresh_token"]
    rotated = token_request(server, {**data, "refresh_token": issued})
    assert rotated.status_code == 200
    replacement = rotated.json()["refresh_token"]
    assert replacement != issued
    reused = token_request(server, {**data, "refresh_token": issued})
    assert reused.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}
    assert token_request(server, {**data, "refresh_token": replacement}).status_code == 200


def _soap_body(username: str, password: str) -> str:
    return f"""<?xml version="1.0" encoding="utf-8" ?>
<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
        xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">
    <env:Header><urn:CallOptions><urn:client>simple-salesforce</urn:client>
        <urn:defaultNamespace>sf</urn:defaultNamespace></urn:CallOptions></env:Header>
    <env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com">
        <n1:username>{username}</n1:username><n1:password>{password}</n1:password>
    </n1:login></env:Body>
</env:Envelope>"""


def test_soap_login_as_simple_salesforce_posts_it(server: SandboxServer) -> None:
    creds = server.credentials
    headers = {"content-type": "text/xml", "charset": "UTF-8", "SOAPAction": "login"}
    soap_url = f"{server.base_url}/services/Soap/u/{VERSION}"
    session_id, instance = soap_login(
        soap_url, _soap_body(creds.username, creds.password + creds.security_token), headers, None, http_session(server)
    )
    assert instance == server.base_url.removeprefix("https://")
    sf = Salesforce(session_id=session_id, instance=instance, session=http_session(server), version=VERSION)
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] > 0

    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        soap_login(soap_url, _soap_body(creds.username, "wrong"), headers, None, http_session(server))
    assert failure.value.code == "INVALID_LOGIN"
    assert "Invalid username, password, security token" in failure.value.auth_message


def test_sessions_expire_on_the_sandbox_clock(server: SandboxServer, sf: Any) -> None:
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] > 0
    server.org.advance(2 * 3600 + 1)
    with pytest.raises(SalesforceExpiredSession) as expired:
        sf.query("SELECT COUNT() FROM Lead")
    assert expired.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_expire_sessions_ends_every_session_now(server: SandboxServer, api: Any) -> None:
    assert api.get(url(server, "limits/")).status_code == 200
    server.control.expire_sessions()
    response = api.get(url(server, "limits/"))
    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_missing_bearer_is_401_and_not_counted(server: SandboxServer) -> None:
    used = server.org.limits.api_used
    response = http_session(server).get(url(server, "limits/"))
    assert response.status_code == 401
    assert server.org.limits.api_used == used


@pytest.mark.parametrize("flow", ["soap", "jwt_bearer", "client_credentials"])
def test_simple_salesforce_logs_in_through_the_login_domain(server: SandboxServer, flow: str) -> None:
    """simple-salesforce builds https://<domain>.salesforce.com/...; the sandbox's domain reaches it."""
    creds = server.credentials
    assert creds.login_domain == f"{server.base_url.removeprefix('https://')}/login"
    logins: dict[str, dict[str, Any]] = {
        "soap": {"username": creds.username, "password": creds.password, "security_token": creds.security_token},
        "jwt_bearer": {
            "username": creds.username,
            "consumer_key": creds.client_id,
            "privatekey": creds.private_key_pem,
        },
        "client_credentials": {"consumer_key": creds.client_id, "consumer_secret": creds.client_secret},
    }
    sf = Salesforce(domain=creds.login_domain, session=http_session(server), version=VERSION, **logins[flow])
    assert sf.sf_instance == server.base_url.removeprefix("https://")
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] > 0
    # Only login paths are served under a login host; the API stays at the instance.
    elsewhere = http_session(server).get(f"{server.base_url}/login.salesforce.com/services/data/")
    assert elsewhere.status_code == 404


def test_the_airflow_connection_keeps_the_login_host_where_the_provider_reads_it(server: SandboxServer) -> None:
    from lumina_sandbox.salesforce.connection import airflow_connection

    creds = server.credentials.as_dict()
    connection = airflow_connection(creds, server.ca_path)
    assert "host" not in connection
    assert connection["extra"]["domain"] == server.credentials.login_domain
    # A credentials file written by a sandbox from before login_domain gives the same connection.
    older = {k: v for k, v in creds.items() if k != "login_domain"}
    assert airflow_connection(older, server.ca_path) == connection
