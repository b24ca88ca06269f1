"""The client against a loopback API: Retry-After in both forms, backoff, budgets, the breaker, bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from rest_loopback import LoopbackApi, Reply, Sleeps

from lumina_integration.hooks.base import StopRun
from lumina_integration.hooks.governance import (
    ApiBudget,
    ApiGovernor,
    BudgetExceeded,
    CircuitBreaker,
    CircuitOpen,
    MemoryStore,
)
from lumina_integration.hooks.rest.client import (
    MalformedResponse,
    RateLimited,
    RestClient,
    RestError,
    RetriesExhausted,
    RetryBudgetExhausted,
)
from lumina_integration.hooks.rest.retry import RetryPolicy, retry_after_seconds

OK = Reply(200, {"ok": True})


def client(api: LoopbackApi, sleeps: Sleeps, **kwargs: object) -> RestClient:
    return RestClient(api.base_url, sleep=sleeps, **kwargs)  # type: ignore[arg-type]


def test_retry_after_in_seconds_is_waited_on_a_429(api: LoopbackApi, sleeps: Sleeps) -> None:
    api.replies("GET", "/x", Reply(429, {}, {"Retry-After": "7"}), OK)
    c = client(api, sleeps)
    assert c.get_json("/x") == {"ok": True}
    assert sleeps.waits == [7.0] and c.calls == 2 and c.retries == 1


def test_retry_after_as_an_http_date_is_measured_on_the_servers_clock(api: LoopbackApi, sleeps: Sleeps) -> None:
    # The server's clock is an hour behind ours: the wait is 30s of its time, not -3570s of ours.
    server_now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    headers = {
        "Retry-After": format_datetime(server_now + timedelta(seconds=30), usegmt=True),
        "Date": format_datetime(server_now, usegmt=True),
    }
    api.replies("GET", "/x", Reply(503, {}, headers), OK)
    assert client(api, sleeps).get_json("/x") == {"ok": True}
    assert sleeps.waits == [30.0]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"Retry-After": "120"}, 120.0, id="seconds"),
        pytest.param(
            {"Retry-After": "Fri, 04 Dec 2026 06:30:10 GMT", "Date": "Fri, 04 Dec 2026 06:30:00 GMT"},
            10.0,
            id="http-date-against-date",
        ),
        pytest.param(
            {"Retry-After": "Fri, 04 Dec 2026 06:29:00 GMT", "Date": "Fri, 04 Dec 2026 06:30:00 GMT"},
            0.0,
            id="http-date-in-the-past",
        ),
        pytest.param({"Retry-After": "soon"}, None, id="unreadable"),
        pytest.param({}, None, id="absent"),
    ],
)
def test_retry_after_forms(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(headers) == expected


def test_transient_5xx_and_dropped_connections_are_retried_with_capped_backoff(
    api: LoopbackApi, sleeps: Sleeps
) -> None:
    api.replies("GET", "/x", Reply(502, b"bad gateway"), Reply(drop=True), Reply(500, {}), OK)
    c = client(api, sleeps, retry=RetryPolicy(backoff=1.0, backoff_max=1.5))
    assert c.get_json("/x") == {"ok": True}
    assert len(sleeps.waits) == 3 and all(0 <= w <= 1.5 for w in sleeps.waits)
    assert c.calls == 4


def test_a_request_failing_every_attempt_raises_and_counts_a_breaker_failure(api: LoopbackApi, sleeps: Sleeps) -> None:
    api.replies("GET", "/x", Reply(500, {"error": "boom"}))
    store = MemoryStore()
    c = client(api, sleeps, retry=RetryPolicy(attempts=3), breaker=CircuitBreaker("snow", store, failure_threshold=2))
    with pytest.raises(RetriesExhausted, match=r"GET /x failed after 3 attempts; last: HTTP 500") as raised:
        c.get_json("/x")
    assert not isinstance(raised.value, StopRun)  # transient: a later try of the task may succeed
    assert len(api.calls("/x")) == 3 and '"failures": 1' in store.values["lumina_breaker__snow"]
    with pytest.raises(CircuitOpen, match="circuit breaker of connection 'snow' is open"):
        c.get_json("/x")  # the second failure in a row opens it


def test_an_open_breaker_stops_the_run_before_any_request(api: LoopbackApi, sleeps: Sleeps) -> None:
    api.replies("GET", "/x", OK)
    breaker = CircuitBreaker("jira", MemoryStore())
    breaker.trip("429 storm")
    with pytest.raises(CircuitOpen, match="429 storm") as raised:
        client(api, sleeps, breaker=breaker).get_json("/x")
    assert isinstance(raised.value, StopRun) and not api.received


def test_the_retry_budget_ends_a_429_storm_with_a_clear_error(api: LoopbackApi, sleeps: Sleeps) -> None:
    api.replies("GET", "/x", Reply(429, {}, {"Retry-After": "1"}))
    c = client(api, sleeps, retry=RetryPolicy(attempts=10, run_retries=4))
    with pytest.raises(RetryBudgetExhausted, match=r"spent its retry budget \(4 retries\)") as raised:
        c.get_json("/x")
    assert isinstance(raised.value, StopRun) and raised.value.status == 429
    assert sleeps.waits == [1.0] * 4 and len(api.calls("/x")) == 5


def test_a_retry_after_longer_than_a_task_should_wait_stops_the_run(api: LoopbackApi, sleeps: Sleeps) -> None:
    api.replies("GET", "/x", Reply(429, {}, {"Retry-After": "3600"}))
    with pytest.raises(RateLimited, match="Retry-After 3600s, longer than the 300s"):
        client(api, sleeps).get_json("/x")
    assert sleeps.waits == []


def test_other_4xx_are_not_retried_and_can_be_allowed(api: LoopbackApi, sleeps: Sleeps) -> None:
    api.replies("GET", "/gone", Reply(410, {"errorMessages": ["removed"]}))
    c = client(api, sleeps)
    with pytest.raises(RestError, match="GET /gone answered HTTP 410") as raised:
        c.get_json("/gone", params={"jql": "secret = 1"})
    assert raised.value.status == 410 and "secret" not in str(raised.value)
    assert c.request("GET", "/gone", allow=(410,)).status_code == 410
    assert len(api.calls("/gone")) == 2


def test_every_call_counts_against_the_budget_which_stops_the_run_before_sending(
    api: LoopbackApi, sleeps: Sleeps
) -> None:
    api.replies("GET", "/x", Reply(503, {}), OK)
    governor = ApiGovernor(ApiBudget(max_calls_per_run=3), system="ServiceNow")
    c = client(api, sleeps, governor=governor)
    c.get_json("/x")  # two calls: the 503 and its retry
    c.get_json("/x")
    with pytest.raises(BudgetExceeded, match="ServiceNow API budget breaks: this run has made 3 API calls"):
        c.get_json("/x")
    assert len(api.calls("/x")) == 3


def test_rate_limit_headers_feed_the_governor_which_waits_for_a_near_reset(api: LoopbackApi, sleeps: Sleeps) -> None:
    reset = datetime.now(UTC) + timedelta(seconds=20)
    headers = {
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Remaining": "10",
        "X-RateLimit-Reset": str(int(reset.timestamp())),
    }
    api.replies("GET", "/x", Reply(200, {}, headers), Reply(200, {}, {**headers, "X-RateLimit-Remaining": "99"}))
    governor = ApiGovernor(ApiBudget(reserve_share=0.2))
    c = client(api, sleeps, governor=governor)
    c.get_json("/x")
    assert (governor.window_limit, governor.window_remaining) == (100, 10)
    c.get_json("/x")  # 10 left of 100 with 20% reserved: wait for the reset instead of digging in
    assert len(sleeps.waits) == 1 and 15 < sleeps.waits[0] <= 21
    assert governor.window_remaining == 99


def test_a_spent_window_that_resets_late_stops_the_run(api: LoopbackApi, sleeps: Sleeps) -> None:
    reset = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    api.replies(
        "GET",
        "/x",
        Reply(200, {}, {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "5", "X-RateLimit-Reset": reset}),
    )
    c = client(api, sleeps)
    c.get_json("/x")
    with pytest.raises(BudgetExceeded, match="5 of 100 requests are left in the rate-limit window until"):
        c.get_json("/x")
    assert sleeps.waits == []


def test_a_response_larger_than_allowed_is_refused(api: LoopbackApi, sleeps: Sleeps) -> None:
    api.replies("GET", "/x", Reply(200, b"[" + b"1," * 100_000 + b"1]"))
    with pytest.raises(MalformedResponse, match="larger than max_response_bytes=1000"):
        client(api, sleeps, max_response_bytes=1000).get_json("/x")


def test_json_nested_past_the_bound_is_refused_without_recursing(api: LoopbackApi, sleeps: Sleeps) -> None:
    api.replies("GET", "/x", Reply(200, b"[" * 200_000 + b"]" * 200_000))
    with pytest.raises(MalformedResponse, match="nested deeper than max_depth=128"):
        client(api, sleeps).get_json("/x")


def test_not_json_is_a_malformed_response(api: LoopbackApi, sleeps: Sleeps) -> None:
    api.replies("GET", "/x", Reply(200, b"<html>maintenance</html>"))
    with pytest.raises(MalformedResponse, match="is not JSON"):
        client(api, sleeps).get_json("/x")


def test_credentials_never_go_to_another_origin(api: LoopbackApi, sleeps: Sleeps) -> None:
    api.replies("GET", "/next", OK)
    c = client(api, sleeps)
    assert c.get_json(f"{api.base_url}/next") == {"ok": True}  # a server's own next link
    with pytest.raises(ValueError, match=r"refusing to send credentials to https://evil\.example"):
        c.get_json("https://evil.example/next")


def test_servicenow_windows_without_a_remaining_count_are_counted_from_this_runs_calls(
    api: LoopbackApi, sleeps: Sleeps
) -> None:
    # ServiceNow announces the hourly limit and its reset (epoch seconds), not what is left.
    reset = int((datetime.now(UTC) + timedelta(minutes=40)).timestamp())
    api.replies(
        "GET", "/api/now/table/incident", Reply(200, {}, {"X-RateLimit-Limit": "10", "X-RateLimit-Reset": str(reset)})
    )
    c = client(api, sleeps, governor=ApiGovernor(ApiBudget(reserve_share=0.2), system="ServiceNow"))
    for _ in range(7):
        c.get_json("/api/now/table/incident")
    assert c.governor.window_remaining == 3
    c.get_json("/api/now/table/incident")  # leaves 2 of 10: the reserve
    with pytest.raises(BudgetExceeded, match="2 of 10 requests are left in the rate-limit window"):
        c.get_json("/api/now/table/incident")
    assert len(api.received) == 8


def test_a_token_bucket_refilling_soon_is_waited_for(api: LoopbackApi, sleeps: Sleeps) -> None:
    # Jira Data Center: a bucket of 50 that refills every 2 seconds; 5 tokens left is inside the reserve.
    headers = {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "5", "X-RateLimit-Interval-Seconds": "2"}
    api.replies("GET", "/rest/api/2/search", Reply(200, {}, headers))
    c = client(api, sleeps)
    c.get_json("/rest/api/2/search")
    c.get_json("/rest/api/2/search")
    assert len(sleeps.waits) == 1 and 0 < sleeps.waits[0] <= 2
