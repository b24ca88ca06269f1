"""The ids of live warehouse rows that came from one source, for reconciliation against it."""

from __future__ import annotations

import pyarrow as pa
from sqlalchemy import Engine, text

from lumina_integration.canonical.schema import DELETED_COLUMN, EntitySchema
from lumina_integration.transforms.mapping import SourceKey
from lumina_integration.warehouse.ddl import existing_columns
from lumina_integration.warehouse.dialects import dialect_for


def live_source_ids(engine: Engine, schema: str, entity: EntitySchema, key: SourceKey) -> pa.Array:
    """``key.id_column`` of every non-deleted row whose constant key columns match the source's."""
    with engine.connect() as conn:
        d = dialect_for(conn)
        if not existing_columns(conn, schema, entity.entity):
            return pa.array([], pa.string())
        conditions = [f"NOT {d.quote(DELETED_COLUMN)}"]
        params: dict[str, str] = {}
        for i, (column, value) in enumerate(sorted(key.constants.items())):
            conditions.append(f"{d.quote(column)} = :k{i}")
            params[f"k{i}"] = value
        rows = conn.execute(
            text(
                f"SELECT {d.quote(key.id_column)} FROM {d.table(schema, entity.entity)} "
                f"WHERE {' AND '.join(conditions)}"
            ),
            params,
        )
        return pa.array([r[0] for r in rows], pa.string())
