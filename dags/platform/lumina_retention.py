"""Retention: removes what has outlived its zone's days (``include/data_protection.yaml``, ``retention``).

Daily. For every pipeline: its lake runs (raw, canonical, quarantine, validation) dated before the zone's
cutoff, its warehouse's quarantine and audit rows (and authentication events) older than theirs, and
soft-deleted rows whose last load is older than the soft-deleted cutoff. A run written in the last
``guard_days`` and the run behind each current watermark are kept. What was removed (per zone and
entity) is in the task log, the XCom and one ``lumina_audit`` row (mode ``retention``) per warehouse.
See docs/protection/lifecycle.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from airflow.sdk import dag, get_current_context, task

from lumina_integration.alerts import failure_alerts
from lumina_integration.protection.access import folder_access_control


@dag(
    dag_id="lumina_retention",
    schedule="@daily",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    access_control=folder_access_control(__file__),  # lumina_platform_viewer / lumina_platform_operator
    tags=["domain:platform", "source:lake", "owner:platform", "maintenance:retention"],
    default_args={
        "owner": "platform",
        "retries": 2,
        "retry_exponential_backoff": True,
        "on_failure_callback": failure_alerts(),
    },
    doc_md=__doc__,
)
def lumina_retention() -> None:
    @task
    def remove_expired() -> dict[str, Any]:
        import logging
        from pathlib import Path

        from lumina_integration.protection.retention import apply_retention, pipeline_targets
        from lumina_integration.protection.settings import data_protection
        from lumina_integration.staging.s3 import s3_client
        from lumina_integration.warehouse.connection import warehouse_target

        context = get_current_context()
        # The run's own instant, never later than the clock: a re-run of an old run removes no more than
        # that run did, and no run can expire data early.
        end = context.get("data_interval_end") or context.get("logical_date")
        now = min(end, datetime.now(UTC)) if end is not None else datetime.now(UTC)
        report = apply_retention(
            pipeline_targets(Path(__file__).resolve().parents[1]),
            data_protection().retention,
            warehouse=warehouse_target,
            lake=s3_client,
            now=now,
            run_id=context["run_id"],
            log=logging.getLogger("airflow.task").info,
        )
        return report.to_xcom()

    remove_expired()


lumina_retention()
