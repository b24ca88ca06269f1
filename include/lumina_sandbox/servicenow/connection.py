"""The Airflow ``servicenow`` connection to a sandbox instance: the one place that writes it (demo, tests).

``auth`` picks the mode the connection form offers: ``basic`` (login/password), ``oauth_password``,
``oauth_refresh_token`` (a refresh token obtained once with the password grant), ``oauth_client_credentials``.
``ca_bundle`` trusts the sandbox's CA; ``client_cert`` (the sandbox's ``client.pem``) is for mutual TLS.
The extras' names follow the ServiceNow hook's connection form; change them there and here together.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

AUTH_MODES = ("basic", "oauth_password", "oauth_refresh_token", "oauth_client_credentials")


def airflow_connection(
    credentials: Mapping[str, Any],
    ca_path: str | Path,
    *,
    auth: str = "basic",
    refresh_token: str | None = None,
    client_cert: str | Path | None = None,
) -> dict[str, Any]:
    """The connection (``conn_type``, ``host``, ``login``, ``password``, ``extra``) for ``credentials``."""
    if auth not in AUTH_MODES:
        raise ValueError(f"auth is one of {', '.join(AUTH_MODES)}")
    extra: dict[str, Any] = {"auth_type": auth, "ca_bundle": str(Path(ca_path).resolve())}
    if auth != "basic":
        extra.update(client_id=credentials["client_id"], client_secret=credentials["client_secret"])
    if auth == "oauth_refresh_token":
        if not refresh_token:
            raise ValueError("oauth_refresh_token needs the refresh token")
        extra["refresh_token"] = refresh_token
    if client_cert is not None:
        extra["client_cert"] = str(Path(client_cert).resolve())
    uses_password = auth in ("basic", "oauth_password")
    return {
        "conn_type": "servicenow",
        "host": credentials["instance_url"],
        "login": credentials["username"] if uses_password else None,
        "password": credentials["password"] if uses_password else None,
        "extra": extra,
    }
