"""Authentication events through real DAG runs: logins, refreshes, a refused password, a rotated refresh token
carried from one run to the next, a breaker opening; every row written to lumina_auth_events, none holding a
secret."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from lumina_integration.hooks.rest.token_store import variable_name

pytestmark = pytest.mark.integration

PIPELINE = "servicenow_core_company"  # 40 companies: the smallest ServiceNow pipeline
CONN = "servicenow_default"


def events(harness: Any, conn_id: str = CONN) -> list[dict[str, Any]]:
    rows = harness.rows(
        "SELECT occurred_at, conn_id, pipeline_id, system, event, outcome, detail FROM {s}.lumina_auth_events "
        "WHERE conn_id = :c ORDER BY occurred_at",
        c=conn_id,
    )
    names = ("occurred_at", "conn_id", "pipeline_id", "system", "event", "outcome", "detail")
    return [dict(zip(names, r, strict=True)) for r in rows]


def all_text(harness: Any) -> str:
    """Every value of every row of the table, as text: what the secret search looks through."""
    return "\n".join(" ".join(str(v) for v in r) for r in harness.rows("SELECT * FROM {s}.lumina_auth_events"))


def sandbox_tokens(servicenow: Any) -> list[str]:
    auth = servicenow.instance.auth
    return [*auth._access, *auth._refresh]


def password_grant_refresh_token(servicenow: Any) -> str:
    creds = servicenow.credentials
    answer = requests.post(
        f"{servicenow.base_url}/oauth_token.do",
        data={
            "grant_type": "password",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "username": creds.username,
            "password": creds.password,
        },
        verify=str(servicenow.ca_path),
        timeout=10,
    )
    token: str = answer.json()["refresh_token"]
    return token


def use_connection(servicenow: Any, **kwargs: Any) -> dict[str, Any]:
    from lumina_sandbox.servicenow.connection import airflow_connection

    credentials = {**servicenow.credentials.as_dict(), "instance_url": servicenow.base_url}
    connection = airflow_connection(credentials, servicenow.ca_path, **kwargs)
    os.environ[f"AIRFLOW_CONN_{CONN.upper()}"] = json.dumps(connection)
    return connection


@pytest.fixture
def clean_variables(airflow_db: None) -> Iterator[None]:
    from airflow.models import Variable

    names = [variable_name(CONN), f"lumina_breaker__{CONN}"]
    for name in names:
        Variable.delete(name)  # noqa: AIR311 (the test's own setup, outside any task)
    yield
    for name in names:
        Variable.delete(name)  # noqa: AIR311


def test_a_rotated_refresh_token_is_carried_to_the_next_run_and_audited(
    harness: Any, servicenow: Any, clean_variables: None
) -> None:
    from airflow.models import Variable

    servicenow.control.settings(rotate_refresh_tokens=True)
    first_token = password_grant_refresh_token(servicenow)
    connection = use_connection(servicenow, auth="oauth_refresh_token", refresh_token=first_token)

    harness.run_ok(PIPELINE)
    stored = json.loads(Variable.get(variable_name(CONN)))  # noqa: AIR311
    assert stored["refresh_token"] != first_token
    assert first_token not in servicenow.instance.auth._refresh, "the instance revoked the connection's token"
    # The connection still holds the revoked token: only the stored one lets the next run in.
    again = harness.run_ok(PIPELINE)
    assert again["rows_inserted"] == 0
    second = json.loads(Variable.get(variable_name(CONN)))  # noqa: AIR311
    assert second["refresh_token"] not in (first_token, stored["refresh_token"])

    rows = events(harness)
    seen = {(r["event"], r["outcome"]) for r in rows}
    assert ("token_refresh", "success") in seen and ("token_rotated", "persisted") in seen
    assert {r["pipeline_id"] for r in rows} == {PIPELINE} and {r["system"] for r in rows} == {"ServiceNow"}
    refreshes = [r for r in rows if r["event"] == "token_refresh"]
    assert len(refreshes) >= 2, "each run's first task refreshed"
    text = all_text(harness)
    secrets = [
        first_token,
        stored["refresh_token"],
        second["refresh_token"],
        connection["extra"]["client_secret"],
        servicenow.credentials.password,
        *sandbox_tokens(servicenow),
    ]
    assert [s for s in secrets if s and s in text] == []


def test_without_the_stored_token_the_second_run_fails_and_leaves_a_failure_row(
    harness: Any, servicenow: Any, clean_variables: None
) -> None:
    """The control for the test above: the write-back is what made the second run work."""
    from airflow.models import Variable

    servicenow.control.settings(rotate_refresh_tokens=True)
    use_connection(servicenow, auth="oauth_refresh_token", refresh_token=password_grant_refresh_token(servicenow))
    harness.run_ok(PIPELINE)
    Variable.delete(variable_name(CONN))  # noqa: AIR311 - as if nothing had been written back
    run = harness.run(PIPELINE)
    assert str(run.state) == "failed"
    failures = [r for r in events(harness) if r["outcome"] == "failure"]
    assert failures and failures[0]["event"] == "token_refresh"
    assert "invalid_grant" in failures[0]["detail"] or "401" in failures[0]["detail"], failures[0]


def test_a_wrong_password_leaves_a_login_failure_row_without_the_password(
    harness: Any, servicenow: Any, clean_variables: None
) -> None:
    connection = use_connection(servicenow)  # basic auth
    wrong = "not-the-" + connection["password"]
    os.environ[f"AIRFLOW_CONN_{CONN.upper()}"] = json.dumps({**connection, "password": wrong})
    run = harness.run(PIPELINE)
    assert str(run.state) == "failed"
    rows = events(harness)
    assert [(r["event"], r["outcome"]) for r in rows][:1] == [("login", "failure")]
    assert rows[0]["pipeline_id"] == PIPELINE and "HTTP 401" in rows[0]["detail"]
    text = all_text(harness)
    assert wrong not in text and connection["password"] not in text


def test_a_basic_auth_run_leaves_one_login_row_per_task_that_called(
    harness: Any, servicenow: Any, clean_variables: None
) -> None:
    use_connection(servicenow)
    harness.run_ok(PIPELINE)
    rows = events(harness)
    assert rows and {(r["event"], r["outcome"]) for r in rows} == {("login", "success")}
    assert all(r["detail"].startswith("BasicAuth: GET ") and "api/now/" in r["detail"] for r in rows), rows


def test_the_breaker_opening_leaves_a_row(harness: Any, servicenow: Any, clean_variables: None) -> None:
    from airflow.models import Variable

    use_connection(servicenow)
    # Two earlier calls failed after every retry; the third failure opens the breaker.
    Variable.set(f"lumina_breaker__{CONN}", json.dumps({"failures": 2, "last": "HTTP 503"}))  # noqa: AIR311
    servicenow.instance.faults.add("any", status=503, retry_after=0, times=1000)
    run = harness.run(PIPELINE)
    assert str(run.state) == "failed"
    opened = [r for r in events(harness) if r["event"] == "breaker"]
    assert [r["outcome"] for r in opened] == ["opened"], events(harness)
    assert opened[0]["pipeline_id"] == PIPELINE and "503" in opened[0]["detail"]
    assert "open_until" in Variable.get(f"lumina_breaker__{CONN}")  # noqa: AIR311


def test_a_salesforce_run_leaves_its_login_rows_and_no_secret(harness: Any, salesforce: Any) -> None:
    harness.run_ok("salesforce_contact")
    rows = events(harness, "salesforce_default")
    assert rows and {(r["system"], r["event"], r["outcome"]) for r in rows} == {("Salesforce", "login", "success")}
    assert {r["pipeline_id"] for r in rows} == {"salesforce_contact"} and rows[0]["detail"] == "soap login"
    creds = salesforce.credentials
    text = all_text(harness)
    assert [s for s in (creds.password, creds.security_token) if s in text] == []


@pytest.fixture(scope="module")
def jira_site() -> Iterator[Any]:
    from lumina_sandbox.jira.instance import Instance
    from lumina_sandbox.jira.server import JiraServer

    with JiraServer(Instance.generate(counts={"issues": 30})) as server:
        yield server


def test_jira_rotates_every_refresh_token_and_each_run_starts_from_the_stored_one(
    harness: Any, jira_site: Any, airflow_db: None
) -> None:
    """Atlassian's refresh tokens are single-use: without the write-back the second run could not log in."""
    from airflow.models import Variable

    from lumina_sandbox.jira.connection import airflow_connection

    jira_site.control.reset()
    first = jira_site.instance.auth.issue()["refresh_token"]
    connection = airflow_connection(
        jira_site.control.credentials(),
        jira_site.ca_path,
        auth="oauth2",
        grant_type="refresh_token",
        refresh_token=first,
    )
    os.environ["AIRFLOW_CONN_JIRA_DEFAULT"] = json.dumps(connection)
    Variable.delete(variable_name("jira_default"))  # noqa: AIR311
    try:
        harness.run_ok("jira_issues")
        harness.run_ok("jira_issues")  # the connection still holds `first`, used up by the first run
        stored = json.loads(Variable.get(variable_name("jira_default")))["refresh_token"]  # noqa: AIR311
    finally:
        Variable.delete(variable_name("jira_default"))  # noqa: AIR311
    rows = events(harness, "jira_default")
    assert {(r["system"], r["event"], r["outcome"]) for r in rows} >= {
        ("Jira", "token_refresh", "success"),
        ("Jira", "token_rotated", "persisted"),
    }
    assert not [r for r in rows if r["outcome"] in ("failure", "not_persisted")], rows
    text = all_text(harness)
    auth = jira_site.instance.auth
    secrets = [first, stored, connection["extra"]["client_secret"], *auth._access, *auth._refresh]
    assert [s for s in secrets if s in text] == []
