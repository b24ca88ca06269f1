"""The Airflow ``jira`` connection to a sandbox site: the one place that writes it (demo, tests).

It is the connection type of the official Atlassian Jira provider: ``host`` (the base URL), ``login`` and
``password`` (Cloud: e-mail and API token; Data Center: user name and password) and the extra ``verify`` (the
sandbox CA's path; requests' semantics), which the provider's ``JiraHook`` reads, plus the extras only the Lumina
adapter reads: ``auth_mode`` ``basic``, ``bearer`` (a Data Center personal access token in ``password``) or
``oauth2`` (``token_url``, ``grant_type`` ``client_credentials``/``refresh_token``, ``client_id``,
``client_secret``, ``refresh_token``; ``host`` is then the site's ``/ex/jira/<cloud id>`` URL, as
``api.atlassian.com`` serves OAuth apps). The extras' names follow ``lumina_integration.hooks.jira.settings``;
change them there and here together.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

AUTH_MODES = ("basic", "bearer", "oauth2")


def airflow_connection(
    credentials: Mapping[str, Any],
    ca_path: str | Path,
    *,
    auth: str = "basic",
    grant_type: str = "client_credentials",
    refresh_token: str | None = None,
) -> dict[str, Any]:
    """The connection (``conn_type``, ``host``, ``login``, ``password``, ``extra``) for ``credentials`` (the
    sandbox's ``credentials.json`` or ``JiraControl.credentials()``)."""
    if auth not in AUTH_MODES:
        raise ValueError(f"auth is one of {', '.join(AUTH_MODES)}")
    cloud = credentials.get("deployment", "cloud") == "cloud"
    base_url = str(credentials["base_url"]).rstrip("/")
    extra: dict[str, Any] = {"verify": str(Path(ca_path).resolve()), "auth_mode": auth}
    login: str | None
    password: str | None
    if auth == "basic":
        login = credentials["email"] if cloud else credentials["username"]
        password = credentials["api_token"] if cloud else credentials["password"]
        host = base_url
    elif auth == "bearer":
        if cloud:
            raise ValueError("personal access tokens are Data Center's; a Cloud site takes basic or oauth2")
        login, password, host = None, credentials["personal_access_token"], base_url
    else:
        if grant_type == "refresh_token" and not refresh_token:
            raise ValueError("the refresh_token grant needs the refresh token")
        extra.update(
            token_url=f"{base_url}/oauth/token",
            grant_type=grant_type,
            client_id=credentials["client_id"],
            client_secret=credentials["client_secret"],
        )
        if refresh_token:
            extra["refresh_token"] = refresh_token
        login, password = None, None
        host = f"{base_url}/ex/jira/{credentials['cloud_id']}" if credentials.get("cloud_id") else base_url
    return {"conn_type": "jira", "host": host, "login": login, "password": password, "extra": extra}
