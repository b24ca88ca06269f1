"""Failure alerts through the Slack provider's webhook hook, to a real HTTP stand-in for Slack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from lumina_integration.alerts import MAX_ERROR_CHARS, FailureAlert, failure_message
from lumina_sandbox.slack_webhook import WebhookSink


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    server = WebhookSink().start()
    yield server
    server.stop()


def _context(error: BaseException | None = None) -> dict[str, Any]:
    ti = SimpleNamespace(
        dag_id="salesforce_account",
        task_id="plan",
        run_id="manual__2026-11-26T10:00:00+00:00",
        try_number=3,
        log_url="http://airflow.example/log",
    )
    return {"ti": ti, "exception": error}


def test_a_failure_is_posted_to_the_webhook(sink: WebhookSink, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TEAM_ALERTS", json.dumps(sink.connection()))
    error = RuntimeError("the circuit breaker of connection 'salesforce_default' is open")

    FailureAlert(slack_webhook_conn_id="team_alerts")(_context(error))

    [message] = sink.messages()
    assert message["text"] == (
        "Lumina: salesforce_account.plan failed (run manual__2026-11-26T10:00:00+00:00, try 3).\n"
        "RuntimeError: the circuit breaker of connection 'salesforce_default' is open\n"
        "Log: http://airflow.example/log"
    )


def test_a_missing_connection_is_logged_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    # Airflow's structlog setup writes task-side logs to stdout.
    FailureAlert(slack_webhook_conn_id="no_such_alerts_conn")(_context(RuntimeError("boom")))

    assert "'no_such_alerts_conn' (Slack incoming webhook) is not defined" in capsys.readouterr().out


def test_a_webhook_refusing_the_message_raises(sink: WebhookSink, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong token must not pass silently: Airflow logs a callback's exception in the task log."""
    wrong = {**sink.connection(), "password": "T0/B0/wrong"}
    monkeypatch.setenv("AIRFLOW_CONN_TEAM_ALERTS", json.dumps(wrong))

    with pytest.raises(Exception, match="404"):
        FailureAlert(slack_webhook_conn_id="team_alerts")(_context(RuntimeError("boom")))
    assert sink.messages() == []


def test_the_error_is_clipped() -> None:
    text = failure_message(_context(ValueError("x" * 2000)))

    error_line = text.splitlines()[1]
    assert len(error_line) == MAX_ERROR_CHARS and error_line.endswith("...")


def test_no_error_no_log_url() -> None:
    ti = SimpleNamespace(dag_id="d", task_id="t", run_id="r", try_number=1)

    assert failure_message({"ti": ti}) == "Lumina: d.t failed (run r, try 1)."


def test_slack_control_characters_in_the_error_are_escaped() -> None:
    text = failure_message(_context(ValueError("<!channel> a & b > c")))

    assert text.splitlines()[1] == "ValueError: &lt;!channel&gt; a &amp; b &gt; c"
