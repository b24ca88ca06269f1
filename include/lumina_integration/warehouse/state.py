"""The per-pipeline state row (the watermark) and the ledger of source versions read.

State lives in the warehouse beside the data, so the data and the watermark that describes it
commit together or not at all (the dlt model), and no separate store can drift from either.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, text

from lumina_integration.warehouse.ddl import LEDGER_TABLE, STATE_TABLE, ensure_control_tables
from lumina_integration.warehouse.dialects import Dialect, dialect_for
from lumina_integration.window import parse_instant


def _as_utc(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return parse_instant(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_watermark(engine: Engine, schema: str, pipeline_id: str) -> datetime | None:
    """The committed watermark, or None before the first successful scheduled load."""
    with engine.begin() as conn:
        d = dialect_for(conn)
        ensure_control_tables(conn, d, schema)
        value = conn.execute(
            text(f"SELECT watermark FROM {d.table(schema, STATE_TABLE)} WHERE pipeline_id = :p"),
            {"p": pipeline_id},
        ).scalar_one_or_none()
    return _as_utc(value)


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
