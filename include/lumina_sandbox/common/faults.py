"""Injected faults: rules matched per request by endpoint category (not part of any real system).

A rule affects ``times`` matching requests (None: until cleared) after skipping the first ``after``. The kinds
every sandbox's edge applies:

* ``status``: answer ``status`` (with ``Retry-After`` on 429/503 unless given) and the system's error body;
* ``delay``: answer after ``delay`` seconds;
* ``drop``: send the headers and part of the body, then close the connection (an incomplete read);
* ``expire_session``: invalidate the caller's token and answer the system's 401.

A system subclasses ``Faults`` to name its categories and extra kinds, and ``FaultRule`` to render the error
in its own shape (``error()``).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

BASE_KINDS = ("status", "delay", "drop", "expire_session")
RETRY_STATUSES = (429, 503)


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

    def retry_after_seconds(self) -> int | None:
        """``Retry-After`` to send: the given value, else 1 for 429/503, else none."""
        if self.retry_after is not None:
            return self.retry_after
        return 1 if self.status in RETRY_STATUSES else None

    def extra_headers(self) -> dict[str, str]:
        retry_after = self.retry_after_seconds()
        return {"Retry-After": str(retry_after)} if retry_after is not None else {}

    def error(self) -> tuple[int, Any, dict[str, str]]:
        """(status, error body, extra headers) for a ``status`` fault; systems override the body's shape."""
        body = {"error": {"message": self.message or "injected fault", "code": self.error_code or str(self.status)}}
        return self.status, body, self.extra_headers()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    """The active fault rules; thread-safe. Subclasses set ``categories``, ``kinds`` and ``rule_class``."""

    categories: ClassVar[tuple[str, ...]] = ("any",)
    kinds: ClassVar[tuple[str, ...]] = BASE_KINDS
    rule_class: ClassVar[type[FaultRule]] = FaultRule
    # Kinds the edge does not apply per request: handlers consult them (``matching``).
    handler_kinds: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def validate(self, kind: str, options: dict[str, Any]) -> None:
        """Refuse a rule a kind cannot use (subclasses add their kinds' checks)."""

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
        if category not in self.categories:
            raise ValueError(f"unknown category {category!r}; one of {', '.join(self.categories)}")
        if kind not in self.kinds:
            raise ValueError(f"unknown kind {kind!r}; one of {', '.join(self.kinds)}")
        self.validate(kind, {"threshold": threshold, "status": status, "times": times})
        rule = self.rule_class(
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
        """The edge rule that fires for this request, if any (handler kinds are not consulted here)."""
        with self._lock:
            for rule in self._rules:
                if rule.kind not in self.handler_kinds and rule.category in (category, "any") and self._fire(rule):
                    return rule
        return None

    def matching(self, kind: str, category: str, condition: bool = True) -> FaultRule | None:
        """The ``kind`` rule (a handler kind) that fires for ``category`` when ``condition`` holds, if any."""
        if not condition:
            return None
        with self._lock:
            for rule in self._rules:
                if rule.kind == kind and rule.category in (category, "any") and self._fire(rule):
                    return rule
        return None
