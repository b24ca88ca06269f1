"""HANA logins are authentication events: the first successful connect of a hook, and every refused login."""

from __future__ import annotations

from typing import Any

import pytest
from fake_dbapi import Error as fake_error
from fake_dbapi import FakeDatabase
from test_hdbcli_boundary import _hook, db  # noqa: F401 - the fixture

from lumina_integration import auth_audit
from lumina_integration.hooks.hana.errors import HanaAuthenticationError


@pytest.fixture(autouse=True)
def _no_pending() -> Any:
    auth_audit.drain()
    yield
    auth_audit.drain()


def test_a_refused_login_is_a_failure_event_without_the_password(
    monkeypatch: pytest.MonkeyPatch,
    db: FakeDatabase,  # noqa: F811
) -> None:
    db.refuse = fake_error(10, "authentication failed for user LUMINA_READER with s3cret-pass")
    hook = _hook(monkeypatch)
    with pytest.raises(HanaAuthenticationError):
        hook.server_now()
    (event,) = auth_audit.drain("sap_kna1")
    assert (event.system, event.event, event.outcome) == ("SAP HANA", "login", "failure")
    assert event.conn_id == hook.settings.conn_id and event.pipeline_id == "sap_kna1"
    assert event.detail == "hdbcli error 10: authentication failed" and "s3cret" not in event.detail


def test_the_first_connect_of_a_hook_is_one_login_event(
    monkeypatch: pytest.MonkeyPatch,
    db: FakeDatabase,  # noqa: F811
) -> None:
    hook = _hook(monkeypatch)
    hook.server_now()
    hook.server_now()
    assert len(db.connects) == 2
    events = auth_audit.drain()
    assert [(e.event, e.outcome) for e in events] == [("login", "success")]
