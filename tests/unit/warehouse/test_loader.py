"""The load transaction against the real Postgres and an embedded DuckDB, side by side."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import text

from lumina_integration.canonical.registry import load_entity
from lumina_integration.hooks.base import SourceVersion
from lumina_integration.quarantine import quarantine_rows
from lumina_integration.warehouse import loader
from lumina_integration.warehouse.loader import LoadRequest, load_run
from lumina_integration.warehouse.state import loaded_versions, read_watermark

UTC = UTC
T0 = datetime(2026, 1, 1, tzinfo=UTC)
CUSTOMER = load_entity("customer")


def rows(ids: list[str], ts: datetime, *, name: str = "n", deleted: bool = False) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "source_system": "crm",
                "source_id": i,
                "name": f"{name}-{i}",
                "status": "active",
                "source_updated_at": ts,
                "_is_deleted": deleted,
            }
            for i in ids
        ],
        schema=CUSTOMER.arrow_schema(),
    )


def request(run_key: str, *, advance: bool = True, end: datetime = T0 + timedelta(days=10), **kw: Any) -> LoadRequest:
    return LoadRequest(
        pipeline_id="p",
        run_key=run_key,
        run_id=run_key,
        run_type="scheduled",
        entity=CUSTOMER,
        window_start=None,
        window_end=end,
        advance_watermark=advance,
        **kw,
    )


def table_state(warehouse: tuple[Any, str]) -> list[tuple[Any, ...]]:
    engine, schema = warehouse
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT source_id, name, _is_deleted, source_updated_at "
                    f'FROM "{schema}".customer ORDER BY source_id'
                )
            )
        ]


def test_insert_then_replay_changes_nothing(warehouse: tuple[Any, str]) -> None:
    engine, schema = warehouse
    first = load_run(engine, schema, request("r1"), [rows(["a", "b"], T0)])
    assert (first.rows_inserted, first.rows_updated) == (2, 0)
    before = table_state(warehouse)
    again = load_run(engine, schema, request("r2"), [rows(["a", "b"], T0)])
    assert (again.rows_inserted, again.rows_updated, again.rows_unchanged) == (0, 0, 2)
    assert table_state(warehouse) == before


def test_older_never_overwrites_newer_and_ties_take_the_latest_arrival(warehouse: tuple[Any, str]) -> None:
    engine, schema = warehouse
    load_run(engine, schema, request("r1"), [rows(["a", "b"], T0, name="v1")])
    result = load_run(
        engine,
        schema,
        request("r2"),
        [
            rows(["a"], T0 - timedelta(days=1), name="older"),
            rows(["b"], T0 + timedelta(hours=1), name="first-of-tie"),
            rows(["b"], T0 + timedelta(hours=1), name="second-of-tie"),
        ],
    )
    # "a" is refused by the guard (it used to be reported as unchanged), the first "b" of the tie superseded.
    assert (result.rows_updated, result.rows_unchanged) == (1, 0)
    assert (result.rows_guard_refused, result.rows_superseded) == (1, 1)
    assert [(r[0], r[1]) for r in table_state(warehouse)] == [("a", "v1-a"), ("b", "second-of-tie-b")]


@pytest.mark.parametrize("policy", ["soft", "hard"])
def test_tombstones(warehouse: tuple[Any, str], policy: str) -> None:
    engine, schema = warehouse
    load_run(engine, schema, request("r1"), [rows(["a", "b", "c"], T0)])
    result = load_run(
        engine,
        schema,
        request("r2", deletes=policy),
        [
            rows(["a"], T0 + timedelta(hours=1), deleted=True),
            rows(["b"], T0 - timedelta(hours=1), deleted=True),  # older than the warehouse copy: ignored
            rows(["zz"], T0, deleted=True),  # never loaded: nothing to delete
        ],
    )
    assert result.rows_deleted == 1
    state = {r[0]: r[2] for r in table_state(warehouse)}
    assert state == ({"a": True, "b": False, "c": False} if policy == "soft" else {"b": False, "c": False})
    if policy == "soft":
        undelete = load_run(engine, schema, request("r3"), [rows(["a"], T0 + timedelta(hours=2), name="back")])
        assert undelete.rows_updated == 1
        assert {r[0]: r[2] for r in table_state(warehouse)}["a"] is False


def test_watermark_moves_forward_only_and_not_for_reprocessing(warehouse: tuple[Any, str]) -> None:
    engine, schema = warehouse
    load_run(engine, schema, request("r1", end=T0 + timedelta(days=2)), [])
    assert read_watermark(engine, schema, "p") == T0 + timedelta(days=2)
    load_run(engine, schema, request("r2", end=T0 + timedelta(days=1)), [])
    assert read_watermark(engine, schema, "p") == T0 + timedelta(days=2)
    load_run(engine, schema, request("backfill", advance=False, end=T0 + timedelta(days=9)), [rows(["a"], T0)])
    assert read_watermark(engine, schema, "p") == T0 + timedelta(days=2)


def test_quarantine_and_ledger_are_idempotent_per_run(warehouse: tuple[Any, str]) -> None:
    engine, schema = warehouse
    bad = quarantine_rows("validate", pa.table({"source_id": ["x"]}), ["status: not allowed"])
    source = SourceVersion(key="drop/a.csv", version="etag1", modified=T0, rows=3)
    for _ in range(2):  # a retried load after a commit must not duplicate anything
        result = load_run(engine, schema, request("r1", sources=[source]), [rows(["a"], T0)], [bad])
    assert result.rows_quarantined == 1
    with engine.connect() as conn:
        assert conn.execute(text(f'SELECT COUNT(*), MIN(reason) FROM "{schema}".lumina_quarantine')).one() == (
            1,
            "status: not allowed",
        )
    assert loaded_versions(engine, schema, "p", None) == {("drop/a.csv", "etag1")}


def test_failure_before_commit_leaves_no_trace(warehouse: tuple[Any, str], monkeypatch: pytest.MonkeyPatch) -> None:
    engine, schema = warehouse
    load_run(engine, schema, request("r1", end=T0 + timedelta(days=1)), [rows(["a"], T0)])
    before = table_state(warehouse)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("worker died after the merge")

    monkeypatch.setattr(loader, "write_audit", crash)
    source = SourceVersion(key="k", version="v", modified=T0, rows=1)
    with pytest.raises(RuntimeError):
        load_run(
            engine,
            schema,
            request("r2", end=T0 + timedelta(days=5), sources=[source]),
            [rows(["a", "b"], T0 + timedelta(hours=1), name="new")],
        )
    assert table_state(warehouse) == before
    assert read_watermark(engine, schema, "p") == T0 + timedelta(days=1)
    assert loaded_versions(engine, schema, "p", None) == frozenset()
    with engine.connect() as conn:
        assert conn.execute(text(f'SELECT COUNT(*) FROM "{schema}".lumina_audit')).scalar_one() == 1


def test_new_schema_column_is_added(warehouse: tuple[Any, str]) -> None:
    engine, schema = warehouse
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        conn.execute(
            text(
                f'CREATE TABLE "{schema}".customer (source_system TEXT NOT NULL, source_id TEXT NOT NULL, name TEXT, '
                "status TEXT, source_updated_at TIMESTAMP WITH TIME ZONE, _is_deleted BOOLEAN NOT NULL DEFAULT FALSE, "
                "_loaded_at TIMESTAMP WITH TIME ZONE, _run_key TEXT, PRIMARY KEY (source_system, source_id))"
            )
        )
    result = load_run(engine, schema, request("r1"), [rows(["a"], T0)])
    assert "email" in result.columns_added and "annual_revenue" in result.columns_added
    assert table_state(warehouse)[0][0] == "a"


def test_nulls_and_empty_strings_survive(warehouse: tuple[Any, str]) -> None:
    engine, schema = warehouse
    table = rows(["a", "b"], T0).set_column(3, "email", pa.array(["", None], pa.string()))
    load_run(engine, schema, request("r1"), [table])
    with engine.connect() as conn:
        emails = conn.execute(text(f'SELECT email FROM "{schema}".customer ORDER BY source_id')).scalars().all()
    assert emails == ["", None]


def test_refresh_updates_only_its_columns_only_where_they_differ(warehouse: tuple[Any, str]) -> None:
    engine, schema = warehouse
    load_run(engine, schema, request("r1"), [rows(["a", "b", "c", "d"], T0, name="v1")])
    # c changed after the refresh read the source (a newer incremental load): its value is kept.
    load_run(engine, schema, request("r2"), [rows(["c"], T0 + timedelta(hours=2), name="newer")])
    load_run(engine, schema, request("r3", deletes="soft"), [rows(["d"], T0 + timedelta(hours=1), deleted=True)])
    refreshed = pa.table(
        {
            "source_system": ["crm"] * 4,
            "source_id": ["a", "b", "c", "d"],
            "name": ["formula-changed", "v1-b", "stale", "of-a-deleted-row"],
            "_is_deleted": [False] * 4,
        }
    )
    result = load_run(
        engine,
        schema,
        request("refresh", advance=False, mode="refresh", refresh_columns=["name"], as_of=T0 + timedelta(hours=1)),
        [refreshed],
    )
    assert (result.rows_updated, result.rows_unchanged, result.rows_inserted) == (1, 3, 0)
    assert [(r[0], r[1], r[2], r[3]) for r in table_state(warehouse)] == [
        ("a", "formula-changed", False, T0),  # the cursor does not move: the record did not change
        ("b", "v1-b", False, T0),
        ("c", "newer-c", False, T0 + timedelta(hours=2)),
        ("d", "v1-d", True, T0 + timedelta(hours=1)),
    ]
    with engine.connect() as conn:
        mode = conn.execute(text(f"SELECT mode FROM \"{schema}\".lumina_audit WHERE run_key = 'refresh'")).scalar_one()
    assert mode == "refresh"


def test_schema_drift_coverage_and_api_spend_commit_with_the_data(warehouse: tuple[Any, str]) -> None:
    from lumina_integration.warehouse.loader import SchemaDrift
    from lumina_integration.warehouse.state import read_state

    engine, schema = warehouse
    change = {"field": "Tier__c", "change": "added", "old": None, "new": {"type": "picklist"}, "mapped": True}
    drift = SchemaDrift("Account", [{**change, "action": "evolved"}], {"Id": {"type": "id"}})
    for _ in range(2):  # a retried load logs its changes once
        load_run(
            engine,
            schema,
            request("r1", schema_drift=drift, fields_covered=["Id", "Name"], api_calls=7, bulk_jobs=1),
            [rows(["a"], T0)],
        )
    state = read_state(engine, schema, "p", now=datetime.now(UTC))
    assert state.snapshot == {"Id": {"type": "id"}} and state.fields_covered == ["Id", "Name"]
    assert (state.api_calls_24h, state.bulk_jobs_24h) == (7, 1)
    with engine.connect() as conn:
        logged = conn.execute(text(f'SELECT field, change, mapped, action FROM "{schema}".lumina_schema_changes'))
        assert [tuple(r) for r in logged] == [("Tier__c", "added", True, "evolved")]


@pytest.mark.parametrize("policy", ["soft", "hard"])
def test_every_staged_row_is_accounted_for(warehouse: tuple[Any, str], policy: str) -> None:
    """Each fate is counted and named, and together they add up to the rows staged (the audit row too)."""
    engine, schema = warehouse
    load_run(engine, schema, request("r1", deletes=policy), [rows(["a", "b", "c", "d", "e"], T0)])
    load_run(engine, schema, request("r2", deletes=policy), [rows(["e"], T0 + timedelta(hours=1), deleted=True)])
    later = T0 + timedelta(hours=2)
    result = load_run(
        engine,
        schema,
        request("r3", deletes=policy),
        [
            rows(["a"], T0, name="v0"),  # superseded by the newer version of "a" below
            rows(["a"], later, name="v2"),  # updated
            rows(["b"], T0),  # identical: unchanged
            rows(["c"], T0 - timedelta(days=1), name="old"),  # older than the warehouse's: refused by the guard
            rows(["new"], later),  # inserted
            rows(["d"], later, deleted=True),  # deleted
            rows(["zz"], later, deleted=True),  # a delete of a row never loaded
            rows(["b2"], later, deleted=True),  # another one
            rows(["c2"], T0, deleted=True),  # and another
        ],
    )
    assert result.rows_staged == 9
    assert (result.rows_inserted, result.rows_updated, result.rows_unchanged) == (1, 1, 1)
    assert (result.rows_superseded, result.rows_guard_refused, result.rows_deleted) == (1, 1, 1)
    assert result.tombstones_without_row == 3
    assert sum(result.fates().values()) == result.rows_staged
    assert "1 older than the warehouse's" in result.summary() and "3 deletes of rows never loaded" in result.summary()
    # A delete older than the warehouse's row, and (soft) one of a row already deleted.
    again = load_run(
        engine,
        schema,
        request("r4", deletes=policy),
        [rows(["b"], T0 - timedelta(days=1), deleted=True), rows(["d"], later, deleted=True)],
    )
    assert again.tombstones_refused == 1
    if policy == "soft":
        assert (again.tombstones_already_deleted, again.tombstones_without_row) == (1, 0)
    else:
        assert (again.tombstones_already_deleted, again.tombstones_without_row) == (0, 1)
    assert sum(again.fates().values()) == again.rows_staged == 2
    with engine.connect() as conn:
        audit = conn.execute(
            text(
                "SELECT rows_staged, rows_inserted + rows_updated + rows_unchanged + rows_deleted + rows_superseded "
                "+ rows_guard_refused + tombstones_without_row + tombstones_refused + tombstones_already_deleted "
                f"FROM \"{schema}\".lumina_audit WHERE run_key IN ('r3', 'r4') ORDER BY run_key"
            )
        ).all()
    assert [tuple(r) for r in audit] == [(9, 9), (2, 2)]


def test_a_load_whose_rows_do_not_add_up_is_not_committed(
    warehouse: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row written or skipped for a reason nobody counted would be a silent loss: the load rolls back."""
    engine, schema = warehouse
    load_run(engine, schema, request("r1"), [rows(["a"], T0)])
    # Make the independent count of "unchanged" miss the row, as a wrong guard would.
    monkeypatch.setattr(loader._Merge, "count_live_fates", lambda self: "SELECT 0, 0")
    with pytest.raises(loader.LoadAccountingError, match="1 rows staged but 0 accounted for"):
        load_run(engine, schema, request("r2", end=T0 + timedelta(days=20)), [rows(["a"], T0)])
    assert read_watermark(engine, schema, "p") == T0 + timedelta(days=10)
