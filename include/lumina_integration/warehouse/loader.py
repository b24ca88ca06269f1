"""The load step: one warehouse transaction per run.

stage (COPY) -> keep the newest version of each key -> upsert live rows with a cursor guard
(older never overwrites newer) -> apply tombstones -> record quarantined rows and the source
versions read -> advance the watermark (scheduled runs only) -> schema change log, snapshot
and field coverage -> audit row -> commit. A refresh run updates only its columns, only where
they differ, only on rows not changed since the refresh read them. A resync run rewrites every row
of its source (the key constants in ``scope``) that no other run loaded since the resync began
reading: read rows win whatever their stamps say, rows whose id it did not read become tombstones
(an id it read but had to quarantine keeps its last good row).
A failure anywhere before the commit rolls everything back: the warehouse and the watermark
stay exactly as they were, and the retried task starts over from the staged files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import pyarrow as pa
from sqlalchemy import Connection, Engine, text

from lumina_integration import failpoints
from lumina_integration.canonical.schema import DELETED_COLUMN, LOADED_AT_COLUMN, RUN_KEY_COLUMN, EntitySchema
from lumina_integration.hooks.base import SourceVersion
from lumina_integration.quarantine import QUARANTINE_SCHEMA
from lumina_integration.warehouse import state
from lumina_integration.warehouse.ddl import (
    AUDIT_TABLE,
    LEDGER_TABLE,
    QUARANTINE_TABLE,
    ensure_control_tables,
    ensure_entity_table,
)
from lumina_integration.warehouse.dialects import Dialect, dialect_for
from lumina_integration.warehouse.first_load import copy_straight_in

STAGE = "lumina_stage"
LATEST = "lumina_stage_latest"
READ_IDS = "lumina_stage_read_ids"  # resync runs: every id the source returned, loadable or not
SEQ = "_lumina_seq"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadRequest:
    pipeline_id: str
    run_key: str
    run_id: str
    run_type: str
    entity: EntitySchema
    window_start: datetime | None
    window_end: datetime
    advance_watermark: bool
    deletes: Literal["soft", "hard"] = "soft"
    sources: list[SourceVersion] = field(default_factory=list)
    mode: Literal["incremental", "reconcile", "refresh", "resync"] = "incremental"
    refresh_columns: list[str] = field(default_factory=list)  # refresh runs: the columns to update
    as_of: datetime | None = None  # refresh runs: when the source was read (rows changed since are kept)
    api_calls: int = 0
    bulk_jobs: int = 0
    schema_drift: SchemaDrift | None = None
    fields_covered: list[str] | None = None  # the pipeline's new field coverage, when it changes
    # resync runs: the key constants of the source's rows (source_system...) and when its read began
    scope: dict[str, str] = field(default_factory=dict)
    read_started_at: datetime | None = None


@dataclass(frozen=True)
class SchemaDrift:
    """What the plan step saw of the source's fields, written with the run's data."""

    source_object: str
    changes: list[dict[str, Any]]
    snapshot: dict[str, Any] | None  # None: keep the stored snapshot


class LoadAccountingError(RuntimeError):
    """The fates counted for a load's staged rows do not add up to the rows staged."""


