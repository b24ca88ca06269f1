"""Faults a client must survive: 429 storms, 5xx, delays, dropped bodies, the rate limit rule, and a record
updated while its window is being paged (sysparm_offset skips a row; keyset paging does not)."""

from __future__ import annotations

import time

import pytest
import requests
from snow_client import rows, table_url, token

from lumina_sandbox.servicenow.server import ServiceNowServer


def test_429_storm_with_retry_after(server: ServiceNowServer, snow: requests.Session) -> None:
    server.control.add_fault("table", "status", status=429, times=3, retry_after=2)
    for _ in range(3):
        throttled = snow.get(table_url(server, "incident"), params={"sysparm_limit": "1"})
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"
        assert throttled.json()["status"] == "failure" and throttled.json()["error"]["message"] == "Too Many Requests"
    assert snow.get(table_url(server, "incident"), params={"sysparm_limit": "1"}).status_code == 200
    assert server.control.faults()[0]["fired"] == 3


def test_server_errors_delay_and_drop(server: ServiceNowServer, snow: requests.Session) -> None:
    control = server.control
    control.add_fault("table", "status", status=503)
    unavailable = snow.get(table_url(server, "incident"))
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "1"
    control.add_fault("stats", "status", status=500)
    assert snow.get(f"{server.base_url}/api/now/stats/incident", params={"sysparm_count": "true"}).status_code == 500
    control.add_fault("token", "status", status=503)
    assert token(server).status_code == 503
    control.add_fault("table", "delay", delay=0.3)
    started = time.perf_counter()
    assert snow.get(table_url(server, "incident"), params={"sysparm_limit": "1"}).status_code == 200
    assert time.perf_counter() - started >= 0.3
    control.add_fault("table", "drop")
    with pytest.raises(requests.exceptions.RequestException):
        snow.get(table_url(server, "incident"), params={"sysparm_limit": "200"}).json()


def test_rate_limit_rule_headers_and_reset(server: ServiceNowServer, snow: requests.Session) -> None:
    control = server.control
    rule = control.set_rate_limit(3)
    now = control.set_time(control.now().replace(minute=10, second=0))
    for _ in range(3):
        allowed = snow.get(table_url(server, "core_company"), params={"sysparm_limit": "1"})
        assert allowed.status_code == 200
        assert allowed.headers["X-RateLimit-Limit"] == "3" and allowed.headers["X-RateLimit-Rule"] == rule["rule"]
    reset = int(allowed.headers["X-RateLimit-Reset"])
    assert reset == int(now.replace(minute=0).timestamp()) + 3600
    refused = snow.get(table_url(server, "core_company"))
    assert refused.status_code == 429
    assert 3000 - 5 <= int(refused.headers["Retry-After"]) <= 3000 + 5
    control.advance(3000)
    assert snow.get(table_url(server, "core_company"), params={"sysparm_limit": "1"}).status_code == 200
    control.set_rate_limit(None)
    assert "X-RateLimit-Limit" not in snow.get(table_url(server, "core_company")).headers


def test_update_while_paging_skips_a_row_with_sysparm_offset(server: ServiceNowServer, snow: requests.Session) -> None:
    control = server.control
    ordered = rows(
        snow, server, "sc_req_item", sysparm_query="ORDERBYsys_updated_on^ORDERBYsys_id", sysparm_fields="sys_id"
    )
    expected = [r["sys_id"] for r in ordered]
    first = expected[0]
    control.on_page("sc_req_item", page=2, update=[{"sys_id": first, "short_description": "edited mid-read"}])
    read: list[str] = []
    for offset in range(0, len(expected), 25):
        page = rows(
            snow,
            server,
            "sc_req_item",
            sysparm_query="ORDERBYsys_updated_on^ORDERBYsys_id",
            sysparm_fields="sys_id",
            sysparm_limit=25,
            sysparm_offset=offset,
        )
        read.extend(r["sys_id"] for r in page)
    assert len(read) == len(expected)
    assert set(expected) - set(read) == {expected[25]}, "the row after the first page is skipped"
    assert read.count(first) == 2, "the updated row is read twice"
    assert control.hooks()[0]["fired"] is True


def test_update_while_paging_keyset_reads_every_row(server: ServiceNowServer, snow: requests.Session) -> None:
    control = server.control
    expected = {r["sys_id"] for r in rows(snow, server, "change_request", sysparm_fields="sys_id")}
    victim = rows(
        snow,
        server,
        "change_request",
        sysparm_query="ORDERBYsys_updated_on^ORDERBYsys_id",
        sysparm_fields="sys_id",
        sysparm_limit=1,
    )[0]["sys_id"]
    control.on_page("change_request", page=2, update=[{"sys_id": victim, "state": "3"}])
    seen: list[str] = []
    stamp = last = ""
    while True:
        query = "ORDERBYsys_updated_on^ORDERBYsys_id"
        if stamp:
            query = f"sys_updated_on>{stamp}^NQsys_updated_on={stamp}^sys_id>{last}^{query}"
        page = rows(
            snow,
            server,
            "change_request",
            sysparm_query=query,
            sysparm_limit=10,
            sysparm_fields="sys_id,sys_updated_on",
        )
        if not page:
            break
        seen.extend(r["sys_id"] for r in page)
        stamp, last = page[-1]["sys_updated_on"], page[-1]["sys_id"]
    assert set(seen) == expected and seen.count(victim) == 2
