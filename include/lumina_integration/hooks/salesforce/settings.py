"""Salesforce connection settings, read from an Airflow ``salesforce`` connection as the official provider reads it.

One connection serves both the provider's ``SalesforceHook`` (and its operators) and our adapter, so every
field the provider knows means here what it means there (simple-salesforce's semantics):

- ``login`` / ``password``: the user. Extras: ``security_token``; ``domain``: the login host is
  ``https://<domain>.salesforce.com`` (``login`` by default, ``test`` for a sandbox org, ``mycompany.my`` for
  a My Domain); ``consumer_key`` / ``consumer_secret``: the connected app; ``private_key`` or
  ``private_key_file_path``: the JWT signing key; ``instance_url``: for the JWT flow only, the token host
  ``https://<instance_url>.salesforce.com`` (as simple-salesforce does); ``organization_id``: the SOAP
  login without a security token (IP filtering); ``version``; ``proxies``.
- Only ours (the provider ignores them): ``auth_mode``, ``refresh_token``, ``ca_bundle``, and ``client_id`` /
  ``client_secret`` as older names of ``consumer_key`` / ``consumer_secret`` (the provider's ``client_id`` is
  only the client name of its SOAP login).

The connection's ``host`` is not read: the provider's form hides it and its hook ignores it, so a login URL
kept there would send the provider's operators somewhere else than our adapter. A connection that still has
one is refused with the ``domain`` to set instead.

Auth modes: ``soap`` (user + password + security token, the provider's default, no connected app),
``password`` (OAuth username-password flow of a connected app), ``client_credentials``, ``jwt_bearer`` and
``refresh_token``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

AuthMode = Literal["soap", "password", "client_credentials", "jwt_bearer", "refresh_token"]
AUTH_MODES = ("soap", "password", "client_credentials", "jwt_bearer", "refresh_token")
DEFAULT_DOMAIN = "login"
DEFAULT_VERSION = "62.0"
SALESFORCE_SUFFIX = ".salesforce.com"


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
    private_key_file: str | None = None
    refresh_token: str | None = None
    organization_id: str | None = None  # the provider's IP-filtered SOAP login (no security token)
    ca_bundle: str | None = None  # a CA file to verify TLS against (a private CA or a local sandbox)
    token_url: str = ""  # where the OAuth token request goes (the login URL unless the JWT flow names another)
    proxies: dict[str, str] = field(default_factory=dict)

    def secrets(self) -> list[str]:
        """Values that must never reach a log line."""
        values = [self.password, self.security_token, self.client_secret, self.private_key, self.refresh_token]
        return [v for v in values if v]


def _field(extra: dict[str, Any], name: str) -> Any:
    """An extra by its name or the provider's old ``extra__salesforce__`` name; blank is absent, as there."""
    value = extra.get(name)
    if value in (None, ""):
        value = extra.get(f"extra__salesforce__{name}")
    return value if value not in (None, "") else None


def _infer_mode(extra: dict[str, Any], login: str | None) -> AuthMode:
    secret = _field(extra, "consumer_secret") or _field(extra, "client_secret")
    if _field(extra, "refresh_token"):
        return "refresh_token"
    if _field(extra, "private_key") or _field(extra, "private_key_file_path"):
        return "jwt_bearer"
    if not login and secret:
        return "client_credentials"
    # Without a connected app's secret, user + password (+ security token) is the SOAP login,
    # as in the official provider.
    return "password" if secret else "soap"


def salesforce_host(conn_id: str, name: str, value: str) -> str:
    """``https://<value>.salesforce.com``, exactly as simple-salesforce builds a login host from ``domain``.

    Values simple-salesforce would turn into a broken URL (a scheme, a trailing ``.salesforce.com``) are
    refused here with the value to write instead, so the provider's hook cannot silently go elsewhere.
    """
    text = value.strip()
    bare = text.split("://", 1)[-1].rstrip("/")
    bare = bare[: -len(SALESFORCE_SUFFIX)] if bare.lower().endswith(SALESFORCE_SUFFIX) else bare
    if text != bare or not bare:
        raise ValueError(
            f"connection {conn_id!r}: extra {name!r} is the part of the login host before '.salesforce.com', as "
            f"the official provider reads it ({name} 'test' -> https://test.salesforce.com); write {bare!r}, "
            f"not {text!r}"
        )
    return f"https://{bare}{SALESFORCE_SUFFIX}"


def _refuse_login_url(conn: Any, extra: dict[str, Any]) -> None:
    where, value = ("host", conn.host) if conn.host else ("extra login_url", extra.get("login_url"))
    if not value:
        return
    bare = str(value).split("://", 1)[-1].rstrip("/")
    domain = bare[: -len(SALESFORCE_SUFFIX)] if bare.lower().endswith(SALESFORCE_SUFFIX) else None
    hint = f"set the extra domain to {domain!r}" if domain else "set the extra domain (see docs/sources/salesforce.md)"
    raise ValueError(
        f"connection {conn.conn_id!r}: the login URL is no longer read from the {where} ({value!r}): the "
        f"official Salesforce provider ignores it, so its operators would log in elsewhere. Remove it and {hint}."
    )


def _proxies(conn_id: str, value: Any) -> dict[str, str]:
    """The provider's ``proxies`` (scheme -> proxy URL); the UI form stores it as JSON text."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f'connection {conn_id!r}: extra proxies must map schemes to URLs, e.g. {{"https": "..."}}')
    return {str(k): v for k, v in value.items()}


def settings_from_connection(conn: Any) -> SalesforceSettings:
    """Build settings from an Airflow connection object (``BaseHook.get_connection``)."""
    extra = dict(conn.extra_dejson)
    mode: AuthMode = _field(extra, "auth_mode") or _infer_mode(extra, conn.login)
    if mode not in AUTH_MODES:
        raise ValueError(f"connection {conn.conn_id!r}: unknown auth_mode {mode!r}; use one of {AUTH_MODES}")
    _refuse_login_url(conn, extra)
    login_url = salesforce_host(conn.conn_id, "domain", _field(extra, "domain") or DEFAULT_DOMAIN)
    token_url = login_url
    instance_url = _field(extra, "instance_url")
    if mode == "jwt_bearer" and instance_url:
        # simple-salesforce posts the JWT to https://<instance_url>.salesforce.com (the audience stays the
        # login host); the other flows ignore instance_url, which the provider uses with a session id only.
        token_url = salesforce_host(conn.conn_id, "instance_url", str(instance_url))
    return SalesforceSettings(
        login_url=login_url,
        auth_mode=mode,
        version=str(_field(extra, "version") or DEFAULT_VERSION),
        username=conn.login or None,
        password=conn.password or None,
        security_token=_field(extra, "security_token") or "",
        client_id=_field(extra, "consumer_key") or _field(extra, "client_id"),
        client_secret=_field(extra, "consumer_secret") or _field(extra, "client_secret"),
        private_key=_field(extra, "private_key"),
        private_key_file=_field(extra, "private_key_file_path"),
        refresh_token=_field(extra, "refresh_token"),
        organization_id=_field(extra, "organization_id"),
        ca_bundle=_field(extra, "ca_bundle"),
        token_url=token_url,
        proxies=_proxies(conn.conn_id, _field(extra, "proxies")),
    )
