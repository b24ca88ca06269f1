"""Auth modes against a real token endpoint and API on loopback: expiry, rotation, 401 refresh, mutual TLS."""

from __future__ import annotations

import base64

import pytest
import requests
from rest_loopback import FakeClock, LoopbackApi, MutualTls, Received, Reply, TokenServer

from lumina_integration.hooks.rest.auth import AuthenticationFailed, BasicAuth, BearerTokenAuth, OAuth2TokenAuth
from lumina_integration.hooks.rest.client import RestClient, RestError
from lumina_integration.hooks.rest.session import TlsSettings, rest_session


def oauth(api: LoopbackApi, clock: FakeClock, grant: str = "password", **kwargs: object) -> OAuth2TokenAuth:
    defaults: dict[str, object] = {"client_id": "lumina", "client_secret": "client-secret"}
    if grant == "password":
        defaults |= {"username": "etl", "password": "s3cret"}
    return OAuth2TokenAuth(f"{api.base_url}/oauth_token.do", grant, clock=clock, **(defaults | kwargs))  # type: ignore[arg-type]


def test_basic_auth_is_sent_and_a_refusal_is_an_authentication_failure(api: LoopbackApi) -> None:
    def me(request: Received) -> Reply:
        expected = "Basic " + base64.b64encode(b"etl:s3cret").decode()
        return Reply(200, {"ok": True}) if request.headers.get("Authorization") == expected else Reply(401, {})

    api.route("GET", "/api/me", me)
    assert RestClient(api.base_url, auth=BasicAuth("etl", "s3cret")).get_json("/api/me") == {"ok": True}
    with pytest.raises(AuthenticationFailed, match="refused the connection's credentials"):
        RestClient(api.base_url, auth=BasicAuth("etl", "wrong")).get_json("/api/me")
    assert "wrong" not in repr(BasicAuth("etl", "wrong"))


def test_a_bearer_token_is_sent_as_is(api: LoopbackApi) -> None:
    api.route("GET", "/api/me", lambda r: Reply(200, {"auth": r.headers.get("Authorization")}))
    client = RestClient(api.base_url, auth=BearerTokenAuth("pat-123"))
    assert client.get_json("/api/me") == {"auth": "Bearer pat-123"}


def test_the_password_grant_fetches_one_token_and_reuses_it(
    api: LoopbackApi, tokens: TokenServer, clock: FakeClock
) -> None:
    client = RestClient(api.base_url, auth=oauth(api, clock))
    for _ in range(3):
        assert client.get_json("/api/me") == {"result": {"user": "etl"}}
    assert tokens.issued == ["password"]
    assert client.calls == 3  # token requests are not API calls


def test_a_token_is_refreshed_before_it_expires_and_the_rotated_refresh_token_is_handed_on(
    api: LoopbackApi, tokens: TokenServer, clock: FakeClock
) -> None:
    rotated: list[str] = []
    auth = oauth(api, clock, on_refresh_token=rotated.append)
    client = RestClient(api.base_url, auth=auth)
    client.get_json("/api/me")
    first_refresh = auth.refresh_token
    assert rotated == [first_refresh]
    clock.now += 70  # 50s of the 120s lifetime left: inside the refresh margin, not yet expired
    client.get_json("/api/me")
    assert tokens.issued == ["password", "refresh_token"]
    assert len(api.calls("/api/me")) == 2  # no 401 was needed
    assert rotated == [first_refresh, auth.refresh_token] and auth.refresh_token != first_refresh
    assert first_refresh not in tokens.refresh  # the server killed the old one: it had to be kept


def test_a_401_refreshes_the_token_once_and_resends_the_request(
    api: LoopbackApi, tokens: TokenServer, clock: FakeClock
) -> None:
    client = RestClient(api.base_url, auth=oauth(api, clock, grant="client_credentials"))
    client.get_json("/api/me")
    tokens.revoke()  # revoked early, before its announced expiry
    assert client.get_json("/api/me") == {"result": {"user": "etl"}}
    assert tokens.issued == ["client_credentials", "client_credentials"]
    statuses = [r.headers["Authorization"] for r in api.calls("/api/me")]
    assert len(statuses) == 3 and statuses[1] != statuses[2]
    assert client.calls == 3  # the refused request and its resend both count against the budget


