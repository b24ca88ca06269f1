"""ServiceNow connection settings and endpoints, read from an Airflow ``servicenow`` connection.

The connection (our own type, with its form in :mod:`lumina_integration.provider`):

- ``host``: the instance URL (``https://acme.service-now.com``; a bare host name gets ``https://``);
  ``port`` is appended when set (a proxy, the sandbox on loopback).
- ``login`` / ``password``: the integration user (basic auth and the OAuth ``password`` grant).
- extra ``auth_type``: ``basic`` (default), ``oauth_password``, ``oauth_refresh_token``,
  ``oauth_client_credentials``; ``client_id`` / ``client_secret``: the OAuth application registry entry;
  ``refresh_token``: for ``oauth_refresh_token``.
- extra ``ca_bundle``: the CA to verify the instance against (a private CA, the sandbox), a file or PEM text;
  ``client_cert`` / ``client_key``: mutual TLS (a file or PEM text each; the key may sit in the cert file).
- extra ``timeout_seconds``: the read timeout of one request (default 120).

The sandbox's connection helper (``lumina_sandbox.servicenow.connection``) writes these same names.
"""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from typing import Any, Literal

AuthType = Literal["basic", "oauth_password", "oauth_refresh_token", "oauth_client_credentials"]
AUTH_TYPES: tuple[AuthType, ...] = ("basic", "oauth_password", "oauth_refresh_token", "oauth_client_credentials")

# Endpoints, relative to the instance URL.
TABLE_PATH = "api/now/table/{table}"
STATS_PATH = "api/now/stats/{table}"
TOKEN_PATH = "oauth_token.do"

# The Table API's own default sysparm_limit is 10,000; ServiceNow advises pages well below it for wide tables.
DEFAULT_PAGE_SIZE = 5000
MAX_PAGE_SIZE = 10_000
DEFAULT_TIMEOUT_S = 120.0
# Catalogue tables (the instance's own description of every table, field and choice list).
SYS_DB_OBJECT = "sys_db_object"
SYS_DICTIONARY = "sys_dictionary"
SYS_CHOICE = "sys_choice"
SYS_AUDIT_DELETE = "sys_audit_delete"
# Every table has these: the keyset of every read.
CURSOR = "sys_updated_on"
KEY = "sys_id"
CREATED = "sys_created_on"


@dataclass(frozen=True)
class ServiceNowSettings:
    instance_url: str
    auth_type: AuthType = "basic"
    username: str | None = None
    password: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None
    ca_bundle: str | None = None  # a file path (PEM text from the connection is written to a private file)
    client_cert: str | None = None
    client_key: str | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_S

    @property
    def token_url(self) -> str:
        return f"{self.instance_url}/{TOKEN_PATH}"

    def secrets(self) -> list[str]:
        """Values that must never reach a log line."""
        return [v for v in (self.password, self.client_secret, self.refresh_token) if v]


def _extra(extra: dict[str, Any], name: str) -> Any:
    value = extra.get(name)
    return None if value in (None, "") else value


def _instance_url(conn: Any) -> str:
    host = str(conn.host or "").strip().rstrip("/")
    if not host:
        raise ValueError(f"connection {conn.conn_id!r}: host must be the instance URL (https://<name>.service-now.com)")
    if "://" not in host:
        host = f"https://{host}"
    if not host.startswith("https://"):
        raise ValueError(f"connection {conn.conn_id!r}: the instance URL must be https, not {host!r}")
    if conn.port:
        hostpart = host.split("://", 1)[1]
        if ":" in hostpart.split("/", 1)[0]:
            raise ValueError(f"connection {conn.conn_id!r}: the port is in the host and in the port field; keep one")
        host = f"{host}:{int(conn.port)}"
    return host


def pem_file(value: str | None, what: str) -> str | None:
    """A file path for a PEM value: the path as given, or PEM text written once to a private temporary file.

    requests wants files for CAs and client certificates; a connection may hold the PEM text itself (a
    secrets backend that stores no files). The file is readable by this user only.
    """
    if value is None:
        return None
    text = str(value)
    if "-----BEGIN" not in text:
        return text
    handle, path = tempfile.mkstemp(prefix=f"lumina_servicenow_{what}_", suffix=".pem")
    with os.fdopen(handle, "w") as out:
        out.write(text if text.endswith("\n") else text + "\n")
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return path


def settings_from_connection(conn: Any) -> ServiceNowSettings:
    """Build settings from an Airflow connection object (``BaseHook.get_connection``)."""
    extra = dict(conn.extra_dejson)
    auth_type = _extra(extra, "auth_type") or "basic"
    if auth_type not in AUTH_TYPES:
        raise ValueError(f"connection {conn.conn_id!r}: unknown auth_type {auth_type!r}; use one of {AUTH_TYPES}")
    settings = ServiceNowSettings(
        instance_url=_instance_url(conn),
        auth_type=auth_type,
        username=conn.login or None,
        password=conn.password or None,
        client_id=_extra(extra, "client_id"),
        client_secret=_extra(extra, "client_secret"),
        refresh_token=_extra(extra, "refresh_token"),
        ca_bundle=pem_file(_extra(extra, "ca_bundle"), "ca"),
        client_cert=pem_file(_extra(extra, "client_cert"), "cert"),
        client_key=pem_file(_extra(extra, "client_key"), "key"),
        timeout_seconds=float(_extra(extra, "timeout_seconds") or DEFAULT_TIMEOUT_S),
    )
    missing = _missing(settings)
    if missing:
        raise ValueError(f"connection {conn.conn_id!r}: auth_type {auth_type} needs {', '.join(missing)}")
    return settings


def _missing(s: ServiceNowSettings) -> list[str]:
    needs = {
        "basic": ("login", "password"),
        "oauth_password": ("login", "password", "client_id", "client_secret"),
        "oauth_refresh_token": ("client_id", "client_secret", "refresh_token"),
        "oauth_client_credentials": ("client_id", "client_secret"),
    }[s.auth_type]
    present = {
        "login": s.username,
        "password": s.password,
        "client_id": s.client_id,
        "client_secret": s.client_secret,
        "refresh_token": s.refresh_token,
    }
    return [n for n in needs if not present[n]]
