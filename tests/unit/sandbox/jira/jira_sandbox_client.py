"""Client helpers shared by the Jira sandbox tests (plain requests against the running sandbox)."""

from __future__ import annotations

from typing import Any

import requests

from lumina_sandbox.jira.server import JiraServer

SMALL = {"issues": 400}


def http_session(server: JiraServer) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(server.ca_path)
    return session


def rest(server: JiraServer, path: str, version: int = 3) -> str:
    return f"{server.base_url}/rest/api/{version}/{path.lstrip('/')}"


def search(session: requests.Session, server: JiraServer, **body: Any) -> dict[str, Any]:
    response = session.post(rest(server, "search/jql"), json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def search_all(session: requests.Session, server: JiraServer, **body: Any) -> tuple[list[dict[str, Any]], int]:
    """Every issue of a search, following nextPageToken; (issues, pages)."""
    issues: list[dict[str, Any]] = []
    pages = 0
    token = None
    while True:
        page = search(session, server, **body, **({"nextPageToken": token} if token else {}))
        pages += 1
        issues.extend(page["issues"])
        assert "total" not in page
        if page["isLast"]:
            assert "nextPageToken" not in page
            return issues, pages
        token = page["nextPageToken"]