def test_a_token_the_api_keeps_refusing_fails_after_one_refresh(
    api: LoopbackApi, tokens: TokenServer, clock: FakeClock
) -> None:
    api.route("GET", "/api/me", lambda r: Reply(401, {"error": "no"}))
    client = RestClient(api.base_url, auth=oauth(api, clock))
    with pytest.raises(AuthenticationFailed, match="HTTP 401"):
        client.get_json("/api/me")
    assert len(tokens.issued) == 2 and len(api.calls("/api/me")) == 2


def test_the_refresh_token_grant_with_client_auth_in_a_basic_header(
    api: LoopbackApi, tokens: TokenServer, clock: FakeClock
) -> None:
    tokens.refresh.add("stored-refresh")
    rotated: list[str] = []
    auth = oauth(
        api,
        clock,
        grant="refresh_token",
        refresh_token="stored-refresh",
        client_auth="basic",
        on_refresh_token=rotated.append,
    )
    RestClient(api.base_url, auth=auth).get_json("/api/me")
    sent = api.calls("/oauth_token.do")[0]
    assert sent.headers["Authorization"].startswith("Basic ") and "client_secret" not in sent.form()
    assert sent.form()["refresh_token"] == "stored-refresh" and rotated == [auth.refresh_token]


def test_an_expired_refresh_token_falls_back_to_the_password_grant(
    api: LoopbackApi, tokens: TokenServer, clock: FakeClock
) -> None:
    auth = oauth(api, clock)
    client = RestClient(api.base_url, auth=auth)
    client.get_json("/api/me")
    tokens.refresh.clear()  # the refresh token expired on the server
    clock.now += 200
    client.get_json("/api/me")
    assert tokens.issued == ["password", "password"]


def test_a_refused_grant_names_the_oauth_error_and_never_the_secret(
    api: LoopbackApi, tokens: TokenServer, clock: FakeClock
) -> None:
    with pytest.raises(AuthenticationFailed, match="refused the password grant: HTTP 401: access_denied") as raised:
        RestClient(api.base_url, auth=oauth(api, clock, password="not-it")).get_json("/api/me")
    assert "not-it" not in str(raised.value) and "client-secret" not in str(raised.value)


def test_a_busy_token_endpoint_is_retried_honouring_retry_after(api: LoopbackApi, clock: FakeClock) -> None:
    waits: list[float] = []
    api.replies(
        "POST",
        "/oauth_token.do",
        Reply(503, {}, {"Retry-After": "2"}),
        Reply(200, {"access_token": "tok", "expires_in": 3600}),
    )
    api.route("GET", "/api/me", lambda r: Reply(200 if r.headers["Authorization"] == "Bearer tok" else 401, {}))
    RestClient(api.base_url, auth=oauth(api, clock, grant="client_credentials", sleep=waits.append)).get_json("/api/me")
    assert waits == [2.0]


@pytest.mark.parametrize(
    ("grant", "missing"),
    [
        pytest.param("password", {"username": None}, id="password-needs-a-user"),
        pytest.param("refresh_token", {}, id="refresh-needs-a-token"),
        pytest.param("client_credentials", {"client_secret": None}, id="client-credentials-need-a-secret"),
        pytest.param("implicit", {}, id="unknown-grant"),
    ],
)
def test_incomplete_oauth_settings_are_refused_before_any_request(grant: str, missing: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="grant"):
        oauth(LoopbackApi(), FakeClock(), grant=grant, **missing)


def test_mutual_tls_presents_the_client_certificate(mutual_tls_api: MutualTls, monkeypatch: pytest.MonkeyPatch) -> None:
    tls = mutual_tls_api
    tls.api.route("GET", "/api/me", lambda r: Reply(200, {"ok": True}))
    # The connection's CA wins over a CA bundle from the environment.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())
    session = rest_session(
        TlsSettings(ca_bundle=str(tls.ca_path), client_cert=str(tls.client_cert), client_key=str(tls.client_key))
    )
    assert RestClient(tls.api.base_url, session=session).get_json("/api/me") == {"ok": True}


def test_mutual_tls_without_a_client_certificate_is_refused(mutual_tls_api: MutualTls) -> None:
    tls = mutual_tls_api
    session = rest_session(TlsSettings(ca_bundle=str(tls.ca_path)))
    client = RestClient(tls.api.base_url, session=session)
    with pytest.raises(RestError, match="the TLS handshake failed"):
        client.get_json("/api/me")
    assert client.calls == 1  # not retried: a refused certificate does not heal
    assert not tls.api.received  # the handshake failed: no request was read


def test_a_client_key_needs_its_certificate() -> None:
    with pytest.raises(ValueError, match="client_cert"):
        TlsSettings(client_key="key.pem")
