"""Rate limiting as Jira answers it: 429 with ``Retry-After`` and the deployment's rate-limit headers.

One rule at a time (``set``): ``limit`` requests per ``window`` seconds of the sandbox clock, counted per account.

- Cloud, burst limits (API-token traffic): every API response carries ``X-RateLimit-Limit`` and
  ``X-RateLimit-Remaining`` (and ``X-RateLimit-NearLimit: true`` under 20 % left); a refused request is 429 with
  ``Retry-After`` (seconds), ``X-RateLimit-Reset`` (ISO time of the window's end) and ``RateLimit-Reason:
  jira-burst-based``.
- Cloud, points-based quota (``beta=True``: OAuth apps since 2026): also ``Beta-RateLimit-Policy``
  (``"tenant-app-quota";q=<limit>;w=<window>``) and ``Beta-RateLimit`` (``r=<remaining>;t=<seconds to reset>``);
  a refused request adds ``Beta-Retry-After`` and ``X-Beta-RateLimit-Reason: jira-quota-tenant-based``.
- Data Center (token bucket): ``X-RateLimit-Limit``, ``X-RateLimit-Remaining``, ``X-RateLimit-Interval-Seconds``,
  ``X-RateLimit-FillRate``; a refused request is 429 with ``Retry-After``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from lumina_sandbox.common.clock import SandboxClock


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    headers: dict[str, str]


class RateLimit:
    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self.limit: int | None = None
        self.window = 60
        self.beta = False
        self.refused = 0
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def set(self, limit: int | None, window: int = 60, beta: bool = False) -> None:
        if window < 1:
            raise ValueError("window is at least one second")
        with self._lock:
            self.limit, self.window, self.beta = limit, int(window), bool(beta)
            self._counts.clear()

    def describe(self) -> dict[str, object]:
        return {"limit": self.limit, "window": self.window, "beta": self.beta, "refused": self.refused}

    def check(self, account: str, cloud: bool) -> Verdict:
        """Count one request of ``account``; whether it may go on and the headers to send."""
        with self._lock:
            if self.limit is None:
                return Verdict(True, {})
            now = self.clock.now().timestamp()
            start = int(now // self.window * self.window)
            reset = start + self.window
            key = (account, start)
            used = self._counts.get(key, 0)
            allowed = used < self.limit
            if allowed:
                self._counts = {k: v for k, v in self._counts.items() if k[1] == start}
                self._counts[key] = used = used + 1
            else:
                self.refused += 1
            remaining = max(self.limit - used, 0)
            wait = max(int(reset - now + 0.999), 1)
            headers = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(remaining)}
            if not cloud:
                headers.update(
                    {"X-RateLimit-Interval-Seconds": str(self.window), "X-RateLimit-FillRate": str(self.limit)}
                )
            elif remaining < self.limit * 0.2:
                headers["X-RateLimit-NearLimit"] = "true"
            if cloud and self.beta:
                headers["Beta-RateLimit-Policy"] = f'"tenant-app-quota";q={self.limit};w={self.window}'
                headers["Beta-RateLimit"] = f'"tenant-app-quota";r={remaining};t={wait}'
            if not allowed:
                headers["Retry-After"] = str(wait)
                if cloud:
                    headers["X-RateLimit-Reset"] = datetime.fromtimestamp(reset, UTC).strftime("%Y-%m-%dT%H:%MZ")
                    headers["RateLimit-Reason"] = "jira-burst-based"
                    if self.beta:
                        headers["Beta-Retry-After"] = str(wait)
                        headers["X-Beta-RateLimit-Reason"] = "jira-quota-tenant-based"
            return Verdict(allowed, headers)
