"""Who may call the instance: basic auth, and OAuth 2.0 tokens from ``POST /oauth_token.do``.

Grants (form-encoded, as the instance requires): ``password`` (client id/secret + username/password: an access
and a refresh token; asked again while the access token is valid, the instance returns the same one),
``refresh_token`` (a new access token; the refresh token is returned unchanged unless rotation is switched on)
and ``client_credentials`` (an access token for the OAuth application's user, no refresh token). Tokens expire
on the instance clock (access 1800 s, refresh 100 days by default). A refused grant is 401
``{"error_description": "access_denied", "error": "server_error"}``, as the instance words it.
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

INTEGRATION_USER = "lumina.integration"
SCOPE = "useraccount"


class OAuthError(Exception):
    """A refused token request: ``status`` and the instance's ``{"error_description", "error"}`` body."""

    def __init__(self, status: int = 401, error: str = "server_error", description: str = "access_denied") -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error_description": self.description, "error": self.error}


@dataclass(frozen=True)
class Credentials:
    """The integration user's password and the OAuth application's client."""

    username: str
    password: str
    client_id: str
    client_secret: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Token:
    value: str
    user: str
    client_id: str
    expires: datetime


class Authenticator:
    """Checks basic credentials and bearer tokens; issues, refreshes and expires tokens. Thread-safe."""

    def __init__(self, clock: SandboxClock, seed: int) -> None:
        rng = random.Random(f"credentials:{seed}")
        self.clock = clock
        self.credentials = Credentials(
            username=INTEGRATION_USER,
            password="".join(rng.choice("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(20)),
            client_id=f"{rng.getrandbits(128):032x}",
            client_secret="".join(rng.choice("abcdefghijkmnpqrstuvwxyz0123456789!*-_") for _ in range(16)),
        )
        self.access_ttl = 1800
        self.refresh_ttl = 100 * 86400
        self.rotate_refresh_tokens = False
        self.logins: Counter[str] = Counter()  # accepted basic-auth requests and token grants, by kind
        self._access: dict[str, Token] = {}
        self._refresh: dict[str, Token] = {}
        self._lock = threading.Lock()

    def replace_credentials(self, **changes: str) -> Credentials:
        """Accept other secrets from now on (tests plant their own ``password`` or ``client_secret``);
        returns the credentials replaced."""
        previous = self.credentials
        self.credentials = replace(previous, **changes)
        return previous

    # -- checking requests -----------------------------------------------------------------------------------

    def basic(self, header_value: str) -> str | None:
        """The user of an ``Authorization: Basic ...`` value, or None."""
        try:
            decoded = base64.b64decode(header_value, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        user, _, password = decoded.partition(":")
        expected = self.credentials
        if hmac.compare_digest(user.encode(), expected.username.encode()) and hmac.compare_digest(
            password.encode(), expected.password.encode()
        ):
            self.logins["basic"] += 1
            return user
        return None

    def bearer(self, token: str) -> str | None:
        """The user of a valid access token, or None (unknown or expired)."""
        with self._lock:
            found = self._access.get(token)
            if found is None:
                return None
            if found.expires <= self.clock.now():
                del self._access[token]
                return None
            return found.user

    # -- issuing ---------------------------------------------------------------------------------------------

    def _client(self, form: dict[str, str]) -> None:
        expected = self.credentials
        if not (
            hmac.compare_digest(form.get("client_id", "").encode(), expected.client_id.encode())
            and hmac.compare_digest(form.get("client_secret", "").encode(), expected.client_secret.encode())
        ):
            raise OAuthError()

    def _issue(self, user: str, client_id: str, refresh: str | None) -> dict[str, Any]:
        now = self.clock.now()
        for token in self._access.values():
            if token.user == user and token.client_id == client_id and token.expires > now:
                access = token  # the instance hands back the access token that is still valid
                break
        else:
            access = Token(secrets.token_urlsafe(64), user, client_id, now + timedelta(seconds=self.access_ttl))
            self._access[access.value] = access
        body: dict[str, Any] = {
            "access_token": access.value,
            "scope": SCOPE,
            "token_type": "Bearer",
            "expires_in": max(int((access.expires - now).total_seconds()) - 1, 0),
        }
        if refresh is not None:
            body["refresh_token"] = refresh
        return body

    def _new_refresh(self, user: str, client_id: str) -> str:
        token = Token(
            secrets.token_urlsafe(64), user, client_id, self.clock.now() + timedelta(seconds=self.refresh_ttl)
        )
        self._refresh[token.value] = token
        return token.value

    def grant(self, form: dict[str, str]) -> dict[str, Any]:
        """Answer a token request (the form fields of ``POST /oauth_token.do``)."""
        grant_type = form.get("grant_type", "")
        if grant_type not in ("password", "refresh_token", "client_credentials"):
            raise OAuthError(400, "unsupported_grant_type", f"grant type {grant_type!r} is not supported")
        self._client(form)
        client_id = form["client_id"]
        with self._lock:
            if grant_type == "password":
                if (
                    self.basic(
                        base64.b64encode(f"{form.get('username', '')}:{form.get('password', '')}".encode()).decode()
                    )
                    is None
                ):
                    raise OAuthError()
                user = form["username"]
                self.logins[grant_type] += 1
                return self._issue(user, client_id, self._new_refresh(user, client_id))
            if grant_type == "client_credentials":
                self.logins[grant_type] += 1
                return self._issue(self.credentials.username, client_id, None)
            refresh = self._refresh.get(form.get("refresh_token", ""))
            if refresh is None or refresh.client_id != client_id or refresh.expires <= self.clock.now():
                raise OAuthError()
            value = refresh.value
            self.logins[grant_type] += 1
            if self.rotate_refresh_tokens:
                del self._refresh[value]
                value = self._new_refresh(refresh.user, client_id)
                for token in [t for t in self._access.values() if t.user == refresh.user]:
                    del self._access[token.value]  # a rotated grant starts a new access token
            return self._issue(refresh.user, client_id, value)

    # -- control ---------------------------------------------------------------------------------------------

    def invalidate(self, token: str) -> None:
        with self._lock:
            self._access.pop(token, None)

    def expire_all(self) -> int:
        """Drop every access token (refresh tokens stay valid); returns how many."""
        with self._lock:
            count = len(self._access)
            self._access.clear()
            return count

    def reset(self) -> None:
        with self._lock:
            self._access.clear()
            self._refresh.clear()
        self.access_ttl, self.refresh_ttl, self.rotate_refresh_tokens = 1800, 100 * 86400, False