@dataclass(frozen=True)
class LoadResult:
    """What became of every staged row: the ``rows_*`` and ``tombstones_*`` fates add up to ``rows_staged``.

    ``rows_superseded``: an older version of a key that a newer one in the same run replaced (the closed
    lower bound and the lookback read records again); ``rows_guard_refused``: a version older than the
    warehouse's (the cursor guard keeps the newer row); ``tombstones_without_row``: a delete of a record the
    warehouse never held live (created and deleted between two runs, or purged before the first load);
    ``tombstones_refused``: a delete older than the warehouse's version; ``tombstones_already_deleted``: a
    delete of a row already deleted. Quarantined rows never reach the stage and are counted apart.
    """

    rows_staged: int
    rows_inserted: int
    rows_updated: int
    rows_unchanged: int
    rows_deleted: int
    rows_quarantined: int
    columns_added: list[str]
    watermark_before: str | None
    watermark_after: str | None
    rows_superseded: int = 0
    rows_guard_refused: int = 0
    tombstones_without_row: int = 0
    tombstones_refused: int = 0
    tombstones_already_deleted: int = 0
    rows_deleted_unread: int = 0  # resync runs: rows of the source it did not read, deleted (not staged rows)

    def to_xcom(self) -> dict[str, Any]:
        return asdict(self)

    def fates(self) -> dict[str, int]:
        """Every fate of a staged row with its count, in the order the log names them."""
        return {
            "inserted": self.rows_inserted,
            "updated": self.rows_updated,
            "unchanged": self.rows_unchanged,
            "superseded in the run": self.rows_superseded,
            "older than the warehouse's": self.rows_guard_refused,
            "deleted": self.rows_deleted,
            "deletes of rows never loaded": self.tombstones_without_row,
            "deletes older than the warehouse's": self.tombstones_refused,
            "deletes of rows already deleted": self.tombstones_already_deleted,
        }

    def summary(self) -> str:
        """One line naming where every staged row went."""
        named = ", ".join(f"{c} {n}" for n, c in self.fates().items() if c or n in ("inserted", "updated"))
        unread = f"; {self.rows_deleted_unread} not read by the resync, deleted" if self.rows_deleted_unread else ""
        return f"{self.rows_staged} staged = {named}; {self.rows_quarantined} quarantined before staging{unread}"


def _with_sequence(tables: Iterable[pa.Table]) -> Iterable[pa.Table]:
    """Number rows in arrival order, so a later version of a key wins a cursor tie."""
    offset = 0
    for table in tables:
        seq = pa.array(range(offset, offset + table.num_rows), pa.int64())
        offset += table.num_rows
        yield table.append_column(SEQ, seq)


