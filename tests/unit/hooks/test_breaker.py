"""The circuit breaker: trips, stays open for its period, closes, counts failures in a row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lumina_integration.hooks.base import StopRun
from lumina_integration.hooks.breaker import CircuitBreaker, CircuitOpen


class DictStore:
    """Breaker state in a dict: the same interface as Airflow Variables, for tests outside a task."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        del self.values[key]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def breaker(store: DictStore, clock: Clock) -> CircuitBreaker:
    return CircuitBreaker("sf", store, open_for=timedelta(minutes=30), failure_threshold=2, clock=clock)


def test_a_trip_is_seen_by_every_breaker_on_the_same_store_until_it_expires() -> None:
    store, clock = DictStore(), Clock()
    one, other = breaker(store, clock), breaker(store, clock)
    other.check()  # closed: remembered for a few seconds
    one.trip("REQUEST_LIMIT_EXCEEDED")
    clock.now += timedelta(seconds=20)  # past the recheck interval
    with pytest.raises(CircuitOpen, match="REQUEST_LIMIT_EXCEEDED") as raised:
        other.check()
    assert isinstance(raised.value, StopRun)
    assert "lumina_breaker__sf" in str(raised.value)
    clock.now += timedelta(minutes=31)
    other.check()


def test_failures_in_a_row_trip_it_and_a_success_resets_the_count() -> None:
    store, clock = DictStore(), Clock()
    b = breaker(store, clock)
    b.failed("503")
    b.succeeded()
    b.failed("503")
    b.check()
    b.failed("503")
    with pytest.raises(CircuitOpen, match="2 calls in a row failed"):
        b.check()
    b.reset()
    b.check()
    assert store.values == {}
