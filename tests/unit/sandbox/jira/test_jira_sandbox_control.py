"""The control API (key, clock, writes and their changelog, reset), the detached runner, the port setting and the
demo's scripted day."""

from __future__ import annotations

import json
import os
import socket
import stat
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import requests
from jira_sandbox_client import http_session, rest, search

from lumina_integration.environment import jira_port
from lumina_sandbox.jira import demo, runner
from lumina_sandbox.jira.connection import airflow_connection
from lumina_sandbox.jira.control import JiraControl, JiraControlError
from lumina_sandbox.jira.server import JiraServer


def test_control_key_required(server: JiraServer) -> None:
    wrong = JiraControl(server.base_url, "wrong", server.ca_path)
    with pytest.raises(JiraControlError) as refused:
        wrong.status()
    assert refused.value.status == 401
    assert server.control.status()["deployment"] == "cloud"


def test_clock_stamps_writes_changelog_and_date_header(server: JiraServer, jira: requests.Session) -> None:
    moved = server.control.advance(3600)
    made = server.control.create_issues([{"project": "ENG", "summary": "clocked", "priority": "Low"}])
    response = jira.get(rest(server, f"issue/{made[0]['key']}"), params={"expand": "changelog"})
    assert abs((parsedate_to_datetime(response.headers["Date"]) - moved).total_seconds()) < 5
    server.control.update_issues(
        [{"key": made[0]["key"], "priority": "High", "assignee": server.control.credentials()["account_id"]}]
    )
    issue = jira.get(rest(server, f"issue/{made[0]['key']}"), params={"expand": "changelog"}).json()
    items = {i["fieldId"]: i for i in issue["changelog"]["histories"][0]["items"]}
    assert items["priority"]["fromString"] == "Low" and items["priority"]["toString"] == "High"
    assert items["priority"]["from"] == "4" and items["priority"]["to"] == "2"
    assert items["assignee"]["toString"] == "Lumina Integration"
    silent = server.control.update_issues([{"key": made[0]["key"], "summary": "quiet fix"}], touch=False)
    assert silent == 1
    after = jira.get(rest(server, f"issue/{made[0]['key']}"), params={"expand": "changelog"}).json()
    assert after["fields"]["updated"] == issue["fields"]["updated"] and after["changelog"]["total"] == 1
    with pytest.raises(JiraControlError):
        server.control.create_issues([{"project": "ENG", "status": "Nonsense"}])


def test_comment_moves_the_issue_updated(server: JiraServer, jira: requests.Session) -> None:
    made = server.control.create_issues([{"project": "WEB", "summary": "commented"}])
    before = jira.get(rest(server, f"issue/{made[0]['key']}"), params={"fields": "updated"}).json()
    server.control.advance(120)
    server.control.add_comment(made[0]["key"], "later")
    after = jira.get(rest(server, f"issue/{made[0]['key']}"), params={"fields": "updated"}).json()
    assert after["fields"]["updated"] > before["fields"]["updated"]


def test_jira_port_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LUMINA_JIRA_PORT", raising=False)
    assert jira_port() == 9558
    monkeypatch.setenv("LUMINA_JIRA_PORT", "19558")
    assert jira_port() == 19558
    monkeypatch.setenv("LUMINA_JIRA_PORT", "no")
    with pytest.raises(ValueError):
        jira_port()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_detached_runner_start_reuse_stop_and_demo_day(tmp_path: Path) -> None:
    port = _free_port()
    state = runner.start(port, tmp_path, counts={"issues": 120}, timeout=120)
    try:
        directory = tmp_path / "jira"
        assert state["base_url"] == f"https://127.0.0.1:{port}" and state["counts"]["issues"] == 120
        for private in ("credentials.json", "control.key", "server.pem"):
            assert stat.S_IMODE(os.stat(directory / private).st_mode) == 0o600, private
        credentials = json.loads((directory / "credentials.json").read_text())
        assert credentials["base_url"] == state["base_url"]
        assert runner.start(port, tmp_path)["pid"] == state["pid"]  # idempotent
        control = JiraControl.from_state_dir(tmp_path)
        connection = airflow_connection(credentials, directory / credentials["ca_file"])
        session = requests.Session()
        session.trust_env = False
        session.verify = connection["extra"]["verify"]
        session.auth = (connection["login"], connection["password"])
        page = session.post(f"{connection['host']}/rest/api/3/search/jql", json={"jql": "project = ENG"})
        assert page.status_code == 200 and page.json()["issues"]
        done = demo.apply_changes(control, None)
        assert done is not None and done["deleted_issues"] == 8 and done["worklogs_deleted"] == 1
        assert demo.apply_changes(control, None) is None  # once per site
        assert len(control.deleted_ids("issues")) == 8
        assert runner.status(tmp_path) is not None
    finally:
        assert runner.stop(tmp_path)
    assert runner.status(tmp_path) is None


def test_reset_restores_generated_state(server: JiraServer, jira: requests.Session) -> None:
    control = server.control
    control.generate(5)
    control.set_rate_limit(100)
    control.reset()
    assert control.status()["counts"]["issues"] == control.status()["generated"]["issues"]
    page = search(jira, server, jql="project = ENG", maxResults=1)
    assert page["issues"]
    response = http_session(server).get(rest(server, "serverInfo"))
    assert "X-RateLimit-Limit" not in response.headers
