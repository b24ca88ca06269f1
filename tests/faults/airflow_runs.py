"""Real DAG runs with any run type, each task in this process or in a worker process of its own.

``dag.test()`` creates only manual runs and runs every task inside the test process, so a task cannot
be killed without killing the test. :class:`AirflowRun` keeps ``dag.test()``'s minimal scheduling loop
(``DagRun.update_state`` decides what is runnable, tasks run through Airflow's in-process execution
API) but creates the run with the run type and data interval asked for (scheduled, backfill, manual)
and can run a task in a worker process (``task_process.py``). When that process dies by SIGKILL the
driver does what the scheduler does for a task whose worker vanished: ``handle_failure``, which puts
the task instance up for retry (or fails it once its retries are spent). The retry runs when its
retry delay has passed; the driver moves the failed attempt's end back by that delay instead of
sleeping through it. Same DAG run, same run id, so the same run key, staged keys and checkpoints.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("task_process.py")
WAIT_LIMIT_S = 300.0


def sync_dags(bag: Any) -> None:
    """Serialize the DAGs folder into the metadata DB (what ``dag.test()`` does first)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        found = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        sync_bag_to_db(found, bundle.name, bundle.version)


@dataclass
class Killed:
    """One worker process that died by a signal."""

    task_id: str
    try_number: int
    signal: int