class _Merge:
    """The SQL of one load, for one dialect, schema and entity (or a subset of its columns)."""

    def __init__(
        self, d: Dialect, schema: str, entity: EntitySchema, only: list[str] | None = None, *, resync: bool = False
    ):
        self.d, self.entity, self.resync = d, entity, resync
        self.target = d.table(schema, entity.entity)
        self.q = d.quote
        self.keys = entity.primary_key
        self.cursor = entity.cursor
        keep = None if only is None else {*self.keys, *only}
        self.staged = [c for c in entity.columns if keep is None or c.name in keep]
        self.columns = [c.name for c in self.staged]

    def create_stage(self) -> list[str]:
        cols = [f"{self.q(c.name)} {self.d.sql_type(c.type)}" for c in self.staged]
        cols += [f"{self.q(DELETED_COLUMN)} BOOLEAN NOT NULL", f"{self.q(SEQ)} BIGINT NOT NULL"]
        return [
            f"DROP TABLE IF EXISTS {self.q(STAGE)}",
            f"DROP TABLE IF EXISTS {self.q(LATEST)}",
            f"CREATE TEMPORARY TABLE {self.q(STAGE)} ({', '.join(cols)})",
        ]

    def has_duplicate_keys(self) -> str:
        keys = ", ".join(self.q(k) for k in self.keys)
        return f"SELECT 1 FROM {self.q(STAGE)} GROUP BY {keys} HAVING COUNT(*) > 1 LIMIT 1"

    def stage_is_latest(self) -> str:
        """With one row per key the stage already is the newest version of each: no ranking needed."""
        return f"ALTER TABLE {self.q(STAGE)} RENAME TO {self.q(LATEST)}"

    def keep_latest(self) -> str:
        keys = ", ".join(self.q(k) for k in self.keys)
        listed = ", ".join(self.q(c) for c in [*self.columns, DELETED_COLUMN])
        # A refresh stages no cursor (its rows are one read of the source): arrival order decides.
        newest = f"{self.q(self.cursor)} DESC, " if self.cursor in self.columns else ""
        return (
            f"CREATE TEMPORARY TABLE {self.q(LATEST)} AS SELECT {listed} FROM ("
            f"SELECT *, ROW_NUMBER() OVER (PARTITION BY {keys} "
            f"ORDER BY {newest}{self.q(SEQ)} DESC) AS lumina_rank "
            f"FROM {self.q(STAGE)}) ranked WHERE lumina_rank = 1"
        )

    def _guard(self, new: str) -> str:
        """The cursor guard: an older version never overwrites a newer one. A resync's read is the
        source's truth, so it overrides the guard on rows not loaded since it began reading (a row
        stamped ahead of a source clock that stepped back must come back down)."""
        guard = f"{self.target}.{self.q(self.cursor)} <= {new}.{self.q(self.cursor)}"
        if self.resync:
            guard = f"({guard} OR {self.target}.{self.q(LOADED_AT_COLUMN)} <= :read_started_at)"
        return guard

    def _key_match(self, left: str, right: str) -> str:
        return " AND ".join(f"{left}.{self.q(k)} = {right}.{self.q(k)}" for k in self.keys)

    def count_new(self) -> str:
        return (
            f"SELECT COUNT(*) FROM {self.q(LATEST)} s WHERE NOT s.{self.q(DELETED_COLUMN)} AND NOT EXISTS "
            f"(SELECT 1 FROM {self.target} t WHERE {self._key_match('t', 's')})"
        )

    def _guard_holds(self, target: str, staged: str) -> str:
        # The statements' guard (a resync's relaxed one too), as a condition over aliases. IS TRUE: a NULL
        # cursor on either side fails the guard in the statements, so it is counted so.
        guard = f"{target}.{self.q(self.cursor)} <= {staged}.{self.q(self.cursor)}"
        if self.resync:
            guard = f"{guard} OR {target}.{self.q(LOADED_AT_COLUMN)} <= :read_started_at"
        return f"({guard}) IS TRUE"

    def count_live_fates(self) -> str:
        """(older than the warehouse's, identical) among the staged live rows whose key the warehouse has.

        Counted before the upsert, independently of it, so that the identity checked afterwards can fail.
        """
        non_keys = [c for c in self.columns if c not in self.keys]
        differs = " OR ".join(f"t.{self.q(c)} IS DISTINCT FROM s.{self.q(c)}" for c in non_keys) or "FALSE"
        guard = self._guard_holds("t", "s")
        return (
            f"SELECT COALESCE(SUM(CASE WHEN NOT {guard} THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN {guard} AND NOT t.{self.q(DELETED_COLUMN)} AND NOT ({differs}) "
            f"THEN 1 ELSE 0 END), 0) "
            f"FROM {self.q(LATEST)} s JOIN {self.target} t ON {self._key_match('t', 's')} "
            f"WHERE NOT s.{self.q(DELETED_COLUMN)}"
        )

    def count_tombstone_fates(self) -> str:
        """(without a row, older than the warehouse's, already deleted) among the staged tombstones."""
        guard = self._guard_holds("t", "s")
        key = self.q(self.keys[0])
        return (
            f"SELECT COALESCE(SUM(CASE WHEN t.{key} IS NULL THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN t.{key} IS NOT NULL AND NOT {guard} THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN t.{key} IS NOT NULL AND {guard} AND t.{self.q(DELETED_COLUMN)} "
            f"THEN 1 ELSE 0 END), 0) "
            f"FROM {self.q(LATEST)} s LEFT JOIN {self.target} t ON {self._key_match('t', 's')} "
            f"WHERE s.{self.q(DELETED_COLUMN)}"
        )

    def upsert_live(self) -> str:
        insert_cols = [*self.columns, DELETED_COLUMN, LOADED_AT_COLUMN, RUN_KEY_COLUMN]
        listed = ", ".join(self.q(c) for c in insert_cols)
        selected = ", ".join([*(self.q(c) for c in self.columns), "FALSE", ":loaded_at", ":run_key"])
        non_keys = [c for c in [*self.columns, DELETED_COLUMN] if c not in self.keys]
        assignments = ", ".join(
            f"{self.q(c)} = EXCLUDED.{self.q(c)}" for c in [*non_keys, LOADED_AT_COLUMN, RUN_KEY_COLUMN]
        )
        changed = " OR ".join(f"{self.target}.{self.q(c)} IS DISTINCT FROM EXCLUDED.{self.q(c)}" for c in non_keys)
        keys = ", ".join(self.q(k) for k in self.keys)
        return (
            f"INSERT INTO {self.target} ({listed}) SELECT {selected} FROM {self.q(LATEST)} "
            f"WHERE NOT {self.q(DELETED_COLUMN)} "
            f"ON CONFLICT ({keys}) DO UPDATE SET {assignments} "
            # The cursor guard: an older version never overwrites a newer one; an identical
            # version is not rewritten, so replaying a window changes nothing.
            f"WHERE {self._guard('EXCLUDED')} AND ({changed})"
        )

    def _tombstone_match(self) -> str:
        return f"{self._key_match(self.target, 's')} AND s.{self.q(DELETED_COLUMN)} AND {self._guard('s')}"

    def soft_delete(self) -> str:
        return (
            f"UPDATE {self.target} SET {self.q(DELETED_COLUMN)} = TRUE, "
            f"{self.q(self.cursor)} = s.{self.q(self.cursor)}, "
            f"{self.q(LOADED_AT_COLUMN)} = :loaded_at, {self.q(RUN_KEY_COLUMN)} = :run_key "
            f"FROM {self.q(LATEST)} s WHERE {self._tombstone_match()} AND NOT {self.target}.{self.q(DELETED_COLUMN)}"
        )

    def refresh(self) -> str:
        """Update only the staged non-key columns, only where they differ, only on live rows whose
        cursor is not newer than the refresh's read (an incremental load may have been faster)."""
        updated = [c for c in self.columns if c not in self.keys]
        assignments = ", ".join(f"{self.q(c)} = s.{self.q(c)}" for c in updated)
        changed = " OR ".join(f"{self.target}.{self.q(c)} IS DISTINCT FROM s.{self.q(c)}" for c in updated)
        return (
            f"UPDATE {self.target} SET {assignments}, {self.q(LOADED_AT_COLUMN)} = :loaded_at, "
            f"{self.q(RUN_KEY_COLUMN)} = :run_key FROM {self.q(LATEST)} s WHERE {self._key_match(self.target, 's')} "
            f"AND NOT {self.target}.{self.q(DELETED_COLUMN)} AND {self.target}.{self.q(self.cursor)} <= :as_of "
            f"AND ({changed})"
        )

    def hard_delete(self) -> str:
        return (
            f"DELETE FROM {self.target} WHERE EXISTS (SELECT 1 FROM {self.q(LATEST)} s WHERE {self._tombstone_match()})"
        )

    def id_column(self, scope: dict[str, str]) -> str:
        """The one key column a source's records fill (the others are the scope's constants)."""
        (column,) = [k for k in self.keys if k not in scope]
        return column

    def create_read_ids(self, scope: dict[str, str]) -> list[str]:
        return [
            f"DROP TABLE IF EXISTS {self.q(READ_IDS)}",
            f"CREATE TEMPORARY TABLE {self.q(READ_IDS)} ({self.q(self.id_column(scope))} TEXT NOT NULL)",
        ]

    def _unread(self, scope: dict[str, str]) -> str:
        """Rows of the resync's source whose id its read did not return, and no run loaded since it began."""
        conditions = [f"{self.target}.{self.q(c)} = :scope_{i}" for i, c in enumerate(sorted(scope))]
        key = self.q(self.id_column(scope))
        return " AND ".join(
            [
                *conditions,
                f"{self.target}.{self.q(LOADED_AT_COLUMN)} <= :read_started_at",
                f"NOT EXISTS (SELECT 1 FROM {self.q(READ_IDS)} r WHERE r.{key} = {self.target}.{key})",
            ]
        )

    def soft_delete_unread(self, scope: dict[str, str]) -> str:
        return (
            f"UPDATE {self.target} SET {self.q(DELETED_COLUMN)} = TRUE, {self.q(self.cursor)} = :as_of, "
            f"{self.q(LOADED_AT_COLUMN)} = :loaded_at, {self.q(RUN_KEY_COLUMN)} = :run_key "
            f"WHERE NOT {self.target}.{self.q(DELETED_COLUMN)} AND {self._unread(scope)}"
        )

    def hard_delete_unread(self, scope: dict[str, str]) -> str:
        return f"DELETE FROM {self.target} WHERE {self._unread(scope)}"


