"""Jira connection settings, read from an Airflow ``jira`` connection as the official provider reads it.

One connection serves the provider's ``JiraHook`` (atlassian-python-api) and our adapter, so the fields the
provider reads mean the same here:

- ``host``: the site's base URL, scheme included (``https://acme.atlassian.net``, ``https://jira.corp.example``);
  the provider hands it to ``Jira(url=...)`` as is. A host without a scheme gets ``https://`` (and the
  connection's ``port``, if any).
- ``login`` / ``password``: basic auth, the provider's only mode: the account's e-mail and an API token on
  Cloud, a user name and password on Data Center.
- extra ``verify``: the provider's TLS switch: ``true``/``false`` or the path of a CA bundle (requests'
  semantics, which the provider passes through).

Only ours (the provider ignores them), all in the extras:

- ``auth_mode``: ``basic`` (default when there is a login), ``bearer`` (a Data Center personal access token
  in ``password``; default when there is a password without a login) or ``oauth2``.
- ``oauth2``: ``token_url`` (Atlassian Cloud: ``https://auth.atlassian.com/oauth/token``), ``grant_type``
  (``client_credentials`` or ``refresh_token``), ``client_id`` (or ``login``), ``client_secret`` (or
  ``password``), ``refresh_token``, ``scope``. On Cloud an OAuth 2.0 app calls
  ``https://api.atlassian.com/ex/jira/<cloud id>``: that is the ``host`` of such a connection.
- ``ca_bundle``, ``client_cert``, ``client_key``: a private CA and mutual TLS (Data Center behind a
  certificate-checking proxy).
- ``timeout``: seconds to wait for each read from the socket.

The provider's own form hides the extra field; the extras are set with ``airflow connections add``, a secrets
backend or ``airflow_settings.yaml`` (docs/sources/jira.md shows one connection per auth mode).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

AuthMode = Literal["basic", "bearer", "oauth2"]
AUTH_MODES: tuple[AuthMode, ...] = ("basic", "bearer", "oauth2")
OAUTH_GRANTS = ("client_credentials", "refresh_token")


class JiraConnectionError(ValueError):
    """The connection cannot be used as it is; the message says which field to fix."""


@dataclass(frozen=True)
class JiraSettings:
    conn_id: str
    base_url: str
    auth_mode: AuthMode
    login: str | None = None
    password: str | None = None
    token_url: str | None = None
    grant_type: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None
    scope: str | None = None
    verify: bool = True
    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    read_timeout: float = 120.0

    def secrets(self) -> list[str]:
        """Values that must never reach a log line."""
        return [v for v in (self.password, self.client_secret, self.refresh_token) if v]

    def api(self, version: str) -> str:
        """The REST root of an API version (``rest/api/3/``), relative to :attr:`base_url`."""
        return f"rest/api/{version}/"


def _extras(conn: Any) -> dict[str, Any]:
    extra = getattr(conn, "extra_dejson", None)
    if isinstance(extra, dict):
        return extra
    raw = getattr(conn, "extra", None) or "{}"
    value = json.loads(raw) if isinstance(raw, str) else raw
    return value if isinstance(value, dict) else {}


def _flag_or_path(value: Any) -> tuple[bool, str | None]:
    """The provider's ``verify``: a boolean (also as text) or a CA bundle path."""
    if value is None or isinstance(value, bool):
        return (True if value is None else value), None
    text = str(value).strip()
    if text.lower() in ("true", "1", "yes", ""):
        return True, None
    if text.lower() in ("false", "0", "no"):
        return False, None
    return True, text


def base_url(host: str | None, port: int | None) -> str:
    """The site URL from the connection's ``host`` (and ``port`` when the host has no scheme)."""
    text = (host or "").strip().rstrip("/")
    if not text:
        raise JiraConnectionError(
            "the jira connection has no host: set it to the site URL, e.g. https://acme.atlassian.net"
        )
    if "://" not in text:
        text = f"https://{text}{f':{port}' if port else ''}"
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise JiraConnectionError(f"the jira connection's host {host!r} is not an http(s) URL")
    return text


def settings_from_connection(conn: Any) -> JiraSettings:
    """Read a ``jira`` connection (see the module docstring); raises :class:`JiraConnectionError`."""
    extras = _extras(conn)
    login, password = conn.login or None, conn.password or None
    mode = extras.get("auth_mode") or ("basic" if login else "bearer")
    if mode not in AUTH_MODES:
        raise JiraConnectionError(f"unknown auth_mode {mode!r} in connection {conn.conn_id}; use one of {AUTH_MODES}")
    verify, verify_path = _flag_or_path(extras.get("verify"))
    settings = JiraSettings(
        conn_id=conn.conn_id,
        base_url=base_url(conn.host, conn.port),
        auth_mode=mode,
        login=login,
        password=password,
        token_url=extras.get("token_url"),
        grant_type=extras.get("grant_type"),
        client_id=extras.get("client_id") or (login if mode == "oauth2" else None),
        client_secret=extras.get("client_secret") or (password if mode == "oauth2" else None),
        refresh_token=extras.get("refresh_token"),
        scope=extras.get("scope"),
        verify=verify,
        ca_bundle=extras.get("ca_bundle") or verify_path,
        client_cert=extras.get("client_cert"),
        client_key=extras.get("client_key"),
        read_timeout=float(extras.get("timeout") or 120.0),
    )
    _check(settings)
    return settings


def _check(s: JiraSettings) -> None:
    where = f"connection {s.conn_id}"
    if s.auth_mode == "basic" and not (s.login and s.password):
        raise JiraConnectionError(f"{where}: basic auth needs login (e-mail or user) and password (API token)")
    if s.auth_mode == "bearer" and not s.password:
        raise JiraConnectionError(f"{where}: bearer auth needs the personal access token in password")
    if s.auth_mode == "oauth2":
        if not s.token_url:
            raise JiraConnectionError(f"{where}: oauth2 needs the extra token_url")
        if s.grant_type not in OAUTH_GRANTS:
            raise JiraConnectionError(f"{where}: oauth2 needs the extra grant_type, one of {OAUTH_GRANTS}")
        if s.grant_type == "refresh_token" and not s.refresh_token:
            raise JiraConnectionError(f"{where}: the refresh_token grant needs the extra refresh_token")
        if s.grant_type == "client_credentials" and not (s.client_id and s.client_secret):
            raise JiraConnectionError(f"{where}: client_credentials needs client_id and client_secret")
