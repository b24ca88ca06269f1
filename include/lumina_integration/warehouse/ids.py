"""What the warehouse holds live of one source: ``(id, stamp)`` per row, for reconciliation against it."""

from __future__ import annotations

import pyarrow as pa
from sqlalchemy import Engine, text

from lumina_integration.canonical.schema import DELETED_COLUMN, EntitySchema
from lumina_integration.reconcile import STAMP, VERSIONS_SCHEMA
from lumina_integration.transforms.mapping import SourceKey
from lumina_integration.warehouse.ddl import existing_columns
from lumina_integration.warehouse.dialects import dialect_for

FETCH_ROWS = 50_000  # rows per fetch: memory holds one fetch of Python tuples, the rest is Arrow


def live_source_versions(engine: Engine, schema: str, entity: EntitySchema, key: SourceKey) -> pa.Table:
    """``key.id_column`` and the entity's cursor of every non-deleted row of the source (its key constants)."""
    with engine.connect() as conn:
        d = dialect_for(conn)
        if not existing_columns(conn, schema, entity.entity):
            return VERSIONS_SCHEMA.empty_table()
        conditions = [f"NOT {d.quote(DELETED_COLUMN)}"]
        params: dict[str, str] = {}
        for i, (column, value) in enumerate(sorted(key.constants.items())):
            conditions.append(f"{d.quote(column)} = :k{i}")
            params[f"k{i}"] = value
        result = conn.execution_options(stream_results=True).execute(
            text(
                f"SELECT {d.quote(key.id_column)}, {d.quote(entity.cursor)} FROM {d.table(schema, entity.entity)} "
                f"WHERE {' AND '.join(conditions)}"
            ),
            params,
        )
        batches = []
        for rows in result.partitions(FETCH_ROWS):
            ids, stamps = zip(*rows, strict=True)
            batches.append(
                pa.RecordBatch.from_arrays(
                    [pa.array(ids, pa.string()), pa.array(stamps, VERSIONS_SCHEMA.field(STAMP).type)],
                    schema=VERSIONS_SCHEMA,
                )
            )
        return pa.Table.from_batches(batches, VERSIONS_SCHEMA).combine_chunks()
