"""The sandbox's own figures: seconds to generate N issues (with their changelogs, comments and worklogs), and
``/search/jql`` pages/s and issues/s served over HTTPS to ``requests`` as the adapter reads (a window on
``updated`` ordered by ``updated, id``, the fields of the work-item mapping, following ``nextPageToken``).
"""

from __future__ import annotations

import time
from typing import Any

import requests

FIELDS = [
    "summary",
    "status",
    "issuetype",
    "priority",
    "assignee",
    "reporter",
    "project",
    "labels",
    "created",
    "updated",
    "resolutiondate",
    "description",
    "customfield_10010",
    "customfield_10011",
]


def run(issues: int = 100_000, page: int = 100, pages: int = 200) -> dict[str, Any]:
    from lumina_sandbox.jira.instance import Instance
    from lumina_sandbox.jira.server import JiraServer

    started = time.perf_counter()
    instance = Instance.generate(counts={"issues": issues})
    generated = time.perf_counter() - started
    histories = instance.count("changelog")
    served = requested = 0
    with JiraServer(instance) as server:
        session = requests.Session()
        session.trust_env = False
        session.verify = str(server.ca_path)
        session.auth = server.basic_auth
        url = f"{server.base_url}/rest/api/3/search/jql"
        body: dict[str, Any] = {
            "jql": 'updated >= "2000-01-01 00:00" ORDER BY updated ASC, id ASC',
            "fields": FIELDS,
            "maxResults": page,
        }
        started = time.perf_counter()
        while requested < pages:
            response = session.post(url, json=body, timeout=300)
            response.raise_for_status()
            answer = response.json()
            requested += 1
            served += len(answer["issues"])
            if answer["isLast"]:
                break
            body["nextPageToken"] = answer["nextPageToken"]
        serving = time.perf_counter() - started
    instance.close()
    return {
        "issues": issues,
        "histories": histories,
        "generate_seconds": round(generated, 2),
        "page_issues": page,
        "pages": requested,
        "issues_served": served,
        "serve_seconds": round(serving, 2),
        "pages_per_second": round(requested / serving, 1) if serving else None,
        "issues_per_second": round(served / serving) if serving else None,
    }
