"""The erasure ledger: warehouse table ``lumina_erasures``, one row per erasure request.

It never holds the subject's clear value: ``subject_token`` is the token of the value as given (trimmed),
``match_tokens`` every token the erasure matched on (the value as given and lower-cased, the forms mappings
write). The transform step reads ``match_tokens`` of every row (any status: a running erasure already
withholds) so a later run cannot bring the subject back from its source.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from lumina_integration.warehouse.dialects import Dialect, dialect_for

ERASURES_TABLE = "lumina_erasures"


def ensure_ledger(conn: Connection, d: Dialect, schema: str) -> None:
    conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {d.quote(schema)}"))
    conn.execute(
        text(
            f"""CREATE TABLE IF NOT EXISTS {d.table(schema, ERASURES_TABLE)} (
            erasure_id TEXT PRIMARY KEY,
            requested_at {d.timestamp_type} NOT NULL,
            requested_by TEXT NOT NULL,
            subject_token TEXT NOT NULL,
            match_tokens TEXT NOT NULL,
            reason TEXT,
            rows_removed TEXT,
            parts_rewritten BIGINT,
            status TEXT NOT NULL,
            finished_at {d.timestamp_type})"""
        )
    )


def open_erasure(
    engine: Engine, schema: str, erasure_id: str, subject_token: str, tokens: list[str], requested_by: str, reason: str
) -> None:
    """Record the request as ``running`` (committed at once: from now on transform runs withhold the subject)."""
    with engine.begin() as conn:
        d = dialect_for(conn)
        ensure_ledger(conn, d, schema)
        conn.execute(
            text(
                f"INSERT INTO {d.table(schema, ERASURES_TABLE)} (erasure_id, requested_at, requested_by, "
                "subject_token, match_tokens, reason, status) VALUES (:id, :at, :by, :token, :tokens, :reason, "
                "'running') ON CONFLICT (erasure_id) DO NOTHING"
            ),
            {
                "id": erasure_id,
                "at": datetime.now(UTC),
                "by": requested_by,
                "token": subject_token,
                "tokens": json.dumps(sorted(tokens)),
                "reason": reason,
            },
        )


def close_erasure(
    conn: Connection, d: Dialect, schema: str, erasure_id: str, rows_removed: dict[str, Any], parts_rewritten: int
) -> None:
    """Mark the erasure done with its counts (inside the transaction that deleted the rows)."""
    conn.execute(
        text(
            f"UPDATE {d.table(schema, ERASURES_TABLE)} SET rows_removed = :rows, parts_rewritten = :parts, "
            "status = 'done', finished_at = :at WHERE erasure_id = :id"
        ),
        {
            "id": erasure_id,
            "rows": json.dumps(rows_removed, sort_keys=True),
            "parts": parts_rewritten,
            "at": datetime.now(UTC),
        },
    )


def erased_tokens(engine: Engine, schema: str) -> frozenset[str]:
    """Every token of every erasure recorded in the warehouse (empty when there is no ledger)."""
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT 1 FROM information_schema.tables WHERE table_schema = :s AND table_name = :t"),
            {"s": schema, "t": ERASURES_TABLE},
        ).first()
        if found is None:
            return frozenset()
        d = dialect_for(conn)
        rows = conn.execute(text(f"SELECT match_tokens FROM {d.table(schema, ERASURES_TABLE)}"))
        return frozenset(t for (value,) in rows for t in json.loads(value))
