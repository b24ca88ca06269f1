"""Fixtures for the Jira sandbox tests: one small Cloud site served over HTTPS per test module.

Every test talks to the real server with ``requests`` (or atlassian-python-api), verifying TLS against the
sandbox CA (``trust_env`` off: a ``REQUESTS_CA_BUNDLE`` in the environment would override ``verify``). Start
one in your own tests with:

    with JiraServer(Instance.generate(counts={"issues": 300})) as server:
        session = requests.Session(); session.verify = str(server.ca_path); session.auth = server.basic_auth
        session.post(f"{server.base_url}/rest/api/3/search/jql", json={"jql": "project = ENG", "fields": ["*all"]})
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from jira_sandbox_client import SMALL, http_session

from lumina_sandbox.jira.instance import Instance
from lumina_sandbox.jira.server import JiraServer


@pytest.fixture(scope="module")
def server() -> Iterator[JiraServer]:
    with JiraServer(Instance.generate(seed=11, counts=SMALL)) as running:
        yield running
    running.instance.close()


@pytest.fixture(autouse=True)
def _clean_site(request: pytest.FixtureRequest) -> Iterator[None]:
    """Faults, hooks, clock, rate limit, tokens and settings back to normal after each test (data changes stay)."""
    yield
    if "server" in request.fixturenames:
        instance: Instance = request.getfixturevalue("server").instance
        instance.faults.clear()
        instance.hooks.clear()
        instance.clock.reset()
        instance.rate_limit.set(None)
        instance.settings(
            deployment="cloud",
            time_zone="UTC",
            page_token_ttl=7 * 86400,
            inline_changelog_limit=100,
            access_token_ttl=3600,
            max_results=100,
        )


@pytest.fixture
def jira(server: JiraServer) -> requests.Session:
    """A requests session with the integration user's basic auth (e-mail + API token)."""
    session = http_session(server)
    session.auth = server.basic_auth
    return session
