"""Reverse ETL: write rows of a canonical table back to a source system in bulk.

Generic over adapters that offer ``write(obj, operation, table, *, external_id_field)`` (Salesforce:
Bulk API 2.0 ingest). Rows stream from the warehouse in batches; rows unchanged since they were
last written are skipped; each batch of changed rows is one bulk job, and every row's outcome is
recorded in ``lumina_writeback_results``. Rejected rows do not fail the task
unless they exceed ``max_failed_share`` of what was written: they are data problems to fix at the
source, and the table says which and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from lumina_integration.operators.auth_events import FlushesAuthEvents

if TYPE_CHECKING:
    import pyarrow as pa
    from airflow.sdk import Context

    from lumina_integration.hooks.capabilities import WritesBack


class ReverseSyncOperator(FlushesAuthEvents, BaseOperator):
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
        max_failed_share: fail the task when more than this share of the rows in scope is rejected.
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
        from lumina_integration.hooks.capabilities import WritesBack, supports
        from lumina_integration.hooks.registry import build_adapter
        from lumina_integration.protection.reveal import reveal_table
        from lumina_integration.warehouse.connection import warehouse_target
        from lumina_integration.warehouse.writeback import rows_to_write

        warehouse = warehouse_target(self.warehouse_conn_id)
        entity = load_entity(self.entity)
        adapter = build_adapter(self.target_type, self.target_conn_id)
        if not supports(adapter, WritesBack):
            raise AirflowFailException(f"the {self.target_type} adapter cannot write back (no write method)")
        totals = {"rows": 0, "failed": 0, "created": 0, "updated": 0, "unchanged": 0}
        batches = rows_to_write(warehouse.engine, warehouse.schema, entity, list(self.fields.values()), self.where)
        for i, rows in enumerate(batches):
            # The target is a system of record: it gets clear values of encrypted columns (tokens stay tokens).
            rows = reveal_table(self.entity, rows)
            table, keys, hashes = self._changed(warehouse, rows.rename_columns(list(self.fields)), totals)
            if table.num_rows:
                self._send(adapter, warehouse, table, keys, hashes, f"{self._run_key(context)}__{i}", totals)
        self.log.info("Wrote %s to %s: %s", self.entity, self.target_object, totals)
        # Judged against every row in scope: one row the target keeps refusing must not fail every run.
        in_scope = totals["rows"] + totals["unchanged"]
        if in_scope and totals["failed"] / in_scope > self.max_failed_share:
            raise AirflowFailException(
                f"{totals['failed']} of {in_scope} rows were rejected by {self.target_object} "
                f"(over {self.max_failed_share:.0%}); see lumina_writeback_results"
            )
        return totals

    def auth_events_destination(self) -> tuple[str, str | None]:
        return self.warehouse_conn_id, self.dag_id

    @property
    def key_field(self) -> str:
        return self.external_id_field or "Id"

    def _run_key(self, context: Context) -> str:
        from lumina_integration.staging.layout import run_key

        return f"{run_key(self.dag_id, context['run_id'])}__{self.task_id}"

    def _changed(
        self, warehouse: Any, table: pa.Table, totals: dict[str, int]
    ) -> tuple[pa.Table, list[str], list[str]]:
        """The rows that differ from what was last written successfully, with their keys and hashes."""
        import pyarrow as pa

        from lumina_integration.warehouse.writeback import row_hashes, unchanged_since_written

        hashes = row_hashes(table)
        if self.key_field not in table.column_names:  # no stable key to remember rows by: send all
            return table, [], hashes
        keys = [str(k) for k in table.column(self.key_field).to_pylist()]
        same = unchanged_since_written(
            warehouse.engine, warehouse.schema, self.dag_id, self.target_object, keys, hashes
        )
        totals["unchanged"] += sum(same)
        fresh = [not s for s in same]
        return (
            table.filter(pa.array(fresh)),
            [k for k, f in zip(keys, fresh, strict=True) if f],
            [h for h, f in zip(hashes, fresh, strict=True) if f],
        )

    def _send(
        self,
        adapter: WritesBack,
        warehouse: Any,
        table: pa.Table,
        keys: list[str],
        hashes: list[str],
        run_key: str,
        totals: dict[str, int],
    ) -> None:
        """One bulk job; every row's outcome recorded, accepted rows remembered."""
        from lumina_integration.warehouse.writeback import record_results, remember_written

        job_id, successes, failures = adapter.write(
            self.target_object, self.operation, table, external_id_field=self.external_id_field
        )
        record_results(
            warehouse.engine,
            warehouse.schema,
            run_key=run_key,
            pipeline_id=self.dag_id,
            target=self.target_object,
            operation=self.operation,
            key_field=self.key_field,
            successes=successes,
            failures=failures,
        )
        rejected = set(failures.column(self.key_field).to_pylist()) if failures.num_rows and keys else set()
        accepted = [(k, h) for k, h in zip(keys, hashes, strict=True) if k not in rejected]
        remember_written(
            warehouse.engine,
            warehouse.schema,
            self.dag_id,
            self.target_object,
            [k for k, _ in accepted],
            [h for _, h in accepted],
        )
        created = (
            sum(1 for v in successes.column("sf__Created").to_pylist() if v == "true") if successes.num_rows else 0
        )
        totals["rows"] += table.num_rows
        totals["failed"] += failures.num_rows
        totals["created"] += created
        totals["updated"] += table.num_rows - failures.num_rows - created
        self.log.info("Bulk job %s: %d %s rows, %d rejected", job_id, table.num_rows, self.operation, failures.num_rows)
