"""Deletes: sys_audit_delete tombstones for audited tables, the sys_id comparison for the rest."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyarrow as pa
import pytest
from snow_reads import everything, live, read

from lumina_integration.hooks.servicenow.hook import DeletesNotAudited
from lumina_integration.reconcile import STAMP_TYPE
from lumina_integration.window import Window


def tombstones(table: pa.Table) -> dict[str, Any]:
    gone = table.filter(table.column("_lumina_deleted"))
    return dict(zip(gone.column("sys_id").to_pylist(), gone.column("sys_updated_on").to_pylist(), strict=True))


def test_an_audited_delete_is_a_tombstone_of_its_window_only(server: Any, snow: Any) -> None:
    control = server.control
    victims = sorted(control.ids("incident"))[:3]
    before = control.now()
    control.advance(5)
    control.delete("incident", victims)
    when = control.now()
    control.advance(5)
    found = tombstones(read(snow, "incident", Window(before, control.now())))
    assert set(found) == set(victims)
    assert {t.replace(tzinfo=None) for t in found.values()} == {when.replace(microsecond=0, tzinfo=None)}
    gone = read(snow, "incident", Window(before, control.now()))
    row = gone.filter(gone.column("_lumina_deleted")).to_pylist()[0]
    assert row["number"] is None and row["_lumina_error"] is None  # all but the key and stamp are null
    assert tombstones(read(snow, "incident", Window(None, before))) == {}


def test_an_unaudited_table_has_no_tombstones_and_deletes_audit_is_refused(server: Any, snow: Any) -> None:
    control = server.control
    assert not snow.schema("sys_user").audited and snow.schema("incident").audited
    victim = sorted(control.ids("sys_user"))[-1]
    control.delete("sys_user", [victim])
    control.advance(2)
    assert tombstones(read(snow, "sys_user")) == {}  # deletes: auto -> reconcile
    with pytest.raises(DeletesNotAudited, match="sys_user is not audited"):
        read(snow, "sys_user", deletes="audit")
    assert tombstones(read(snow, "incident", deletes="none")) == {}


def test_reconcile_finds_unaudited_deletes_gaps_and_missed_updates(server: Any, snow: Any) -> None:
    control = server.control
    warehouse = live(read(snow, "sys_user", fields=["email"]))
    known = pa.table({"id": warehouse.column("sys_id"), "stamp": warehouse.column("sys_updated_on").cast(STAMP_TYPE)})
    ids = sorted(control.ids("sys_user"))
    control.delete("sys_user", ids[:2])  # unaudited: nothing in sys_audit_delete
    control.update("sys_user", [{"sys_id": ids[5], "email": "moved@example.com"}])
    [new] = control.create("sys_user", [{"user_name": "gap.user", "email": "gap@example.com"}])
    as_of = control.now()
    batches = list(snow.reconcile("sys_user", known, as_of, {}, stamp_field="sys_updated_on"))
    out = pa.Table.from_batches(batches)
    gone = tombstones(out)
    assert set(gone) == set(ids[:2]) and set(gone.values()) == {as_of}
    rows = {r["sys_id"]: r for r in live(out).to_pylist()}
    assert set(rows) == {ids[5], new} and rows[ids[5]]["email"] == "moved@example.com"
    assert snow.reconciled == {
        "source": len(ids) - 1,
        "known": len(ids),
        "gone": 2,
        "missing": 1,
        "changed": 1,
        "behind": 0,
    }
    assert snow.usage().reconciled == snow.reconciled


def test_versions_pages_by_sys_id_and_types_the_stamp(server: Any, snow: Any) -> None:
    batches = list(snow.versions("incident", "sys_updated_on", {}))
    table = pa.Table.from_batches(batches)
    assert table.schema.field("stamp").type == STAMP_TYPE and table.column("stamp").null_count == 0
    assert set(table.column("id").to_pylist()) == server.control.ids("incident")
    ids_only = pa.Table.from_batches(list(snow.versions("incident", "number", {})))
    assert ids_only.column("stamp").null_count == ids_only.num_rows


def test_a_window_ending_now_includes_the_deletes_of_its_last_second(server: Any, snow: Any) -> None:
    control = server.control
    victim = sorted(control.ids("change_request"))[0]
    control.delete("change_request", [victim])
    window = everything(snow)  # ends in the second of the delete
    assert victim in tombstones(read(snow, "change_request", window))
    assert window.end - control.now() <= timedelta(seconds=1)
