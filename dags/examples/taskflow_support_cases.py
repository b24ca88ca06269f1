"""Example of a hand-written TaskFlow DAG that reuses the pipeline step operators.

Most pipelines are YAML specs (dags/<domain>/*.dag.yaml). When a team needs custom Python beside
the standard steps, it can write the DAG by hand and still use the same operators, which take a
pipeline spec as a dict. Here: the helpdesk pipeline, loaded into the Postgres warehouse
connection, followed by a TaskFlow task that reports open high-priority cases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from airflow.sdk import Asset, CronDataIntervalTimetable, dag, task

from lumina_integration.alerts import failure_alerts
from lumina_integration.operators.extract import ExtractOperator
from lumina_integration.operators.load import LoadOperator, entity_asset_uri
from lumina_integration.operators.plan import PlanOperator
from lumina_integration.operators.transform import TransformOperator
from lumina_integration.operators.validate import ValidateOperator
from lumina_integration.protection.access import folder_access_control

PIPELINE: dict[str, Any] = {
    "dag_id": "example_taskflow_support_cases",
    "owner": "support-data",
    "schedule": "0 6 * * *",
    "start_date": "2026-01-01",
    "domain": "examples",
    "source": {
        "type": "file_drop",
        "conn_id": "lumina_landing",
        "object": "s3://lumina-landing/helpdesk/tickets/",
        "options": {"record_path": "tickets"},
    },
    "mapping": "helpdesk_tickets_support_case",
    "window": {"lookback": "1h", "safety_lag": "0s"},
    "load": {"warehouse_conn_id": "lumina_warehouse_postgres", "deletes": "hard"},
}


@dag(
    dag_id=PIPELINE["dag_id"],
    schedule=CronDataIntervalTimetable(PIPELINE["schedule"], timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    tags=["domain:examples", "source:file_drop", "owner:support-data", "entity:support_case"],
    access_control=folder_access_control(__file__),  # the same roles as the folder's pipelines
    default_args={
        "owner": "support-data",
        "retries": 2,
        "retry_exponential_backoff": True,
        "on_failure_callback": failure_alerts(),
    },
    doc_md=__doc__,
)
def example_taskflow_support_cases() -> None:
    load = LoadOperator(
        task_id="load",
        pipeline=PIPELINE,
        outlets=[Asset(name="warehouse.support_case", uri=entity_asset_uri("support_case"))],
    )

    @task
    def report_urgent_open_cases() -> int:
        from sqlalchemy import text

        from lumina_integration.warehouse.connection import warehouse_target

        target = warehouse_target(PIPELINE["load"]["warehouse_conn_id"])
        with target.engine.connect() as conn:
            count = conn.execute(
                text(
                    f'SELECT COUNT(*) FROM "{target.schema}".support_case '
                    "WHERE status <> 'closed' AND priority IN ('high', 'critical') AND NOT _is_deleted"
                )
            ).scalar_one()
        print(f"{count} open high/critical support cases")
        return int(count)

    (
        PlanOperator(task_id="plan", pipeline=PIPELINE)
        >> ExtractOperator(task_id="extract", pipeline=PIPELINE)
        >> TransformOperator(task_id="transform", pipeline=PIPELINE)
        >> ValidateOperator(task_id="validate", pipeline=PIPELINE)
        >> load
        >> report_urgent_open_cases()
    )


example_taskflow_support_cases()
