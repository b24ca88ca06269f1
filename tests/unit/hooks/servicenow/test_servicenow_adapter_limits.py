"""429 storms, the instance's rate-limit rule, budgets and the shared breaker, against the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from snow_reads import live, read

from lumina_integration.hooks.base import RunContext
from lumina_integration.hooks.governance import BudgetExceeded, CircuitBreaker, CircuitOpen, MemoryStore
from lumina_integration.hooks.rest.client import RateLimited, RetriesExhausted
from lumina_integration.hooks.rest.retry import RetryPolicy


def fast(h: Any) -> None:
    """Waits are recorded, not slept (the Retry-After values are what is checked)."""
    h.waits = []
    h.client.sleep = h.waits.append


def test_a_429_storm_is_ridden_out_by_retry_after_and_loses_nothing(server: Any, snow: Any) -> None:
    fast(snow)
    snow.schema("incident")
    server.instance.faults.add("table", status=429, retry_after=2, times=4, after=1)
    table = read(snow, "incident", page_size=60)
    assert live(table).num_rows == len(server.control.truth("incident"))
    assert snow.waits == [2.0, 2.0, 2.0, 2.0]
    assert snow.client.retries == 4


def test_a_storm_longer_than_the_retries_fails_the_request_and_counts_on_the_breaker(server: Any, snow: Any) -> None:
    fast(snow)
    snow.client.breaker = breaker = CircuitBreaker("servicenow_test", MemoryStore(), failure_threshold=2)
    snow.client.retry = RetryPolicy(attempts=3)
    server.instance.faults.add("table", status=429, retry_after=1, times=None)
    with pytest.raises(RetriesExhausted, match="failed after 3 attempts; last: HTTP 429"):
        snow.server_now()
    with pytest.raises(CircuitOpen):
        snow.server_now()
    calls = snow.governor.calls
    with pytest.raises(CircuitOpen):
        snow.server_now()
    assert snow.governor.calls == calls  # an open breaker spends nothing
    assert "open_until" in (breaker.state() or {})


def test_the_rate_limit_rules_headers_reach_the_governor(server: Any, snow: Any) -> None:
    server.control.set_rate_limit(1000)
    snow.server_now()
    assert snow.governor.window_limit == 1000 and snow.governor.window_resets_at is not None


def test_a_retry_after_longer_than_a_task_waits_stops_the_run(server: Any, snow: Any) -> None:
    fast(snow)
    server.instance.faults.add("table", status=429, retry_after=3600, times=None)
    with pytest.raises(RateLimited, match="Retry-After 3600s"):
        snow.server_now()
    assert snow.waits == []


def test_the_window_reserve_stops_a_read_before_the_instance_refuses(server: Any, connect: Any) -> None:
    # Mid-hour on the instance's clock, an hour ahead: the window resets far later than a task would wait.
    ahead = datetime.now(UTC).replace(minute=10, second=0, microsecond=0) + timedelta(hours=1)
    server.control.set_time(ahead)
    server.control.set_rate_limit(50)
    h = connect()
    h.bind(RunContext("snow_budget"))
    fast(h)
    with pytest.raises(BudgetExceeded, match="rate-limit window"):
        read(h, "incident", page_size=5)  # 50+ pages; pipelines leave 20% of the window
    assert h.governor.calls <= 41 and h.waits == []


def test_max_api_calls_caps_one_run(snow: Any) -> None:
    snow.schema("incident")
    with pytest.raises(BudgetExceeded, match="its cap is"):
        read(snow, "incident", page_size=10, max_api_calls=snow.governor.calls + 5)
