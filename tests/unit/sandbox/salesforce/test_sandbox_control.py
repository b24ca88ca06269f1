"""The control API (key required), its Python client, and the detached start/stop/status of the sandbox."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sandbox_client import http_session

from lumina_sandbox.salesforce import runner
from lumina_sandbox.salesforce.control import SandboxControl, SandboxControlError
from lumina_sandbox.salesforce.server import SandboxServer


def test_control_api_needs_the_key(server: SandboxServer) -> None:
    session = http_session(server)
    missing = session.get(f"{server.base_url}/_sandbox/status")
    assert missing.status_code == 401 and missing.json()[0]["errorCode"] == "INVALID_CONTROL_KEY"
    wrong = session.get(f"{server.base_url}/_sandbox/status", headers={"X-Sandbox-Control-Key": "guess"})
    assert wrong.status_code == 401
    with pytest.raises(SandboxControlError) as refused:
        SandboxControl(server.base_url, "guess", server.ca_path).request_counts()
    assert refused.value.status == 401
    assert server.control.status()["base_url"] == server.base_url


def test_control_client_mirrors_the_org(server: SandboxServer) -> None:
    control = server.control
    before = control.now()
    stamp = before - timedelta(hours=3)
    ids = control.create(
        "Opportunity", [{"Name": "Ctl", "StageName": "Closed Won", "CloseDate": "2026-01-31"}] * 2, modstamp=stamp
    )
    truth = {r["Id"]: r for r in control.truth("Opportunity", ["Id", "IsWon", "Probability", "SystemModstamp"])}
    assert all(truth[i]["IsWon"] is True and truth[i]["Probability"] == 100.0 for i in ids)
    assert truth[ids[0]]["SystemModstamp"] == truth[ids[1]]["SystemModstamp"]

    control.update("Opportunity", [{"Id": ids[0], "Name": "Quiet"}], touch=False)
    after = {r["Id"]: r for r in control.truth("Opportunity", ["Id", "Name", "SystemModstamp"])}
    assert after[ids[0]]["Name"] == "Quiet" and after[ids[0]]["SystemModstamp"] == truth[ids[0]]["SystemModstamp"]

    control.delete("Opportunity", [ids[0]])
    assert ids[0] not in control.ids("Opportunity") and ids[0] in control.ids("Opportunity", include_deleted=True)
    control.undelete("Opportunity", [ids[0]])
    assert ids[0] in control.ids("Opportunity")
    assert control.purge("Opportunity", [ids[1]]) == 1
    assert ids[1] not in control.ids("Opportunity", include_deleted=True)

    moved = control.advance(3600)
    assert moved - before >= timedelta(minutes=59)
    control.add_fault("limits", "status", status=503)
    assert control.faults()[0]["category"] == "limits"
    control.clear_faults()
    assert control.faults() == []
    control.reset_request_counts()
    control.credentials()
    assert control.request_counts() == {"control": 2}  # the credentials call and this one
    with pytest.raises(SandboxControlError):
        control.add_fault("nowhere")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_detached_start_is_idempotent_and_stop_ends_it(tmp_path: Path) -> None:
    port = _free_port()
    command = [sys.executable, "-m", "lumina_sandbox.salesforce"]
    common = ["--port", str(port), "--state-dir", str(tmp_path)]
    scale = ["--scale", "Account=30", "--scale", "Contact=10", "--wide-fields", "10"]
    started = subprocess.run([*command, "start", *common, *scale], capture_output=True, text=True, timeout=120)
    try:
        assert started.returncode == 0, started.stderr
        assert started.stdout.strip() == f"https://127.0.0.1:{port}"
        directory = tmp_path / "salesforce"
        first_pid = json.loads((directory / "server.json").read_text())["pid"]
        again = subprocess.run([*command, "start", *common], capture_output=True, text=True, timeout=60)
        assert again.returncode == 0 and json.loads((directory / "server.json").read_text())["pid"] == first_pid
        for private in ("credentials.json", "control.key"):
            assert stat.S_IMODE(os.stat(directory / private).st_mode) == 0o600
        credentials = json.loads((directory / "credentials.json").read_text())
        assert credentials["instance_url"] == started.stdout.strip()
        token = requests.post(
            f"{credentials['instance_url']}/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": credentials["client_id"],
                "client_secret": credentials["client_secret"],
            },
            verify=str(directory / credentials["ca_file"]),
            timeout=30,
        )
        assert token.status_code == 200
        control = SandboxControl.from_state_dir(tmp_path)
        assert len(control.ids("Account", include_deleted=True)) == 30
        status = subprocess.run([*command, "status", *common], capture_output=True, text=True, timeout=60)
        assert status.stdout.startswith(f"running at https://127.0.0.1:{port}")
    finally:
        stopped = subprocess.run([*command, "stop", *common], capture_output=True, text=True, timeout=60)
    assert stopped.stdout.strip() == "stopped"
    assert runner.status(tmp_path) is None
    assert not runner.is_listening(port)
    after = subprocess.run([*command, "status", *common], capture_output=True, text=True, timeout=60)
    assert after.stdout.strip() == "not running"
