"""Credentials, sessions and the login flows: OAuth 2.0 token grants and the SOAP ``login`` call.

Grants: ``password`` (password + security token), ``client_credentials`` (form fields or HTTP Basic),
``urn:ietf:params:oauth:grant-type:jwt-bearer`` (an RS256 assertion signed with the connected app's key) and
``refresh_token`` (optionally single use: a used refresh token stops working and the answer carries a new one).
Failures are the ``{"error", "error_description"}`` bodies Salesforce sends. Sessions expire on the sandbox
clock after ``ttl_seconds``; ``expire_all`` ends every session now.

Login hosts: simple-salesforce (and so the official provider) builds every login URL as
``https://<domain>.salesforce.com/services/...``, which cannot name a loopback port. The sandbox therefore
also answers its login endpoints under ``/<name>.salesforce.com/services/...`` (the app strips that prefix):
the connection extra ``domain`` = ``127.0.0.1:<port>/login`` (:func:`login_domain`) gives
``https://127.0.0.1:<port>/login.salesforce.com/services/Soap/u/<v>``, the same URL for both hooks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

from lumina_sandbox.salesforce.clock import SandboxClock

PASSWORD_GRANT = "password"
CLIENT_CREDENTIALS = "client_credentials"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REFRESH_TOKEN = "refresh_token"
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
ORG_ID = "00D5g000004SbxEEAS"
LOGIN_HOST = r"/[A-Za-z0-9.-]+\.salesforce\.com"
LOGIN_HOST_PATH = re.compile(LOGIN_HOST + r"(/services/(?:oauth2/token|Soap/u/[^/]+))")


def login_domain(base_url: str) -> str:
    """The connection's ``domain`` extra that logs in to the sandbox at ``base_url`` (see the module doc)."""
    return f"{base_url.rstrip('/').removeprefix('https://')}/login"


