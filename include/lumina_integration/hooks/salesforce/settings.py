"""Salesforce connection settings, read from an Airflow ``salesforce`` connection.

The official provider's connection type is kept (so existing connections and UI forms work):
``login``/``password`` are the user, extras hold the rest (the provider's ``security_token``,
``domain``, ``consumer_key``, ``private_key``, ``version`` are understood). The login endpoint
is ``host`` (a My Domain URL, ``https://login.salesforce.com``, ``https://test.salesforce.com``),
else the provider's ``domain`` extra (``https://<domain>.salesforce.com``).

Auth modes: ``soap`` (user + password + security token, the provider's default, no connected
app), ``password`` (OAuth username-password flow of a connected app), ``client_credentials``,
``jwt_bearer`` and ``refresh_token``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

AuthMode = Literal["soap", "password", "client_credentials", "jwt_bearer", "refresh_token"]
AUTH_MODES = ("soap", "password", "client_credentials", "jwt_bearer", "refresh_token")
DEFAULT_LOGIN_URL = "https://login.salesforce.com"
DEFAULT_VERSION = "62.0"


@dataclass(frozen=True)
class SalesforceSettings:
    login_url: str
    auth_mode: AuthMode
    version: str
    username: str | None = None
    password: str | None = None
    security_token: str = ""
    client_id: str | None = None
    client_secret: str | None = None
    private_key: str | None = None
    refresh_token: str | None = None
    ca_bundle: str | None = None  # a CA file to verify TLS against (a private CA or a local sandbox)

    def secrets(self) -> list[str]:
        """Values that must never reach a log line."""
        values = [self.password, self.security_token, self.client_secret, self.private_key, self.refresh_token]
        return [v for v in values if v]


def _infer_mode(extra: dict[str, Any], login: str | None) -> AuthMode:
    if extra.get("refresh_token"):
        return "refresh_token"
    if extra.get("private_key"):
        return "jwt_bearer"
    if not login and extra.get("client_secret"):
        return "client_credentials"
    # Without a connected app's secret, user + password (+ security token) is the SOAP login,
    # as in the official provider.
    return "password" if extra.get("client_secret") or extra.get("consumer_secret") else "soap"


def settings_from_connection(conn: Any) -> SalesforceSettings:
    """Build settings from an Airflow connection object (``BaseHook.get_connection``)."""
    extra = dict(conn.extra_dejson)
    mode: AuthMode = extra.get("auth_mode") or _infer_mode(extra, conn.login)
    if mode not in AUTH_MODES:
        raise ValueError(f"connection {conn.conn_id!r}: unknown auth_mode {mode!r}; use one of {AUTH_MODES}")
    domain = extra.get("domain")
    host = (
        conn.host or extra.get("login_url") or (f"https://{domain}.salesforce.com" if domain else DEFAULT_LOGIN_URL)
    ).rstrip("/")
    if not host.startswith("https://"):
        host = f"https://{host}"
    return SalesforceSettings(
        login_url=host,
        auth_mode=mode,
        version=str(extra.get("version") or DEFAULT_VERSION),
        username=conn.login or None,
        password=conn.password or None,
        security_token=extra.get("security_token") or "",
        client_id=extra.get("client_id") or extra.get("consumer_key"),
        client_secret=extra.get("client_secret") or extra.get("consumer_secret"),
        private_key=extra.get("private_key"),
        refresh_token=extra.get("refresh_token"),
        ca_bundle=extra.get("ca_bundle"),
    )
