"""What keeps a pipeline from hurting a source system: the circuit breaker and the API-budget governor.

Shared by every API source (Salesforce, ServiceNow, Jira, and the REST sources after them), so each
adapter only says how its system reports usage (a header, a ``/limits`` call), never how to react.

- :class:`CircuitBreaker`, one per source connection, shared by every task that talks to that system.
  When a system says "stop" (Salesforce's REQUEST_LIMIT_EXCEEDED, or calls failing after every
  retry), retrying from each task separately only burns what is left and hides the cause. The
  breaker's state lives in an Airflow Variable (``lumina_breaker__<conn_id>``), so every worker and
  every DAG sees it, and an operator can read or clear it in the UI (Admin -> Variables).
- :class:`ApiGovernor` counts one run's calls and stops the run (:class:`BudgetExceeded`) before it
  eats into the share of the system's allowance that other integrations need: a daily quota
  (Salesforce's ``api-usage``) or a rate-limit window (``X-RateLimit-*`` headers), whose reset it can
  also wait for when that is near (:meth:`ApiGovernor.pause_before_call`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
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


class MemoryStore:
    """Breaker state in this process only: for a run outside Airflow (a bench, a one-off script) and tests.

    Every task of a real run uses :class:`VariableStore`, so they all see one breaker.
    """

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


@dataclass
class CircuitBreaker:
    """Open / closed state for one system connection.

    Args:
        conn_id: the Airflow connection the breaker guards.
        store: where the state lives (Airflow Variables by default).
        open_for: how long a trip keeps the breaker open.
        failure_threshold: consecutive calls failing after all their retries that trip it.
        clock: the current time (injectable for tests).
        audit: called as ``audit("breaker", "opened" | "closed", reason)`` when this breaker sees or makes
            a change (:mod:`lumina_integration.auth_audit`), or None.
    """

    conn_id: str
    store: BreakerStore
    open_for: timedelta = timedelta(hours=1)
    failure_threshold: int = 3
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    recheck_every: timedelta = timedelta(seconds=15)
    audit: Callable[[str, str, str], object] | None = None
    _failures: int = 0
    _stored_failures: int = 0
    _closed_seen_at: datetime | None = None
    _expiry_noted: str | None = None

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
        if now >= until and self._expiry_noted != state["open_until"]:
            # Noted once per trip per process; the Variable stays until a success or a reset clears it.
            self._expiry_noted = state["open_until"]
            self._note("closed", f"the trip until {state['open_until']} expired")
        if now < until:
            raise CircuitOpen(
                f"the circuit breaker of connection {self.conn_id!r} is open until {until.isoformat()}: "
                f"{state['reason']} (delete Variable {self.key} to close it sooner)"
            )

    def trip(self, reason: str, open_for: timedelta | None = None) -> None:
        until = self.clock() + (open_for or self.open_for)
        self._closed_seen_at = None
        self.store.set(self.key, json.dumps({"open_until": until.isoformat(), "reason": reason}))
        self._note("opened", f"until {until.isoformat()}: {reason}")

    def _note(self, outcome: str, detail: str) -> None:
        if self.audit is not None:
            self.audit("breaker", outcome, detail)

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

    def record_failure(self, reason: str, calls: str) -> None:
        """A call failed after all its retries: count it, and raise :class:`CircuitOpen` if that opened the breaker.

        The call that opens the breaker stops the task too: retrying it would only wait for the open
        breaker to refuse. ``calls`` names the calls in the message (``"Salesforce calls (ConnectionError)"``).
        """
        if self.failed(reason):
            raise CircuitOpen(
                f"{calls} keep failing after every retry; the circuit breaker of connection {self.conn_id!r} is "
                f"open (Variable {self.key})"
            )

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
        state = self.state()
        if state is not None:
            self.store.delete(self.key)
            if "open_until" in state:
                self._note("closed", "reset")


def run_breaker(conn_id: str, pipeline_id: str, system: str = "") -> CircuitBreaker | None:
    """The breaker of connection ``conn_id`` for a pipeline's run (Airflow Variables), or None outside one.

    Outside a run (the UI's connection test, a bench, a one-off script) a failure is reported to whoever
    called, not counted against every pipeline on that connection. Its changes are audited as ``system``'s.
    """
    from lumina_integration.auth_audit import AuthAuditor

    audit = AuthAuditor(conn_id, system, pipeline_id)
    return CircuitBreaker(conn_id, VariableStore(), audit=audit) if pipeline_id else None


class QuotaExhausted(StopRun):
    """The system's API allowance is used up (Salesforce's REQUEST_LIMIT_EXCEEDED): stop, do not retry."""


class BudgetExceeded(StopRun):
    """This pipeline would eat into the reserve left for the system's other integrations."""


@dataclass(frozen=True)
class ApiBudget:
    """What one pipeline may spend of a system's allowances.

    Args:
        reserve_share: the share of the system's allowance (daily requests, or the current rate-limit
            window) left untouched for other integrations: the pipeline stops once the system as a
            whole has used the rest.
        pipeline_share: the share of the system's daily API requests this pipeline's runs may spend
            in any 24 hours (None: no per-pipeline cap).
        bulk_job_share: the same for a daily allowance of jobs (Salesforce's Bulk 2.0 query jobs;
            systems without jobs leave it None).
        max_calls_per_run: a hard cap on calls in one run (None: none).
    """

    reserve_share: float = 0.2
    pipeline_share: float | None = None
    bulk_job_share: float | None = None
    max_calls_per_run: int | None = None


