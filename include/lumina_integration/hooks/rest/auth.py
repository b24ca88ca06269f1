"""Authentication for REST sources, as ``requests`` auth objects: one class per mode.

- :class:`BasicAuth`: user and password (ServiceNow basic auth; Jira Cloud's e-mail + API token).
- :class:`BearerTokenAuth`: a fixed token (Jira Data Center's personal access token, any API key
  sent as ``Authorization: Bearer``).
- :class:`OAuth2TokenAuth`: an OAuth 2.0 token endpoint (RFC 6749) with the ``password``,
  ``refresh_token`` or ``client_credentials`` grant. The access token is fetched on first use and again
  shortly before it expires; a 401 from the API refreshes it once and resends the request (a token the
  server revoked early). When the server rotates the refresh token, the new one replaces the old one
  here and goes to ``on_refresh_token`` so the hook can persist it (the old one may already be dead).
  Every token request's outcome goes to ``audit`` (:mod:`lumina_integration.auth_audit`): a ``login`` for a
  first grant, a ``token_refresh`` for a refresh-token grant, with the grant type and the endpoint's OAuth
  error code, never a credential.

Every mode is a :class:`requests.auth.AuthBase`, so a library that takes a session or an ``auth``
(atlassian-python-api) uses it unchanged. Secrets never appear in messages: a token endpoint's refusal
reports its status and OAuth ``error`` code only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from lumina_integration.auth_audit import FAILURE, LOGIN, SUCCESS, TOKEN_REFRESH
from lumina_integration.hooks.base import StopRun
from lumina_integration.hooks.rest.retry import RetryPolicy, retry_after_seconds
from lumina_integration.tls import minimum_tls_session

if TYPE_CHECKING:
    from requests import PreparedRequest, Response

GrantType = Literal["password", "refresh_token", "client_credentials"]
GRANT_TYPES: tuple[GrantType, ...] = ("password", "refresh_token", "client_credentials")
# Refresh this long before the announced expiry: a token that expires in flight costs a 401 and a resend.
REFRESH_MARGIN_S = 60.0


class AuthenticationFailed(StopRun):
    """The credentials were refused: retrying the task with the same connection would not help."""


class BasicAuth(HTTPBasicAuth):
    """HTTP basic auth (user + password, or e-mail + API token for Jira Cloud)."""

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r})"


class BearerTokenAuth(AuthBase):
    """A fixed token sent as ``Authorization: <scheme> <token>`` (a personal access token, an API key)."""

    def __init__(self, token: str, scheme: str = "Bearer") -> None:
        if not token:
            raise ValueError("a bearer token may not be empty")
        self.token, self.scheme = token, scheme

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = f"{self.scheme} {self.token}"
        return request

    def __repr__(self) -> str:
        return f"BearerTokenAuth(scheme={self.scheme!r})"


@dataclass
class AccessToken:
    """A token from the endpoint; ``expires_at`` on the monotonic clock (None: it did not say)."""

    value: str
    token_type: str = "Bearer"
    expires_at: float | None = None


class OAuth2TokenAuth(AuthBase):
    """An access token from an OAuth 2.0 token endpoint, refreshed before expiry and once on a 401.

    Args:
        token_url: the token endpoint (ServiceNow ``https://<instance>/oauth_token.do``).
        grant_type: ``password`` (needs username/password), ``refresh_token`` (needs refresh_token) or
            ``client_credentials``.
        client_id, client_secret: the OAuth client (sent in the body, or as basic auth with
            ``client_auth="basic"``).
        username, password: the resource owner, for the ``password`` grant.
        refresh_token: a refresh token to start from (the ``refresh_token`` grant), or None.
        scope: the scope to ask for, if the endpoint wants one.
        on_refresh_token: called with every new refresh token the endpoint hands out (rotation), so the
            hook can store it where the next run finds it.
        session: the session that talks to the token endpoint (TLS settings of the connection).
        audit: called as ``audit(event, outcome, detail)`` for every token request (an
            :class:`~lumina_integration.auth_audit.AuthAuditor`), or None.
        retry: retries of the token endpoint's busy answers (429/503 and transient 5xx).
        refresh_margin: seconds before the announced expiry at which the token is renewed.
        clock, sleep: monotonic time and sleeping (injectable for tests).
    """

    def __init__(
        self,
        token_url: str,
        grant_type: GrantType,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        username: str | None = None,
        password: str | None = None,
        refresh_token: str | None = None,
        scope: str | None = None,
        client_auth: Literal["body", "basic"] = "body",
        on_refresh_token: Callable[[str], None] | None = None,
        session: requests.Session | None = None,
        audit: Callable[[str, str, str], object] | None = None,
        retry: RetryPolicy | None = None,
        refresh_margin: float = REFRESH_MARGIN_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if grant_type not in GRANT_TYPES:
            raise ValueError(f"unknown OAuth2 grant type {grant_type!r}; use one of {GRANT_TYPES}")
        if grant_type == "password" and not (username and password):
            raise ValueError("the OAuth2 password grant needs a username and a password")
        if grant_type == "refresh_token" and not refresh_token:
            raise ValueError("the OAuth2 refresh_token grant needs a refresh token")
        if grant_type == "client_credentials" and not (client_id and client_secret):
            raise ValueError("the OAuth2 client_credentials grant needs a client id and secret")
        self.token_url, self.grant_type = token_url, grant_type
        self.client_id, self.client_secret, self.client_auth = client_id, client_secret, client_auth
        self.username, self.password, self.scope = username, password, scope
        self.refresh_token = refresh_token
        self.on_refresh_token = on_refresh_token
        self.session = session or minimum_tls_session()
        self.audit = audit
        self.retry = retry or RetryPolicy(attempts=4, run_retries=None, max_wait=60.0)
        self.refresh_margin = refresh_margin
        self.clock, self.sleep = clock, sleep
        self.token: AccessToken | None = None
        self.token_requests = 0  # how many times the endpoint was asked (the quota counts API calls only)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OAuth2TokenAuth(token_url={self.token_url!r}, grant_type={self.grant_type!r})"

    # -- the token ------------------------------------------------------------------------------------
    def access_token(self) -> AccessToken:
        """The current token, fetched first if there is none or it is about to expire."""
        with self._lock:
            token = self.token
            if token is None or (token.expires_at is not None and self.clock() >= token.expires_at):
                self.token = token = self._fetch()
            return token

    def invalidate(self, rejected: str | None = None) -> None:
        """Forget the token (the API refused it); the next request fetches a new one.

        With ``rejected`` (the token the refused request carried), a token another thread already
        renewed is kept.
        """
        with self._lock:
            if self.token is not None and (rejected is None or self.token.value == rejected):
                self.token = None

    def _grant(self) -> dict[str, str]:
        # Once the endpoint handed out a refresh token, renew with it whatever the first grant was: a
        # password grant then does not resend the user's password every hour.
        if self.refresh_token and self.grant_type != "client_credentials":
            body = {"grant_type": "refresh_token", "refresh_token": self.refresh_token}
        elif self.grant_type == "password":
            body = {"grant_type": "password", "username": self.username or "", "password": self.password or ""}
        else:
            body = {"grant_type": "client_credentials"}
        if self.scope:
            body["scope"] = self.scope
        if self.client_auth == "body":
            body.update({k: v for k, v in (("client_id", self.client_id), ("client_secret", self.client_secret)) if v})
        return body

    def _note(self, grant: str, outcome: str, detail: str) -> None:
        if self.audit is not None:
            self.audit(TOKEN_REFRESH if grant == "refresh_token" else LOGIN, outcome, f"{grant} grant: {detail}")

    def _request(self, body: dict[str, str]) -> Response:
        try:
            return self._post(body)
        except (requests.ConnectionError, requests.Timeout) as exc:
            self._note(body["grant_type"], FAILURE, f"token endpoint unreachable ({type(exc).__name__})")
            raise

    def _fetch(self) -> AccessToken:
        body = self._grant()
        used_refresh = body["grant_type"] == "refresh_token"
        response = self._request(body)
        if response.status_code in (400, 401) and used_refresh and self.grant_type == "password":
            # The refresh token expired or was revoked: the password grant can start over.
            self._note("refresh_token", FAILURE, f"{_oauth_error(response)}; starting over with the password grant")
            self.refresh_token = None
            body = self._grant()
            response = self._request(body)
        if response.status_code != 200:
            self._note(body["grant_type"], FAILURE, _oauth_error(response))
            raise AuthenticationFailed(
                f"the token endpoint {self.token_url} refused the {body['grant_type']} grant: {_oauth_error(response)}"
            )
        try:
            payload = response.json()
            value = str(payload["access_token"])
        except (ValueError, KeyError, TypeError) as exc:
            self._note(body["grant_type"], FAILURE, "HTTP 200 without an access_token")
            raise AuthenticationFailed(f"the token endpoint {self.token_url} answered without an access_token") from exc
        self._note(body["grant_type"], SUCCESS, "HTTP 200")
        rotated = payload.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != self.refresh_token:
            self.refresh_token = rotated
            if self.on_refresh_token is not None:
                self.on_refresh_token(rotated)
        expires_at = None
        expires_in = payload.get("expires_in")
        if isinstance(expires_in, int | float | str) and str(expires_in).strip().replace(".", "", 1).isdigit():
            lifetime = float(expires_in)
            # A very short token is still used once rather than refreshed on every request.
            expires_at = self.clock() + max(lifetime - min(self.refresh_margin, lifetime / 2), 0.0)
        return AccessToken(value, str(payload.get("token_type") or "Bearer"), expires_at)

    def _post(self, body: dict[str, str]) -> Response:
        auth = HTTPBasicAuth(self.client_id or "", self.client_secret or "") if self.client_auth == "basic" else None
        attempt = 0
        while True:
            attempt += 1
            self.token_requests += 1
            try:
                response = self.session.post(
                    self.token_url, data=body, auth=auth, headers={"Accept": "application/json"}
                )
            except (requests.ConnectionError, requests.Timeout):
                if attempt >= self.retry.attempts:
                    raise
                self.sleep(self.retry.backoff_for(attempt))
                continue
            if response.status_code not in self.retry.statuses or attempt >= self.retry.attempts:
                return response
            wait = retry_after_seconds(response.headers)
            wait = self.retry.backoff_for(attempt) if wait is None else wait
            if wait > self.retry.max_wait:
                return response
            self.sleep(wait)

    # -- requests' auth protocol ----------------------------------------------------------------------
    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        token = self.access_token()
        request.headers["Authorization"] = f"{_scheme(token.token_type)} {token.value}"
        request.register_hook("response", self._resend_after_401)
        return request

    def _resend_after_401(self, response: Response, **kwargs: Any) -> Response:
        """On a 401, renew the token once and send the same request again (as requests' digest auth does).

        The resent request goes straight to the connection, past the session's hooks, so its answer is
        final: a second 401 is the caller's to report, never a loop of refreshes.
        """
        sent = response.request
        if response.status_code != 401:
            return response
        header = sent.headers.get("Authorization") or ""
        carried = (header.decode() if isinstance(header, bytes) else header).partition(" ")[2]
        self.invalidate(carried)
        response.content  # noqa: B018 - read the body so the connection goes back to the pool
        response.close()
        retry = sent.copy()
        token = self.access_token()
        retry.headers["Authorization"] = f"{_scheme(token.token_type)} {token.value}"
        second = response.connection.send(retry, **kwargs)
        second.history.append(response)
        second.request = retry
        return second


def _scheme(token_type: str) -> str:
    # RFC 6750 says "Bearer"; some servers answer "bearer", which some APIs then refuse.
    return "Bearer" if token_type.lower() == "bearer" else token_type


def _oauth_error(response: Response) -> str:
    """The status and OAuth ``error``/``error_description`` of a refusal (never the request's secrets)."""
    detail = ""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        parts = [str(payload[k])[:200] for k in ("error", "error_description") if payload.get(k)]
        detail = ": " + " - ".join(parts) if parts else ""
    return f"HTTP {response.status_code}{detail}"
