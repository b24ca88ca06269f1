"""Reverse ETL on the warehouse side: the rows to write back, and the per-row results.

Rows come from a canonical entity table, selected by equality filters on its columns; every
identifier comes from the entity's schema (an allow-list) and every value is a bound parameter.
Only rows whose values changed since they were last written successfully are sent again
(``lumina_writeback_state`` keeps a hash per record): a target such as Salesforce stamps every
write as a change, so re-sending unchanged rows would cost API calls and wake up every pipeline
that extracts from it. The target's answer for each row sent (its id, created or updated, or the
error) is kept in ``lumina_writeback_results``, so a failed row is never lost silently.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pyarrow as pa
from sqlalchemy import Connection, Engine, text

from lumina_integration.canonical.schema import DELETED_COLUMN, EntitySchema
from lumina_integration.warehouse.ddl import existing_columns
from lumina_integration.warehouse.dialects import Dialect, dialect_for

RESULTS_TABLE = "lumina_writeback_results"
STATE_TABLE = "lumina_writeback_state"


def row_hashes(table: pa.Table) -> list[str]:
    """A stable hash of each row's values (what was, or would be, written)."""
    return [
        hashlib.sha256(json.dumps(row, sort_keys=True, default=str).encode()).hexdigest() for row in table.to_pylist()
    ]


def _ensure_state(conn: Connection, d: Dialect, schema: str) -> str:
    table = d.table(schema, STATE_TABLE)
    conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {d.quote(schema)}"))
    conn.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {table} (pipeline_id TEXT NOT NULL, target TEXT NOT NULL, "
            f"record_key TEXT NOT NULL, row_hash TEXT NOT NULL, written_at {d.timestamp_type} NOT NULL, "
            "PRIMARY KEY (pipeline_id, target, record_key))"
        )
    )
    return table


def unchanged_since_written(
    engine: Engine, schema: str, pipeline_id: str, target: str, keys: list[str], hashes: list[str]
) -> list[bool]:
    """For each (key, hash): was exactly this row written successfully before?"""
    with engine.begin() as conn:
        d = dialect_for(conn)
        table = _ensure_state(conn, d, schema)
        written: dict[str, str] = dict(
            conn.execute(
                text(f"SELECT record_key, row_hash FROM {table} WHERE pipeline_id = :p AND target = :t"),
                {"p": pipeline_id, "t": target},
            ).all()
        )
    return [written.get(k) == h for k, h in zip(keys, hashes, strict=True)]


def remember_written(
    engine: Engine, schema: str, pipeline_id: str, target: str, keys: list[str], hashes: list[str]
) -> None:
    """Record the hashes of rows the target accepted."""
    if not keys:
        return
    now = datetime.now(UTC)
    with engine.begin() as conn:
        d = dialect_for(conn)
        table = _ensure_state(conn, d, schema)
        conn.execute(
            text(
                f"INSERT INTO {table} (pipeline_id, target, record_key, row_hash, written_at) "
                "VALUES (:p, :t, :k, :h, :now) ON CONFLICT (pipeline_id, target, record_key) "
                "DO UPDATE SET row_hash = EXCLUDED.row_hash, written_at = EXCLUDED.written_at"
            ),
            [{"p": pipeline_id, "t": target, "k": k, "h": h, "now": now} for k, h in zip(keys, hashes, strict=True)],
        )


def rows_to_write(
    engine: Engine,
    schema: str,
    entity: EntitySchema,
    columns: list[str],
    filters: dict[str, str],
    *,
    batch_rows: int = 50_000,
) -> Iterator[pa.Table]:
    """Live rows of ``entity`` matching ``filters``, ``columns`` only, in batches of ``batch_rows``."""
    known = set(entity.column_names)
    unknown = sorted((set(columns) | set(filters)) - known)
    if unknown:
        raise ValueError(f"{entity.entity} v{entity.version} has no columns {unknown}")
    with engine.connect() as conn:
        d = dialect_for(conn)
        if not existing_columns(conn, schema, entity.entity):
            return
        where = [f"NOT {d.quote(DELETED_COLUMN)}"]
        params: dict[str, str] = {}
        for i, (column, value) in enumerate(sorted(filters.items())):
            where.append(f"{d.quote(column)} = :f{i}")
            params[f"f{i}"] = value
        order = ", ".join(d.quote(k) for k in entity.primary_key)
        query = (
            f"SELECT {', '.join(d.quote(c) for c in columns)} FROM {d.table(schema, entity.entity)} "
            f"WHERE {' AND '.join(where)} ORDER BY {order}"
        )
        types = {c.name: c.arrow_type for c in entity.columns}
        result = conn.execution_options(stream_results=True).execute(text(query), params)
        while rows := result.fetchmany(batch_rows):
            yield pa.table({c: pa.array([r[i] for r in rows], types[c]) for i, c in enumerate(columns)})


def record_results(
    engine: Engine,
    schema: str,
    *,
    run_key: str,
    pipeline_id: str,
    target: str,
    operation: str,
    key_field: str,
    successes: pa.Table,
    failures: pa.Table,
) -> None:
    """Store one row per written record; a retried task replaces its own rows."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        d = dialect_for(conn)
        table = d.table(schema, RESULTS_TABLE)
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {d.quote(schema)}"))
        conn.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {table} (run_key TEXT NOT NULL, pipeline_id TEXT NOT NULL, "
                "target TEXT NOT NULL, operation TEXT NOT NULL, record_key TEXT, target_id TEXT, "
                f"created BOOLEAN, error TEXT, written_at {d.timestamp_type} NOT NULL)"
            )
        )
        conn.execute(text(f"DELETE FROM {table} WHERE run_key = :r"), {"r": run_key})
        rows = []
        for outcome, second in ((successes, "sf__Created"), (failures, "sf__Error")):
            if outcome.num_rows == 0:
                continue
            keys = outcome.column(key_field).to_pylist() if key_field in outcome.column_names else [None] * len(outcome)
            ids = outcome.column("sf__Id").to_pylist()
            extra = outcome.column(second).to_pylist()
            for key, target_id, value in zip(keys, ids, extra, strict=True):
                ok = second == "sf__Created"
                rows.append(
                    {
                        "r": run_key,
                        "p": pipeline_id,
                        "t": target,
                        "o": operation,
                        "k": key,
                        "i": target_id or None,
                        "c": (value == "true") if ok else None,
                        "e": None if ok else value,
                        "now": now,
                    }
                )
        if rows:
            conn.execute(
                text(
                    f"INSERT INTO {table} (run_key, pipeline_id, target, operation, record_key, target_id, created, "
                    "error, written_at) VALUES (:r, :p, :t, :o, :k, :i, :c, :e, :now)"
                ),
                rows,
            )
