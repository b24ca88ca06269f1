"""Connection settings per auth mode, the token request body, and the quota governor."""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow.sdk import Connection

from lumina_integration.hooks.salesforce.auth import token_request_body
from lumina_integration.hooks.salesforce.resilience import ApiBudget, BudgetExceeded, QuotaGovernor, parse_usage
from lumina_integration.hooks.salesforce.settings import settings_from_connection


def conn(
    login: str | None = "u@example.com", password: str | None = "pw", host: str | None = None, **extra: Any
) -> Connection:
    extra.setdefault("domain", "my-example.my")
    return Connection(
        conn_id="sf", conn_type="salesforce", host=host, login=login, password=password, extra=json.dumps(extra)
    )


@pytest.mark.parametrize(
    ("connection", "mode", "grant"),
    [
        pytest.param(
            conn(client_id="c", client_secret="s", security_token="tok"), "password", "password", id="password"
        ),
        pytest.param(
            conn(login=None, password=None, client_id="c", client_secret="s"),
            "client_credentials",
            "client_credentials",
            id="client-credentials",
        ),
        pytest.param(conn(client_id="c", refresh_token="r"), "refresh_token", "refresh_token", id="refresh"),
        pytest.param(
            conn(client_id="c", auth_mode="client_credentials", client_secret="s"),
            "client_credentials",
            "client_credentials",
            id="explicit-mode",
        ),
    ],
)
def test_auth_mode_and_grant(connection: Connection, mode: str, grant: str) -> None:
    settings = settings_from_connection(connection)
    assert settings.auth_mode == mode
    assert token_request_body(settings)["grant_type"] == grant


def test_password_grant_appends_the_security_token_and_secrets_are_listed() -> None:
    settings = settings_from_connection(conn(client_id="c", client_secret="s", security_token="tok"))
    assert token_request_body(settings)["password"] == "pwtok"
    assert set(settings.secrets()) == {"pw", "tok", "s"}
    assert settings.login_url == "https://my-example.my.salesforce.com"


@pytest.mark.parametrize(
    ("domain", "login_url"),
    [
        (None, "https://login.salesforce.com"),
        ("", "https://login.salesforce.com"),  # the provider's form stores an empty field as ""
        ("test", "https://test.salesforce.com"),
        ("mycompany.my", "https://mycompany.my.salesforce.com"),
        ("mycompany--uat.sandbox.my", "https://mycompany--uat.sandbox.my.salesforce.com"),
    ],
)
def test_the_login_host_is_built_from_domain_as_simple_salesforce_builds_it(domain: str | None, login_url: str) -> None:
    settings = settings_from_connection(conn(domain=domain))
    assert settings.login_url == settings.token_url == login_url
    assert settings.auth_mode == "soap"


def test_the_provider_field_names_are_read() -> None:
    settings = settings_from_connection(
        conn(
            consumer_key="ck",
            consumer_secret="cs",
            security_token="tok",
            version="61.0",
            proxies='{"https": "http://proxy.internal:3128"}',
        )
    )
    assert (settings.auth_mode, settings.client_id, settings.client_secret) == ("password", "ck", "cs")
    assert settings.version == "61.0"
    assert settings.proxies == {"https": "http://proxy.internal:3128"}
    prefixed = settings_from_connection(conn(domain=None, extra__salesforce__domain="test"))
    assert prefixed.login_url == "https://test.salesforce.com"


def test_jwt_reads_the_key_file_and_posts_to_the_instance_url_host(tmp_path: Any) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp_path / "key.pem").write_bytes(pem)
    settings = settings_from_connection(
        conn(password=None, consumer_key="ck", private_key_file_path=str(tmp_path / "key.pem"), instance_url="acme.my")
    )
    assert settings.auth_mode == "jwt_bearer"
    # simple-salesforce: token from https://<instance_url>.salesforce.com, audience the login host.
    assert settings.token_url == "https://acme.my.salesforce.com"
    assert settings.login_url == "https://my-example.my.salesforce.com"
    assert token_request_body(settings)["assertion"].count(".") == 2


@pytest.mark.parametrize(
    ("connection", "message"),
    [
        pytest.param(
            conn(host="https://acme.my.salesforce.com", domain=None),
            r"no longer read from the host \('https://acme.my.salesforce.com'\).*set the extra domain to 'acme.my'",
            id="host",
        ),
        pytest.param(
            conn(login_url="https://test.salesforce.com"),
            "no longer read from the extra login_url.*set the extra domain to 'test'",
            id="login-url-extra",
        ),
        pytest.param(
            conn(domain="https://acme.my.salesforce.com"),
            "extra 'domain' is the part of the login host before '.salesforce.com'.*write 'acme.my'",
            id="domain-as-url",
        ),
        pytest.param(conn(domain="acme.my.salesforce.com"), "write 'acme.my'", id="domain-with-suffix"),
        pytest.param(conn(proxies="http://proxy:3128"), "extra proxies must map schemes to URLs", id="proxies"),
    ],
)
def test_a_login_url_the_provider_would_not_follow_is_refused_with_the_fix(
    connection: Connection, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        settings_from_connection(connection)


def test_unknown_auth_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown auth_mode"):
        settings_from_connection(conn(auth_mode="kerberos"))


def test_usage_header() -> None:
    assert parse_usage("api-usage=25/15000") == (25, 15000)
    assert parse_usage("api-usage=25/15000; per-app-api-usage=17/250(appName=x)") == (25, 15000)
    assert parse_usage(None) is None


def test_governor_keeps_the_org_reserve() -> None:
    governor = QuotaGovernor(ApiBudget(reserve_share=0.2))
    governor.observe("api-usage=799/1000")
    governor.check()
    governor.observe("api-usage=800/1000")
    with pytest.raises(BudgetExceeded, match="leave 20% for other integrations"):
        governor.check()


def test_governor_counts_this_pipelines_last_24_hours() -> None:
    governor = QuotaGovernor(ApiBudget(reserve_share=0, pipeline_share=0.1), spent_calls_24h=95)
    governor.observe("api-usage=500/1000")
    governor.check(calls=5)
    with pytest.raises(BudgetExceeded, match="spent 95 API calls in 24 hours; its budget is 100"):
        governor.check(calls=6)


def test_governor_caps_bulk_jobs_and_calls_per_run() -> None:
    governor = QuotaGovernor(ApiBudget(reserve_share=0, bulk_job_share=0.01, max_calls_per_run=3))
    governor.observe_limits({"DailyApiRequests": {"Max": 1000, "Remaining": 900}, "DailyBulkV2QueryJobs": {"Max": 200}})
    assert (governor.used, governor.limit, governor.bulk_limit) == (100, 1000, 200)
    governor.record(bulk_job=True)
    governor.record(bulk_job=True)
    governor.check(calls=1)  # a plain call is fine
    with pytest.raises(BudgetExceeded, match=r"created 2 Bulk 2\.0 jobs in 24 hours; its budget is 2"):
        governor.check(calls=1, bulk_jobs=1)
    governor.record()
    with pytest.raises(BudgetExceeded, match="its cap is 3"):
        governor.check()
