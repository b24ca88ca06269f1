"""The warehouse table ``lumina_auth_events``: written from a task's collected events, read by ``lumina auth-events``.

One row per :class:`~lumina_integration.auth_audit.AuthEvent` (occurred_at, conn_id, pipeline_id, system,
event, outcome, detail). The table is one of the control tables (:mod:`.ddl`), made with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text

from lumina_integration.auth_audit import AuthEvent
from lumina_integration.warehouse.connection import WarehouseTarget
from lumina_integration.warehouse.ddl import AUTH_EVENTS_TABLE, ensure_control_tables, existing_columns
from lumina_integration.warehouse.dialects import dialect_for

COLUMNS = ("occurred_at", "conn_id", "pipeline_id", "system", "event", "outcome", "detail")


def write_auth_events(target: WarehouseTarget, events: Sequence[AuthEvent]) -> int:
    """Insert ``events`` in one transaction (the table made first if needed); returns how many."""
    if not events:
        return 0
    with target.engine.begin() as conn:
        d = dialect_for(conn)
        ensure_control_tables(conn, d, target.schema)
        names = ", ".join(COLUMNS)
        values = ", ".join(f":{c}" for c in COLUMNS)
        conn.execute(
            text(f"INSERT INTO {d.table(target.schema, AUTH_EVENTS_TABLE)} ({names}) VALUES ({values})"),
            [{c: getattr(e, c) for c in COLUMNS} for e in events],
        )
    return len(events)


def read_auth_events(
    target: WarehouseTarget,
    *,
    conn_id: str | None = None,
    since: datetime | None = None,
    pipeline_id: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """The latest events first, filtered by connection, pipeline and time (all optional)."""
    with target.engine.connect() as conn:
        if not existing_columns(conn, target.schema, AUTH_EVENTS_TABLE):
            return []
        d = dialect_for(conn)
        where: list[str] = []
        params: dict[str, Any] = {"limit": int(limit)}
        for column, value in (("conn_id", conn_id), ("pipeline_id", pipeline_id), ("occurred_at", since)):
            if value is not None:
                where.append(f"{column} {'>=' if column == 'occurred_at' else '='} :{column}")
                params[column] = value
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = conn.execute(
            text(
                f"SELECT {', '.join(COLUMNS)} FROM {d.table(target.schema, AUTH_EVENTS_TABLE)}{clause} "
                "ORDER BY occurred_at DESC LIMIT :limit"
            ),
            params,
        )
        return [dict(row._mapping) for row in rows]


def format_events(rows: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of events (what ``lumina auth-events`` prints)."""
    if not rows:
        return "No authentication events."
    lines = [
        f"{'occurred_at (UTC)':<26}{'conn_id':<28}{'pipeline':<28}{'system':<12}{'event':<15}{'outcome':<15}detail"
    ]
    for r in rows:
        stamp = r["occurred_at"]
        when = stamp.strftime("%Y-%m-%d %H:%M:%S") if isinstance(stamp, datetime) else str(stamp)[:19]
        lines.append(
            f"{when:<26}{r['conn_id']:<28}{r['pipeline_id'] or '-':<28}{r['system']:<12}{r['event']:<15}"
            f"{r['outcome']:<15}{r['detail']}"
        )
    return "\n".join(lines)