@dataclass
class AirflowRun:
    """One DAG run in the metadata DB, driven step by step.

    Args:
        dag: the DAG as parsed from the DAGs folder.
        run_type: ``scheduled``, ``backfill`` or ``manual``.
        interval: the data interval (scheduled and backfill runs).
        conf: the run's conf (a manual run's ``window_start``/``window_end``, as the trigger form sends them).
    """

    dag: Any
    run_type: str = "manual"
    interval: tuple[datetime, datetime] | None = None
    conf: dict[str, Any] | None = None
    run_id: str = ""
    killed: list[Killed] = field(default_factory=list)

    def __post_init__(self) -> None:
        from airflow import settings
        from airflow.models.dagrun import DagRun
        from airflow.serialization.serialized_objects import DagSerialization
        from airflow.utils.state import DagRunState
        from airflow.utils.types import DagRunTriggeredByType, DagRunType

        self.session = settings.Session()
        self.scheduler_dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(self.dag))
        now = datetime.now(UTC)
        kind = {"scheduled": DagRunType.SCHEDULED, "backfill": DagRunType.BACKFILL_JOB}.get(
            self.run_type, DagRunType.MANUAL
        )
        logical_date = self.interval[0] if self.interval else now
        interval = self.interval or (now, now)
        run_after = interval[1]
        self.run_id = DagRun.generate_run_id(run_type=kind, logical_date=logical_date, run_after=run_after)
        self.dag_run = self.scheduler_dag.create_dagrun(
            run_id=self.run_id,
            logical_date=logical_date,
            data_interval=interval,
            run_after=run_after,
            conf=self.conf,
            run_type=kind,
            triggered_by=DagRunTriggeredByType.TEST,
            state=DagRunState.RUNNING,
            start_date=now,
            session=self.session,
        )
        self.session.commit()

    # -- scheduling ---------------------------------------------------------------------------------
    def _reload(self) -> None:
        """Fresh copies from the metadata DB (an inline task closes the thread's session)."""
        from airflow import settings
        from airflow.models.dagrun import DagRun
        from sqlalchemy import select

        self.session = settings.Session()
        self.session.expire_all()
        self.dag_run = self.session.scalars(
            select(DagRun).where(DagRun.dag_id == self.dag.dag_id, DagRun.run_id == self.run_id)
        ).one()
        self.dag_run.dag = self.scheduler_dag

    @property
    def state(self) -> str:
        self._reload()
        return str(self.dag_run.state)

    def next_task(self) -> Any | None:
        """The next task instance to run (scheduled, try number counted), or None when the run is over."""
        from airflow.utils.state import DagRunState, TaskInstanceState

        seen: dict[str, str] = {}
        while True:
            self._reload()
            if self.dag_run.state != DagRunState.RUNNING:
                return None
            runnable, _ = self.dag_run.update_state(session=self.session)
            for ti in runnable:
                ti.try_number += 1
                ti.state = TaskInstanceState.SCHEDULED
                ti.scheduled_dttm = datetime.now(UTC)
            self.session.commit()
            tis = self.dag_run.get_task_instances(session=self.session)
            scheduled = [ti for ti in tis if ti.state == TaskInstanceState.SCHEDULED]
            if scheduled:
                return scheduled[0]
            waiting = [ti for ti in tis if ti.state == TaskInstanceState.UP_FOR_RETRY]
            if not waiting:
                if self.dag_run.state != DagRunState.RUNNING:
                    return None
                # update_state marks one layer of downstream tasks upstream_failed per pass.
                states = {ti.task_id: str(ti.state) for ti in tis}
                if states == seen:
                    raise RuntimeError(f"{self.run_id}: nothing runnable: {states}")
                seen = states
                continue
            # The retry delay passes: move the failed attempts' end back instead of sleeping.
            for ti in waiting:
                ti.end_date = datetime.now(UTC) - timedelta(days=1)
            self.session.commit()

    def states(self) -> dict[str, str]:
        self._reload()
        return {ti.task_id: str(ti.state) for ti in self.dag_run.get_task_instances(session=self.session)}

    def task_instance(self, task_id: str) -> Any:
        self._reload()
        return self.dag_run.get_task_instance(task_id, session=self.session)

    # -- running tasks --------------------------------------------------------------------------------
    def run_inline(self, ti: Any) -> None:
        """Run the task in this process, as ``dag.test()`` does."""
        from airflow.sdk.definitions.dag import _run_task

        # dag.test() logs and goes on: the task instance holds the outcome.
        with contextlib.suppress(Exception):
            _run_task(ti=ti, task=self.dag.task_dict[ti.task_id])

    def start_worker(self, ti: Any, failpoint: str | None = None) -> subprocess.Popen[bytes]:
        """Run the task in a new worker process (``failpoint``: ``LUMINA_FAILPOINT`` for that process)."""
        env = dict(os.environ)
        env.pop("LUMINA_FAILPOINT", None)
        if failpoint:
            env["LUMINA_FAILPOINT"] = failpoint
        self.session.commit()
        # The worker's own log (Airflow's task log goes to its stdout under the in-process runner).
        name = f"lumina-fault-worker-{os.getpid()}-{self.run_type}-{ti.task_id}-{ti.try_number}.log"
        log = Path(tempfile.gettempdir()) / name
        with log.open("wb") as sink:
            return subprocess.Popen(
                [sys.executable, str(WORKER), self.dag.dag_id, self.run_id, ti.task_id],
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def finish_worker(self, task_id: str, process: subprocess.Popen[bytes]) -> int:
        """Wait for the worker; a worker killed by a signal fails its attempt as a lost worker would."""
        code = process.wait(timeout=WAIT_LIMIT_S)
        if code < 0:
            ti = self.task_instance(task_id)
            self.killed.append(Killed(task_id, ti.try_number, -code))
            ti.task = self.scheduler_dag.get_task(task_id)
            ti.handle_failure(f"worker process killed by signal {signal.Signals(-code).name}", session=self.session)
            self.session.commit()
        return code

    def run_worker(self, ti: Any, failpoint: str | None = None) -> int:
        return self.finish_worker(ti.task_id, self.start_worker(ti, failpoint))

    def drive(self, workers: dict[str, str | None] | None = None, *, until: str | None = None) -> str:
        """Run tasks until the run ends (or until task ``until`` is next); returns the run's state.

        ``workers`` maps task ids whose first attempt runs in a worker process to that process's failpoint.
        """
        workers = dict(workers or {})
        while (ti := self.next_task()) is not None:
            if ti.task_id == until:
                return self.state
            if ti.task_id in workers:
                # A new worker process; its retries run here, without the failpoint.
                self.run_worker(ti, workers.pop(ti.task_id))
            else:
                self.run_inline(ti)
        return self.state

    def clear(self) -> None:
        """Clear every task instance and run the DAG run again (the UI's "Clear" on the whole run)."""
        from airflow.models.taskinstance import clear_task_instances
        from airflow.utils.state import DagRunState

        self._reload()
        clear_task_instances(self.dag_run.get_task_instances(session=self.session), self.session)
        self.dag_run.state = DagRunState.RUNNING
        self.session.commit()

    def xcom(self, task_id: str) -> Any:
        return self.task_instance(task_id).xcom_pull(task_ids=task_id)

    def close(self) -> None:
        self.session.close()


def close_breaker(conn_id: str = "salesforce_default") -> None:
    """Delete the connection's circuit breaker Variable, as an operator would in the UI."""
    from airflow.models import Variable

    Variable.delete(f"lumina_breaker__{conn_id}")  # noqa: AIR311


def forget_runs(dag_ids: Iterable[str]) -> int:
    """Delete the DAG runs of ``dag_ids`` from the metadata DB (their task instances and XComs go with them:
    the foreign keys cascade); returns how many.

    Each test starts with a fresh warehouse and lake, so with no run history either. Without this, a run a
    test creates for an interval taken from the sandbox's clock (``Pipelines.last_interval``) clashes on
    ``dag_run``'s unique ``(dag_id, logical_date)`` with an earlier test's run of the same interval whenever
    the two tests straddle a quarter-hour boundary of the wall clock.
    """
    from airflow import settings
    from airflow.models.dagrun import DagRun
    from sqlalchemy import delete

    session = settings.Session()  # the thread's scoped session: a failed earlier test may have left it mid-rollback
    session.rollback()
    try:
        deleted = session.execute(delete(DagRun).where(DagRun.dag_id.in_(list(dag_ids))))
        session.commit()
        return int(getattr(deleted, "rowcount", 0) or 0)
    finally:
        session.close()


def wait_for(predicate: Any, what: str, limit_s: float = 120.0) -> None:
    """Poll ``predicate`` until true (a synchronisation, not an assertion on time)."""
    deadline = time.monotonic() + limit_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.05)
