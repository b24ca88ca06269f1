"""The per-pipeline state row (the watermark) and the ledger of source versions read.

State lives in the warehouse beside the data, so the data and the watermark that describes it
commit together or not at all (the dlt model), and no separate store can drift from either.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

from lumina_integration.warehouse.ddl import (
    AUDIT_TABLE,
    CHANGES_TABLE,
    LEDGER_TABLE,
    SNAPSHOT_TABLE,
    STATE_TABLE,
    ensure_control_tables,
)
from lumina_integration.warehouse.dialects import Dialect, dialect_for
from lumina_integration.window import parse_instant


def _as_utc(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return parse_instant(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class PipelineState:
    """What the plan step needs from the warehouse, read in one transaction.

    Attributes:
        watermark: the committed watermark (None before the first continuing load).
        fields_covered: source fields every loaded record has a value for (None: not tracked yet).
        snapshot: the source's field definitions as of the last load (None: never taken).
        api_calls_24h: API calls this pipeline's runs spent in the last 24 hours.
        bulk_jobs_24h: bulk jobs they created.
    """

    watermark: datetime | None = None
    fields_covered: list[str] | None = None
    snapshot: dict[str, Any] | None = None
    api_calls_24h: int = 0
    bulk_jobs_24h: int = 0


def read_state(engine: Engine, schema: str, pipeline_id: str, now: datetime | None = None) -> PipelineState:
    """The pipeline's committed state (see :class:`PipelineState`)."""
    since = (now or datetime.now(UTC)) - timedelta(hours=24)
    with engine.begin() as conn:
        d = dialect_for(conn)
        ensure_control_tables(conn, d, schema)
        row = conn.execute(
            text(f"SELECT watermark, fields_covered FROM {d.table(schema, STATE_TABLE)} WHERE pipeline_id = :p"),
            {"p": pipeline_id},
        ).one_or_none()
        snapshot = conn.execute(
            text(f"SELECT fields FROM {d.table(schema, SNAPSHOT_TABLE)} WHERE pipeline_id = :p"), {"p": pipeline_id}
        ).scalar_one_or_none()
        calls, jobs = conn.execute(
            text(
                f"SELECT COALESCE(SUM(api_calls), 0), COALESCE(SUM(bulk_jobs), 0) FROM {d.table(schema, AUDIT_TABLE)} "
                "WHERE pipeline_id = :p AND finished_at >= :since"
            ),
            {"p": pipeline_id, "since": since},
        ).one()
    return PipelineState(
        watermark=_as_utc(row[0]) if row else None,
        fields_covered=json.loads(row[1]) if row and row[1] else None,
        snapshot=json.loads(snapshot) if snapshot else None,
        api_calls_24h=int(calls),
        bulk_jobs_24h=int(jobs),
    )


def read_watermark(engine: Engine, schema: str, pipeline_id: str) -> datetime | None:
    """The committed watermark, or None before the first successful continuing load."""
    return read_state(engine, schema, pipeline_id).watermark


def set_fields_covered(conn: Connection, d: Dialect, schema: str, pipeline_id: str, fields: Iterable[str]) -> None:
    """Record which source fields every loaded record now has (inside the load transaction)."""
    conn.execute(
        text(f"UPDATE {d.table(schema, STATE_TABLE)} SET fields_covered = :f WHERE pipeline_id = :p"),
        {"p": pipeline_id, "f": json.dumps(sorted(set(fields)))},
    )


def write_snapshot(
    conn: Connection,
    d: Dialect,
    schema: str,
    pipeline_id: str,
    source_object: str,
    fields: dict[str, Any],
    run_key: str,
) -> None:
    """Replace the pipeline's field snapshot (inside the load transaction)."""
    values = {"p": pipeline_id, "o": source_object, "f": json.dumps(fields, sort_keys=True), "r": run_key}
    conn.execute(
        text(
            f"INSERT INTO {d.table(schema, SNAPSHOT_TABLE)} (pipeline_id, source_object, fields, run_key, taken_at) "
            "VALUES (:p, :o, :f, :r, :now) ON CONFLICT (pipeline_id) DO UPDATE SET "
            "source_object = EXCLUDED.source_object, fields = EXCLUDED.fields, run_key = EXCLUDED.run_key, "
            "taken_at = EXCLUDED.taken_at"
        ),
        {**values, "now": datetime.now(UTC)},
    )


