"""When to try a request again, and how long to wait first.

- ``Retry-After`` is honoured in both forms HTTP allows: delay seconds (``120``) and an HTTP-date
  (``Fri, 04 Dec 2026 06:30:00 GMT``, measured against the response's own ``Date`` when it has one, so a
  skewed local clock does not shorten or stretch the wait).
- Without it: exponential backoff with full jitter, capped (``backoff_max``), so many workers that failed
  together do not come back together.
- A wait longer than ``max_wait`` is not slept: the system asked for more than a task should block for.
- Two budgets: ``attempts`` per request, and ``run_retries`` for the whole client, so a storm of 429s
  across thousands of pages ends in a clear error instead of hours of polite waiting.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from urllib3.util.retry import Retry

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How one client retries.

    Args:
        attempts: tries per request, the first included.
        run_retries: retries (not first tries) the client may spend in all (None: no cap).
        backoff: first backoff in seconds; doubled on every retry of the same request.
        backoff_max: the cap of one backoff.
        max_wait: the longest single wait (``Retry-After`` or backoff) worth sleeping.
        statuses: statuses worth retrying (busy or transient: 429, 500, 502, 503, 504).
    """

    attempts: int = 6
    run_retries: int | None = 200
    backoff: float = 0.5
    backoff_max: float = 60.0
    max_wait: float = 300.0
    statuses: frozenset[int] = RETRY_STATUSES

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts counts the first try: at least 1")

    def backoff_for(self, retry: int, rand: random.Random | None = None) -> float:
        """Full-jitter backoff before retry number ``retry`` (1 for the first retry)."""
        ceiling = min(self.backoff_max, self.backoff * 2 ** (retry - 1))
        return (rand or random).uniform(0, ceiling)


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds a response's ``Retry-After`` asks to wait (None: no such header, or one that cannot be read).

    An HTTP-date is measured against the response's ``Date`` header when it has one (the server's
    clock), else against ``now`` (the local clock).
    """
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        until = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if until.tzinfo is None:  # "-0000" means UTC of unknown origin
        until = until.replace(tzinfo=UTC)
    base = _server_now(headers) or now or datetime.now(UTC)
    return max((until - base).total_seconds(), 0.0)


def _server_now(headers: Mapping[str, str]) -> datetime | None:
    value = headers.get("Date")
    if not value:
        return None
    try:
        stamp = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def urllib3_retry(policy: RetryPolicy) -> Retry:
    """The same policy for a session a library owns (simple-salesforce): urllib3 retries inside each call.

    urllib3 honours ``Retry-After`` and backs off with jitter as :class:`RetryPolicy` does, but sees no
    budget or breaker: a client that can retry itself should
    (:class:`~lumina_integration.hooks.rest.client.RestClient`).
    """
    from urllib3.util.retry import Retry

    retries = policy.attempts - 1
    return Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        status_forcelist=sorted(policy.statuses),
        allowed_methods=None,  # every method: the caller decides a POST is safe to repeat
        backoff_factor=policy.backoff,
        backoff_jitter=policy.backoff,
        backoff_max=policy.backoff_max,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
