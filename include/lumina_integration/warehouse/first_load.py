"""A first load into an empty table: one COPY straight into it instead of stage + guarded upsert.

Into an empty table every fate of a staged row but two is impossible, as long as the run holds each
key once: a live row is inserted, a tombstone is a delete of a row never loaded (it is not written,
as the staged path would not write it). So the run's live rows are COPYed into the table itself
inside a savepoint, and the table's primary key checks the one condition: a key twice among the live
rows fails the COPY with a unique violation. The tombstones' keys (held in memory up to
``MAX_TOMBSTONES``) are then checked against each other and against the live rows. If any check
fails, or another run's rows with the same keys appeared meanwhile, the savepoint is rolled back and
the caller takes the staged path over the same parts: the result is the same rows and the same
counts, only slower. At 1M Accounts this halves the load step (bench/README.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, text

from lumina_integration.canonical.schema import DELETED_COLUMN, LOADED_AT_COLUMN, RUN_KEY_COLUMN
from lumina_integration.warehouse.dialects import Dialect

# Beyond this many tombstones in one first load their keys are not held in memory: the staged path.
MAX_TOMBSTONES = 200_000
TOMBSTONE_KEYS = "lumina_stage_tombstone_keys"


class _NotFirstLoad(Exception):
    """The run cannot take this path; the savepoint is rolled back."""


def copy_straight_in(
    conn: Connection,
    d: Dialect,
    target: str,
    keys: list[str],
    columns: list[str],
    canonical: Iterable[pa.Table],
    loaded_at: datetime,
    run_key: str,
) -> tuple[int, int] | None:
    """(live rows inserted, tombstones of rows never loaded), or None: take the staged path.

    ``target`` is the quoted table, empty or not (checked here, inside the load transaction whose
    state-row lock serialises this pipeline's loads).
    """
    if not d.supports_copy_in or conn.execute(text(f"SELECT 1 FROM {target} LIMIT 1")).first() is not None:
        return None
    tombstones: list[pa.Table] = []
    savepoint = conn.begin_nested()
    try:
        rows = _live_rows(canonical, keys, tombstones, loaded_at, run_key)
        inserted = d.copy_in(conn, target, [*columns, DELETED_COLUMN, LOADED_AT_COLUMN, RUN_KEY_COLUMN], rows)
        without_row = _check_tombstones(conn, d, target, keys, tombstones)
    except _NotFirstLoad:
        savepoint.rollback()
        return None
    except Exception as error:
        if not d.is_unique_violation(error):
            raise
        savepoint.rollback()
        return None
    savepoint.commit()
    return inserted, without_row


def _live_rows(
    canonical: Iterable[pa.Table], keys: list[str], tombstones: list[pa.Table], loaded_at: datetime, run_key: str
) -> Iterator[pa.Table]:
    """The live rows with the run's load columns; the tombstones' keys go to ``tombstones``."""
    held = 0
    for table in canonical:
        deleted = table.column(DELETED_COLUMN)
        if pc.any(deleted).as_py():
            dead = table.filter(deleted).select(keys)
            held += dead.num_rows
            if held > MAX_TOMBSTONES:
                raise _NotFirstLoad
            tombstones.append(dead)
            table = table.filter(pc.invert(deleted))
        n = table.num_rows
        yield table.append_column(
            LOADED_AT_COLUMN, pa.repeat(pa.scalar(loaded_at, pa.timestamp("us", tz="UTC")), n)
        ).append_column(RUN_KEY_COLUMN, pa.repeat(pa.scalar(run_key, pa.string()), n))


def _check_tombstones(conn: Connection, d: Dialect, target: str, keys: list[str], tombstones: list[pa.Table]) -> int:
    """How many tombstones; raises ``_NotFirstLoad`` if a key is deleted twice or also live in the run."""
    count = sum(t.num_rows for t in tombstones)
    if not count:
        return 0
    q = d.quote
    conn.execute(text(f"DROP TABLE IF EXISTS {q(TOMBSTONE_KEYS)}"))
    conn.execute(text(f"CREATE TEMPORARY TABLE {q(TOMBSTONE_KEYS)} ({', '.join(f'{q(k)} TEXT' for k in keys)})"))
    d.copy_in(conn, q(TOMBSTONE_KEYS), keys, (t.cast(_as_text(t.schema)) for t in tombstones))
    listed = ", ".join(q(k) for k in keys)
    match = " AND ".join(f"t.{q(k)} = s.{q(k)}::text" for k in keys)
    clash: Any = conn.execute(
        text(
            f"SELECT 1 FROM {q(TOMBSTONE_KEYS)} GROUP BY {listed} HAVING COUNT(*) > 1 "
            f"UNION ALL SELECT 1 FROM {q(TOMBSTONE_KEYS)} t JOIN {target} s ON {match} LIMIT 1"
        )
    ).first()
    conn.execute(text(f"DROP TABLE {q(TOMBSTONE_KEYS)}"))
    if clash is not None:
        raise _NotFirstLoad
    return count


def _as_text(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, pa.string()) for f in schema])