def _record_quarantine(
    conn: Connection, d: Dialect, schema: str, request: LoadRequest, rows: Iterable[pa.Table], now: datetime
) -> int:
    table = d.table(schema, QUARANTINE_TABLE)
    # A retried load replaces its own quarantine rows instead of adding them twice.
    conn.execute(text(f"DELETE FROM {table} WHERE run_key = :run_key"), {"run_key": request.run_key})
    count = 0
    statement = text(
        f"INSERT INTO {table} (pipeline_id, run_key, entity, stage, source_key, record_no, reason, record, "
        "quarantined_at) VALUES (:pipeline_id, :run_key, :entity, :stage, :source_key, :record_no, :reason, "
        ":record, :now)"
    )
    for part in rows:
        part = part.select(QUARANTINE_SCHEMA.names)
        params = [
            {
                "pipeline_id": request.pipeline_id,
                "run_key": request.run_key,
                "entity": request.entity.entity,
                "stage": r["stage"],
                "source_key": r["_lumina_source_key"],
                "record_no": r["_lumina_record_no"],
                "reason": r["reason"],
                "record": r["record"],
                "now": now,
            }
            for r in part.to_pylist()
        ]
        if params:
            conn.execute(statement, params)
            count += len(params)
    return count


def _record_sources(conn: Connection, d: Dialect, schema: str, request: LoadRequest, now: datetime) -> None:
    if not request.sources:
        return
    conn.execute(
        text(
            f"INSERT INTO {d.table(schema, LEDGER_TABLE)} (pipeline_id, source_key, source_version, "
            "source_modified, rows_read, run_key, loaded_at) VALUES (:p, :k, :v, :m, :r, :run_key, :now) "
            "ON CONFLICT (pipeline_id, source_key, source_version) DO NOTHING"
        ),
        [
            {
                "p": request.pipeline_id,
                "k": s.key,
                "v": s.version,
                "m": s.modified,
                "r": s.rows,
                "run_key": request.run_key,
                "now": now,
            }
            for s in request.sources
        ],
    )


