"""OAuth 2.0 token requests for every Salesforce flow we support.

We call the token endpoint ourselves (instead of simple-salesforce's login helpers, which always
post to ``https://{domain}.salesforce.com``) so My Domain URLs and private CAs work, then hand the
instance URL and access token to simple-salesforce.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests

from lumina_integration.hooks.salesforce.settings import SalesforceSettings


class SalesforceAuthError(RuntimeError):
    """The token endpoint refused the credentials (not retried: credentials do not heal)."""


@dataclass(frozen=True)
class Token:
    access_token: str
    instance_url: str
    refresh_token: str | None = None


def _jwt_assertion(settings: SalesforceSettings) -> str:
    import jwt

    if not settings.private_key:
        raise SalesforceAuthError("jwt_bearer needs the connected app's private key in the connection extra")
    claims = {
        "iss": settings.client_id,
        "sub": settings.username,
        "aud": settings.login_url,
        "exp": int(time.time()) + 180,
    }
    return str(jwt.encode(claims, settings.private_key, algorithm="RS256"))


def token_request_body(settings: SalesforceSettings) -> dict[str, Any]:
    """The form body of the token request for the settings' auth mode."""
    mode = settings.auth_mode
    if mode == "password":
        return {
            "grant_type": "password",
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
            "username": settings.username,
            # Salesforce expects the security token appended to the password.
            "password": f"{settings.password or ''}{settings.security_token}",
        }
    if mode == "client_credentials":
        return {
            "grant_type": "client_credentials",
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
        }
    if mode == "jwt_bearer":
        return {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": _jwt_assertion(settings)}
    return {
        "grant_type": "refresh_token",
        "refresh_token": settings.refresh_token,
        "client_id": settings.client_id,
        "client_secret": settings.client_secret,
    }


def fetch_token(settings: SalesforceSettings, session: requests.Session) -> Token:
    body = {k: v for k, v in token_request_body(settings).items() if v is not None}
    response = session.post(f"{settings.login_url}/services/oauth2/token", data=body, timeout=60)
    if response.status_code != 200:
        try:
            detail = response.json()
            reason = f"{detail.get('error')}: {detail.get('error_description')}"
        except ValueError:
            reason = response.text[:200]
        raise SalesforceAuthError(
            f"Salesforce refused the {settings.auth_mode} login ({response.status_code} {reason})"
        )
    data = response.json()
    return Token(data["access_token"], data["instance_url"], data.get("refresh_token"))
