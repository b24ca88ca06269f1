"""A circuit breaker per source connection, shared by every task that talks to that system.

When a system says "stop" (Salesforce's REQUEST_LIMIT_EXCEEDED, or calls failing after every
retry), retrying from each task separately only burns what is left and hides the cause. The
breaker's state lives in an Airflow Variable (``lumina_breaker__<conn_id>``), so every worker and
every DAG sees it, and an operator can read or clear it in the UI (Admin -> Variables).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from lumina_integration.hooks.base import StopRun

VARIABLE_PREFIX = "lumina_breaker__"


class CircuitOpen(StopRun):
    """The system's breaker is open: no call is made until it closes."""


class BreakerStore(Protocol):
    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...

    def delete(self, key: str) -> None: ...


class VariableStore:
    """Breaker state in Airflow Variables (through the Task SDK inside tasks)."""

    def get(self, key: str) -> str | None:
        from airflow.sdk import Variable

        value = Variable.get(key, default=None)
        return None if value is None else str(value)

    def set(self, key: str, value: str) -> None:
        from airflow.sdk import Variable

        Variable.set(key, value, description="Circuit breaker state written by Lumina; delete it to close the breaker")

    def delete(self, key: str) -> None:
        from airflow.sdk import Variable

        Variable.delete(key)


@dataclass
class CircuitBreaker:
    """Open / closed state for one system connection.

    Args:
        conn_id: the Airflow connection the breaker guards.
        store: where the state lives (Airflow Variables by default).
        open_for: how long a trip keeps the breaker open.
        failure_threshold: consecutive calls failing after all their retries that trip it.
        clock: the current time (injectable for tests).
    """

    conn_id: str
    store: BreakerStore
    open_for: timedelta = timedelta(hours=1)
    failure_threshold: int = 3
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    recheck_every: timedelta = timedelta(seconds=15)
    _failures: int = 0
    _stored_failures: int = 0
    _closed_seen_at: datetime | None = None

    @property
    def key(self) -> str:
        return f"{VARIABLE_PREFIX}{self.conn_id}"

    def state(self) -> dict[str, Any] | None:
        raw = self.store.get(self.key)
        return json.loads(raw) if raw else None

    def check(self) -> None:
        """Raise :class:`CircuitOpen` while the breaker is open; an expired trip closes it.

        A closed breaker is re-read at most every ``recheck_every``, so paging through a big
        extract does not cost a Variable lookup per page.
        """
        now = self.clock()
        if self._closed_seen_at is not None and now - self._closed_seen_at < self.recheck_every:
            return
        state = self.state()
        self._stored_failures = int((state or {}).get("failures", 0))
        if state is None or "open_until" not in state:
            self._closed_seen_at = now
            return
        until = datetime.fromisoformat(state["open_until"])
        if now < until:
            raise CircuitOpen(
                f"the circuit breaker of connection {self.conn_id!r} is open until {until.isoformat()}: "
                f"{state['reason']} (delete Variable {self.key} to close it sooner)"
            )

    def trip(self, reason: str, open_for: timedelta | None = None) -> None:
        until = self.clock() + (open_for or self.open_for)
        self._closed_seen_at = None
        self.store.set(self.key, json.dumps({"open_until": until.isoformat(), "reason": reason}))

    def failed(self, reason: str) -> bool:
        """A call failed after all its retries; enough of them in a row trip the breaker (returns True then).

        The count is kept in the store, not only in this object: a failing task attempt is a new process
        with a new breaker, so a count in memory alone would never reach the threshold when each attempt
        fails on its first call, and the task would be retried against a dead system until its retries ran out.
        """
        state = self.state() or {}
        if "open_until" in state:
            return True
        self._failures = max(self._failures, int(state.get("failures", 0))) + 1
        if self._failures >= self.failure_threshold:
            self.trip(f"{self._failures} calls in a row failed after every retry; last: {reason}")
            return True
        self.store.set(self.key, json.dumps({"failures": self._failures, "last": reason}))
        self._stored_failures = self._failures
        return False

    def succeeded(self) -> None:
        self._failures = 0
        if self._stored_failures:
            # Clear the count other attempts left, never a trip another task made meanwhile.
            state = self.state()
            if state is not None and "open_until" not in state:
                self.store.delete(self.key)
            self._stored_failures = 0

    def reset(self) -> None:
        self._failures, self._stored_failures, self._closed_seen_at = 0, 0, None
        if self.store.get(self.key) is not None:
            self.store.delete(self.key)
