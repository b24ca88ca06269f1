"""One task of a pipeline DAG as a real Airflow task instance, in a fresh interpreter (``make bench``).

    python -m bench.airflow_task create-run DAG_ID
    python -m bench.airflow_task run DAG_ID RUN_ID TASK_ID

``create-run`` makes a DAG run the way ``dag.test()`` does (the ``dags/`` folder parsed and synced to the
metadata DB), with every task marked successful without running. ``run`` then runs one of its tasks
through Airflow's in-process task runner (the one ``dag.test()`` uses), so context, XCom and Asset events
go through the metadata DB exactly as in a ``dag.test()`` run, but each task has a process of its own,
as it has under a real executor. That is what makes per-task peak RSS measurable: ``VmHWM`` of this
process, read when the task has finished, is the peak of the interpreter, Airflow, the parsed DAG
folder and the task. The last line printed is a JSON result.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from bench.common import rss_mb


def _dag(dag_id: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise RuntimeError(f"import errors in the DAGs folder: {bag.import_errors}")
    return bag.dags[dag_id]


def create_run(dag_id: str) -> dict[str, Any]:
    run = _dag(dag_id).test(mark_success_pattern=".*")
    return {"run_id": run.run_id}


def run_task(dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.sdk.definitions.dag import _run_task
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    dag = _dag(dag_id)
    task = dag.task_dict[task_id]
    ready_rss = rss_mb()
    timing: dict[str, float] = {}
    execute = task.execute

    def timed_execute(context: Any, **kwargs: Any) -> Any:
        # The operator's own work, without the task runner around it (see bench/README.md).
        timing["rss_at_execute_mb"] = rss_mb()
        started = time.perf_counter()
        try:
            return execute(context, **kwargs)
        finally:
            timing["execute"] = time.perf_counter() - started

    task.execute = timed_execute
    where = (TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id, TaskInstance.task_id == task_id)
    with create_session() as session:
        ti = session.scalars(select(TaskInstance).where(*where)).one()
        ti.try_number += 1
        ti.state = TaskInstanceState.SCHEDULED
        session.commit()
        started = time.perf_counter()
        _run_task(ti=ti, task=task)
        runner_seconds = time.perf_counter() - started
    with create_session() as session:
        ti = session.scalars(select(TaskInstance).where(*where)).one()
        if ti.state != TaskInstanceState.SUCCESS:
            raise RuntimeError(f"task {task_id} ended {ti.state}")
        value = session.scalars(
            select(XComModel.value).where(
                XComModel.dag_id == dag_id,
                XComModel.run_id == run_id,
                XComModel.task_id == task_id,
                XComModel.key == "return_value",
            )
        ).first()
    return {
        "task": task_id,
        "seconds": round(timing["execute"], 2),
        "runner_seconds": round(runner_seconds, 2),
        "xcom": json.loads(value) if isinstance(value, str) else value,
        "peak_rss_mb": round(rss_mb(peak=True)),
        "rss_before_task_mb": round(ready_rss),
        "rss_at_execute_mb": round(timing["rss_at_execute_mb"]),
    }


def main() -> None:
    command, dag_id, *rest = sys.argv[1:]
    result = create_run(dag_id) if command == "create-run" else run_task(dag_id, *rest)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
