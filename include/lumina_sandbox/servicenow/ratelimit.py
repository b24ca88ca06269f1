"""Inbound REST rate limiting as the instance applies a rate limit rule: a number of requests per user per hour.

While a rule is set, every API response carries ``X-RateLimit-Limit`` (requests per hour), ``X-RateLimit-Reset``
(UNIX time the hour's window ends) and ``X-RateLimit-Rule`` (the rule's sys_id); a request over the limit is
429 with ``Retry-After`` (seconds to the window's end). Windows are clock hours of the instance clock, so a
test moves the clock to reset them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from lumina_sandbox.common.clock import SandboxClock

HOUR = 3600


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    headers: dict[str, str]


class RateLimit:
    """One "all users" rule (``per_hour`` None: no rule); counts per user and hour window. Thread-safe."""

    def __init__(self, clock: SandboxClock, rule_sys_id: str) -> None:
        self.clock = clock
        self.rule_sys_id = rule_sys_id
        self.per_hour: int | None = None
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def set(self, per_hour: int | None) -> None:
        with self._lock:
            self.per_hour = per_hour
            self._counts.clear()

    def check(self, user: str) -> Verdict:
        """Count one request of ``user``; whether it is allowed and the headers to send."""
        with self._lock:
            if self.per_hour is None:
                return Verdict(True, {})
            now = int(self.clock.now().timestamp())
            window = now - now % HOUR
            reset = window + HOUR
            key = (user, window)
            used = self._counts.get(key, 0)
            headers = {
                "X-RateLimit-Limit": str(self.per_hour),
                "X-RateLimit-Reset": str(reset),
                "X-RateLimit-Rule": self.rule_sys_id,
            }
            if used >= self.per_hour:
                return Verdict(False, {**headers, "Retry-After": str(max(reset - now, 1))})
            self._counts = {k: v for k, v in self._counts.items() if k[1] == window}
            self._counts[key] = used + 1
            return Verdict(True, headers)

    def headers(self) -> dict[str, str]:
        """The rule's headers without counting (for responses the edge answers itself)."""
        with self._lock:
            if self.per_hour is None:
                return {}
            now = int(self.clock.now().timestamp())
            return {
                "X-RateLimit-Limit": str(self.per_hour),
                "X-RateLimit-Reset": str(now - now % HOUR + HOUR),
                "X-RateLimit-Rule": self.rule_sys_id,
            }
