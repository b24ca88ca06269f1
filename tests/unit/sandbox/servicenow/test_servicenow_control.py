"""The control API (key, clock, data verbs, settings, request counts) and the detached runner."""

from __future__ import annotations

import json
import os
import socket
import stat
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import requests
from snow_client import http_session, rows, table_url

from lumina_integration.environment import servicenow_port
from lumina_sandbox.servicenow import runner
from lumina_sandbox.servicenow.control import ServiceNowControl, ServiceNowControlError
from lumina_sandbox.servicenow.server import ServiceNowServer


def test_control_key_required(server: ServiceNowServer) -> None:
    session = http_session(server)
    missing = session.get(f"{server.base_url}/_sandbox/status")
    assert missing.status_code == 401 and missing.json()["error"]["message"] == "INVALID_CONTROL_KEY"
    wrong = ServiceNowControl(server.base_url, "wrong", server.ca_path)
    with pytest.raises(ServiceNowControlError) as refused:
        wrong.status()
    assert refused.value.status == 401


def test_clock_stamps_writes_and_the_date_header(server: ServiceNowServer, snow: requests.Session) -> None:
    control = server.control
    moment = datetime(2030, 6, 1, 12, 0, 0, tzinfo=UTC)
    assert control.set_time(moment) >= moment
    [sys_id] = control.create("incident", [{"short_description": "clocked"}])
    record = snow.get(table_url(server, "incident", sys_id)).json()["result"]
    assert record["sys_created_on"].startswith("2030-06-01 12:00")
    response = snow.get(table_url(server, "incident"), params={"sysparm_limit": "1"})
    assert abs((parsedate_to_datetime(response.headers["Date"]) - moment).total_seconds()) < 60
    same_second = datetime(2030, 6, 1, 12, 30, 0, tzinfo=UTC)
    control.update("incident", [{"sys_id": sys_id, "state": "2"}], stamp=same_second)
    control.update("incident", [{"sys_id": sys_id, "urgency": "1"}], stamp=same_second)
    after = control.truth("incident", ["sys_id", "sys_updated_on", "sys_mod_count", "state"])
    mine = next(r for r in after if r["sys_id"] == sys_id)
    assert mine == {"sys_id": sys_id, "sys_updated_on": "2030-06-01 12:30:00", "sys_mod_count": "2", "state": "2"}
    control.update("incident", [{"sys_id": sys_id, "state": "3"}], touch=False)
    assert (
        next(r for r in control.truth("incident", ["sys_id", "sys_updated_on"]) if r["sys_id"] == sys_id)[
            "sys_updated_on"
        ]
        == "2030-06-01 12:30:00"
    )


def test_generate_truth_ids_counts_and_refusals(server: ServiceNowServer, snow: requests.Session) -> None:
    control = server.control
    before = control.count("core_company")
    assert control.generate("core_company", 7) == 7
    assert control.count("core_company") == before + 7 == len(control.ids("core_company"))
    assert {r["sys_id"] for r in control.truth("core_company")} == control.ids("core_company")
    with pytest.raises(ServiceNowControlError) as unknown_field:
        control.create("incident", [{"no_such_field": "x"}])
    assert unknown_field.value.status == 400
    with pytest.raises(ServiceNowControlError):
        control.settings(no_such_setting=1)
    control.reset_request_counts()
    snow.get(table_url(server, "incident"), params={"sysparm_limit": "1"})
    snow.get(f"{server.base_url}/api/now/stats/incident")
    counts = control.request_counts()
    assert counts["table"] == 1 and counts["stats"] == 1


def test_servicenow_port_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LUMINA_SERVICENOW_PORT", raising=False)
    assert servicenow_port() == 9557
    monkeypatch.setenv("LUMINA_SERVICENOW_PORT", "19557")
    assert servicenow_port() == 19557
    monkeypatch.setenv("LUMINA_SERVICENOW_PORT", "no")
    with pytest.raises(ValueError):
        servicenow_port()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_detached_runner_start_reuse_stop(tmp_path: Path) -> None:
    port = _free_port()
    state = runner.start(port, tmp_path, counts={"incident": 30, "sc_req_item": 0, "change_request": 0}, timeout=120)
    try:
        directory = tmp_path / "servicenow"
        assert state["base_url"] == f"https://127.0.0.1:{port}" and state["counts"]["incident"] == 30
        for private in ("credentials.json", "control.key", "server.pem", "client.pem"):
            assert stat.S_IMODE(os.stat(directory / private).st_mode) == 0o600, private
        credentials = json.loads((directory / "credentials.json").read_text())
        assert credentials["instance_url"] == state["base_url"]
        assert runner.start(port, tmp_path)["pid"] == state["pid"]  # idempotent
        control = ServiceNowControl.from_state_dir(tmp_path)
        assert control.count("incident") == 30
        session = requests.Session()
        session.trust_env = False
        session.verify = str(directory / credentials["ca_file"])
        session.auth = (credentials["username"], credentials["password"])
        page = session.get(f"{credentials['instance_url']}/api/now/table/incident", params={"sysparm_limit": "5"})
        assert page.status_code == 200 and page.headers["X-Total-Count"] == "30"
        assert runner.status(tmp_path) is not None
    finally:
        assert runner.stop(tmp_path)
    assert runner.status(tmp_path) is None


def test_reset_restores_generated_state(server: ServiceNowServer, snow: requests.Session) -> None:
    control = server.control
    control.generate("sys_user", 3)
    control.set_rate_limit(100)
    control.reset()
    generated = control.status()["generated"]
    assert control.count("sys_user") == generated["sys_user"] + 1  # plus the integration user
    assert "X-RateLimit-Limit" not in snow.get(table_url(server, "sys_user"), params={"sysparm_limit": "1"}).headers
    assert len(rows(snow, server, "incident", sysparm_fields="sys_id")) == generated["incident"]


def test_demo_day_of_changes_applies_once(server: ServiceNowServer, snow: requests.Session) -> None:
    from lumina_sandbox.servicenow import demo

    control = server.control
    before = control.now()
    done = demo.apply_changes(control, before)
    assert done is not None and done["created"] == 25 and done["audited_deletes"] == 10
    assert done["unaudited_deletes"] == 5
    audits = rows(snow, server, "sys_audit_delete", sysparm_fields="tablename")
    assert [a["tablename"] for a in audits].count("incident") >= 10
    assert all(a["tablename"] != "sys_user" for a in audits)
    late = f"{before - timedelta(seconds=30):%Y-%m-%d %H:%M:%S}"
    tied = rows(snow, server, "incident", sysparm_query=f"sys_updated_on={late}^state=2", sysparm_fields="sys_id")
    assert len(tied) >= 40  # one second, forty records
    assert demo.apply_changes(control, before) is None
    conn = demo.sandbox_connection({**control.credentials()}, server.ca_path, auth="oauth_client_credentials")
    assert conn["conn_type"] == "servicenow" and conn["login"] is None and conn["extra"]["client_id"]