def load_run(
    engine: Engine,
    schema: str,
    request: LoadRequest,
    canonical: Iterable[pa.Table],
    quarantined: Iterable[pa.Table] = (),
    read_ids: Iterable[pa.Table] | None = None,
) -> LoadResult:
    """Load one run's canonical parts and quarantine rows in a single transaction.

    ``read_ids``: resync runs only, every id the source returned (one column, named as the key
    column the records fill), so a record whose current version was quarantined is not taken for
    a deleted one.
    """
    now = datetime.now(UTC)
    with engine.begin() as conn:
        d = dialect_for(conn)
        ensure_control_tables(conn, d, schema)
        columns_added = ensure_entity_table(conn, d, schema, request.entity)
        before = state.lock_watermark(conn, d, schema, request.pipeline_id)

        refresh, resync = request.mode == "refresh", request.mode == "resync"
        if resync and (
            not request.scope or request.read_started_at is None or request.as_of is None or read_ids is None
        ):
            raise ValueError(
                "a resync load needs its source's key constants, when its read began, its as-of and the ids it read"
            )
        merge = _Merge(d, schema, request.entity, request.refresh_columns if refresh else None, resync=resync)
        params: dict[str, Any] = {"loaded_at": now, "run_key": request.run_key}
        started = time.perf_counter()
        straight_in = None
        if request.mode in ("incremental", "reconcile") and _replayable(canonical):
            straight_in = copy_straight_in(
                conn, d, merge.target, merge.keys, merge.columns, canonical, now, request.run_key
            )
        if straight_in is not None:
            inserted, without_row = straight_in
            staged, changed, unchanged, deleted = inserted + without_row, inserted, 0, 0
            fates: dict[str, int] = {"tombstones_without_row": without_row}
            fates_apart: dict[str, int] = {}
            how = "first load: copied straight into the empty table"
        else:
            staged, inserted, changed, unchanged, deleted, fates, fates_apart = _merge_staged(
                conn, d, merge, request, canonical, read_ids, params
            )
            how = "staged, merged with the cursor guard"
        log.info("%s: %d rows %s in %.1f s", merge.target, staged, how, time.perf_counter() - started)

        quarantined_rows = _record_quarantine(conn, d, schema, request, quarantined, now)
        _record_sources(conn, d, schema, request, now)
        after = before
        if request.advance_watermark:
            after = state.advance_watermark(conn, d, schema, request.pipeline_id, request.window_end, request.run_key)
        _record_schema(conn, d, schema, request)

        result = LoadResult(
            rows_staged=staged,
            rows_inserted=inserted,
            rows_updated=changed - inserted,
            rows_unchanged=unchanged,
            rows_deleted=deleted,
            rows_quarantined=quarantined_rows,
            columns_added=columns_added,
            watermark_before=before.isoformat() if before else None,
            watermark_after=after.isoformat() if after else None,
            **fates,
            **fates_apart,
        )
        _check_accounting(result)
        write_audit(conn, d, schema, request, result, now)
        conn.execute(text(f"DROP TABLE IF EXISTS {d.quote(STAGE)}"))
        conn.execute(text(f"DROP TABLE IF EXISTS {d.quote(LATEST)}"))
        conn.execute(text(f"DROP TABLE IF EXISTS {d.quote(READ_IDS)}"))
        failpoints.hit("load.before_commit")
    failpoints.hit("load.after_commit")
    return result


