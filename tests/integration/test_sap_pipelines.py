"""SAP pipelines end to end: real DAG runs (dag.test) of dags/erp/sap_*.dag.yaml against the
SAP-shaped sandbox (a Postgres schema, read through the hook's SQLAlchemy mode with the same
statements it sends to HANA), moto's S3 server and the real Postgres warehouse. After a scripted
sequence of inserts, updates, deletes, archiving and late commits the warehouse must equal the
source truth record for record."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from lumina_sandbox.sap import truth
from lumina_sandbox.sap.generator import Sizes, generate
from lumina_sandbox.sap.mutator import Mutator, scripted_changes
from lumina_sandbox.sap.system import SapSystem

pytestmark = pytest.mark.integration

PIPELINES = ["sap_kna1", "sap_mara", "sap_vbak", "sap_vbap"]
SAFETY_LAG = timedelta(minutes=2)  # the specs' commit lag
POSTGRES_URL = os.environ.get("LUMINA_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def sap() -> Iterator[SapSystem]:
    """A fresh SAP-shaped schema in the test Postgres, and ``sap_erp`` pointing at it."""
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_URL)
    schema = f"sap_{uuid.uuid4().hex[:10]}"
    system = SapSystem(engine, schema)
    system.create()
    generate(system, Sizes(customers=60, materials=40, orders=120))
    os.environ["AIRFLOW_CONN_SAP_ERP"] = json.dumps(
        {
            "conn_type": "hana",
            "extra": {
                "sqlalchemy_url": POSTGRES_URL,
                "sap_schema": schema,
                "client": "100",
                "clock_table": "ZLUMINA_CLOCK",
            },
        }
    )
    yield system
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


def run_ok(harness: Any, dag_id: str) -> dict[str, Any]:
    run = harness.run(dag_id)
    assert str(run.state) == "success", harness.states(run)
    return harness.load_result(run)


def live(harness: Any, table: str, columns: str) -> dict[str, tuple[Any, ...]]:
    rows = harness.rows(f"SELECT source_id, _is_deleted, {columns} FROM {{s}}.{table} WHERE source_system = 'sap_erp'")
    assert len(rows) == len({r[0] for r in rows}), f"{table}: duplicate keys"
    return {r[0]: tuple(r[2:]) for r in rows if not r[1]}


def _num(value: Any) -> Any:
    return Decimal(value).normalize() if isinstance(value, Decimal) else value


def assert_equal(found: dict[str, tuple[Any, ...]], expected: dict[str, tuple[Any, ...]], what: str) -> None:
    assert set(found) == set(expected), (
        f"{what}: {len(set(expected) - set(found))} missing, {len(set(found) - set(expected))} not deleted"
    )
    differ = [
        (k, found[k], expected[k]) for k in expected if tuple(map(_num, found[k])) != tuple(map(_num, expected[k]))
    ]
    assert not differ, f"{what}: {len(differ)} records differ, e.g. {differ[0]}"


def assert_warehouse_equals_sap(harness: Any, system: SapSystem) -> None:
    lines = live(harness, "sales_order_line", "line_number, quantity, net_value, currency, rejection_reason")
    assert_equal(lines, truth.sales_order_lines(system), "sales_order_line")
    orders, impossible = truth.sales_orders(system)
    found = live(harness, "sales_order", "customer_source_id, order_date, net_value, currency")
    assert_equal(found, orders, "sales_order")
    quarantined = harness.rows(
        "SELECT reason FROM {s}.lumina_quarantine WHERE pipeline_id = 'sap_vbak' AND record LIKE :id",
        id=f"%{sorted(impossible)[0]}%",
    )
    assert quarantined and "order_date: cannot read '20241399' as date (SAP DATS" in quarantined[0][0]
    assert_equal(live(harness, "customer", "name, status, sap_customer_number"), truth.customers(system), "customer")
    assert_equal(live(harness, "product", "name, name_language, is_active"), truth.products(system), "product")


def test_initial_load_then_every_kind_of_change(harness: Any, sap: SapSystem, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="lumina_integration.warehouse.loader")
    for dag_id in PIPELINES:
        result = run_ok(harness, dag_id)
        assert result["rows_inserted"] > 0, dag_id
    # Into the empty tables the load COPYs straight in (the lake's parts are read again only on a fallback).
    paths = [r.getMessage() for r in caplog.records if r.name == "lumina_integration.warehouse.loader"]
    assert len(paths) == len(PIPELINES) and all("copied straight into the empty table" in m for m in paths), paths
    assert_warehouse_equals_sap(harness, sap)
    # The test client's copies (same keys, other values) never leak in.
    assert harness.count("sales_order") == sap.count("VBAK", "100") - 1  # one quarantined
    assert harness.count("sales_order_line") == sap.count("VBAP", "100")

    # Time goes by; then every kind of change, some committed late (behind the watermark).
    sap.advance(600)
    watermark = harness.watermark("sap_vbap")
    done = scripted_changes(sap, watermark)
    sap.advance(SAFETY_LAG.total_seconds() + 60)
    # Changed just now: inside the commit lag, so not read yet (SAP may still be writing).
    in_flight = Mutator(sap, seed=99).create_orders(1)
    for dag_id in PIPELINES:
        run_ok(harness, dag_id)
    stored = {r[0] for r in harness.rows("SELECT source_id FROM {s}.sales_order")}
    assert set(done["created"]) | set(done["late_created"]) <= stored
    assert not set(in_flight) & stored, "a change inside the commit lag was read"

    sap.advance(SAFETY_LAG.total_seconds() + 60)
    for dag_id in ("sap_vbak", "sap_vbap"):
        run_ok(harness, dag_id)
        # Archived orders left no change document: only reconciliation finds them gone.
        reconciled = run_ok(harness, f"{dag_id}__reconcile")
        assert reconciled["rows_deleted"] >= 1
    assert_warehouse_equals_sap(harness, sap)
    deleted = {r[0] for r in harness.rows("SELECT source_id FROM {s}.sales_order_line WHERE _is_deleted")}
    assert set(done["deleted_items"]) <= deleted

    # Replaying reads the lookback again and changes nothing.
    for dag_id in PIPELINES:
        again = run_ok(harness, dag_id)
        assert again["rows_inserted"] == again["rows_updated"] == again["rows_deleted"] == 0, dag_id
    assert_warehouse_equals_sap(harness, sap)


def test_a_change_committed_below_the_lookback_is_repaired_by_reconcile(harness: Any, sap: SapSystem) -> None:
    run_ok(harness, "sap_kna1")
    watermark = harness.watermark("sap_kna1")
    renamed = sorted(truth.customers(sap))[:3]
    # A change stamped two days behind the watermark: below the 1-hour lookback, and below the
    # midnight that KNA1's day-granular windows start at.
    Mutator(sap).change_customers(renamed, at=watermark - timedelta(days=2))
    sap.advance(SAFETY_LAG.total_seconds() + 60)
    missed = run_ok(harness, "sap_kna1")
    assert missed["rows_inserted"] == missed["rows_updated"] == 0
    watermark = harness.watermark("sap_kna1")

    reconciled = run_ok(harness, "sap_kna1__reconcile")
    assert (reconciled["rows_inserted"], reconciled["rows_updated"], reconciled["rows_deleted"]) == (0, 3, 0)
    customers = live(harness, "customer", "name, status, sap_customer_number")
    assert {customers[k][0] for k in renamed} == {f"Renamed {k.lstrip('0')} AG" for k in renamed}
    assert_equal(customers, truth.customers(sap), "customer")
    assert harness.watermark("sap_kna1") == watermark
    assert run_ok(harness, "sap_kna1__reconcile")["rows_staged"] == 0  # nothing differs any more


def test_a_resync_rewrites_the_object_and_keeps_what_it_only_quarantined(harness: Any, sap: SapSystem) -> None:
    from sqlalchemy import update

    run_ok(harness, "sap_vbak")
    watermark = harness.watermark("sap_vbak")
    orders, _ = truth.sales_orders(sap)
    ahead, archived, broken = sorted(orders)[:3]
    # Loaded while the system's clock ran a day ahead: the warehouse holds a stamp newer than SAP's.
    with harness.engine.begin() as conn:
        conn.exec_driver_sql(
            f'UPDATE "{harness.schema}".sales_order SET net_value = 1, '
            f"source_updated_at = source_updated_at + interval '1 day' WHERE source_id = %s",
            (ahead,),
        )
    Mutator(sap).archive_order(archived)  # gone without a change document
    with sap.engine.begin() as conn:  # its current version cannot be loaded: quarantined, not deleted
        vbak = sap.table("VBAK")
        where = (vbak.c["VBELN"] == broken) & (vbak.c["MANDT"] == sap.client)
        conn.execute(update(vbak).where(where).values(AUDAT="20241399"))
    before = live(harness, "sales_order", "customer_source_id, order_date, net_value, currency")

    resynced = run_ok(harness, "sap_vbak__resync")
    assert (resynced["rows_inserted"], resynced["rows_updated"], resynced["rows_deleted_unread"]) == (0, 1, 1)
    found = live(harness, "sales_order", "customer_source_id, order_date, net_value, currency")
    expected, impossible = truth.sales_orders(sap)
    assert broken in impossible and found[broken] == before[broken]  # the last good version stays
    assert_equal({k: v for k, v in found.items() if k != broken}, expected, "sales_order")
    assert archived not in found and found[ahead] == expected[ahead]
    assert harness.watermark("sap_vbak") == watermark
