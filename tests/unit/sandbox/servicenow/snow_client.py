"""Client helpers shared by the ServiceNow sandbox tests (plain requests against the running sandbox)."""

from __future__ import annotations

from typing import Any

import requests

from lumina_sandbox.servicenow.server import ServiceNowServer

SMALL = {"core_company": 15, "sys_user": 40, "incident": 300, "sc_req_item": 60, "change_request": 40}


def http_session(server: ServiceNowServer) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(server.ca_path)
    return session


def table_url(server: ServiceNowServer, table: str, sys_id: str | None = None) -> str:
    return f"{server.base_url}/api/now/table/{table}" + (f"/{sys_id}" if sys_id else "")


def token(server: ServiceNowServer, grant_type: str = "password", **extra: str) -> requests.Response:
    creds = server.credentials
    form = {"grant_type": grant_type, "client_id": creds.client_id, "client_secret": creds.client_secret}
    if grant_type == "password":
        form.update(username=creds.username, password=creds.password)
    form.update(extra)
    return http_session(server).post(f"{server.base_url}/oauth_token.do", data=form)


def rows(session: requests.Session, server: ServiceNowServer, table: str, **params: Any) -> list[dict[str, Any]]:
    response = session.get(table_url(server, table), params={k: str(v) for k, v in params.items()})
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["result"]
    return result
