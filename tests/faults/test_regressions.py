"""Regression tests for the bugs the fault matrix and the randomized test found (fast, no servers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
