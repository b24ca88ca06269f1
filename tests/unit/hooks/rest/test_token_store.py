"""Rotated refresh tokens: the stored value carries the fingerprint of the connection's token, is read before the
connection's own and ignored once the connection holds a fresh one; outside a task nothing can be stored, which is
audited. (Two real task runs carrying a rotated token: tests/integration/test_auth_events_pipelines.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lumina_integration import auth_audit
from lumina_integration.hooks.rest.token_store import (
    refresh_token_for,
    rotation_handler,
    stored_token,
    stored_value,
    variable_name,
)

CONN = "jira_rotating"


@pytest.fixture(autouse=True)
def _no_pending() -> Any:
    auth_audit.drain()
    yield
    auth_audit.drain()


def test_the_stored_token_wins_only_while_the_connection_holds_the_token_it_descends_from() -> None:
    from airflow.sdk.log import redact

    value = stored_value("rotated-2", "from-connection")
    assert "from-connection" not in value, "a fingerprint, not the connection's token"
    assert stored_token(CONN, value, "from-connection") == "rotated-2"
    assert stored_token(CONN, value, "pasted-fresh") is None, "an operator pasted a fresh token into the connection"
    assert stored_token(CONN, value, None) is None
    assert redact("rotated-2") == "***", "a token read back is registered with the log masker"


@pytest.mark.parametrize("raw", [None, "", "plain text", json.dumps({"refresh_token": "x"})])
def test_a_variable_that_is_not_a_stored_token_is_ignored(raw: str | None) -> None:
    assert stored_token(CONN, raw, "from-connection") is None


def test_the_name_is_one_airflow_treats_as_sensitive() -> None:
    from airflow.sdk._shared.secrets_masker import should_hide_value_for_key

    assert should_hide_value_for_key(variable_name(CONN))


def test_outside_a_task_the_rotation_is_audited_as_not_persisted(airflow_db: None) -> None:
    rotation_handler(CONN, "from-connection", auth_audit.AuthAuditor(CONN, "Jira"))("rotated-1")
    (event,) = auth_audit.drain()
    assert (event.event, event.outcome, event.detail) == (
        "token_rotated",
        "not_persisted",
        f"Variable {variable_name(CONN)}",
    )
    assert "rotated-1" not in event.detail
    assert refresh_token_for(CONN, "from-connection") == "from-connection"
