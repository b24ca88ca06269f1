"""Warehouse retention on Postgres and DuckDB: quarantine, audit, auth events and soft-deleted rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from lumina_integration.canonical.registry import load_entity
from lumina_integration.protection import retention_warehouse as wh
from lumina_integration.warehouse.ddl import ensure_control_tables, ensure_entity_table
from lumina_integration.warehouse.dialects import dialect_for

NOW = datetime(2026, 12, 1, tzinfo=UTC)
OLD, YOUNG = NOW - timedelta(days=100), NOW - timedelta(days=10)


def cutoff(days: int, per_entity: dict[str, int] | None = None) -> Any:
    def for_entity(entity: str | None) -> datetime:
        return NOW - timedelta(days=(per_entity or {}).get(entity or "", days))

    return for_entity


def setup(engine: Any, schema: str) -> None:
    with engine.begin() as conn:
        d = dialect_for(conn)
        ensure_control_tables(conn, d, schema)
        ensure_entity_table(conn, d, schema, load_entity("customer"))
        q = d.table(schema, "lumina_quarantine")
        for run, entity, at in [
            ("r_old", "customer", OLD),
            ("r_old", "contact", OLD),
            ("r_young", "customer", YOUNG),
            ("r_current", "customer", OLD),  # the run behind a watermark: kept
        ]:
            conn.execute(
                text(
                    f"INSERT INTO {q} (pipeline_id, run_key, entity, stage, reason, record, quarantined_at) "
                    "VALUES ('p', :r, :e, 'transform', 'bad', '{}', :at)"
                ),
                {"r": run, "e": entity, "at": at},
            )
        a = d.table(schema, "lumina_audit")
        for run, at in [("r_old", OLD), ("r_young", YOUNG), ("r_current", OLD)]:
            conn.execute(
                text(
                    f"INSERT INTO {a} (run_key, pipeline_id, run_id, run_type, entity, window_end, rows_staged, "
                    "rows_inserted, rows_updated, rows_unchanged, rows_deleted, rows_quarantined, sources_read, "
                    "status, finished_at) VALUES (:r, 'p', :r, 'scheduled', 'customer', :at, 0, 0, 0, 0, 0, 0, 0, "
                    "'success', :at)"
                ),
                {"r": run, "at": at},
            )
        conn.execute(
            text(
                f"INSERT INTO {d.table(schema, 'lumina_auth_events')} (occurred_at, conn_id, system, event, "
                "outcome, detail) VALUES (:a, 'c', 's', 'login', 'ok', '')"
            ),
            [{"a": OLD}, {"a": YOUNG}],
        )
        c = d.table(schema, "customer")
        for sid, deleted, loaded in [("1", True, OLD), ("2", True, YOUNG), ("3", False, OLD)]:
            conn.execute(
                text(
                    f"INSERT INTO {c} (source_system, source_id, name, status, source_updated_at, _is_deleted, "
                    "_loaded_at, _run_key) VALUES ('crm', :s, 'n', 'active', :at, :d, :at, 'r')"
                ),
                {"s": sid, "d": deleted, "at": loaded},
            )


def column(engine: Any, schema: str, query: str) -> list[Any]:
    with engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(text(query.replace("{s}", schema))))


def test_each_table_loses_exactly_its_expired_rows(warehouse: tuple[Any, str]) -> None:
    engine, schema = warehouse
    setup(engine, schema)
    protected = {"r_current"}

    assert wh.delete_quarantine(engine, schema, cutoff(90), protected) == {"contact": 1, "customer": 1}
    assert wh.delete_audit(engine, schema, cutoff(90), protected) == {
        "lumina_audit.customer": 1,
        "lumina_auth_events": 1,
    }
    assert wh.delete_soft_deleted(engine, schema, ["customer", "contact"], cutoff(90)) == {"customer": 1}

    assert column(engine, schema, "SELECT run_key FROM {s}.lumina_quarantine") == ["r_current", "r_young"]
    assert column(engine, schema, "SELECT run_key FROM {s}.lumina_audit") == ["r_current", "r_young"]
    assert len(column(engine, schema, "SELECT occurred_at FROM {s}.lumina_auth_events")) == 1
    assert column(engine, schema, "SELECT source_id FROM {s}.customer") == ["2", "3"], "live rows are never removed"
    # A second pass finds nothing more: retention is idempotent.
    assert wh.delete_quarantine(engine, schema, cutoff(90), protected) == {}


def test_an_entity_override_and_a_forever_zone(warehouse: tuple[Any, str]) -> None:
    engine, schema = warehouse
    setup(engine, schema)
    # customer keeps quarantine 200 days: its 100-day-old rows stay; contact's go at the default 90.
    assert wh.delete_quarantine(engine, schema, cutoff(90, {"customer": 200}), set()) == {"contact": 1}
    assert wh.delete_soft_deleted(engine, schema, ["customer"], lambda _e: None) == {}
    assert wh.protected_run_keys(engine, schema) == set()