def record_schema_changes(
    conn: Connection, d: Dialect, schema: str, pipeline_id: str, run_key: str, changes: list[dict[str, Any]]
) -> None:
    """Append the run's schema changes to the typed change log (a retried load writes them once)."""
    if not changes:
        return
    conn.execute(
        text(
            f"INSERT INTO {d.table(schema, CHANGES_TABLE)} (pipeline_id, source_object, field, change, "
            "old_definition, new_definition, mapped, action, run_key, detected_at) VALUES (:p, :o, :field, :change, "
            ":old, :new, :mapped, :action, :r, :now) ON CONFLICT (pipeline_id, field, change, run_key) DO NOTHING"
        ),
        [
            {
                "p": pipeline_id,
                "o": c["object"],
                "field": c["field"],
                "change": c["change"],
                "old": json.dumps(c.get("old")) if c.get("old") is not None else None,
                "new": json.dumps(c.get("new")) if c.get("new") is not None else None,
                "mapped": bool(c.get("mapped")),
                "action": c["action"],
                "r": run_key,
                "now": datetime.now(UTC),
            }
            for c in changes
        ],
    )


def lock_watermark(conn: Connection, d: Dialect, schema: str, pipeline_id: str) -> datetime | None:
    """Read the watermark inside the load transaction, locking the row where the dialect can.

    The lock serialises concurrent loads of one pipeline (a backfill beside a scheduled run) so
    their merges and watermark updates cannot interleave.
    """
    table = d.table(schema, STATE_TABLE)
    conn.execute(
        text(
            f"INSERT INTO {table} (pipeline_id, watermark, run_key, updated_at) "
            "VALUES (:p, NULL, NULL, :now) ON CONFLICT (pipeline_id) DO NOTHING"
        ),
        {"p": pipeline_id, "now": datetime.now(UTC)},
    )
    lock = " FOR UPDATE" if d.supports_row_locks else ""
    value = conn.execute(
        text(f"SELECT watermark FROM {table} WHERE pipeline_id = :p{lock}"), {"p": pipeline_id}
    ).scalar_one()
    return _as_utc(value)


def advance_watermark(
    conn: Connection, d: Dialect, schema: str, pipeline_id: str, new: datetime, run_key: str
) -> datetime:
    """Move the watermark forward to ``new``; it never moves backwards."""
    table = d.table(schema, STATE_TABLE)
    conn.execute(
        text(
            f"UPDATE {table} SET watermark = :new, run_key = :run_key, updated_at = :now "
            "WHERE pipeline_id = :p AND (watermark IS NULL OR watermark < :new)"
        ),
        {"p": pipeline_id, "new": new, "run_key": run_key, "now": datetime.now(UTC)},
    )
    value = conn.execute(text(f"SELECT watermark FROM {table} WHERE pipeline_id = :p"), {"p": pipeline_id}).scalar_one()
    result = _as_utc(value)
    assert result is not None
    return result


def loaded_versions(
    engine: Engine, schema: str, pipeline_id: str, since: datetime | None
) -> frozenset[tuple[str, str]]:
    """(key, version) of the source resources committed since ``since`` (None: all)."""
    with engine.begin() as conn:
        d = dialect_for(conn)
        ensure_control_tables(conn, d, schema)
        query = f"SELECT source_key, source_version FROM {d.table(schema, LEDGER_TABLE)} WHERE pipeline_id = :p"
        params: dict[str, object] = {"p": pipeline_id}
        if since is not None:
            query += " AND source_modified >= :since"
            params["since"] = since
        return frozenset((r[0], r[1]) for r in conn.execute(text(query), params))
