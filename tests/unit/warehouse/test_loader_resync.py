"""A resync load: the source's read rewrites its rows whatever their stamps, and tombstones the
rows whose ids it did not read; other sources' rows, rows loaded after the read began and rows whose
current version the run had to quarantine are left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import text

from lumina_integration.canonical.registry import load_entity
from lumina_integration.warehouse.loader import LoadRequest, load_run

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CUSTOMER = load_entity("customer")


def rows(system: str, versions: dict[str, tuple[str, datetime]]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "source_system": system,
                "source_id": i,
                "name": name,
                "status": "active",
                "source_updated_at": ts,
                "_is_deleted": False,
            }
            for i, (name, ts) in versions.items()
        ],
        schema=CUSTOMER.arrow_schema(),
    )


def request(run_key: str, **kw: Any) -> LoadRequest:
    return LoadRequest(
        pipeline_id="p",
        run_key=run_key,
        run_id=run_key,
        run_type="manual",
        entity=CUSTOMER,
        window_start=None,
        window_end=T0 + timedelta(days=10),
        advance_watermark=kw.pop("advance", False),
        **kw,
    )


def state(warehouse: tuple[Any, str]) -> dict[tuple[str, str], tuple[Any, ...]]:
    engine, schema = warehouse
    with engine.connect() as conn:
        found = conn.execute(
            text(f'SELECT source_system, source_id, name, _is_deleted, source_updated_at FROM "{schema}".customer')
        )
        return {(r[0], r[1]): (r[2], r[3], r[4].astimezone(UTC)) for r in found}


def test_a_resync_rewrites_its_source_and_nothing_else(warehouse: tuple[Any, str]) -> None:
    engine, schema = warehouse
    ahead = T0 + timedelta(days=5)  # stamped by a source clock that ran ahead
    load_run(
        engine,
        schema,
        request("r1", advance=True),
        [rows("sf", {"a": ("a1", ahead), "b": ("b1", T0), "c": ("c1", T0), "q": ("q1", T0)})],
    )
    load_run(engine, schema, request("r2"), [rows("crm", {"a": ("other system", T0)})])
    read_started_at = datetime.now(UTC)
    # Loaded by an incremental run after the resync began reading: the resync must not undo it.
    load_run(engine, schema, request("r3"), [rows("sf", {"b": ("b3", T0 + timedelta(days=3)), "d": ("d3", T0)})])

    as_of = T0 + timedelta(days=2)
    resync = request("r4", mode="resync", scope={"source_system": "sf"}, read_started_at=read_started_at, as_of=as_of)
    # "q" was read, but its current version went to quarantine: only "c" was not read at all.
    read = [pa.table({"source_id": ["a", "b"]}), pa.table({"source_id": ["q"]})]
    result = load_run(engine, schema, resync, [rows("sf", {"a": ("a0", T0), "b": ("b0", T0)})], read_ids=read)

    assert (result.rows_inserted, result.rows_updated, result.rows_deleted_unread) == (0, 1, 1)
    assert state(warehouse) == {
        ("sf", "a"): ("a0", False, T0),  # the source's older stamp wins over the warehouse's newer one
        ("sf", "b"): ("b3", False, T0 + timedelta(days=3)),  # loaded after the read began: guarded
        ("sf", "c"): ("c1", True, as_of),  # not read: a tombstone stamped with the source's clock
        ("sf", "d"): ("d3", False, T0),  # loaded after the read began: not tombstoned
        ("sf", "q"): ("q1", False, T0),  # read but quarantined: the last good version stays
        ("crm", "a"): ("other system", False, T0),  # another source: untouched
    }
    with engine.connect() as conn:
        watermark = conn.execute(text(f'SELECT watermark FROM "{schema}".lumina_state')).scalar_one()
    assert watermark.astimezone(UTC) == T0 + timedelta(days=10)  # the first run's; the resync kept it


@pytest.mark.parametrize("missing", ["scope", "read_started_at", "as_of", "read_ids"])
def test_a_resync_without_its_scope_or_read_time_is_refused(warehouse: tuple[Any, str], missing: str) -> None:
    engine, schema = warehouse
    given: dict[str, Any] = {"scope": {"source_system": "sf"}, "read_started_at": T0, "as_of": T0}
    read_ids = None if missing == "read_ids" else [pa.table({"source_id": ["a"]})]
    if missing != "read_ids":
        given[missing] = {} if missing == "scope" else None
    with pytest.raises(ValueError, match="a resync load needs"):
        load_run(
            engine, schema, request("r1", mode="resync", **given), [rows("sf", {"a": ("a", T0)})], read_ids=read_ids
        )
