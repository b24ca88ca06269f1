"""Regression tests for the bugs the fault matrix and the randomized test found (fast, no servers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lumina_integration.hooks.breaker import CircuitBreaker, CircuitOpen


class DictStore:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        del self.values[key]


def attempt(store: DictStore) -> CircuitBreaker:
    """The breaker one task attempt builds: a new process, a new object, the shared store."""
    return CircuitBreaker("sf", store, failure_threshold=3, clock=lambda: datetime(2026, 11, 1, tzinfo=UTC))


def test_failures_count_across_task_attempts() -> None:
    # Found by the fault matrix (permanent 5xx): every attempt failed on its first call, so the
    # in-memory count never passed 1 and the breaker never opened.
    store = DictStore()
    assert attempt(store).failed("503") is False
    assert attempt(store).failed("503") is False
    assert attempt(store).failed("503") is True
    with pytest.raises(CircuitOpen, match="3 calls in a row failed after every retry; last: 503"):
        attempt(store).check()


def test_a_success_anywhere_resets_the_stored_count_but_never_a_trip() -> None:
    store = DictStore()
    attempt(store).failed("503")
    healthy = attempt(store)
    healthy.check()
    healthy.succeeded()
    assert store.values == {}
    assert attempt(store).failed("503") is False  # counting starts again

    other = attempt(store)
    other.check()  # sees the stored failure
    attempt(store).trip("REQUEST_LIMIT_EXCEEDED", open_for=timedelta(hours=1))
    other.succeeded()  # a call that was already in flight succeeds
    with pytest.raises(CircuitOpen, match="REQUEST_LIMIT_EXCEEDED"):
        attempt(store).check()


@pytest.mark.integration
def test_a_test_can_run_an_interval_an_earlier_test_ran(warehouse_runs: Any) -> None:
    # Found by the fault matrix: test_a_backfill_beside_the_scheduled_run's scheduled run of the interval
    # before the sandbox clock's quarter hour clashed on dag_run (dag_id, logical_date) with the run the
    # previous test had made of the same interval, whenever the two straddled a quarter-hour boundary.
    # The same clash, at a fixed interval: the fixture forgets every earlier test's runs.
    from airflow_runs import AirflowRun, forget_runs
    from sqlalchemy.exc import IntegrityError

    dag = warehouse_runs.bag.dags["salesforce_account"]
    interval = (datetime(2026, 3, 1, 12, 15, tzinfo=UTC), datetime(2026, 3, 1, 12, 30, tzinfo=UTC))
    AirflowRun(dag, "scheduled", interval)  # an earlier test's run
    with pytest.raises(IntegrityError, match=r"UNIQUE constraint failed: dag_run\.dag_id, dag_run\.logical_date"):
        AirflowRun(dag, "scheduled", interval)
    assert forget_runs(["salesforce_account"]) == 1  # what the warehouse_runs fixture does before each test
    run = AirflowRun(dag, "scheduled", interval)
    assert run.dag_run.data_interval_start == interval[0]
    forget_runs(["salesforce_account"])
