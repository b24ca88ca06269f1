"""One authenticated, resilient Salesforce session: every API call of the adapter goes through it.

- Logs in through :mod:`auth` (OAuth flows or the SOAP login) and hands the instance URL and
  session id to simple-salesforce, which does the REST calls on the same ``requests`` session.
- 429 and 5xx are retried inside that session (urllib3: backoff, jitter, Retry-After, by the shared
  REST retry policy); a connection dropped mid-body is retried by :func:`resilience.retrying`.
- An expired session triggers exactly one new login.
- ``REQUEST_LIMIT_EXCEEDED`` opens the org's circuit breaker and raises :class:`QuotaExhausted`
  (never retried); the quota governor stops a run before it eats into other integrations' share.
  Breaker and governor are the ones every API source shares (:mod:`lumina_integration.hooks.governance`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from lumina_integration.hooks.salesforce.resilience import QuotaExhausted, QuotaGovernor, retrying

if TYPE_CHECKING:
    import requests

    from lumina_integration.hooks.governance import CircuitBreaker
    from lumina_integration.hooks.salesforce.settings import SalesforceSettings

T = TypeVar("T")
log = logging.getLogger(__name__)
REQUEST_TIMEOUT_S = 300


class SalesforceClient:
    """Lazily logged-in access to one org.

    Args:
        settings: connection settings (from the Airflow connection).
        governor: counts calls and enforces the pipeline's API budget.
        breaker: the org-wide circuit breaker (shared by every task that talks to the org).
    """

    def __init__(
        self,
        settings: SalesforceSettings,
        governor: QuotaGovernor,
        breaker: CircuitBreaker | None = None,
        *,
        audit: Callable[[str, str, str], object] | None = None,
        conn_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.governor = governor
        self.breaker = breaker
        self.audit = audit
        # With a connection id, a refresh token the org rotated is stored for the next task (token_store).
        self.conn_id = conn_id
        self.logins = 0
        self._sf: Any = None
        self.instance_url = ""
        self._token = ""

    @cached_property
    def http(self) -> requests.Session:
        from lumina_integration.hooks.salesforce.resilience import http_session

        return self._with_proxies(http_session(self.settings.ca_bundle))

    @cached_property
    def login_http(self) -> requests.Session:
        from lumina_integration.hooks.salesforce.resilience import LOGIN_RETRY_STATUSES, http_session

        return self._with_proxies(http_session(self.settings.ca_bundle, retry_statuses=LOGIN_RETRY_STATUSES))

    def _with_proxies(self, session: requests.Session) -> requests.Session:
        # The connection's ``proxies`` extra, as the provider hands it to simple-salesforce's session.
        session.proxies.update(self.settings.proxies)
        return session

    def login(self) -> None:
        from airflow.sdk.log import mask_secret
        from simple_salesforce import Salesforce

        from lumina_integration.auth_audit import FAILURE, LOGIN, SUCCESS
        from lumina_integration.hooks.salesforce.auth import fetch_token

        settings = self.settings
        if self.conn_id and settings.auth_mode == "refresh_token":
            from dataclasses import replace

            from lumina_integration.hooks.rest.token_store import refresh_token_for

            settings = replace(settings, refresh_token=refresh_token_for(self.conn_id, settings.refresh_token))
        again = " again (the session expired)" if self.logins else ""
        try:
            token = fetch_token(settings, self.login_http)
        except Exception as exc:
            # SalesforceAuthError's text is the org's error code and description, never the credentials.
            self._note(LOGIN, FAILURE, f"{settings.auth_mode} login{again}: {str(exc)[:200]}")
            raise
        self.logins += 1
        self._note(LOGIN, SUCCESS, f"{settings.auth_mode} login{again}")
        if (
            self.conn_id
            and settings.auth_mode == "refresh_token"
            and token.refresh_token
            and token.refresh_token != settings.refresh_token
        ):
            from lumina_integration.hooks.rest.token_store import rotation_handler

            rotation_handler(self.conn_id, self.settings.refresh_token, self.audit)(token.refresh_token)
        # A session id is a bearer token, and Airflow's masker does not know the name.
        mask_secret(token.access_token)
        self._token, self.instance_url = token.access_token, token.instance_url.rstrip("/")
        self._sf = Salesforce(
            instance_url=self.instance_url,
            session_id=self._token,
            session=self.http,
            version=self.settings.version,
            object_pairs_hook=dict,  # plain dicts: OrderedDict costs a third of REST decoding time
        )

    def _note(self, event: str, outcome: str, detail: str) -> None:
        if self.audit is not None:
            self.audit(event, outcome, detail)

    @property
    def sf(self) -> Any:
        """The simple-salesforce client (logging in on first use)."""
        if self._sf is None:
            self.login()
        return self._sf

    def call(self, call: Callable[[], T], *, bulk_job: bool = False) -> T:
        """Run one API call under the breaker, the budget, one re-login on expiry and the limit rule."""
        import requests
        from simple_salesforce.exceptions import (
            SalesforceExpiredSession,
            SalesforceGeneralError,
            SalesforceRefusedRequest,
        )

        if self.breaker is not None:
            self.breaker.check()
        self.governor.check(bulk_jobs=1 if bulk_job else 0)
        # Log in before the first attempt (outside the retry loop); forget the last call's usage so
        # only a header of this call is taken below (raw requests report theirs to the governor).
        self.sf.api_usage = {}
        try:
            try:
                result = retrying(call)
            except SalesforceExpiredSession:
                log.info("Salesforce session expired; authenticating again once")
                self.login()
                result = retrying(call)
        except (SalesforceGeneralError, requests.exceptions.ConnectionError) as exc:
            # 5xx and broken connections arrive here only after every retry was spent.
            if self.breaker is not None:
                self.breaker.record_failure(
                    f"{type(exc).__name__}: {str(exc)[:200]}", f"Salesforce calls ({type(exc).__name__})"
                )
            raise
        except SalesforceRefusedRequest as exc:
            if "REQUEST_LIMIT_EXCEEDED" in str(exc.content):
                message = (
                    "Salesforce answered REQUEST_LIMIT_EXCEEDED: the org's daily API limit is used up. "
                    "Not retrying; the circuit breaker is open so no other task spends more."
                )
                if self.breaker is not None:
                    self.breaker.trip(message)
                raise QuotaExhausted(message) from exc
            raise
        else:
            if self.breaker is not None:
                self.breaker.succeeded()
            return result
        finally:
            self.governor.record(bulk_job=bulk_job)
            usage = self._sf.api_usage.get("api-usage") if self._sf is not None else None
            if usage is not None:
                self.governor.used, self.governor.limit = usage.used, usage.total

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        bulk_job: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """A raw request under ``/services/data/vXX.X/`` (for endpoints simple-salesforce lacks)."""
        from simple_salesforce.util import exception_handler

        def send() -> requests.Response:
            # Built per attempt: after a re-login the token is a new one.
            request_headers = {"Authorization": f"Bearer {self._token}", **(headers or {})}
            url = f"{self.instance_url}/services/data/v{self.settings.version}/{path}"
            response = self.http.request(method, url, headers=request_headers, timeout=REQUEST_TIMEOUT_S, **kwargs)
            self.governor.observe(response.headers.get("Sforce-Limit-Info"))
            if response.status_code >= 300:
                exception_handler(response, path)
            return response

        return self.call(send, bulk_job=bulk_job)
