"""Connection settings per auth mode, the token request body, and the quota governor."""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow.sdk import Connection

from lumina_integration.hooks.salesforce.auth import token_request_body
from lumina_integration.hooks.salesforce.resilience import ApiBudget, BudgetExceeded, QuotaGovernor, parse_usage
from lumina_integration.hooks.salesforce.settings import settings_from_connection


def conn(login: str | None = "u@example.com", password: str | None = "pw", **extra: Any) -> Connection:
    return Connection(
        conn_id="sf",
        conn_type="salesforce",
        host="https://my.example.my.salesforce.com",
        login=login,
        password=password,
        extra=json.dumps(extra),
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
    assert settings.login_url == "https://my.example.my.salesforce.com"


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
