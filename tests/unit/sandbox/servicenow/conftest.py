"""Fixtures for the ServiceNow sandbox tests: one small instance served over HTTPS per test module.

Every test talks to the real server with ``requests``, verifying TLS against the sandbox CA (``trust_env`` off:
a ``REQUESTS_CA_BUNDLE`` in the environment would override ``verify``). Start one in your own tests with:

    with ServiceNowServer(Instance.generate(counts={"incident": 500})) as server:
        session = requests.Session(); session.verify = str(server.ca_path); session.auth = server.basic_auth
        session.get(f"{server.base_url}/api/now/table/incident", params={"sysparm_limit": 100})
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from snow_client import SMALL, http_session

from lumina_sandbox.servicenow.instance import Instance
from lumina_sandbox.servicenow.server import ServiceNowServer


@pytest.fixture(scope="module")
def server() -> Iterator[ServiceNowServer]:
    with ServiceNowServer(Instance.generate(seed=11, counts=SMALL)) as running:
        yield running
    running.instance.close()


@pytest.fixture(autouse=True)
def _clean_instance(request: pytest.FixtureRequest) -> Iterator[None]:
    """Faults, hooks, clock, rate limit and settings back to normal after each test (data changes stay)."""
    yield
    if "server" in request.fixturenames:
        instance: Instance = request.getfixturevalue("server").instance
        instance.faults.clear()
        instance.hooks.clear()
        instance.clock.reset()
        instance.rate_limit.set(None)
        instance.settings(access_token_ttl=1800, rotate_refresh_tokens=False, invalid_query="ignore", max_limit=100_000)


@pytest.fixture
def snow(server: ServiceNowServer) -> requests.Session:
    """A requests session with the integration user's basic auth."""
    session = http_session(server)
    session.auth = server.basic_auth
    return session
