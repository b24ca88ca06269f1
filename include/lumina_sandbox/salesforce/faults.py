"""Injected faults: rules matched per request by endpoint category (not part of Salesforce).

A rule affects ``times`` matching requests (None: until cleared) after skipping the first ``after``. Kinds:

* ``status``: answer ``status`` with a Salesforce error body (403 REQUEST_LIMIT_EXCEEDED, 429/503 with
  ``Retry-After``, 500 UNKNOWN_EXCEPTION, or the given errorCode/message);
* ``delay``: answer after ``delay`` seconds;
* ``drop``: send the headers and part of the body, then close the connection (an incomplete read);
* ``expire_session``: invalidate the caller's session and answer 401 INVALID_SESSION_ID;
* ``query_timeout``: a REST query (category ``query``) or Bulk query job (category ``bulk_create``) whose
  result would exceed ``threshold`` records fails with QUERY_TIMEOUT.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass
from typing import Any

CATEGORIES = (
    "token",
    "soap_login",
    "versions",
    "query",
    "query_more",
    "describe",
    "sobjects",
    "limits",
    "deleted",
    "updated",
    "bulk_create",
    "bulk_status",
    "bulk_results",
    "ingest",
    "any",
)
KINDS = ("status", "delay", "drop", "expire_session", "query_timeout")
_DEFAULT_ERRORS = {
    403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    429: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
    500: (
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support: "
        "1946380131-41937 (-1589123471)",
    ),
    502: ("SERVER_UNAVAILABLE", "Bad gateway."),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable. Please retry after the Retry-After interval."),
}


@dataclass
class FaultRule:
    """One injected fault; ``matched``/``fired`` count what it has seen and done."""

    category: str = "any"
    kind: str = "status"
    status: int = 503
    error_code: str | None = None
    message: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    threshold: int | None = None
    times: int | None = 1
    after: int = 0
    id: int = 0
    matched: int = 0
    fired: int = 0

    def error(self) -> tuple[int, list[dict[str, Any]], dict[str, str]]:
        """(status, Salesforce error body, extra headers) for a ``status`` fault."""
        code, message = _DEFAULT_ERRORS.get(self.status, ("UNKNOWN_EXCEPTION", "An unexpected error occurred."))
        headers = {}
        retry_after = self.retry_after if self.retry_after is not None else (1 if self.status in (429, 503) else None)
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        body = [{"message": self.message or message, "errorCode": self.error_code or code}]
        return self.status, body, headers

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    """The active fault rules; thread-safe."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(
        self,
        category: str = "any",
        kind: str = "status",
        *,
        status: int = 503,
        error_code: str | None = None,
        message: str | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        threshold: int | None = None,
        times: int | None = 1,
        after: int = 0,
    ) -> FaultRule:
        """Add a rule (see the module doc); returns it."""
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r}; one of {', '.join(CATEGORIES)}")
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
        if kind == "query_timeout" and threshold is None:
            raise ValueError("a query_timeout fault needs threshold (the record count that times out)")
        rule = FaultRule(
            category, kind, status, error_code, message, retry_after, delay, threshold, times, after, next(self._ids)
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def _fire(self, rule: FaultRule) -> bool:
        rule.matched += 1
        if rule.matched <= rule.after or (rule.times is not None and rule.fired >= rule.times):
            return False
        rule.fired += 1
        return True

    def take(self, category: str) -> FaultRule | None:
        """The rule that fires for this request, if any (query_timeout rules are consulted by the handlers)."""
        with self._lock:
            for rule in self._rules:
                if rule.kind != "query_timeout" and rule.category in (category, "any") and self._fire(rule):
                    return rule
        return None

    def query_timeout(self, category: str, records: int) -> bool:
        """True when a query_timeout rule fires for a query of ``records`` results."""
        with self._lock:
            for rule in self._rules:
                if (
                    rule.kind == "query_timeout"
                    and rule.category in (category, "any")
                    and records > (rule.threshold or 0)
                    and self._fire(rule)
                ):
                    return True
        return False