def _merge_staged(
    conn: Connection,
    d: Dialect,
    merge: _Merge,
    request: LoadRequest,
    canonical: Iterable[pa.Table],
    read_ids: Iterable[pa.Table] | None,
    params: dict[str, Any],
) -> tuple[int, int, int, int, int, dict[str, int], dict[str, int]]:
    """Stage, keep the newest version per key, count every fate, then upsert with the guard and delete.

    Returns (staged, inserted, changed, unchanged, deleted, fates, fates apart from the staged rows).
    """
    refresh, resync = request.mode == "refresh", request.mode == "resync"
    for statement in merge.create_stage():
        conn.execute(text(statement))
    stage_columns = [*merge.columns, DELETED_COLUMN, SEQ]
    staged = d.fill_stage(conn, STAGE, stage_columns, _with_sequence(canonical))
    # A first load has one row per key: ranking a million rows to keep them all costs seconds.
    duplicates = conn.execute(text(merge.has_duplicate_keys())).first() is not None
    conn.execute(text(merge.keep_latest() if duplicates else merge.stage_is_latest()))

    if resync:
        params.update(read_started_at=request.read_started_at, as_of=request.as_of)
        params.update({f"scope_{i}": request.scope[c] for i, c in enumerate(sorted(request.scope))})
    latest_live, latest_dead = conn.execute(
        text(
            f"SELECT COALESCE(SUM(CASE WHEN {d.quote(DELETED_COLUMN)} THEN 0 ELSE 1 END), 0), "
            f"COALESCE(SUM(CASE WHEN {d.quote(DELETED_COLUMN)} THEN 1 ELSE 0 END), 0) FROM {d.quote(LATEST)}"
        )
    ).one()
    fates: dict[str, int] = {"rows_superseded": staged - latest_live - latest_dead}
    fates_apart: dict[str, int] = {}
    if refresh:
        inserted, deleted, changed = 0, 0, 0
        if request.refresh_columns:  # an empty refresh still records its audit row
            as_of = request.as_of or params["loaded_at"]
            changed = conn.execute(text(merge.refresh()), {**params, "as_of": as_of}).rowcount
        # A refresh updates only what differs on rows not changed since its read: the rest is "unchanged".
        unchanged = latest_live - changed
    else:
        refused, unchanged = conn.execute(text(merge.count_live_fates()), params).one()
        without_row, tomb_refused, already = conn.execute(text(merge.count_tombstone_fates()), params).one()
        fates.update(
            rows_guard_refused=refused,
            tombstones_without_row=without_row,
            tombstones_refused=tomb_refused,
            tombstones_already_deleted=already if request.deletes == "soft" else 0,
        )
        inserted = conn.execute(text(merge.count_new())).scalar_one()
        changed = conn.execute(text(merge.upsert_live()), params).rowcount
        delete_sql = merge.soft_delete() if request.deletes == "soft" else merge.hard_delete()
        deleted = conn.execute(text(delete_sql), params).rowcount
        if resync:
            assert read_ids is not None
            for statement in merge.create_read_ids(request.scope):
                conn.execute(text(statement))
            d.fill_stage(conn, READ_IDS, [merge.id_column(request.scope)], read_ids)
            soft = request.deletes == "soft"
            unread = merge.soft_delete_unread(request.scope) if soft else merge.hard_delete_unread(request.scope)
            # Rows of the source the resync did not read: not staged rows, so counted apart.
            fates_apart["rows_deleted_unread"] = conn.execute(text(unread), params).rowcount
    return staged, inserted, changed, unchanged, deleted, fates, fates_apart


