"""Typing from sys_db_object / sys_dictionary / sys_choice: inheritance, choices, references, fields added later."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from snow_reads import live, read

from lumina_integration.hooks.servicenow.catalogue import DECIMAL, TIMESTAMP


def test_incident_inherits_task_and_keeps_its_own_choice_lists(snow: Any) -> None:
    schema = snow.schema("incident")
    assert schema.chain == ["task", "incident"] and schema.audited
    columns = schema.columns
    assert columns["number"].defined_on == "task" and columns["caller_id"].defined_on == "incident"
    assert columns["caller_id"].reference == "sys_user" and columns["caller_id"].arrow_type == pa.string()
    assert columns["opened_at"].arrow_type == TIMESTAMP and columns["active"].arrow_type == pa.bool_()
    assert columns["reopen_count"].arrow_type == pa.int64()
    assert columns["short_description"].max_length == 160
    # incident's own state list (New, In Progress, On Hold, Resolved, Closed, Canceled) replaces task's.
    assert columns["state"].values == ("1", "2", "3", "6", "7", "8")
    assert "-5" in snow.schema("task").columns["state"].values
    assert list(columns)[:1] != ["caller_id"]  # inherited fields first


def test_source_fields_describe_types_lengths_and_choices_for_drift(snow: Any) -> None:
    fields = {f.name: f for f in snow.fields("sc_req_item")}
    assert fields["price"].type == "decimal" and snow.schema("sc_req_item").columns["price"].arrow_type == DECIMAL
    assert fields["stage"].values and fields["number"].length == 40
    assert not snow.schema("sys_user").audited and not snow.schema("core_company").audited


def test_discover_lists_every_table(snow: Any) -> None:
    names = {o.name for o in snow.discover()}
    assert {"incident", "task", "sys_user", "core_company", "sys_audit_delete"} <= names
    assert set(snow.catalogue.descendants("task")) == {"incident", "sc_req_item", "change_request"}


def test_a_field_added_mid_life_is_typed_and_read_by_the_next_hook(server: Any, snow: Any, connect: Any) -> None:
    before = {f.name for f in snow.fields("change_request")}
    server.control.add_field(
        "change_request",
        {"element": "u_rollback_minutes", "internal_type": "integer", "label": "Rollback minutes"},
        value="15",
    )
    assert "u_rollback_minutes" not in before
    h = connect()  # a new task: a new catalogue read
    assert h.schema("change_request").columns["u_rollback_minutes"].arrow_type == pa.int64()
    values = set(live(read(h, "change_request")).column("u_rollback_minutes").to_pylist())
    assert values == {15}
