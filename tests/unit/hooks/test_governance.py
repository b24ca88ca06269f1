"""The shared governance: one breaker and one governor for Salesforce, ServiceNow, Jira and the REST sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lumina_integration.hooks import breaker as old_home
from lumina_integration.hooks.governance import (
    ApiBudget,
    ApiGovernor,
    BudgetExceeded,
    CircuitBreaker,
    CircuitOpen,
    MemoryStore,
)
from lumina_integration.hooks.salesforce.resilience import QuotaGovernor

NOW = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)


def test_salesforce_uses_the_shared_governor_and_breaker_not_a_copy() -> None:
    assert issubclass(QuotaGovernor, ApiGovernor)
    assert old_home.CircuitBreaker is CircuitBreaker and old_home.CircuitOpen is CircuitOpen
    governor = QuotaGovernor()
    governor.observe("api-usage=900/1000")
    with pytest.raises(BudgetExceeded, match="Salesforce API budget breaks: the org has used 900 of 1000"):
        governor.check()


@pytest.mark.parametrize(
    ("remaining", "resets_in", "pause"),
    [
        pytest.param(50, 30, 0.0, id="plenty-left"),
        pytest.param(20, 30, 30.0, id="at-the-reserve-reset-soon-waits"),
        pytest.param(20, 3600, 0.0, id="at-the-reserve-reset-late-leaves-it-to-check"),
        pytest.param(0, -5, 0.0, id="reset-already-passed"),
    ],
)
def test_a_nearly_spent_window_is_waited_out_only_when_it_resets_soon(
    remaining: int, resets_in: int, pause: float
) -> None:
    governor = ApiGovernor(ApiBudget(reserve_share=0.2))
    governor.observe_window(100, remaining, NOW + timedelta(seconds=resets_in))
    assert governor.pause_before_call(NOW, max_pause=300) == pause


def test_a_window_reset_far_away_stops_the_run() -> None:
    governor = ApiGovernor(ApiBudget(reserve_share=0.2), system="Jira", account="site")
    governor.observe_window(100, 20, NOW + timedelta(hours=1))
    with pytest.raises(BudgetExceeded, match="Jira API budget breaks: 20 of 100 requests are left"):
        governor.check()


def test_record_failure_raises_only_when_the_failure_opens_the_breaker() -> None:
    breaker = CircuitBreaker("snow", MemoryStore(), failure_threshold=2, clock=lambda: NOW)
    breaker.record_failure("HTTP 503", "ServiceNow calls")
    with pytest.raises(
        CircuitOpen,
        match="ServiceNow calls keep failing after every retry; the circuit breaker of connection 'snow' is open",
    ):
        breaker.record_failure("HTTP 503", "ServiceNow calls")
