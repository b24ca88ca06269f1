"""Fixtures for the Salesforce sandbox tests: one small org served over HTTPS per test module.

Every test talks to the real server through simple-salesforce or requests, verifying TLS against the sandbox
CA. Sessions use ``trust_env = False`` because a ``REQUESTS_CA_BUNDLE`` in the environment would otherwise
override ``Session.verify``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sandbox_client import http_session, password_token, salesforce

from lumina_sandbox.salesforce.org import Org
from lumina_sandbox.salesforce.server import SandboxServer

SMALL = {
    "User": 5,
    "Account": 120,
    "Contact": 450,
    "Opportunity": 60,
    "Lead": 300,
    "Case": 60,
    "Invoice__c": 20,
    "AccountHistory": 30,
}


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(Org.generate(seed=7, counts=SMALL)) as running:
        yield running
    running.org.close()


@pytest.fixture(autouse=True)
def _clean_org(request: pytest.FixtureRequest) -> Iterator[None]:
    """Faults, clock, limits and settings back to normal after each test (data changes stay; tests own them)."""
    yield
    if "server" in request.fixturenames:
        org: Org = request.getfixturevalue("server").org
        org.faults.clear()
        org.clock.reset()
        org.limits.set_api(100_000, 0)
        org.settings(session_ttl_seconds=7200, rotate_refresh_tokens=False, bulk_processing_delay=0.0)


@pytest.fixture
def api(server: SandboxServer) -> requests.Session:
    """A requests session with a fresh bearer token; URLs are relative to ``/services/data/v62.0/``."""
    session = http_session(server)
    session.headers["Authorization"] = f"Bearer {password_token(server)['access_token']}"
    return session


@pytest.fixture
def sf(server: SandboxServer) -> Any:
    """simple-salesforce logged in with a bearer token."""
    return salesforce(server)
