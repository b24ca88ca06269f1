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
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from lumina_integration.hooks.base import StopRun

T = TypeVar("T")
RETRY_STATUSES = (429, 500, 502, 503, 504)
# Logins answer bad credentials with 500 (a SOAP fault) or 400: only "busy" statuses are retried.
LOGIN_RETRY_STATUSES = (429, 503)
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


class QuotaExhausted(StopRun):
    """The org's daily API limit is reached (REQUEST_LIMIT_EXCEEDED): stop, do not retry."""


class BudgetExceeded(StopRun):
    """This pipeline would eat into the reserve left for the org's other integrations."""


class _PinnedCASession(requests.Session):
    """A session whose CA bundle, from the connection, wins over ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``.

    requests lets those variables override ``Session.verify``; a connection that names its own CA
    (a private CA, a local sandbox) must be verified against that CA whatever the environment says.
    """

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None or verify is True:
            settings["verify"] = self.verify
        return settings


def http_session(
    ca_bundle: str | None,
    *,
    total_retries: int = 6,
    backoff: float = 0.5,
    retry_statuses: tuple[int, ...] = RETRY_STATUSES,
) -> requests.Session:
    """A requests session that retries transient statuses with backoff + jitter and Retry-After."""
    retry = Retry(
        total=total_retries,
        connect=total_retries,
        read=total_retries,
        status=total_retries,
        status_forcelist=retry_statuses,
        allowed_methods=None,  # Bulk job creation is a POST; Salesforce job creation is safe to repeat
        backoff_factor=backoff,
        backoff_jitter=backoff,
        backoff_max=60,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = _PinnedCASession() if ca_bundle else requests.Session()
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


@dataclass(frozen=True)
class ApiBudget:
    """What one pipeline may spend of the org's daily allowances.

    Args:
        reserve_share: the share of the org's daily API requests left untouched for other
            integrations: the pipeline stops once the org as a whole has used the rest.
        pipeline_share: the share of the org's daily API requests this pipeline's runs may spend
            in any 24 hours (None: no per-pipeline cap).
        bulk_job_share: the same for the org's daily Bulk 2.0 query jobs.
        max_calls_per_run: a hard cap on calls in one run (None: none).
    """

    reserve_share: float = 0.2
    pipeline_share: float | None = None
    bulk_job_share: float | None = None
    max_calls_per_run: int | None = None


@dataclass
class QuotaGovernor:
    """Counts this run's calls, tracks the org's usage, and stops the run before a budget breaks.

    ``spent_calls_24h``/``spent_bulk_jobs_24h`` are what earlier runs of the pipeline spent in the
    last 24 hours (from the audit table); ``used``/``limit`` come from every response's
    ``Sforce-Limit-Info``; ``bulk_limit`` from ``/limits``.
    """

    budget: ApiBudget = field(default_factory=ApiBudget)
    spent_calls_24h: int = 0
    spent_bulk_jobs_24h: int = 0
    calls: int = 0
    bulk_jobs: int = 0
    used: int | None = None
    limit: int | None = None
    bulk_limit: int | None = None

    def observe(self, header: str | None) -> None:
        """Take the org's usage from a response's Sforce-Limit-Info header."""
        usage = parse_usage(header)
        if usage:
            self.used, self.limit = usage

    def observe_limits(self, limits: dict[str, Any]) -> None:
        """Take the org's allowances from a ``/limits`` response."""
        api = limits.get("DailyApiRequests") or {}
        if "Max" in api and "Remaining" in api:
            self.limit, self.used = int(api["Max"]), int(api["Max"]) - int(api["Remaining"])
        bulk = limits.get("DailyBulkV2QueryJobs") or {}
        if "Max" in bulk:
            self.bulk_limit = int(bulk["Max"])

    def record(self, *, bulk_job: bool = False) -> None:
        self.calls += 1
        self.bulk_jobs += int(bulk_job)

    def problems(self, calls: int = 1, bulk_jobs: int = 0) -> list[str]:
        """Why ``calls`` more API calls (``bulk_jobs`` of them creating Bulk jobs) would break a budget."""
        found = []
        b = self.budget
        if b.max_calls_per_run is not None and self.calls + calls > b.max_calls_per_run:
            found.append(f"this run has made {self.calls} API calls and its cap is {b.max_calls_per_run}")
        if self.used is not None and self.limit:
            ceiling = self.limit - int(self.limit * b.reserve_share)
            if self.used + calls > ceiling:
                found.append(
                    f"the org has used {self.used} of {self.limit} daily API requests; pipelines stop at "
                    f"{ceiling} to leave {b.reserve_share:.0%} for other integrations"
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
                        f"({share:.0%} of the org's {org_limit})"
                    )
        return found

    def check(self, calls: int = 1, bulk_jobs: int = 0) -> None:
        """Raise :class:`BudgetExceeded` if the next calls would break a budget."""
        found = self.problems(calls, bulk_jobs)
        if found:
            raise BudgetExceeded("stopping before the Salesforce API budget breaks: " + "; ".join(found))
