"""DAG access by domain through a real api-server with the FAB auth manager.

A fresh Airflow home (SQLite), ``airflow db migrate``, the pipeline roles (``access_roles``), users made
with the FAB CLI, the DAGs serialized by ``airflow dags reserialize`` (which syncs their ``access_control``
into per-DAG permissions, as the dag-processor does), then ``airflow api-server`` on a free loopback port:
each user's token from ``/auth/token`` lists exactly its domain's DAGs in ``/api/v2/dags``, and reading or
triggering outside it is 403. About 60 s on 2 cores.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.integration

FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
BIN = Path(sys.executable).parent
USERS = {  # user -> role (one role each: a domain role carries the base permissions too)
    "crm_analyst": "lumina_crm_viewer",
    "itsm_operator": "lumina_itsm_operator",
    "platform_admin": "Admin",
}


@dataclass
class Api:
    base_url: str
    passwords: dict[str, str]
    env: dict[str, str]
    home: Path

    def token(self, user: str, password: str | None = None) -> requests.Response:
        body = {"username": user, "password": password or self.passwords[user]}
        return requests.post(f"{self.base_url}/auth/token", json=body, timeout=30)

    def session(self, user: str) -> requests.Session:
        answer = self.token(user)
        assert answer.status_code in (200, 201), answer.text
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        return session

    def dags(self, user: str) -> dict[str, list[str]]:
        """dag_id -> tags of every DAG the user may list."""
        answer = self.session(user).get(f"{self.base_url}/api/v2/dags", params={"limit": 1000}, timeout=30)
        assert answer.status_code == 200, answer.text
        return {d["dag_id"]: [t["name"] for t in d["tags"]] for d in answer.json()["dags"]}

    def trigger(self, user: str, dag_id: str) -> int:
        answer = self.session(user).post(
            f"{self.base_url}/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None}, timeout=30
        )
        return answer.status_code


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(args: list[str], env: dict[str, str], home: Path) -> None:
    done = subprocess.run(args, env=env, cwd=home, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"{' '.join(args[:3])} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    home = tmp_path_factory.mktemp("fab_home")
    port = _free_port()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__AUTH_MANAGER": FAB_AUTH_MANAGER,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
    }
    _run([str(BIN / "airflow"), "db", "migrate"], env, home)
    roles = [sys.executable, "-m", "lumina_integration.protection.access_roles"]
    missing = subprocess.run([*roles, "--check"], env=env, cwd=home, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "lumina_crm_viewer" in missing.stdout, missing.stdout + missing.stderr
    _run(roles, env, home)
    _run([*roles, "--check"], env, home)
    passwords = {user: secrets.token_urlsafe(18) for user in USERS}
    for user, role in USERS.items():
        _run(
            [
                str(BIN / "airflow"),
                "users",
                "create",
                "--username",
                user,
                "--role",
                role,
                "--firstname",
                user,
                "--lastname",
                "test",
                "--email",
                f"{user}@example.invalid",
                "--password",
                passwords[user],
            ],
            env,
            home,
        )
    _run([str(BIN / "airflow"), "dags", "reserialize"], env, home)
    log = (home / "api-server.log").open("w")
    server = subprocess.Popen(
        [str(BIN / "airflow"), "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--apps", "core"],
        env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, (home / "api-server.log").read_text()[-3000:]
            try:
                if requests.get(f"{base_url}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "api-server not up in 90 s"
            time.sleep(0.5)
        yield Api(base_url, passwords, env, home)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def _domain(tags: list[str]) -> str | None:
    return next((t.removeprefix("domain:") for t in tags if t.startswith("domain:")), None)


@pytest.fixture(scope="module")
def all_dags(api: Api) -> dict[str, list[str]]:
    found = api.dags("platform_admin")
    assert len(found) > 20
    return found


def test_each_user_lists_exactly_its_domains_dags(api: Api, all_dags: dict[str, Any]) -> None:
    for user, domain in (("crm_analyst", "crm"), ("itsm_operator", "itsm")):
        expected = {d for d, tags in all_dags.items() if _domain(tags) == domain}
        assert len(expected) >= 5 and len(expected) < len(all_dags)
        assert set(api.dags(user)) == expected, user
    # The hand-written DAG in dags/crm/ gets its folder's roles too.
    assert "salesforce_writeback_legacy_accounts" in api.dags("crm_analyst")


def test_reading_or_triggering_outside_the_domain_is_refused(api: Api) -> None:
    analyst = api.session("crm_analyst")
    assert analyst.get(f"{api.base_url}/api/v2/dags/salesforce_account", timeout=30).status_code == 200
    assert analyst.get(f"{api.base_url}/api/v2/dags/servicenow_incident", timeout=30).status_code == 403
    assert api.trigger("itsm_operator", "servicenow_incident") == 200
    assert api.trigger("itsm_operator", "salesforce_account") == 403
    # A viewer reads its domain's DAGs but does not run them.
    assert api.trigger("crm_analyst", "salesforce_account") == 403
    assert api.trigger("crm_analyst", "servicenow_incident") == 403


def test_no_token_or_a_wrong_password_gets_nothing(api: Api) -> None:
    assert requests.get(f"{api.base_url}/api/v2/dags", timeout=30).status_code == 401
    assert api.token("crm_analyst", "not-" + api.passwords["crm_analyst"]).status_code == 401


def test_make_uis_users_script_writes_private_passwords_that_log_in(api: Api) -> None:
    """scripts/ui_users.py (what `make ui` runs): roles, users, passwords in a 0600 file, reused on a rerun."""
    import json
    import stat

    state = api.home / "state"
    state.mkdir()
    env = {**api.env, "LUMINA_STATE_DIR": str(state)}
    script = [sys.executable, str(Path(__file__).resolve().parents[2] / "scripts" / "ui_users.py")]
    _run(script, env, api.home)
    written = state / "ui_users.json"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    passwords = json.loads(written.read_text())
    assert set(passwords) == {"admin", "crm_analyst", "itsm_operator"}
    # crm_analyst existed with a password the file did not hold: it got a new one, which logs in.
    assert passwords["crm_analyst"] != api.passwords["crm_analyst"]
    api.passwords.update(passwords)
    assert set(api.dags("crm_analyst")) and all("domain:crm" in tags for tags in api.dags("crm_analyst").values())
    assert api.trigger("itsm_operator", "servicenow_incident") == 200
    _run(script, env, api.home)
    assert json.loads(written.read_text()) == passwords  # a second `make ui` keeps them
