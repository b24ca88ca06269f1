"""Authentication events: collected in the process, never holding a secret, written by the step operators at the
end of execute (also when it raised), read back by ``lumina auth-events``; the breaker's changes are events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lumina_integration import auth_audit
from lumina_integration.hooks.governance import CircuitBreaker, CircuitOpen, MemoryStore
from lumina_integration.operators.auth_events import FlushesAuthEvents


@pytest.fixture(autouse=True)
def _no_pending() -> Any:
    auth_audit.drain()
    yield
    auth_audit.drain()


def test_events_wait_for_the_flush_and_take_the_pipeline_then() -> None:
    audit = auth_audit.AuthAuditor("sn", "ServiceNow")
    audit("login", "success", "BasicAuth: GET  api/now/table/x\n answered")
    auth_audit.record("sf", "Salesforce", "login", "failure", pipeline_id="crm_accounts")
    events = auth_audit.drain("itsm_incidents")
    assert [(e.conn_id, e.pipeline_id) for e in events] == [("sn", "itsm_incidents"), ("sf", "crm_accounts")]
    assert events[0].detail == "BasicAuth: GET api/now/table/x answered"
    assert auth_audit.drain() == []


def test_a_detail_never_carries_a_masked_secret_and_is_short() -> None:
    from airflow.sdk.log import mask_secret

    secret = "tok-" + "9" * 40
    mask_secret(secret)
    event = auth_audit.record("c", "Jira", "token_refresh", "failure", f"refused {secret} " + "x" * 1000)
    assert secret not in event.detail and "***" in event.detail
    assert len(event.detail) == auth_audit.DETAIL_CHARS


def test_a_process_that_never_flushes_keeps_a_bounded_list() -> None:
    for i in range(auth_audit.MAX_PENDING + 5):
        auth_audit.record("c", "Jira", "login", "success", str(i))
    events = auth_audit.pending()
    assert len(events) == auth_audit.MAX_PENDING and events[-1].detail == str(auth_audit.MAX_PENDING + 4)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_breaker_opening_expiry_and_reset_are_events() -> None:
    clock, seen = Clock(), []
    breaker = CircuitBreaker(
        "jira_default", MemoryStore(), clock=clock, audit=lambda *e: seen.append(e), open_for=timedelta(minutes=5)
    )
    assert breaker.failed("HTTP 503") is False and breaker.failed("HTTP 503") is False
    assert seen == [], "a counted failure is not a state change"
    assert breaker.failed("HTTP 503") is True
    assert [(e, o) for e, o, _ in seen] == [("breaker", "opened")] and "HTTP 503" in seen[0][2]
    with pytest.raises(CircuitOpen):
        breaker.check()
    clock.now += timedelta(minutes=6)
    breaker.check()
    breaker.check()
    assert [o for _, o, _ in seen] == ["opened", "closed"], "the expiry is noted once"
    breaker.trip("REQUEST_LIMIT_EXCEEDED")
    breaker.reset()
    assert [o for _, o, _ in seen] == ["opened", "closed", "opened", "closed"] and seen[-1][2] == "reset"


class Step(FlushesAuthEvents):
    """A step operator's shape without Airflow: the mixin wraps whatever ``execute`` a subclass defines."""

    def __init__(self, fail: bool) -> None:
        self.fail = fail

    def auth_events_destination(self) -> tuple[str, str | None]:
        return "audit_wh", "crm_accounts"

    def execute(self, context: Any) -> str:
        auth_audit.record("salesforce_default", "Salesforce", "login", "failure" if self.fail else "success", "soap")
        if self.fail:
            raise RuntimeError("Salesforce refused the soap login")
        return "done"


def test_events_are_written_when_execute_returns_and_when_it_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lumina_integration.cli import main
    from lumina_integration.warehouse.auth_events import read_auth_events
    from lumina_integration.warehouse.connection import warehouse_target

    monkeypatch.setenv(
        "AIRFLOW_CONN_AUDIT_WH", json.dumps({"conn_type": "duckdb", "host": str(tmp_path / "wh.duckdb")})
    )
    warehouse_target.cache_clear()
    assert Step(fail=False).execute({}) == "done"
    with pytest.raises(RuntimeError, match="refused"):
        Step(fail=True).execute({})
    rows = read_auth_events(warehouse_target("audit_wh"))
    assert [(r["outcome"], r["pipeline_id"]) for r in rows] == [
        ("failure", "crm_accounts"),
        ("success", "crm_accounts"),
    ]
    assert auth_audit.pending() == []

    auth_audit.record("servicenow_default", "ServiceNow", "breaker", "opened", "HTTP 503")
    Step.flush_auth_events(Step(fail=False))
    assert main(["auth-events", "--warehouse", "audit_wh", "--conn-id", "servicenow_default", "--since", "1h"]) == 0
    out = capsys.readouterr().out
    assert "breaker" in out and "opened" in out and "salesforce_default" not in out
    assert main(["auth-events", "--warehouse", "audit_wh", "--since", "2999-01-01"]) == 0
    assert "No authentication events." in capsys.readouterr().out
    warehouse_target.cache_clear()


def test_a_warehouse_that_cannot_take_the_rows_does_not_replace_the_tasks_outcome(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_AUDIT_WH", json.dumps({"conn_type": "http", "host": "nowhere"}))
    assert Step(fail=False).execute({}) == "done"
    with pytest.raises(RuntimeError, match="refused"):
        Step(fail=True).execute({})


def test_every_pipeline_step_operator_flushes() -> None:
    from lumina_integration.operators.extract import ExtractOperator
    from lumina_integration.operators.load import LoadOperator
    from lumina_integration.operators.plan import PlanOperator
    from lumina_integration.operators.transform import TransformOperator
    from lumina_integration.operators.validate import ValidateOperator
    from lumina_integration.operators.writeback import ReverseSyncOperator

    for operator in (
        PlanOperator,
        ExtractOperator,
        TransformOperator,
        ValidateOperator,
        LoadOperator,
        ReverseSyncOperator,
    ):
        assert getattr(operator.execute, "_flushes_auth_events", False), operator.__name__


def test_since_takes_durations_and_instants() -> None:
    from lumina_integration.cli import parse_since

    assert abs((datetime.now(UTC) - parse_since("24h")) - timedelta(hours=24)) < timedelta(seconds=5)
    assert parse_since("2026-01-31T00:00") == datetime(2026, 1, 31, tzinfo=UTC)
    assert parse_since("2026-01-31T00:00:00Z") == datetime(2026, 1, 31, tzinfo=UTC)
