"""A worker process for one task instance: ``python task_process.py DAG_ID RUN_ID TASK_ID``.

It loads the DAG from the DAGs folder (or the variant of it the test configured: ``spec_variants.py``),
finds the task instance the driver scheduled in the metadata DB, and runs it through Airflow's in-process
execution API, as ``dag.test()`` does for every task.
The task's result, XCom and state go to the shared metadata DB, so the driver process continues the
DAG run from there. The fault tests SIGKILL this process (``LUMINA_FAILPOINT``) and then retry the task
in a new one: the same DAG run, run id and try counting as a real worker crash.
"""

from __future__ import annotations

import os
import sys


def main(dag_id: str, run_id: str, task_id: str) -> int:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.taskinstance import TaskInstance
    from airflow.sdk.definitions.dag import _run_task
    from airflow.utils.session import create_session
    from spec_variants import from_environment
    from sqlalchemy import select

    # The DAG the driver runs: the DAGs folder's, or the variant of it the test configured.
    dag = from_environment().get(dag_id) or DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).dags[dag_id]
    task = dag.task_dict[task_id]
    with create_session() as session:
        ti = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id, TaskInstance.task_id == task_id
            )
        ).one()
        session.expunge(ti)
    _run_task(ti=ti, task=task)
    return 0 if ti.state == "success" else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
