"""Injected faults, as a client sees them through simple-salesforce and requests."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from sandbox_client import url
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from lumina_sandbox.salesforce.server import SandboxServer


def test_status_faults_carry_salesforce_bodies_and_retry_after(server: SandboxServer, api: Any) -> None:
    control = server.control
    control.add_fault("limits", "status", status=503, times=1)
    unavailable = api.get(url(server, "limits/"))
    assert unavailable.status_code == 503
    assert unavailable.headers["Retry-After"] == "1"
    assert unavailable.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert "Sforce-Limit-Info" in unavailable.headers
    assert api.get(url(server, "limits/")).status_code == 200  # times=1

    control.add_fault("limits", "status", status=429, retry_after=7)
    throttled = api.get(url(server, "limits/"))
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"

    control.add_fault("limits", "status", status=500)
    broken = api.get(url(server, "limits/"))
    assert broken.status_code == 500 and broken.json()[0]["errorCode"] == "UNKNOWN_EXCEPTION"


def test_limit_fault_is_refused_request(server: SandboxServer, sf: Any) -> None:
    server.control.add_fault("query", "status", status=403)
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.query("SELECT COUNT() FROM Account")
    assert refused.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]


def test_times_and_after_pick_which_requests_fail(server: SandboxServer, sf: Any) -> None:
    server.org.faults.add("describe", "status", status=500, after=1, times=2)
    sf.Account.describe()
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError):
            sf.Account.describe()
    assert sf.Account.describe()["name"] == "Account"


def test_delay_fault(server: SandboxServer, api: Any) -> None:
    server.control.add_fault("limits", "delay", delay=0.6)
    started = time.monotonic()
    assert api.get(url(server, "limits/")).status_code == 200
    assert time.monotonic() - started >= 0.6


def test_dropped_connection_is_an_incomplete_read(server: SandboxServer, api: Any) -> None:
    server.control.add_fault("query", "drop")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.get(url(server, "query/"), params={"q": "SELECT Id, Name, Description FROM Account"})
    again = api.get(url(server, "query/"), params={"q": "SELECT Id, Name, Description FROM Account"})
    assert again.status_code == 200 and again.json()["records"]


def test_dropped_bulk_results_page(server: SandboxServer, api: Any) -> None:
    job = api.post(url(server, "jobs/query"), json={"operation": "query", "query": "SELECT Id FROM Account"}).json()
    for _ in range(100):
        if api.get(url(server, f"jobs/query/{job['id']}")).json()["state"] == "JobComplete":
            break
        time.sleep(0.05)
    server.org.faults.add("bulk_results", "drop")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.get(url(server, f"jobs/query/{job['id']}/results"))
    assert api.get(url(server, f"jobs/query/{job['id']}/results")).status_code == 200


def test_expire_session_fault(server: SandboxServer, sf: Any) -> None:
    server.control.add_fault("query", "expire_session")
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT COUNT() FROM Account")
    with pytest.raises(SalesforceExpiredSession):
        sf.Account.describe()  # the session itself is gone, not just that one answer


def test_rest_query_timeout_over_a_record_count(server: SandboxServer, sf: Any) -> None:
    server.control.add_fault("query", "query_timeout", threshold=50, times=None)
    assert sf.query("SELECT Id FROM Account LIMIT 10")["totalSize"] == 10
    with pytest.raises(SalesforceMalformedRequest) as timeout:
        sf.query("SELECT Id FROM Account")
    assert timeout.value.content == [
        {"message": "Your query request was running for too long.", "errorCode": "QUERY_TIMEOUT"}
    ]


def test_faults_on_login(server: SandboxServer) -> None:
    server.org.faults.add("token", "status", status=503)
    from sandbox_client import http_session

    response = http_session(server).post(f"{server.base_url}/services/oauth2/token", data={"grant_type": "password"})
    assert response.status_code == 503
    assert server.org.request_counts()["token"] >= 1


def test_fault_rules_are_validated(server: SandboxServer) -> None:
    with pytest.raises(ValueError):
        server.org.faults.add("nowhere", "status")
    with pytest.raises(ValueError):
        server.org.faults.add("query", "query_timeout")
