"""Tables the loader owns: one per canonical entity, plus state, audit, quarantine and file ledger.

Created on first use and evolved additively (new schema columns are added, nothing is dropped),
inside the load transaction, so a failed load leaves no half-made table behind on Postgres.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from lumina_integration.canonical.schema import (
    DELETED_COLUMN,
    LOADED_AT_COLUMN,
    RUN_KEY_COLUMN,
    EntitySchema,
)
from lumina_integration.warehouse.dialects import Dialect

STATE_TABLE = "lumina_state"
AUDIT_TABLE = "lumina_audit"
QUARANTINE_TABLE = "lumina_quarantine"
LEDGER_TABLE = "lumina_source_ledger"
SNAPSHOT_TABLE = "lumina_schema_snapshot"
CHANGES_TABLE = "lumina_schema_changes"
# Source logins, token refreshes, refusals, rotations and breaker changes (lumina_integration.auth_audit).
AUTH_EVENTS_TABLE = "lumina_auth_events"


def control_table_ddl(d: Dialect, schema: str) -> list[str]:
    ts = d.timestamp_type
    return [
        f"CREATE SCHEMA IF NOT EXISTS {d.quote(schema)}",
        f"""CREATE TABLE IF NOT EXISTS {d.table(schema, STATE_TABLE)} (
            pipeline_id TEXT PRIMARY KEY,
            watermark {ts},
            run_key TEXT,
            updated_at {ts} NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS {d.table(schema, AUDIT_TABLE)} (
            run_key TEXT PRIMARY KEY,
            pipeline_id TEXT NOT NULL,
            run_id TEXT NOT NULL,
            run_type TEXT NOT NULL,
            entity TEXT NOT NULL,
            window_start {ts},
            window_end {ts} NOT NULL,
            watermark_before {ts},
            watermark_after {ts},
            rows_staged BIGINT NOT NULL,
            rows_inserted BIGINT NOT NULL,
            rows_updated BIGINT NOT NULL,
            rows_unchanged BIGINT NOT NULL,
            rows_deleted BIGINT NOT NULL,
            rows_quarantined BIGINT NOT NULL,
            sources_read BIGINT NOT NULL,
            status TEXT NOT NULL,
            finished_at {ts} NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS {d.table(schema, QUARANTINE_TABLE)} (
            pipeline_id TEXT NOT NULL,
            run_key TEXT NOT NULL,
            entity TEXT NOT NULL,
            stage TEXT NOT NULL,
            source_key TEXT,
            record_no BIGINT,
            reason TEXT NOT NULL,
            record TEXT NOT NULL,
            quarantined_at {ts} NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS {d.table(schema, LEDGER_TABLE)} (
            pipeline_id TEXT NOT NULL,
            source_key TEXT NOT NULL,
            source_version TEXT NOT NULL,
            source_modified {ts} NOT NULL,
            rows_read BIGINT NOT NULL,
            run_key TEXT NOT NULL,
            loaded_at {ts} NOT NULL,
            PRIMARY KEY (pipeline_id, source_key, source_version))""",
        f"""CREATE TABLE IF NOT EXISTS {d.table(schema, SNAPSHOT_TABLE)} (
            pipeline_id TEXT PRIMARY KEY,
            source_object TEXT NOT NULL,
            fields TEXT NOT NULL,
            run_key TEXT NOT NULL,
            taken_at {ts} NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS {d.table(schema, CHANGES_TABLE)} (
            pipeline_id TEXT NOT NULL,
            source_object TEXT NOT NULL,
            field TEXT NOT NULL,
            change TEXT NOT NULL,
            old_definition TEXT,
            new_definition TEXT,
            mapped BOOLEAN NOT NULL,
            action TEXT NOT NULL,
            run_key TEXT NOT NULL,
            detected_at {ts} NOT NULL,
            PRIMARY KEY (pipeline_id, field, change, run_key))""",
        f"""CREATE TABLE IF NOT EXISTS {d.table(schema, AUTH_EVENTS_TABLE)} (
            occurred_at {ts} NOT NULL,
            conn_id TEXT NOT NULL,
            pipeline_id TEXT,
            system TEXT NOT NULL,
            event TEXT NOT NULL,
            outcome TEXT NOT NULL,
            detail TEXT NOT NULL)""",
    ]


# Columns added to control tables after their first release: (table, column, type), added if missing.
ADDED_CONTROL_COLUMNS = (
    (STATE_TABLE, "fields_covered", "TEXT"),
    (AUDIT_TABLE, "mode", "TEXT"),
    (AUDIT_TABLE, "api_calls", "BIGINT"),
    (AUDIT_TABLE, "bulk_jobs", "BIGINT"),
    # Where every staged row went (LoadResult): with the counts above they add up to rows_staged.
    (AUDIT_TABLE, "rows_superseded", "BIGINT"),
    (AUDIT_TABLE, "rows_guard_refused", "BIGINT"),
    (AUDIT_TABLE, "tombstones_without_row", "BIGINT"),
    (AUDIT_TABLE, "tombstones_refused", "BIGINT"),
    (AUDIT_TABLE, "tombstones_already_deleted", "BIGINT"),
    (AUDIT_TABLE, "rows_deleted_unread", "BIGINT"),
    # Maintenance runs (retention): lake objects removed, and what was removed per zone and entity (JSON).
    (AUDIT_TABLE, "objects_deleted", "BIGINT"),
    (AUDIT_TABLE, "detail", "TEXT"),
)


def ensure_control_tables(conn: Connection, d: Dialect, schema: str) -> None:
    for statement in control_table_ddl(d, schema):
        conn.execute(text(statement))
    present: dict[str, set[str]] = {}
    for table, column, type_ in ADDED_CONTROL_COLUMNS:
        # Checked first: ALTER TABLE locks the table even when the column is already there.
        if column not in present.setdefault(table, existing_columns(conn, schema, table)):
            conn.execute(text(f"ALTER TABLE {d.table(schema, table)} ADD COLUMN {column} {type_}"))


def entity_table_ddl(d: Dialect, schema: str, entity: EntitySchema) -> str:
    columns = [f"{d.quote(c.name)} {d.sql_type(c.type)}{'' if c.nullable else ' NOT NULL'}" for c in entity.columns]
    columns += [
        f"{d.quote(DELETED_COLUMN)} BOOLEAN NOT NULL DEFAULT FALSE",
        f"{d.quote(LOADED_AT_COLUMN)} {d.timestamp_type} NOT NULL",
        f"{d.quote(RUN_KEY_COLUMN)} TEXT NOT NULL",
    ]
    pk = ", ".join(d.quote(c) for c in entity.primary_key)
    body = ",\n  ".join([*columns, f"PRIMARY KEY ({pk})"])
    return f"CREATE TABLE IF NOT EXISTS {d.table(schema, entity.entity)} (\n  {body})"


def existing_columns(conn: Connection, schema: str, table: str) -> set[str]:
    rows = conn.execute(
        text("SELECT column_name FROM information_schema.columns WHERE table_schema = :s AND table_name = :t"),
        {"s": schema, "t": table},
    )
    return {r[0] for r in rows}


def ensure_entity_table(conn: Connection, d: Dialect, schema: str, entity: EntitySchema) -> list[str]:
    """Create the entity's table or add the columns it lacks; returns the columns added."""
    conn.execute(text(entity_table_ddl(d, schema, entity)))
    present = existing_columns(conn, schema, entity.entity)
    added = []
    for column in entity.columns:
        if column.name not in present:
            # Added columns stay nullable: existing rows have no value for them.
            conn.execute(
                text(
                    f"ALTER TABLE {d.table(schema, entity.entity)} "
                    f"ADD COLUMN {d.quote(column.name)} {d.sql_type(column.type)}"
                )
            )
            added.append(column.name)
    return added