class OAuthError(Exception):
    """A refused token request: ``{"error": error, "error_description": description}`` with HTTP ``status``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class Credentials:
    """What a client needs to log in to the sandbox org (all flows)."""

    username: str
    password: str
    security_token: str
    client_id: str
    client_secret: str
    private_key_pem: str
    public_key_pem: str
    refresh_token: str
    org_id: str = ORG_ID
    user_id: str = ""
    login_url: str = ""
    login_domain: str = ""  # the connection's ``domain`` extra for this sandbox

    @classmethod
    def create(cls, username: str, user_id: str) -> Credentials:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public_pem = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        return cls(
            username=username,
            password="Sandbox-" + secrets.token_urlsafe(12),
            security_token=secrets.token_hex(12).upper(),
            client_id="3MVG9" + secrets.token_urlsafe(60).replace("-", "A").replace("_", "b")[:80],
            client_secret=secrets.token_hex(32).upper(),
            private_key_pem=private_pem,
            public_key_pem=public_pem,
            refresh_token="5Aep861" + secrets.token_urlsafe(60).replace("-", ".").replace("_", "x")[:80],
            user_id=user_id,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Session:
    token: str
    user_id: str
    expires_at: datetime


class Sessions:
    """Access tokens (session ids) and refresh tokens; thread-safe."""

    def __init__(self, clock: SandboxClock, org_id: str = ORG_ID, ttl_seconds: float = 7200) -> None:
        self.clock = clock
        self.org_id = org_id
        self.ttl_seconds = ttl_seconds
        self.rotate_refresh_tokens = False
        self._sessions: dict[str, Session] = {}
        self._refresh: dict[str, str] = {}
        self._lock = threading.Lock()

    def issue(self, user_id: str) -> Session:
        token = f"{self.org_id[:15]}!AQ" + secrets.token_urlsafe(72).replace("-", ".").replace("_", "A")
        session = Session(token, user_id, self.clock.now() + timedelta(seconds=self.ttl_seconds))
        with self._lock:
            self._sessions[token] = session
        return session

    def get(self, token: str) -> Session | None:
        """The live session for ``token``; None when unknown, expired (on the sandbox clock) or invalidated."""
        with self._lock:
            session = self._sessions.get(token)
            if session is not None and session.expires_at <= self.clock.now():
                del self._sessions[token]
                session = None
        return session

    def invalidate(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(token, None)

    def expire_all(self) -> int:
        with self._lock:
            count = len(self._sessions)
            self._sessions.clear()
        return count

    def add_refresh_token(self, token: str, user_id: str) -> None:
        with self._lock:
            self._refresh[token] = user_id

    def issue_refresh_token(self, user_id: str) -> str:
        token = "5Aep861" + secrets.token_urlsafe(60).replace("-", ".").replace("_", "x")
        self.add_refresh_token(token, user_id)
        return token

    def use_refresh_token(self, token: str) -> tuple[str, str | None] | None:
        """(user id, the replacement token when rotating) or None for an unknown/used token."""
        with self._lock:
            user_id = self._refresh.get(token)
            if user_id is None:
                return None
            if not self.rotate_refresh_tokens:
                return user_id, None
            del self._refresh[token]
        return user_id, self.issue_refresh_token(user_id)


class Authenticator:
    """The login flows against one org's credentials."""

    def __init__(self, credentials: Credentials, sessions: Sessions) -> None:
        self.credentials = credentials
        self.sessions = sessions
        self.base_url = ""
        self.logins: Counter[str] = Counter()  # successful logins by flow (grant type or "soap")
        sessions.add_refresh_token(credentials.refresh_token, credentials.user_id)

    def replace_credentials(self, **changes: str) -> dict[str, str]:
        """Log in with other secrets from now on (tests plant their own); returns the values replaced.

        In place, so the org's ``credentials`` (what the connection helpers read) change too. A new
        ``refresh_token`` is accepted besides those already issued; give ``private_key_pem`` with its
        ``public_key_pem``.
        """
        unknown = set(changes) - set(asdict(self.credentials))
        if unknown:
            raise ValueError(f"no such credential field: {sorted(unknown)}")
        previous = {name: getattr(self.credentials, name) for name in changes}
        for name, value in changes.items():
            setattr(self.credentials, name, value)
        if "refresh_token" in changes:
            self.sessions.add_refresh_token(changes["refresh_token"], self.credentials.user_id)
        return previous

    # -- OAuth 2.0 ----------------------------------------------------------------------------------------------

    def token(self, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        """Answer a ``POST /services/oauth2/token``; raises OAuthError with Salesforce's wording."""
        grant = form.get("grant_type", "")
        creds = self.credentials
        if grant == PASSWORD_GRANT:
            self._check_client(form.get("client_id"), form.get("client_secret"))
            if form.get("username") != creds.username or not hmac.compare_digest(
                form.get("password", ""), creds.password + creds.security_token
            ):
                raise OAuthError("invalid_grant", "authentication failure")
            self.logins[grant] += 1
            return self._success(creds.user_id, refresh=True)
        if grant == CLIENT_CREDENTIALS:
            client_id, client_secret = form.get("client_id"), form.get("client_secret")
            if authorization and authorization.lower().startswith("basic "):
                try:
                    decoded = base64.b64decode(authorization[6:]).decode()
                except ValueError:
                    raise OAuthError("invalid_client", "invalid client credentials") from None
                client_id, _, client_secret = decoded.partition(":")
            self._check_client(client_id, client_secret)
            self.logins[grant] += 1
            return self._success(creds.user_id)
        if grant == JWT_BEARER:
            answer = self._jwt(form.get("assertion", ""))
            self.logins[grant] += 1
            return answer
        if grant == REFRESH_TOKEN:
            self._check_client(form.get("client_id"), form.get("client_secret"), secret_required=False)
            used = self.sessions.use_refresh_token(form.get("refresh_token", ""))
            if used is None:
                raise OAuthError("invalid_grant", "expired access/refresh token")
            user_id, replacement = used
            self.logins[grant] += 1
            result = self._success(user_id)
            if replacement is not None:
                result["refresh_token"] = replacement
            return result
        if not grant:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        raise OAuthError("unsupported_grant_type", "grant type not supported")

    def _check_client(self, client_id: str | None, client_secret: str | None, *, secret_required: bool = True) -> None:
        if client_id != self.credentials.client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if (secret_required or client_secret is not None) and not hmac.compare_digest(
            client_secret or "", self.credentials.client_secret
        ):
            raise OAuthError("invalid_client", "invalid client credentials")

    def _jwt(self, assertion: str) -> dict[str, Any]:
        import jwt

        try:
            claims = jwt.decode(
                assertion,
                self.credentials.public_key_pem,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_aud": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            raise OAuthError("invalid_grant", "invalid assertion") from None
        if claims.get("iss") != self.credentials.client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        audiences = claims.get("aud")
        audiences = audiences if isinstance(audiences, list) else [audiences]
        allowed = {*LOGIN_AUDIENCES, self.base_url}
        # simple-salesforce's audience is https://<domain>.salesforce.com, so the sandbox's login hosts too.
        login_hosts = re.compile(re.escape(self.base_url) + LOGIN_HOST)
        if not any(
            isinstance(a, str) and (a.rstrip("/") in allowed or login_hosts.fullmatch(a.rstrip("/"))) for a in audiences
        ):
            raise OAuthError("invalid_grant", "audience is invalid")
        try:
            expires = float(claims.get("exp", ""))  # simple-salesforce sends it as text
        except (TypeError, ValueError):
            raise OAuthError("invalid_grant", "invalid assertion") from None
        # Clients sign with their own (real) clock, so exp is checked against real time.
        if expires <= time.time():
            raise OAuthError("invalid_grant", "expired authorization code")
        if claims.get("sub") != self.credentials.username:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        return self._success(self.credentials.user_id)

    def _success(self, user_id: str, *, refresh: bool = False) -> dict[str, Any]:
        session = self.sessions.issue(user_id)
        issued_at = str(int(time.time() * 1000))
        identity = f"{self.base_url}/id/{self.credentials.org_id}/{user_id}"
        signature = base64.b64encode(
            hmac.new(self.credentials.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
        ).decode()
        result: dict[str, Any] = {
            "access_token": session.token,
            "instance_url": self.base_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": signature,
            "scope": "api refresh_token",
        }
        if refresh:
            result["refresh_token"] = self.sessions.issue_refresh_token(user_id)
        return result

    # -- SOAP login ---------------------------------------------------------------------------------------------

    def soap_login(self, body: bytes, version: str) -> tuple[int, str]:
        """(HTTP status, SOAP envelope) for a partner-API ``login`` call."""
        from defusedxml import ElementTree

        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError:
            return 500, _soap_fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")

        def text(local: str) -> str | None:
            for element in root.iter():
                if element.tag.rsplit("}", 1)[-1] == local:
                    return element.text or ""
            return None

        creds = self.credentials
        username, password, org = text("username"), text("password") or "", text("organizationId")
        valid_password = hmac.compare_digest(password, creds.password + creds.security_token) or (
            org is not None and org[:15] == creds.org_id[:15] and hmac.compare_digest(password, creds.password)
        )
        if username != creds.username or not valid_password:
            return 500, _soap_fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
        self.logins["soap"] += 1
        session = self.sessions.issue(creds.user_id)
        server = f"{self.base_url}/services/Soap/u/{version}/{creds.org_id[:15]}"
        metadata = f"{self.base_url}/services/Soap/m/{version}/{creds.org_id[:15]}"
        return 200, (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result>'
            f"<metadataServerUrl>{escape(metadata)}</metadataServerUrl><passwordExpired>false</passwordExpired>"
            f"<sandbox>true</sandbox><serverUrl>{escape(server)}</serverUrl>"
            f"<sessionId>{escape(session.token)}</sessionId><userId>{creds.user_id}</userId><userInfo>"
            "<accessibilityMode>false</accessibilityMode><currencySymbol>$</currencySymbol>"
            f"<orgDefaultCurrencyIsoCode>USD</orgDefaultCurrencyIsoCode><organizationId>{creds.org_id}</organizationId>"
            "<organizationMultiCurrency>false</organizationMultiCurrency>"
            "<organizationName>Lumina Sandbox</organizationName><sessionSecondsValid>"
            f"{int(self.sessions.ttl_seconds)}</sessionSecondsValid><userEmail>{escape(creds.username)}</userEmail>"
            f"<userFullName>Integration User</userFullName><userId>{creds.user_id}</userId>"
            f"<userLanguage>en_US</userLanguage><userLocale>en_US</userLocale><userName>{escape(creds.username)}"
            "</userName><userTimeZone>Etc/UTC</userTimeZone><userType>Standard</userType></userInfo>"
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )


def _soap_fault(code: str, message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring><detail>"
        f'<sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>{code}</sf:exceptionCode>'
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage></sf:LoginFault></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
