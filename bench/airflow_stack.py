"""Airflow as a deployment runs it, for the benchmarks: scheduler (LocalExecutor), dag-processor and api-server.

Each component is a process of its own in one new session (``stop()`` ends them all), on free loopback ports,
with the throwaway Airflow home of the benchmark. Runs are triggered through the REST API as a user or a
service would, and their timings are read back from the metadata DB (``task_instance``, ``dag_run``).
The API runs with the SimpleAuthManager's ``all_admins`` switch: a token without a password, which is
fine on loopback for a benchmark and is never how ``make ui`` or a deployment runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import free_port

COMPONENTS = ("scheduler", "dag-processor", "api-server")
FINISHED = ("success", "failed")


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class AirflowStack:
    """The components over ``env``'s Airflow home; ``parallelism`` task slots (the Makefile's 4)."""

    def __init__(
        self, env: dict[str, str], logs: Path, parallelism: int = 4, settings: dict[str, str] | None = None
    ) -> None:
        self.logs = logs
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **env,
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            # New and changed spec files are seen within seconds, not the default 5 minutes.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            **(settings or {}),
        }
        self.database = Path(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))
        self.processes: list[subprocess.Popen[bytes]] = []
        self.session: Any = None

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self, timeout: float = 180) -> None:
        airflow = str(Path(sys.executable).parent / "airflow")
        for component in COMPONENTS:
            out = (self.logs / f"airflow-{component}.log").open("wb")
            command = [airflow, component] + (["--port", str(self.port)] if component == "api-server" else [])
            # A session (process group) each: stop() signals the groups, so no LocalExecutor worker outlives us.
            self.processes.append(
                subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
            )
        self._wait_healthy(timeout)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # whatever is left in the group (workers, task processes)
        self.processes = []

    def _wait_healthy(self, timeout: float) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process, component in zip(self.processes, COMPONENTS, strict=True):
                if process.poll() is not None:
                    tail = (self.logs / f"airflow-{component}.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"airflow {component} exited ({process.returncode}):\n{tail}")
            try:
                health = requests.get(f"{self.base}/api/v2/monitor/health", timeout=5).json()
                if health["scheduler"]["status"] == "healthy" and health["dag_processor"]["status"] == "healthy":
                    break
            except (requests.RequestException, KeyError, ValueError):
                pass
            time.sleep(1)
        else:
            raise RuntimeError(f"Airflow did not become healthy within {timeout:.0f} s (logs in {self.logs})")
        self.session = requests.Session()
        token = self.session.get(f"{self.base}/auth/token", timeout=30).json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"

    # -- API ------------------------------------------------------------------------------------------------

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.session.request(method, f"{self.base}/api/v2/{path}", json=body, timeout=60)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} /api/v2/{path}: {response.status_code} {response.text[:500]}")
        return response.json()

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 300) -> None:
        """Until the dag-processor has parsed every one of ``dag_ids`` into the metadata DB."""
        deadline = time.monotonic() + timeout
        missing = list(dag_ids)
        while missing and time.monotonic() < deadline:
            missing = [
                d for d in missing if self.session.get(f"{self.base}/api/v2/dags/{d}", timeout=30).status_code != 200
            ]
            if missing:
                time.sleep(1)
        if missing:
            raise RuntimeError(f"DAGs not parsed within {timeout:.0f} s: {missing} (see airflow-dag-processor.log)")

    def create_pools(self, settings: Path) -> list[str]:
        """The pools of ``airflow_settings.yaml`` (tasks of a pool that does not exist are never scheduled)."""
        import yaml

        pools = yaml.safe_load(settings.read_text())["airflow"]["pools"]
        for pool in pools:
            body = {"name": pool["pool_name"], "slots": pool["pool_slot"], "description": pool.get("pool_description")}
            self.api("POST", "pools", body)
        return [str(pool["pool_name"]) for pool in pools]

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str) -> str:
        run = self.api("POST", f"dags/{dag_id}/dagRuns", {"logical_date": None})
        return str(run["dag_run_id"])

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self.api("GET", f"dags/{dag_id}/dagRuns?limit=100")["dag_runs"])

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 1800, poll: float = 0.5) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = str(self.api("GET", f"dags/{dag_id}/dagRuns/{run_id}")["state"])
            if state in FINISHED:
                return state
            time.sleep(poll)
        raise RuntimeError(f"{dag_id} {run_id} did not finish within {timeout:.0f} s")

    # -- timings from the metadata DB ------------------------------------------------------------------------

    def timings(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """The run's and each task's queued, start and end instants (UTC) from the metadata DB."""
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as db:
            run = db.execute(
                "SELECT queued_at, start_date, end_date, state FROM dag_run WHERE dag_id = ? AND run_id = ?",
                (dag_id, run_id),
            ).fetchone()
            tasks = db.execute(
                "SELECT task_id, queued_dttm, start_date, end_date, state, try_number, pid FROM task_instance "
                "WHERE dag_id = ? AND run_id = ? ORDER BY start_date",
                (dag_id, run_id),
            ).fetchall()
        return {
            "run": {
                "queued": _parse_time(run[0]),
                "start": _parse_time(run[1]),
                "end": _parse_time(run[2]),
                "state": run[3],
            },
            "tasks": {
                t[0]: {
                    "queued": _parse_time(t[1]),
                    "start": _parse_time(t[2]),
                    "end": _parse_time(t[3]),
                    "state": t[4],
                    "try_number": t[5],
                    "pid": t[6],
                }
                for t in tasks
            },
        }

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> Path:
        home = Path(self.env["AIRFLOW_HOME"])
        return (
            home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}" / f"attempt={try_number}.log"
        )
