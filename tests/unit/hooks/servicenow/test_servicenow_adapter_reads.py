"""Keyset windows against the sandbox instance: ties, records changed mid-paging, typing, estimates, ids."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from snow_reads import everything, latest, live, read

from lumina_integration.hooks.rest.paging import PageLoopError
from lumina_integration.hooks.servicenow.query import UnknownName, glide
from lumina_integration.window import Window


def test_a_full_read_equals_the_instance_record_for_record(server: Any, snow: Any, sent: list[str]) -> None:
    table = read(snow, "incident", page_size=40)
    truth = {r["sys_id"]: r for r in server.control.truth("incident")}
    assert table.num_rows == len(truth) == len(set(table.column("sys_id").to_pylist()))
    rows = latest(table)
    for sys_id, record in truth.items():
        assert rows[sys_id]["number"] == record["number"]
        assert rows[sys_id]["short_description"] == record["short_description"]
        assert glide(rows[sys_id]["sys_updated_on"]) == record["sys_updated_on"]
    assert table.column("_lumina_error").null_count == table.num_rows
    listed = [u for u in sent if "/api/now/table/incident" in u]
    assert len(listed) >= len(truth) // 40
    assert all("sysparm_offset" not in u for u in sent)
    assert all("sysparm_exclude_reference_link=true" in u and "sysparm_fields=" in u for u in listed)


def test_ties_on_one_second_page_exactly(server: Any, snow: Any) -> None:
    control = server.control
    stamp = control.now() - timedelta(minutes=5)
    made = control.create("incident", [{"short_description": f"tie {i}"} for i in range(53)], stamp=stamp)
    window = Window(stamp, stamp + timedelta(seconds=1))
    table = read(snow, "incident", window, page_size=7)  # 8 pages inside one second
    ids = table.column("sys_id").to_pylist()
    assert sorted(ids) == sorted(made) and len(ids) == len(set(ids))
    assert set(table.column("sys_updated_on").to_pylist()) == {stamp.replace(microsecond=0)}


def test_a_record_updated_while_its_window_is_paged_is_not_lost(server: Any, snow: Any) -> None:
    control = server.control
    stamp = control.now() - timedelta(minutes=10)
    made = sorted(control.create("incident", [{"short_description": f"paged {i}"} for i in range(30)], stamp=stamp))
    # Before the third page: one record already read moves to now, one not yet read moves too, one is deleted.
    control.on_page(
        "incident",
        page=3,
        update=[{"sys_id": made[0], "short_description": "moved after read"}, {"sys_id": made[-1], "state": "2"}],
        delete=[made[-2]],
    )
    table = read(snow, "incident", Window(stamp, control.now() + timedelta(seconds=1)), page_size=5)
    rows = latest(live(table))
    assert rows[made[0]]["short_description"] == "moved after read"  # read again with its new stamp
    assert rows[made[-1]]["state"] == 2
    deleted = table.filter(table.column("_lumina_deleted"))
    assert set(deleted.column("sys_id").to_pylist()) & set(made) == {made[-2]}  # audited: a tombstone
    assert set(made) - {made[-2]} <= set(rows)


def test_offset_paging_would_skip_the_same_scenario(server: Any, snow: Any) -> None:
    """Why keysets: the instance's sysparm_offset shifts rows under a concurrent update (the sandbox does too)."""
    control = server.control
    stamp = control.now() - timedelta(minutes=20)
    made = sorted(control.create("incident", [{"short_description": f"offset {i}"} for i in range(20)], stamp=stamp))
    control.on_page("incident", page=2, update=[{"sys_id": made[0], "state": "2"}])
    session, seen = snow.client.session, []
    query = f"sys_updated_on={glide(stamp)}^ORDERBYsys_updated_on^ORDERBYsys_id"
    for offset in (0, 5, 10, 15):
        response = session.get(
            f"{server.base_url}/api/now/table/incident",
            params={"sysparm_query": query, "sysparm_limit": 5, "sysparm_offset": offset, "sysparm_fields": "sys_id"},
            auth=server.basic_auth,
        )
        seen += [r["sys_id"] for r in response.json()["result"]]
    # made[0] was read, then left the filter: every later row shifted one place, and one was never read.
    missed = set(made) - set(seen)
    assert len(missed) == 1 and made[0] not in missed


