"""Right to erasure: removes one data subject from the warehouse, the quarantine and the lake's parts.

Trigger it from the UI ("Trigger DAG w/ config") with the subject's value (an e-mail address, a phone
number...) and a reason. It records the request in ``lumina_erasures`` (the subject's token, never the
value), deletes the subject's canonical and quarantine rows, rewrites every raw, canonical and quarantine
Parquet part holding it, and from then on every pipeline's transform step withholds the subject's rows.
Same as ``lumina erase --subject ...``. Only the platform roles see and trigger it. See
docs/protection/lifecycle.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from lumina_integration.alerts import failure_alerts
from lumina_integration.protection.access import folder_access_control


@dag(
    dag_id="lumina_erasure",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,  # two erasures rewriting the same parts at once would race
    access_control=folder_access_control(__file__),  # lumina_platform_viewer / lumina_platform_operator
    params={
        "subject": Param("", type="string", minLength=1, description="The data subject's value (e-mail, phone...)"),
        "reason": Param("erasure request", type="string", description="Why (a ticket id, the legal basis)"),
    },
    tags=["domain:platform", "source:lake", "owner:platform", "maintenance:erasure"],
    default_args={
        "owner": "platform",
        "retries": 1,
        "retry_exponential_backoff": True,
        "on_failure_callback": failure_alerts(),
    },
    doc_md=__doc__,
)
def lumina_erasure() -> None:
    @task
    def erase_subject() -> dict[str, Any]:
        import logging
        from pathlib import Path

        from lumina_integration.protection.erasure import run_erasure

        context = get_current_context()
        params = context["params"]
        dag_run = context["dag_run"]
        # An erasure is idempotent: a retried attempt finds nothing more and records its own ledger row.
        result = run_erasure(
            str(params["subject"]),
            reason=str(params["reason"]),
            requested_by=f"dag_run:{dag_run.run_id}",
            dags_dir=Path(__file__).resolve().parents[1],
            log=logging.getLogger("airflow.task").info,
        )
        return result.to_xcom()

    erase_subject()


lumina_erasure()
