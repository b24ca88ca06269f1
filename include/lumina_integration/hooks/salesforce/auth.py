"""Logins for every Salesforce flow we support: the OAuth 2.0 token flows and the SOAP login.

We post to the same URLs simple-salesforce builds from the connection's ``domain``
(``https://<domain>.salesforce.com``, see :mod:`settings`), but on our own session (retries, a private CA,
the budget), using simple-salesforce's own ``soap_login`` to read the SOAP answer, then hand the instance URL
and session id to it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from lumina_integration.hooks.base import StopRun
from lumina_integration.hooks.salesforce.settings import SalesforceSettings


class SalesforceAuthError(StopRun):
    """The token endpoint refused the credentials (not retried: credentials do not heal)."""


@dataclass(frozen=True)
class Token:
    access_token: str
    instance_url: str
    refresh_token: str | None = None


def _jwt_assertion(settings: SalesforceSettings) -> str:
    import jwt

    key = settings.private_key
    if not key and settings.private_key_file:
        try:
            key = Path(settings.private_key_file).read_text()
        except OSError as exc:
            raise SalesforceAuthError(
                f"jwt_bearer: cannot read private_key_file_path {settings.private_key_file!r}: {exc.strerror}"
            ) from exc
    if not key:
        raise SalesforceAuthError(
            "jwt_bearer needs the connected app's private key (extra private_key or private_key_file_path)"
        )
    claims = {
        "iss": settings.client_id,
        "sub": settings.username,
        "aud": settings.login_url,
        "exp": int(time.time()) + 180,
    }
    return str(jwt.encode(claims, key, algorithm="RS256"))


def token_request_body(settings: SalesforceSettings) -> dict[str, Any]:
    """The form body of the token request for the settings' auth mode."""
    mode = settings.auth_mode
    if mode == "soap":
        raise ValueError("the soap login posts an XML envelope, not a token request")
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


def soap_login_body(settings: SalesforceSettings) -> str:
    """The partner API ``login`` envelope (password followed by the security token).

    With an ``organization_id`` and no security token it is the provider's IP-filtered login: the org goes in
    a ``LoginScopeHeader`` and the password alone.
    """
    from xml.sax.saxutils import escape

    secret = escape(f"{settings.password or ''}{settings.security_token}")
    scope = ""
    if settings.organization_id and not settings.security_token:
        scope = (
            '<env:Header><n1:LoginScopeHeader xmlns:n1="urn:partner.soap.sforce.com">'
            f"<n1:organizationId>{escape(settings.organization_id)}</n1:organizationId>"
            "</n1:LoginScopeHeader></env:Header>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8" ?>'
        '<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">{scope}'
        '<env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com">'
        f"<n1:username>{escape(settings.username or '')}</n1:username><n1:password>{secret}</n1:password>"
        "</n1:login></env:Body></env:Envelope>"
    )


def _soap_login(settings: SalesforceSettings, session: requests.Session) -> Token:
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed
    from simple_salesforce.login import soap_login

    url = f"{settings.login_url}/services/Soap/u/{settings.version}"
    headers = {"content-type": "text/xml", "charset": "UTF-8", "SOAPAction": "login"}
    try:
        session_id, instance = soap_login(url, soap_login_body(settings), headers, None, session)
    except SalesforceAuthenticationFailed as exc:
        raise SalesforceAuthError(f"Salesforce refused the soap login ({exc.code}: {exc.message})") from exc
    return Token(session_id, f"https://{instance}")


def fetch_token(settings: SalesforceSettings, session: requests.Session) -> Token:
    """Log in with the settings' auth mode; returns the session id and the instance URL."""
    if settings.auth_mode == "soap":
        return _soap_login(settings, session)
    body = {k: v for k, v in token_request_body(settings).items() if v is not None}
    response = session.post(f"{settings.token_url or settings.login_url}/services/oauth2/token", data=body, timeout=60)
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