def test_values_are_typed_by_the_dictionary_and_bad_ones_are_kept_with_their_reason(server: Any, snow: Any) -> None:
    control = server.control
    stamp = control.now() - timedelta(minutes=30)
    good, bad = control.create(
        "incident",
        [{"short_description": "typed", "reopen_count": "3", "active": "true"}, {"short_description": "bad"}],
        stamp=stamp,
    )
    control.update("incident", [{"sys_id": bad, "reopen_count": "three"}], stamp=stamp)
    table = read(snow, "incident", Window(stamp, stamp + timedelta(seconds=1)))
    rows = {r["sys_id"]: r for r in table.to_pylist()}
    assert rows[good]["reopen_count"] == 3 and rows[good]["active"] is True and rows[good]["_lumina_error"] is None
    assert rows[bad]["reopen_count"] is None
    assert "reopen_count: 'three' is not a valid int64" in rows[bad]["_lumina_error"]
    assert '"three"' in rows[bad]["_lumina_raw"]
    assert rows[good]["close_notes"] is None  # "" from the Table API is null


def test_fields_option_reads_only_those_and_refuses_unknown_ones(snow: Any, sent: list[str]) -> None:
    table = read(snow, "incident", fields=["number", "caller_id"])
    assert table.column_names[:4] == ["sys_id", "sys_updated_on", "number", "caller_id"]
    assert any("sysparm_fields=sys_id%2Csys_updated_on%2Cnumber%2Ccaller_id" in u for u in sent)
    with pytest.raises(UnknownName, match="not in incident's dictionary"):
        read(snow, "incident", fields=["numbr"])
    with pytest.raises(UnknownName, match="sys_db_object"):
        read(snow, "no_such_table")


def test_display_values_come_as_dv_columns_beside_the_raw_values(server: Any, snow: Any) -> None:
    table = read(snow, "incident", fields=["state", "caller_id", "number"], display_value=True)
    assert {"dv_state", "dv_caller_id"} <= set(table.column_names) and "dv_number" not in table.column_names
    users = {r["sys_id"]: r["name"] for r in server.control.truth("sys_user")}
    row = next(r for r in table.to_pylist() if r["caller_id"])
    assert row["dv_caller_id"] == users[row["caller_id"]]
    assert isinstance(row["state"], int) and isinstance(row["dv_state"], str)


def test_estimate_counts_the_window_with_one_call(snow: Any) -> None:
    window = everything(snow)
    snow.schema("incident")  # the catalogue, read once per hook
    before = snow.governor.calls
    estimate = snow.estimate("incident", window, {"page_size": 100})
    assert snow.governor.calls == before + 1
    assert estimate["records"] == live(read(snow, "incident", window)).num_rows
    assert estimate["api_calls"] >= estimate["records"] // 100


def test_reading_task_returns_every_extension_with_tasks_fields(server: Any, snow: Any) -> None:
    table = read(snow, "task")
    classes = set(table.column("sys_class_name").to_pylist())
    assert {"incident", "sc_req_item", "change_request"} <= classes
    assert "caller_id" not in table.column_names
    assert live(table).num_rows == len(server.control.truth("task"))


def test_read_ids_returns_those_records(server: Any, snow: Any) -> None:
    ids = sorted(server.control.ids("incident"))[:250]
    batches = list(snow.read_ids("incident", ids, {"read_ids_batch": 100}))
    assert len(batches) == 3
    assert sorted(r for b in batches for r in b.column("sys_id").to_pylist()) == ids


def test_a_server_that_ignores_the_keyset_is_refused(snow: Any) -> None:
    window = everything(snow)
    api = snow.api
    real = api.list
    api.list = lambda table, query, fields, limit, display=False: real(table, "ORDERBYsys_id", fields, limit)
    with pytest.raises(PageLoopError):
        read(snow, "incident", window, page_size=10)
