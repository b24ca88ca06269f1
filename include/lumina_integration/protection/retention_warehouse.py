"""Retention in the warehouse: quarantine rows, audit rows, authentication events, soft-deleted rows.

Each table's deletion is its own short transaction (a retention run is idempotent: a failure half way
leaves the rest for the next run). Nothing newer than its cutoff is touched, and rows of a protected run
(the run whose load set a pipeline's current watermark) are kept whatever their age.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, text

from lumina_integration.canonical.schema import DELETED_COLUMN, LOADED_AT_COLUMN
from lumina_integration.warehouse.ddl import AUDIT_TABLE, AUTH_EVENTS_TABLE, QUARANTINE_TABLE, STATE_TABLE
from lumina_integration.warehouse.dialects import dialect_for

# entity -> the cutoff for it (None: keep forever)
CutoffFor = Callable[[str | None], datetime | None]


def tables_present(conn: Connection, schema: str) -> set[str]:
    rows = conn.execute(text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"), {"s": schema})
    return {r[0] for r in rows}


def protected_run_keys(engine: Engine, schema: str) -> set[str]:
    """The run keys behind every pipeline's current watermark (empty before any load)."""
    with engine.connect() as conn:
        if STATE_TABLE not in tables_present(conn, schema):
            return set()
        d = dialect_for(conn)
        rows = conn.execute(text(f"SELECT run_key FROM {d.table(schema, STATE_TABLE)} WHERE run_key IS NOT NULL"))
        return {r[0] for r in rows}


def _delete_by_entity(
    engine: Engine, schema: str, table: str, stamp: str, cutoff_for: CutoffFor, protected: Collection[str]
) -> dict[str, int]:
    """Rows of ``table`` (which has ``entity`` and ``run_key`` columns) older than their entity's cutoff."""
    removed: dict[str, int] = {}
    with engine.begin() as conn:
        if table not in tables_present(conn, schema):
            return removed
        d = dialect_for(conn)
        name = d.table(schema, table)
        entities = [r[0] for r in conn.execute(text(f"SELECT DISTINCT entity FROM {name}"))]
        for entity in sorted(entities):
            cutoff = cutoff_for(entity)
            if cutoff is None:
                continue
            statement = f"DELETE FROM {name} WHERE entity = :e AND {stamp} < :cutoff"
            params: dict[str, object] = {"e": entity, "cutoff": cutoff}
            if protected:
                statement += " AND run_key NOT IN :protected"
                params["protected"] = sorted(protected)
            query = text(statement)
            if protected:
                query = query.bindparams(bindparam("protected", expanding=True))
            deleted = conn.execute(query, params).rowcount
            if deleted:
                removed[entity] = int(deleted)
    return removed


def delete_quarantine(engine: Engine, schema: str, cutoff_for: CutoffFor, protected: Collection[str]) -> dict[str, int]:
    return _delete_by_entity(engine, schema, QUARANTINE_TABLE, "quarantined_at", cutoff_for, protected)


def delete_audit(engine: Engine, schema: str, cutoff_for: CutoffFor, protected: Collection[str]) -> dict[str, int]:
    """Audit rows by entity, then authentication events (no entity: the zone's days) when that table exists."""
    removed = {
        f"{AUDIT_TABLE}.{k}": v
        for k, v in _delete_by_entity(engine, schema, AUDIT_TABLE, "finished_at", cutoff_for, protected).items()
    }
    cutoff = cutoff_for(None)
    if cutoff is None:
        return removed
    with engine.begin() as conn:
        if AUTH_EVENTS_TABLE in tables_present(conn, schema):
            d = dialect_for(conn)
            deleted = conn.execute(
                text(f"DELETE FROM {d.table(schema, AUTH_EVENTS_TABLE)} WHERE occurred_at < :cutoff"),
                {"cutoff": cutoff},
            ).rowcount
            if deleted:
                removed[AUTH_EVENTS_TABLE] = int(deleted)
    return removed


def delete_soft_deleted(engine: Engine, schema: str, entities: Iterable[str], cutoff_for: CutoffFor) -> dict[str, int]:
    """Rows flagged ``_is_deleted`` whose last load (``_loaded_at``) is older than their entity's cutoff."""
    removed: dict[str, int] = {}
    for entity in sorted(set(entities)):
        cutoff = cutoff_for(entity)
        if cutoff is None:
            continue
        with engine.begin() as conn:
            if entity not in tables_present(conn, schema):
                continue
            d = dialect_for(conn)
            deleted = conn.execute(
                text(
                    f"DELETE FROM {d.table(schema, entity)} WHERE {d.quote(DELETED_COLUMN)} "
                    f"AND {d.quote(LOADED_AT_COLUMN)} < :cutoff"
                ),
                {"cutoff": cutoff},
            ).rowcount
            if deleted:
                removed[entity] = int(deleted)
    return removed
