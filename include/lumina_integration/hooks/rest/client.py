"""One REST source's calls: authenticated, retried politely, governed, and refused when the breaker is open.

Every request of an adapter goes through :meth:`RestClient.request`, which in order:

1. checks the connection's circuit breaker (:class:`~lumina_integration.hooks.governance.CircuitOpen`);
2. waits for a rate-limit window that is nearly spent and resets soon, then asks the governor whether
   one more call fits the budget (:class:`~lumina_integration.hooks.governance.BudgetExceeded`);
3. sends the request (the session's TLS and timeouts, the auth object's token refresh), counting every
   HTTP exchange, a resend after a 401 included, against the governor;
4. reads the system's usage from the response (``X-RateLimit-*`` by default, or the adapter's reader);
5. retries 429, 503 and other transient 5xx and broken connections: ``Retry-After`` when the server
   sent one (seconds or an HTTP-date), else capped exponential backoff with jitter, within the
   per-request and per-client retry budgets (:mod:`retry`);
6. after the last retry, reports a failure to the breaker (enough in a row open it for every task) and
   raises :class:`RetriesExhausted`, or :class:`CircuitOpen` when this failure opened the breaker.

Bodies are read with a size cap, and :meth:`RestClient.get_json` checks JSON nesting on the bytes
before the parser sees them, so a hostile response costs an error, not the worker.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from lumina_integration.auth_audit import FAILURE, LOGIN, SUCCESS
from lumina_integration.hooks.base import StopRun
from lumina_integration.hooks.governance import ApiGovernor, CircuitBreaker, CircuitOpen
from lumina_integration.hooks.rest.auth import AuthenticationFailed, OAuth2TokenAuth
from lumina_integration.hooks.rest.retry import RetryPolicy, retry_after_seconds
from lumina_integration.hooks.rest.session import Timeouts, rest_session

log = logging.getLogger(__name__)
MIB = 1 << 20
DEFAULT_MAX_RESPONSE_BYTES = 256 * MIB
DEFAULT_MAX_JSON_DEPTH = 128  # of a whole response, envelope included (Python's parser recurses per level)
_TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
_EXCERPT = 300


class RestError(Exception):
    """A request the system answered with an error (or not at all); ``status`` None when there was no answer."""

    def __init__(self, message: str, *, status: int | None = None, response: requests.Response | None = None):
        super().__init__(message)
        self.status, self.response = status, response


class RetriesExhausted(RestError):
    """A request still failed after every retry it was allowed (transient: a later task try may succeed)."""


class RetryBudgetExhausted(RetriesExhausted, StopRun):
    """The client spent its whole retry budget: the system is overloaded or refusing, stop the run."""


class RateLimited(RetriesExhausted, StopRun):
    """The system asked to wait longer (``Retry-After``) than a task should block for."""


class MalformedResponse(RestError):
    """A response that cannot be read: not JSON, too large, or nested deeper than allowed."""


@dataclass(frozen=True)
class RateLimitHeaders:
    """Which response headers announce the rate-limit window (ServiceNow's and Jira's by default).

    - ServiceNow: ``X-RateLimit-Limit`` (requests an hour) and ``X-RateLimit-Reset`` (epoch seconds), no
      remaining count: the governor counts this run's calls in the window instead.
    - Jira Cloud: ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (an ISO 8601 instant, to the minute).
    - Jira Data Center: a token bucket, ``X-RateLimit-Limit``/``-Remaining`` and ``-Interval-Seconds``
      (a refill every so many seconds: the reset is taken as one interval away).
    ``reset`` may also be seconds from now.
    """

    limit: str = "X-RateLimit-Limit"
    remaining: str = "X-RateLimit-Remaining"
    reset: str = "X-RateLimit-Reset"
    interval: str = "X-RateLimit-Interval-Seconds"

    def read(self, headers: Mapping[str, str], now: datetime) -> tuple[int, int | None, datetime | None] | None:
        """(limit, remaining or None, resets_at or None) from ``headers``, or None when they name no limit."""
        try:
            limit = int(headers[self.limit])
        except (KeyError, ValueError):
            return None
        try:
            remaining: int | None = int(headers[self.remaining])
        except (KeyError, ValueError):
            remaining = None
        resets_at = _reset_instant(headers.get(self.reset) or headers.get(self.interval), now)
        return limit, remaining, resets_at


def _reset_instant(value: str | None, now: datetime) -> datetime | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        try:
            stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    if number >= 1_000_000_000:  # an epoch second (2001 or later), not a delay
        return datetime.fromtimestamp(number, UTC)
    return datetime.fromtimestamp(now.timestamp() + number, UTC)


class RestClient:
    """Calls to one REST system under auth, retries, the breaker and the governor.

    Args:
        base_url: the API's root (``https://acme.service-now.com``); request paths are relative to it.
        session: the connection's session (:func:`~lumina_integration.hooks.rest.session.rest_session`).
        auth: a :mod:`~lumina_integration.hooks.rest.auth` object (or any requests auth).
        governor: counts calls and enforces the pipeline's API budget.
        breaker: the connection-wide circuit breaker (None: none, e.g. ``test_connection`` outside a run).
        retry: the retry policy and budgets.
        timeouts: per-request timeouts (the session's when None).
        rate_limits: where the rate-limit window is announced (None: not read).
        observe: an adapter's own usage reader, called with every response.
        max_response_bytes: largest body read.
        max_json_depth: deepest nesting :meth:`get_json` parses.
        audit: where authentication events go (:class:`~lumina_integration.auth_audit.AuthAuditor`): a
            ``login`` success on the first answered request of a fixed-credential auth (basic, a bearer
            token; an OAuth auth reports its own token requests), a ``login`` failure on every 401.
        sleep: how to wait (injectable for tests).
    """

    def __init__(
        self,
        base_url: str,
        *,
        session: requests.Session | None = None,
        auth: requests.auth.AuthBase | None = None,
        governor: ApiGovernor | None = None,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        rate_limits: RateLimitHeaders | None = RateLimitHeaders(),
        observe: Callable[[requests.Response], None] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_json_depth: int = DEFAULT_MAX_JSON_DEPTH,
        audit: Callable[[str, str, str], object] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.session = session if session is not None else rest_session()
        self.auth = auth
        self.governor = governor if governor is not None else ApiGovernor()
        self.breaker = breaker
        self.retry = retry or RetryPolicy()
        self.timeouts = timeouts
        self.rate_limits = rate_limits
        self.observe = observe
        self.max_response_bytes = max_response_bytes
        self.max_json_depth = max_json_depth
        self.sleep = sleep
        self.audit = audit
        # OAuth auth reports its own token requests; for fixed credentials the first answer is the login.
        self._login_noted = auth is None or isinstance(auth, OAuth2TokenAuth)
        self.retries = 0  # retries spent by this client, against ``retry.run_retries``
        self._origin = _origin(self.base_url)

    @property
    def calls(self) -> int:
        """HTTP exchanges made so far (what the governor counted)."""
        return self.governor.calls

    def url(self, path: str) -> str:
        """``path`` under the base URL; an absolute URL (a server's next link) only on the same origin."""
        if "://" in path:
            if _origin(path) != self._origin:
                raise ValueError(f"refusing to send credentials to {_origin(path)}: the connection is {self._origin}")
            return path
        return urljoin(self.base_url, path.lstrip("/"))

    # -- calls ----------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        allow: Collection[int] = (),
    ) -> requests.Response:
        """Send one request (see the module docstring); returns a 2xx response or one whose status is in ``allow``.

        Raises:
            CircuitOpen: the breaker is open, or this request's failure opened it.
            BudgetExceeded: one more call would break the pipeline's API budget.
            AuthenticationFailed: the system refused the credentials (401 after a token refresh, 403 on login).
            RestError: any other 4xx (``status`` says which), or a 5xx not worth retrying.
            RetriesExhausted, RetryBudgetExhausted, RateLimited: see each.
        """
        url = self.url(path)
        attempt = 0
        while True:
            attempt += 1
            self._before_call()
            try:
                response = self._send(method, url, params=params, json=json, data=data, headers=headers)
            except requests.exceptions.SSLError as exc:
                # A certificate the client refuses (or that refuses the client) does not heal with a retry.
                self.governor.record()
                raise RestError(f"{method} {_path(path)}: the TLS handshake failed: {str(exc)[:300]}") from exc
            except _TRANSIENT as exc:
                self.governor.record()
                self._wait_or_give_up(method, path, attempt, None, f"{type(exc).__name__}: {str(exc)[:200]}")
                continue
            if response.status_code in self.retry.statuses and response.status_code not in allow:
                wait = retry_after_seconds(response.headers)
                self._wait_or_give_up(method, path, attempt, wait, f"HTTP {response.status_code}", response)
                continue
            if self.breaker is not None:
                self.breaker.succeeded()
            if response.status_code < 400 or response.status_code in allow:
                if not self._login_noted and response.status_code < 300:
                    self._login_noted = True
                    self._note(LOGIN, SUCCESS, f"{type(self.auth).__name__}: {method} {_path(path)} answered")
                return response
            raise self._error(method, path, response)

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """GET ``path`` and parse its JSON body, nesting checked first (:class:`MalformedResponse`)."""
        return self.parse_json(self.request("GET", path, params=params, **kwargs))

    def post_json(self, path: str, body: Any, **kwargs: Any) -> Any:
        """POST a JSON body to ``path`` and parse the JSON answer (Jira's ``search/jql``)."""
        return self.parse_json(self.request("POST", path, json=body, **kwargs))

    def parse_json(self, response: requests.Response) -> Any:
        """The JSON of a response, refused (not recursed into) when nested deeper than ``max_json_depth``."""
        from lumina_integration.hooks.file_formats._json_bounds import JsonBoundsScanner

        body = response.content
        scanner = JsonBoundsScanner(0, self.max_json_depth, max(len(body), 1))
        if scanner.feed(body) is not None:
            raise MalformedResponse(
                f"the response of {response.request.method} {_path(response.url)} is {scanner.violation}",
                status=response.status_code,
            )
        try:
            return json.loads(body)
        except ValueError as exc:
            raise MalformedResponse(
                f"the response of {response.request.method} {_path(response.url)} is not JSON: {exc}",
                status=response.status_code,
            ) from exc

    # -- the parts ------------------------------------------------------------------------------------
    def _before_call(self) -> None:
        if self.breaker is not None:
            self.breaker.check()
        pause = self.governor.pause_before_call(datetime.now(UTC), self.retry.max_wait)
        if pause:
            log.info("the rate-limit window of %s is nearly spent; waiting %.1fs for it to reset", self._origin, pause)
            self.sleep(pause)
        self.governor.check()

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        timeout = self.timeouts.as_requests() if self.timeouts else None
        response = self.session.request(method, url, auth=self.auth, timeout=timeout, stream=True, **kwargs)
        try:
            # A resend after a 401 and every redirect were HTTP exchanges too.
            for _ in range(1 + len(response.history)):
                self.governor.record()
            self._read_usage(response)
            self._read_body(response)
        finally:
            response.close()
        return response

    def _read_body(self, response: requests.Response) -> None:
        """Read the body into ``response.content``, at most ``max_response_bytes`` of it."""
        chunks, size = [], 0
        for chunk in response.iter_content(1 << 16):
            size += len(chunk)
            if size > self.max_response_bytes:
                raise MalformedResponse(
                    f"the response of {response.request.method} {_path(response.url)} is larger than "
                    f"max_response_bytes={self.max_response_bytes}",
                    status=response.status_code,
                )
            chunks.append(chunk)
        response._content = b"".join(chunks)

    def _read_usage(self, response: requests.Response) -> None:
        if self.rate_limits is not None:
            window = self.rate_limits.read(response.headers, datetime.now(UTC))
            if window is not None:
                self.governor.observe_window(*window)
        if self.observe is not None:
            self.observe(response)

    def _wait_or_give_up(
        self,
        method: str,
        path: str,
        attempt: int,
        wait: float | None,
        reason: str,
        response: requests.Response | None = None,
    ) -> None:
        status = response.status_code if response is not None else None
        what = f"{method} {_path(path)}"
        if attempt >= self.retry.attempts:
            self._failed(
                RetriesExhausted(
                    f"{what} failed after {attempt} attempts; last: {reason}", status=status, response=response
                )
            )
        budget = self.retry.run_retries
        if budget is not None and self.retries >= budget:
            self._failed(
                RetryBudgetExhausted(
                    f"{what} failed ({reason}) and this client has spent its retry budget ({budget} retries): "
                    f"the system keeps refusing or failing; stopping the run",
                    status=status,
                    response=response,
                )
            )
        if wait is not None and wait > self.retry.max_wait:
            raise RateLimited(
                f"{what} answered {reason} with Retry-After {wait:.0f}s, longer than the {self.retry.max_wait:.0f}s a "
                f"task waits; stopping the run (try again after that)",
                status=status,
                response=response,
            )
        delay = self.retry.backoff_for(attempt) if wait is None else wait
        self.retries += 1
        log.warning("%s: %s; retry %d in %.2fs", what, reason, attempt, delay)
        self.sleep(delay)

    def _failed(self, error: RetriesExhausted) -> None:
        """Report a request that exhausted its retries to the breaker, and raise."""
        if self.breaker is not None:
            try:
                self.breaker.record_failure(str(error)[:300], f"calls to {self._origin}")
            except CircuitOpen as opened:
                raise CircuitOpen(f"{opened}: {error}") from error
        raise error

    def _note(self, event: str, outcome: str, detail: str) -> None:
        if self.audit is not None:
            self.audit(event, outcome, detail)

    def _error(self, method: str, path: str, response: requests.Response) -> Exception:
        excerpt = response.text[:_EXCERPT].replace("\n", " ") if response.content else ""
        message = f"{method} {_path(path)} answered HTTP {response.status_code}: {excerpt}"
        if response.status_code == 401:
            self._note(LOGIN, FAILURE, f"{type(self.auth).__name__}: {method} {_path(path)} answered HTTP 401")
            return AuthenticationFailed(f"the system refused the connection's credentials: {message}")
        return RestError(message, status=response.status_code, response=response)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _path(url: str) -> str:
    """A URL without its query (which may carry values) for messages."""
    parts = urlsplit(url)
    return parts.path if parts.scheme else url.split("?", 1)[0]
