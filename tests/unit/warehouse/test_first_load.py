"""A first load COPYs straight into the empty table, and falls back to the staged path whenever it must."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import text

from lumina_integration.canonical.registry import load_entity
from lumina_integration.warehouse import first_load
from lumina_integration.warehouse.ddl import ensure_control_tables, ensure_entity_table
from lumina_integration.warehouse.dialects import dialect_for
from lumina_integration.warehouse.first_load import copy_straight_in
from lumina_integration.warehouse.loader import LoadRequest, load_run

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CUSTOMER = load_entity("customer")


def rows(spec: list[tuple[str, datetime, bool]]) -> pa.Table:
    """Customer rows from (id, cursor, deleted)."""
    return pa.Table.from_pylist(
        [
            {
                "source_system": "crm",
                "source_id": i,
                "name": f"n-{i}-{ts:%H}",
                "status": "active",
                "source_updated_at": ts,
                "_is_deleted": deleted,
            }
            for i, ts, deleted in spec
        ],
        schema=CUSTOMER.arrow_schema(),
    )


def request(run_key: str) -> LoadRequest:
    return LoadRequest(
        pipeline_id="p",
        run_key=run_key,
        run_id=run_key,
        run_type="manual",
        entity=CUSTOMER,
        window_start=None,
        window_end=T0 + timedelta(days=10),
        advance_watermark=True,
    )


def straight_in(engine: Any, schema: str, parts: list[pa.Table]) -> tuple[int, int] | None:
    """copy_straight_in on a fresh customer table, committed; returns what it returned."""
    with engine.begin() as conn:
        d = dialect_for(conn)
        ensure_control_tables(conn, d, schema)
        ensure_entity_table(conn, d, schema, CUSTOMER)
        columns = [c.name for c in CUSTOMER.columns]
        target = d.table(schema, "customer")
        return copy_straight_in(conn, d, target, CUSTOMER.primary_key, columns, parts, T0, "r1")


def table(engine: Any, schema: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(f'SELECT source_id, name, _is_deleted, _run_key FROM "{schema}".customer ORDER BY source_id')
            )
        ]


def test_empty_table_takes_the_copy_and_counts_tombstones(pg_schema: tuple[Any, str]) -> None:
    engine, schema = pg_schema
    parts = [rows([("a", T0, False), ("b", T0, True)]), rows([("c", T0, False)])]
    assert straight_in(engine, schema, parts) == (2, 1)
    # Tombstones of rows never loaded are not written, as the staged path would not write them.
    assert table(engine, schema) == [("a", "n-a-00", False, "r1"), ("c", "n-c-00", False, "r1")]


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param([("a", T0, False), ("a", T0 + timedelta(hours=1), False)], id="live-twice"),
        pytest.param([("a", T0, False), ("a", T0 + timedelta(hours=1), True)], id="live-then-deleted"),
        pytest.param([("a", T0, True), ("a", T0 + timedelta(hours=1), True)], id="deleted-twice"),
    ],
)
def test_a_key_twice_rolls_back_to_the_staged_path(pg_schema: tuple[Any, str], spec: list[Any]) -> None:
    engine, schema = pg_schema
    assert straight_in(engine, schema, [rows([("z", T0, False)]), rows(spec)]) is None
    assert table(engine, schema) == []  # the savepoint took the copied rows back


def test_non_empty_table_is_not_copied_into(pg_schema: tuple[Any, str]) -> None:
    engine, schema = pg_schema
    load_run(engine, schema, request("r0"), [rows([("a", T0, False)])])
    assert straight_in(engine, schema, [rows([("b", T0, False)])]) is None


def test_too_many_tombstones_take_the_staged_path(pg_schema: tuple[Any, str], monkeypatch: Any) -> None:
    engine, schema = pg_schema
    monkeypatch.setattr(first_load, "MAX_TOMBSTONES", 1)
    assert straight_in(engine, schema, [rows([("a", T0, True), ("b", T0, True)])]) is None


@pytest.mark.parametrize("parts_as", ["list", "generator"])
def test_first_load_with_duplicates_ends_as_the_staged_merge(warehouse: tuple[Any, str], parts_as: str) -> None:
    """Whatever path it takes (the fallback over a list, the staged path over a one-shot generator, or
    DuckDB's staged path), a first load keeps the newest version of each key and counts every fate."""
    engine, schema = warehouse
    parts = [
        rows([("a", T0, False), ("b", T0, False), ("c", T0, True)]),
        rows([("b", T0 + timedelta(hours=1), False), ("a", T0 + timedelta(hours=2), True)]),
    ]
    result = load_run(engine, schema, request("r1"), parts if parts_as == "list" else (p for p in parts))
    assert (result.rows_staged, result.rows_inserted, result.rows_superseded) == (5, 1, 2)
    assert result.tombstones_without_row == 2  # a's newest version is a delete, c never lived
    assert table(engine, schema) == [("b", "n-b-01", False, "r1")]


def test_every_canonical_type_survives_the_binary_copy(pg_schema: tuple[Any, str]) -> None:
    engine, schema = pg_schema
    values = {
        "source_system": "crm",
        "source_id": "ü-1",
        "name": 'Zoë "quoted", with\ttab\nand newline',
        "email": "",  # the empty string stays apart from null
        "phone": None,
        "annual_revenue": Decimal("-1234567890123456.78"),
        "employee_count": -(2**62),
        "created_at": datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        "source_updated_at": datetime(2262, 4, 11, tzinfo=UTC),
        "status": "active",
        "_is_deleted": False,
    }
    assert straight_in(engine, schema, [pa.Table.from_pylist([values], schema=CUSTOMER.arrow_schema())]) == (1, 0)
    names = [n for n in values if n != "_is_deleted"]
    with engine.connect() as conn:
        got = conn.execute(text(f'SELECT {", ".join(names)} FROM "{schema}".customer')).one()
    assert dict(zip(names, got, strict=True)) == {n: values[n] for n in names}


def test_dates_and_floats_survive_the_binary_copy(pg_schema: tuple[Any, str]) -> None:
    """The customer entity has neither; the stage of any entity may (COPY into a temporary table)."""
    engine, _ = pg_schema
    frame = pa.table(
        {"d": pa.array([date(1999, 12, 31), None], pa.date32()), "f": pa.array([1.5e300, float("-inf")], pa.float64())}
    )
    with engine.begin() as conn:
        d = dialect_for(conn)
        conn.execute(text("CREATE TEMPORARY TABLE typed (d DATE, f DOUBLE PRECISION)"))
        assert d.copy_in(conn, "typed", ["d", "f"], [frame]) == 2
        got = conn.execute(text("SELECT d, f FROM typed ORDER BY f DESC")).all()
    assert [tuple(r) for r in got] == [(date(1999, 12, 31), 1.5e300), (None, float("-inf"))]
