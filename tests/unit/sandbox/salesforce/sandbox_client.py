"""Client helpers shared by the Salesforce sandbox tests (plain requests against the running sandbox)."""

from __future__ import annotations

from typing import Any

import requests

from lumina_sandbox.salesforce.server import SandboxServer

VERSION = "62.0"


def http_session(server: SandboxServer) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(server.ca_path)
    return session


def password_token(server: SandboxServer) -> dict[str, Any]:
    creds = server.credentials
    response = http_session(server).post(
        f"{server.base_url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "username": creds.username,
            "password": creds.password + creds.security_token,
        },
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def url(server: SandboxServer, path: str) -> str:
    return f"{server.base_url}/services/data/v{VERSION}/{path}"


def salesforce(server: SandboxServer) -> Any:
    """simple-salesforce logged in with a fresh bearer token."""
    from simple_salesforce import Salesforce

    token = password_token(server)
    return Salesforce(
        instance_url=token["instance_url"],
        session_id=token["access_token"],
        session=http_session(server),
        version=VERSION,
    )