def _replayable(canonical: Iterable[pa.Table]) -> bool:
    """Whether the parts can be read twice (the first-load path falls back to the staged one over them)."""
    return iter(canonical) is not canonical


def _check_accounting(result: LoadResult) -> None:
    """Refuse to commit a load whose staged rows are not all accounted for.

    The fates are counted by separate statements before the writes, so a mismatch means a row was
    written, or not written, for a reason nobody named: committing that would hide a loss. Raising
    rolls the whole load back, and the task fails with the counts (no row values) in its error.
    """
    accounted = sum(result.fates().values())
    if accounted != result.rows_staged:
        raise LoadAccountingError(
            f"{result.rows_staged} rows staged but {accounted} accounted for ({result.summary()}); "
            "nothing was committed"
        )


def _record_schema(conn: Connection, d: Dialect, schema: str, request: LoadRequest) -> None:
    """The schema change log, the new field snapshot and field coverage, with the run's data."""
    drift = request.schema_drift
    if drift is not None:
        changes = [{**c, "object": drift.source_object} for c in drift.changes]
        state.record_schema_changes(conn, d, schema, request.pipeline_id, request.run_key, changes)
        if drift.snapshot is not None:
            state.write_snapshot(
                conn, d, schema, request.pipeline_id, drift.source_object, drift.snapshot, request.run_key
            )
    if request.fields_covered is not None:
        state.set_fields_covered(conn, d, schema, request.pipeline_id, request.fields_covered)


def write_audit(
    conn: Connection, d: Dialect, schema: str, request: LoadRequest, result: LoadResult, now: datetime
) -> None:
    """The run's operation row, written in the same transaction as the data it describes."""
    values = {
        "run_key": request.run_key,
        "pipeline_id": request.pipeline_id,
        "run_id": request.run_id,
        "run_type": request.run_type,
        "entity": request.entity.entity,
        "window_start": request.window_start,
        "window_end": request.window_end,
        "watermark_before": result.watermark_before,
        "watermark_after": result.watermark_after,
        "rows_staged": result.rows_staged,
        "rows_inserted": result.rows_inserted,
        "rows_updated": result.rows_updated,
        "rows_unchanged": result.rows_unchanged,
        "rows_deleted": result.rows_deleted,
        "rows_quarantined": result.rows_quarantined,
        "rows_superseded": result.rows_superseded,
        "rows_guard_refused": result.rows_guard_refused,
        "tombstones_without_row": result.tombstones_without_row,
        "tombstones_refused": result.tombstones_refused,
        "tombstones_already_deleted": result.tombstones_already_deleted,
        "rows_deleted_unread": result.rows_deleted_unread,
        "sources_read": len(request.sources),
        "mode": request.mode,
        "api_calls": request.api_calls,
        "bulk_jobs": request.bulk_jobs,
        "status": "success",
        "finished_at": now,
    }
    names = list(values)
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names if n != "run_key")
    conn.execute(
        text(
            f"INSERT INTO {d.table(schema, AUDIT_TABLE)} ({', '.join(names)}) "
            f"VALUES ({', '.join(':' + n for n in names)}) ON CONFLICT (run_key) DO UPDATE SET {updates}"
        ),
        values,
    )
