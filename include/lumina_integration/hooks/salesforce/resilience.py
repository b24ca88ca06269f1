"""Salesforce's retries and usage reading, on the shared governance (:mod:`lumina_integration.hooks.governance`).

- 429 and 5xx: retried by urllib3 inside simple-salesforce's session (simple-salesforce owns the HTTP
  calls), with the shared REST retry policy (:func:`lumina_integration.hooks.rest.retry.urllib3_retry`):
  exponential backoff with jitter, honouring Retry-After.
- A connection dropped mid-body: retried by :func:`retrying` (urllib3 cannot, the headers had
  already arrived).
- 403 REQUEST_LIMIT_EXCEEDED: the org's daily limit; retrying only burns what other integrations
  need, so it raises :class:`QuotaExhausted` and the task fails without retry.
- The pipeline's own budget: :class:`QuotaGovernor`, the shared governor reading Salesforce's
  ``Sforce-Limit-Info`` and ``/limits``, stops a run cleanly while the org still has the reserve other
  integrations need.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests

from lumina_integration.hooks.governance import ApiBudget, ApiGovernor, BudgetExceeded, QuotaExhausted
from lumina_integration.hooks.rest.retry import RETRY_STATUSES, RetryPolicy, urllib3_retry
from lumina_integration.hooks.rest.session import RestSession, Timeouts

__all__ = [
    "LOGIN_RETRY_STATUSES",
    "RETRY_STATUSES",
    "ApiBudget",
    "BudgetExceeded",
    "QuotaExhausted",
    "QuotaGovernor",
    "http_session",
    "parse_usage",
    "retrying",
]

T = TypeVar("T")
# Logins answer bad credentials with 500 (a SOAP fault) or 400: only "busy" statuses are retried.
LOGIN_RETRY_STATUSES = frozenset({429, 503})
# Six retries, backoff from 0.5s doubling up to a minute, as simple-salesforce's session always had here.
SALESFORCE_RETRY = RetryPolicy(attempts=7, backoff=0.5, backoff_max=60.0)
# Connect quickly or not at all; a query's first byte may take the whole of Salesforce's own query timeout.
SALESFORCE_TIMEOUTS = Timeouts(connect=30.0, read=300.0)
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


def http_session(
    ca_bundle: str | None,
    *,
    policy: RetryPolicy = SALESFORCE_RETRY,
    retry_statuses: frozenset[int] | None = None,
) -> requests.Session:
    """A requests session that retries transient statuses with backoff + jitter and Retry-After, TLS 1.2 at least.

    The connection's CA bundle wins over ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` (:class:`RestSession`).
    """
    from dataclasses import replace

    from lumina_integration.tls import mount_minimum_tls

    if retry_statuses is not None:
        policy = replace(policy, statuses=frozenset(retry_statuses))
    session = RestSession(SALESFORCE_TIMEOUTS, pin_verify=bool(ca_bundle))
    # Bulk job creation is a POST; Salesforce job creation is safe to repeat, so every method is retried.
    # TLS 1.2 at least, as every session we build (lumina_integration.tls).
    mount_minimum_tls(session, max_retries=urllib3_retry(policy))
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
class QuotaGovernor(ApiGovernor):
    """The shared governor, reading the org's usage as Salesforce reports it.

    ``used``/``limit`` come from every response's ``Sforce-Limit-Info``; ``bulk_limit`` from ``/limits``.
    """

    system: str = "Salesforce"
    account: str = "org"

    def observe(self, header: str | None) -> None:
        """Take the org's usage from a response's Sforce-Limit-Info header."""
        usage = parse_usage(header)
        if usage:
            self.observe_usage(*usage)

    def observe_limits(self, limits: dict[str, Any]) -> None:
        """Take the org's allowances from a ``/limits`` response."""
        api = limits.get("DailyApiRequests") or {}
        if "Max" in api and "Remaining" in api:
            self.observe_usage(int(api["Max"]) - int(api["Remaining"]), int(api["Max"]))
        bulk = limits.get("DailyBulkV2QueryJobs") or {}
        if "Max" in bulk:
            self.bulk_limit = int(bulk["Max"])
