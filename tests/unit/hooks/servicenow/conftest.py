"""Fixtures for the ServiceNow adapter tests: the real sandbox instance over HTTPS, the real hook talking to it.

One small instance per module; each test gets the instance back without faults, page hooks, rate limit or
clock changes (data changes stay, so tests create the records they assert on). ``connect`` writes a
``servicenow`` connection with the sandbox's connection helper (the one the demo uses) and returns a hook.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from snow_reads import connection

from lumina_integration.hooks.servicenow.hook import ServiceNowHook
from lumina_sandbox.servicenow.instance import Instance
from lumina_sandbox.servicenow.server import ServiceNowServer

COUNTS = {"core_company": 12, "sys_user": 40, "incident": 260, "sc_req_item": 50, "change_request": 30}


@pytest.fixture(scope="module")
def server() -> Iterator[ServiceNowServer]:
    with ServiceNowServer(Instance.generate(seed=21, counts=COUNTS)) as running:
        yield running
    running.instance.close()


@pytest.fixture(autouse=True)
def _clean_instance(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "server" in request.fixturenames:
        instance: Instance = request.getfixturevalue("server").instance
        instance.faults.clear()
        instance.hooks.clear()
        instance.clock.reset()
        instance.rate_limit.set(None)
        instance.settings(access_token_ttl=1800, rotate_refresh_tokens=False, invalid_query="ignore", max_limit=100_000)


Connect = Callable[..., ServiceNowHook]


@pytest.fixture
def connect(server: ServiceNowServer) -> Iterator[Connect]:
    """``connect(auth="basic", conn=None, **helper_kwargs)``: a fresh hook on a fresh connection."""
    made: list[str] = []

    def make(auth: str = "basic", conn: dict[str, Any] | None = None, **kwargs: Any) -> ServiceNowHook:
        conn_id = f"snow_test_{len(made)}"
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn or connection(server, auth, **kwargs))
        made.append(conn_id)
        return ServiceNowHook(conn_id)

    yield make
    for conn_id in made:
        os.environ.pop(f"AIRFLOW_CONN_{conn_id.upper()}", None)


@pytest.fixture
def snow(connect: Connect) -> ServiceNowHook:
    return connect()


@pytest.fixture
def sent(snow: ServiceNowHook) -> list[str]:
    """Every URL the ``snow`` hook's session sent (to check what it asked for)."""
    urls: list[str] = []
    snow.client.session.hooks["response"].append(lambda r, **_: urls.append(r.request.url))
    return urls