@dataclass
class ApiGovernor:
    """Counts this run's calls, tracks the system's usage, and stops the run before a budget breaks.

    ``spent_calls_24h``/``spent_bulk_jobs_24h`` are what earlier runs of the pipeline spent in the
    last 24 hours (from the audit table). ``used``/``limit`` are the system's daily usage as the
    adapter reads it (a response header, a limits call: :meth:`observe_usage`); ``window_*`` the
    rate-limit window a response announced (:meth:`observe_window`); ``bulk_limit`` the daily job
    allowance. ``system`` and ``account`` name the system and what one allowance covers in messages.
    """

    budget: ApiBudget = field(default_factory=ApiBudget)
    spent_calls_24h: int = 0
    spent_bulk_jobs_24h: int = 0
    calls: int = 0
    bulk_jobs: int = 0
    used: int | None = None
    limit: int | None = None
    bulk_limit: int | None = None
    window_limit: int | None = None
    window_remaining: int | None = None
    window_resets_at: datetime | None = None
    window_calls: int = 0  # this run's calls in the current window
    system: str = "source"
    account: str = "system"  # what one allowance covers, for messages: Salesforce's "org", an "instance"

    def observe_usage(self, used: int, limit: int) -> None:
        """The system's daily usage: ``used`` of ``limit`` requests."""
        self.used, self.limit = used, limit

    def observe_window(self, limit: int, remaining: int | None, resets_at: datetime | None = None) -> None:
        """A rate-limit window (``X-RateLimit-Limit``/``-Remaining``/``-Reset``) a response announced.

        ``remaining`` None (ServiceNow sends the limit and the reset, not what is left): this run's own
        calls in the window are counted instead, the response that announced it included, so the
        reserve is kept at least from what this pipeline spends.
        """
        if resets_at is None or resets_at != self.window_resets_at:
            self.window_calls = 1  # a new window, and the call that announced it
        if remaining is None:
            remaining = max(limit - self.window_calls, 0)
        self.window_limit, self.window_remaining, self.window_resets_at = limit, remaining, resets_at

    def record(self, *, bulk_job: bool = False) -> None:
        self.calls += 1
        self.bulk_jobs += int(bulk_job)
        self.window_calls += 1

    def _window_short(self, calls: int) -> bool:
        """Whether ``calls`` more would dig into the window's reserve.

        Only a window whose reset is known: without one (a token bucket that refills at a rate the
        headers do not give), the system's 429 and its ``Retry-After`` say when to go on.
        """
        if not self.window_limit or self.window_remaining is None or self.window_resets_at is None:
            return False
        reserve = int(self.window_limit * self.budget.reserve_share)
        return self.window_remaining - calls < reserve

    def pause_before_call(self, now: datetime, max_pause: float) -> float:
        """Seconds to wait for the rate-limit window to reset before the next call (0: none).

        Only when the window's reserve would be touched and it resets within ``max_pause`` seconds;
        a reset further away is left to :meth:`check`, which stops the run instead.
        """
        if not self._window_short(1) or self.window_resets_at is None:
            return 0.0
        wait = (self.window_resets_at - now).total_seconds()
        if wait > max_pause:
            return 0.0
        # The window is over once the reset passed: forget it until a response announces the new one.
        self.window_remaining, self.window_calls = self.window_limit, 0
        return max(wait, 0.0)

    def problems(self, calls: int = 1, bulk_jobs: int = 0) -> list[str]:
        """Why ``calls`` more API calls (``bulk_jobs`` of them creating jobs) would break a budget."""
        found = []
        b = self.budget
        if b.max_calls_per_run is not None and self.calls + calls > b.max_calls_per_run:
            found.append(f"this run has made {self.calls} API calls and its cap is {b.max_calls_per_run}")
        if self.used is not None and self.limit:
            ceiling = self.limit - int(self.limit * b.reserve_share)
            if self.used + calls > ceiling:
                found.append(
                    f"the {self.account} has used {self.used} of {self.limit} daily API requests; pipelines stop at "
                    f"{ceiling} to leave {b.reserve_share:.0%} for other integrations"
                )
        if self._window_short(calls):
            resets = f" until {self.window_resets_at.isoformat()}" if self.window_resets_at else ""
            found.append(
                f"{self.window_remaining} of {self.window_limit} requests are left in the rate-limit window{resets}; "
                f"pipelines leave {b.reserve_share:.0%} of it for other integrations"
            )
        shares = (
            ("API calls", "spent", calls, self.spent_calls_24h + self.calls, b.pipeline_share, self.limit),
            (
                "Bulk 2.0 jobs",
                "created",
                bulk_jobs,
                self.spent_bulk_jobs_24h + self.bulk_jobs,
                b.bulk_job_share,
                self.bulk_limit,
            ),
        )
        for what, verb, upcoming, spent, share, org_limit in shares:
            if upcoming and share is not None and org_limit:
                allowed = int(org_limit * share)
                if spent + upcoming > allowed:
                    found.append(
                        f"this pipeline has {verb} {spent} {what} in 24 hours; its budget is {allowed} "
                        f"({share:.0%} of the {self.account}'s {org_limit})"
                    )
        return found

    def check(self, calls: int = 1, bulk_jobs: int = 0) -> None:
        """Raise :class:`BudgetExceeded` if the next calls would break a budget."""
        found = self.problems(calls, bulk_jobs)
        if found:
            raise BudgetExceeded(f"stopping before the {self.system} API budget breaks: " + "; ".join(found))
