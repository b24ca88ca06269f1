"""Who may call the site: basic auth (Cloud: email + API token; Data Center: user name + password), personal
access tokens (Data Center: ``Authorization: Bearer <PAT>``) and OAuth 2.0 access tokens (Cloud 3LO and
service accounts: ``Bearer``), which expire on the sandbox clock.

OAuth tokens come from ``POST /oauth/token`` (JSON or form: ``grant_type`` ``client_credentials`` with the
client id/secret, or ``refresh_token``; the real endpoint is ``auth.atlassian.com/oauth/token``) or from the
control API. Access tokens live ``access_ttl`` seconds (Atlassian: 3600); refresh tokens rotate on use, as
Atlassian's do. A refused grant is 403 ``{"error": "access_denied", "error_description": "Unauthorized"}``.
"""

from __future__ import annotations

import base64
import hmac
import random
import secrets
import threading
from collections import Counter
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from lumina_sandbox.common.clock import SandboxClock
from lumina_sandbox.jira.reference import User


class OAuthError(Exception):
    def __init__(self, status: int = 403, error: str = "access_denied", description: str = "Unauthorized") -> None:
        super().__init__(f"{error}: {description}")
        self.status, self.error, self.description = status, error, description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class Credentials:
    email: str
    api_token: str  # Cloud basic auth: email + API token
    username: str  # Data Center basic auth: user name + password
    password: str
    personal_access_token: str  # Data Center bearer
    client_id: str  # OAuth 2.0 app / service account
    client_secret: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Token:
    value: str
    account_id: str
    expires: datetime


class Authenticator:
    """Checks basic credentials and bearer tokens; issues and expires OAuth tokens. Thread-safe."""

    def __init__(self, clock: SandboxClock, seed: int, user: User) -> None:
        rng = random.Random(f"jira-credentials:{seed}")
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        self.clock = clock
        self.user = user
        self.credentials = Credentials(
            email=user.email,
            api_token="ATATT3x" + "".join(rng.choice(alphabet) for _ in range(40)),
            username=user.name,
            password="".join(rng.choice(alphabet) for _ in range(20)),
            personal_access_token="".join(rng.choice(alphabet) for _ in range(44)),
            client_id="".join(rng.choice(alphabet) for _ in range(32)),
            client_secret="ATOA" + "".join(rng.choice(alphabet) for _ in range(60)),
        )
        self.access_ttl = 3600
        self.logins: Counter[str] = Counter()  # accepted basic-auth requests and token grants, by kind
        self._access: dict[str, Token] = {}
        self._refresh: dict[str, str] = {}  # refresh token -> account id
        self._lock = threading.Lock()

    def replace_credentials(self, **changes: str) -> Credentials:
        """Accept other secrets from now on (tests plant their own ``api_token``...); returns the credentials
        replaced."""
        previous = self.credentials
        self.credentials = replace(previous, **changes)
        return previous

    @staticmethod
    def _same(given: str, expected: str) -> bool:
        return hmac.compare_digest(given.encode(), expected.encode())

    def basic(self, header_value: str, cloud: bool) -> str | None:
        """The account of an ``Authorization: Basic ...`` value (Cloud: email + API token; Data Center: user
        name + password), or None."""
        try:
            decoded = base64.b64decode(header_value, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        login, _, secret = decoded.partition(":")
        expected = self.credentials
        if cloud:
            ok = self._same(login.lower(), expected.email) and self._same(secret, expected.api_token)
        else:
            ok = self._same(login, expected.username) and self._same(secret, expected.password)
        if not ok:
            return None
        self.logins["basic"] += 1
        return self.user.account_id

    def bearer(self, token: str, cloud: bool) -> str | None:
        """The account of a bearer token: a valid OAuth access token, or (Data Center) the PAT; else None."""
        if not cloud and self._same(token, self.credentials.personal_access_token):
            return self.user.account_id
        with self._lock:
            found = self._access.get(token)
            if found is None:
                return None
            if found.expires <= self.clock.now():
                del self._access[token]
                return None
            return found.account_id

    def issue(self, ttl: int | None = None, refresh: bool = True) -> dict[str, Any]:
        """A new access token (and refresh token) for the integration user, as the token endpoint answers."""
        lifetime = self.access_ttl if ttl is None else int(ttl)
        token = Token(secrets.token_urlsafe(48), self.user.account_id, self.clock.now() + timedelta(seconds=lifetime))
        body: dict[str, Any] = {
            "access_token": token.value,
            "expires_in": lifetime,
            "token_type": "Bearer",
            "scope": "read:jira-work read:jira-user offline_access",
        }
        with self._lock:
            self._access[token.value] = token
            if refresh:
                value = secrets.token_urlsafe(48)
                self._refresh[value] = token.account_id
                body["refresh_token"] = value
        return body

    def grant(self, form: dict[str, str]) -> dict[str, Any]:
        """Answer ``POST /oauth/token`` (``client_credentials`` or ``refresh_token``)."""
        grant_type = form.get("grant_type", "")
        if grant_type not in ("client_credentials", "refresh_token"):
            raise OAuthError(400, "unsupported_grant_type", f"grant type {grant_type!r} is not supported")
        expected = self.credentials
        if not (
            self._same(form.get("client_id", ""), expected.client_id)
            and self._same(form.get("client_secret", ""), expected.client_secret)
        ):
            raise OAuthError()
        if grant_type == "client_credentials":
            return self.issue(refresh=False)
        with self._lock:
            account = self._refresh.pop(form.get("refresh_token", ""), None)  # rotating: one use each
        if account is None:
            raise OAuthError(403, "invalid_grant", "Unknown or invalid refresh token.")
        return self.issue()

    def invalidate(self, token: str) -> None:
        with self._lock:
            self._access.pop(token, None)

    def expire_all(self) -> int:
        """Drop every OAuth access token (refresh tokens, API tokens and PATs stay valid); returns how many."""
        with self._lock:
            count = len(self._access)
            self._access.clear()
            return count
