"""Reverse ETL: write rows of a canonical table back to a source system in bulk.

Generic over adapters that offer ``write(obj, operation, table, *, external_id_field)`` (Salesforce:
Bulk API 2.0 ingest). Rows stream from the warehouse in batches, each batch is one bulk job, and
every row's outcome is recorded in ``lumina_writeback_results``. Rejected rows do not fail the task
unless they exceed ``max_failed_share`` of what was written: they are data problems to fix at the
source, and the table says which and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class ReverseSyncOperator(BaseOperator):
    """Upsert, update or delete records of ``target_object`` from rows of a canonical ``entity`` table.

    Args:
        entity: the canonical entity whose table the rows come from.
        fields: target field -> canonical column (the target field names are checked against the
            target's discovered fields).
        target_conn_id: the target system's Airflow connection.
        target_type: the adapter (``salesforce``).
        target_object: the object to write (an sObject).
        operation: ``insert``, ``update``, ``upsert``, ``delete`` or ``hardDelete``.
        external_id_field: the target field upserts match on.
        where: canonical column -> value; only rows matching all are written.
        warehouse_conn_id: the warehouse connection.
        batch_rows: rows per bulk job.
        max_failed_share: fail the task when more than this share of rows is rejected.
    """

    template_fields: Sequence[str] = ("where",)
    ui_color = "#f7ecf9"

    def __init__(
        self,
        *,
        entity: str,
        fields: dict[str, str],
        target_conn_id: str,
        target_object: str,
        operation: str,
        target_type: str = "salesforce",
        external_id_field: str | None = None,
        where: dict[str, str] | None = None,
        warehouse_conn_id: str = "lumina_warehouse",
        batch_rows: int = 50_000,
        max_failed_share: float = 0.05,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if operation == "upsert" and not external_id_field:
            raise ValueError("an upsert needs external_id_field")
        if not fields:
            raise ValueError("fields must map at least one target field to a column")
        self.entity, self.fields, self.where = entity, dict(fields), dict(where or {})
        self.target_conn_id, self.target_type, self.target_object = target_conn_id, target_type, target_object
        self.operation, self.external_id_field = operation, external_id_field
        self.warehouse_conn_id, self.batch_rows, self.max_failed_share = warehouse_conn_id, batch_rows, max_failed_share

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from lumina_integration.canonical.registry import load_entity
        from lumina_integration.hooks.registry import build_adapter
        from lumina_integration.staging.layout import run_key
        from lumina_integration.warehouse.connection import warehouse_target
        from lumina_integration.warehouse.writeback import record_results, rows_to_write

        target = warehouse_target(self.warehouse_conn_id)
        entity = load_entity(self.entity)
        adapter = build_adapter(self.target_type, self.target_conn_id)
        key_field = self.external_id_field or "Id"
        columns = list(self.fields.values())
        written = failed = created = 0
        for i, batch in enumerate(rows_to_write(target.engine, target.schema, entity, columns, self.where)):
            table = batch.rename_columns(list(self.fields))
            job_id, successes, failures = adapter.write(
                self.target_object, self.operation, table, external_id_field=self.external_id_field
            )
            record_results(
                target.engine,
                target.schema,
                run_key=f"{run_key(self.dag_id, context['run_id'])}__{self.task_id}__{i}",
                pipeline_id=self.dag_id,
                target=self.target_object,
                operation=self.operation,
                key_field=key_field,
                successes=successes,
                failures=failures,
            )
            written += batch.num_rows
            failed += failures.num_rows
            if successes.num_rows:
                created += sum(1 for v in successes.column("sf__Created").to_pylist() if v == "true")
            self.log.info(
                "Bulk job %s: %d %s rows, %d rejected", job_id, batch.num_rows, self.operation, failures.num_rows
            )
        summary = {"rows": written, "failed": failed, "created": created, "updated": written - failed - created}
        self.log.info("Wrote %s to %s: %s", self.entity, self.target_object, summary)
        if written and failed / written > self.max_failed_share:
            raise AirflowFailException(
                f"{failed} of {written} rows were rejected by {self.target_object} "
                f"(over {self.max_failed_share:.0%}); see lumina_writeback_results"
            )
        return summary
