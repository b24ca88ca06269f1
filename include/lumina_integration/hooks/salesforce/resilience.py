"""Retries, the quota governor and the errors that must not be retried.

- 429 and 5xx: retried by urllib3 with exponential backoff and jitter, honouring Retry-After.
- A connection dropped mid-body: retried by :func:`retrying` (urllib3 cannot, the headers had
  already arrived).
- 403 REQUEST_LIMIT_EXCEEDED: the org's daily limit; retrying only burns what other integrations
  need, so it raises :class:`QuotaExhausted` and the task fails without retry.
- The pipeline's own budget: :class:`QuotaGovernor` stops a run cleanly while the org still has
  the reserve other integrations need.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

T = TypeVar("T")
RETRY_STATUSES = (429, 500, 502, 503, 504)
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


class QuotaExhausted(RuntimeError):
    """The org's daily API limit is reached (REQUEST_LIMIT_EXCEEDED): stop, do not retry."""


class BudgetExceeded(RuntimeError):
    """This pipeline would eat into the reserve left for the org's other integrations."""


def http_session(ca_bundle: str | None, *, total_retries: int = 6, backoff: float = 0.5) -> requests.Session:
    """A requests session that retries transient statuses with backoff + jitter and Retry-After."""
    retry = Retry(
        total=total_retries,
        connect=total_retries,
        read=total_retries,
        status=total_retries,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,  # Bulk job creation is a POST; Salesforce job creation is safe to repeat
        backoff_factor=backoff,
        backoff_jitter=backoff,
        backoff_max=60,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    if ca_bundle:
        session.verify = ca_bundle
    return session


def retrying(call: Callable[[], T], *, attempts: int = 5) -> T:
    """Repeat ``call`` when the connection breaks mid-response (headers arrived, body did not)."""
    import tenacity

    retryer = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(
            (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)
        ),
        wait=tenacity.wait_random_exponential(multiplier=0.2, max=10),
        stop=tenacity.stop_after_attempt(attempts),
        reraise=True,
    )
    return retryer(call)


def parse_usage(header: str | None) -> tuple[int, int] | None:
    """``Sforce-Limit-Info: api-usage=25/15000`` -> (25, 15000)."""
    match = _USAGE.search(header or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass
class QuotaGovernor:
    """Tracks the org's API usage from every response and enforces the pipeline's limits.

    Args:
        reserve_share: the share of the org's daily requests this pipeline must leave untouched.
        max_calls: at most this many API calls in one run (None: no per-run cap).
    """

    reserve_share: float = 0.2
    max_calls: int | None = None
    calls: int = 0
    used: int | None = None
    limit: int | None = None

    def observe(self, header: str | None) -> None:
        """Take the org's usage from a response's Sforce-Limit-Info header."""
        usage = parse_usage(header)
        if usage:
            self.used, self.limit = usage

    def check(self, upcoming: int = 1) -> None:
        """Raise :class:`BudgetExceeded` if ``upcoming`` more calls would break the budget."""
        if self.max_calls is not None and self.calls + upcoming > self.max_calls:
            raise BudgetExceeded(f"this run has made {self.calls} Salesforce API calls; its budget is {self.max_calls}")
        if self.used is not None and self.limit:
            reserve = int(self.limit * self.reserve_share)
            if self.used + upcoming > self.limit - reserve:
                raise BudgetExceeded(
                    f"the org has used {self.used} of {self.limit} daily API requests; this pipeline stops "
                    f"here to leave {reserve} ({self.reserve_share:.0%}) for other integrations"
                )
