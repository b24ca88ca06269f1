"""Discovery tables (sys_db_object, sys_dictionary, sys_choice), a field added mid-life, audited deletes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests
from snow_client import rows, table_url

from lumina_sandbox.servicenow.server import ServiceNowServer


def test_sys_db_object_super_class_chain(server: ServiceNowServer, snow: requests.Session) -> None:
    tables = {
        r["name"]: r
        for r in rows(
            snow,
            server,
            "sys_db_object",
            sysparm_fields="sys_id,name,label,super_class,is_extendable",
            sysparm_exclude_reference_link="true",
        )
    }
    task = tables["task"]
    for child in ("incident", "sc_req_item", "change_request"):
        assert tables[child]["super_class"] == task["sys_id"]
    assert task["super_class"] == "" and task["is_extendable"] == "true"
    assert tables["sys_user"]["super_class"] == ""
    shown = rows(
        snow,
        server,
        "sys_db_object",
        sysparm_query="name=incident",
        sysparm_display_value="true",
        sysparm_fields="super_class",
    )
    assert shown[0]["super_class"]["display_value"] == "task"


def test_sys_dictionary_types_lengths_references_choices(server: ServiceNowServer, snow: requests.Session) -> None:
    entries = rows(
        snow,
        server,
        "sys_dictionary",
        sysparm_query="name=incident^ORname=task",
        sysparm_exclude_reference_link="true",
    )
    by_element = {(e["name"], e["element"]): e for e in entries}
    caller = by_element[("incident", "caller_id")]
    assert (caller["internal_type"], caller["reference"], caller["max_length"]) == ("reference", "sys_user", "32")
    state = by_element[("task", "state")]
    assert (state["internal_type"], state["choice"]) == ("integer", "1")
    assert by_element[("task", "short_description")]["max_length"] == "160"
    assert by_element[("task", "opened_at")]["internal_type"] == "glide_date_time"
    assert ("incident", "number") not in by_element  # inherited fields are listed under the table defining them
    collections = {e["name"]: e for e in entries if e["element"] == ""}
    assert collections["incident"]["internal_type"] == "collection" and collections["incident"]["audit"] == "true"
    user_collection = rows(snow, server, "sys_dictionary", sysparm_query="name=sys_user^elementISEMPTY")
    assert user_collection[0]["audit"] == "false"
    linked = rows(snow, server, "sys_dictionary", sysparm_query="name=incident^element=caller_id")[0]
    assert linked["internal_type"] == {
        "link": f"{server.base_url}/api/now/table/sys_glide_object/reference",
        "value": "reference",
    }


def test_sys_choice_lists_per_table(server: ServiceNowServer, snow: requests.Session) -> None:
    incident = rows(snow, server, "sys_choice", sysparm_query="name=incident^element=state^ORDERBYsequence")
    assert [(c["value"], c["label"]) for c in incident][:2] == [("1", "New"), ("2", "In Progress")]
    change = rows(snow, server, "sys_choice", sysparm_query="name=change_request^element=state")
    assert {c["value"] for c in change} >= {"-5", "-1", "3"}
    assert all(c["language"] == "en" and c["inactive"] == "false" for c in incident)


def test_field_added_mid_life(server: ServiceNowServer, snow: requests.Session) -> None:
    control = server.control
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    sample = rows(snow, server, "incident", sysparm_limit=3, sysparm_fields="sys_id,sys_updated_on")
    row = control.add_field(
        "incident",
        {
            "element": "u_escalation_tier",
            "internal_type": "integer",
            "label": "Escalation tier",
            "choices": [["1", "Tier 1"], ["2", "Tier 2"]],
        },
        value="1",
    )
    assert row["element"] == "u_escalation_tier" and row["choice"] == "1"
    found = rows(
        snow,
        server,
        "sys_dictionary",
        sysparm_query=f"sys_updated_on>={before:%Y-%m-%d %H:%M:%S}^name=incident",
        sysparm_fields="element,internal_type",
    )
    assert {
        "element": "u_escalation_tier",
        "internal_type": {"link": found[0]["internal_type"]["link"], "value": "integer"},
    } in found
    after = rows(
        snow,
        server,
        "incident",
        sysparm_limit=3,
        sysparm_fields="sys_id,sys_updated_on,u_escalation_tier",
        sysparm_display_value="all",
    )
    assert [r["sys_updated_on"]["value"] for r in after] == [r["sys_updated_on"] for r in sample]  # untouched
    assert after[0]["u_escalation_tier"] == {"display_value": "Tier 1", "value": "1"}
    assert rows(snow, server, "sys_choice", sysparm_query="element=u_escalation_tier", sysparm_fields="label")
    assert len(rows(snow, server, "incident", sysparm_query="u_escalation_tier=1", sysparm_fields="sys_id")) >= 300
    assert "u_escalation_tier" not in rows(snow, server, "change_request", sysparm_limit=1)[0]


def test_deletes_audited_only_on_audited_tables(server: ServiceNowServer, snow: requests.Session) -> None:
    control = server.control
    incident = rows(snow, server, "incident", sysparm_limit=1, sysparm_fields="sys_id,number")[0]
    user = rows(
        snow,
        server,
        "sys_user",
        sysparm_limit=1,
        sysparm_query="user_nameSTARTSWITHa^ORuser_nameSTARTSWITHb",
        sysparm_fields="sys_id",
    )[0]
    change = rows(snow, server, "change_request", sysparm_limit=1, sysparm_fields="sys_id")[0]
    stamp = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert control.delete("incident", [incident["sys_id"]], stamp=stamp) == 1
    assert control.delete("sys_user", [user["sys_id"]]) == 1
    assert control.delete("change_request", [change["sys_id"]], audit=False) == 1  # a table cleaner's delete
    audits = rows(snow, server, "sys_audit_delete", sysparm_query="ORDERBYsys_created_on")
    keys = {a["documentkey"]: a for a in audits}
    assert incident["sys_id"] in keys and user["sys_id"] not in keys and change["sys_id"] not in keys
    audit = keys[incident["sys_id"]]
    assert audit["tablename"] == "incident" and audit["display_value"] == incident["number"]
    assert audit["sys_created_on"] == "2031-01-02 03:04:05"
    assert f"<number>{incident['number']}</number>" in audit["payload"]
    since = rows(
        snow, server, "sys_audit_delete", sysparm_query="tablename=incident^sys_created_on>=2031-01-01 00:00:00"
    )
    assert [a["documentkey"] for a in since] == [incident["sys_id"]]
    assert snow.get(table_url(server, "incident", incident["sys_id"])).status_code == 404
    assert control.deleted_ids("task") >= {incident["sys_id"], change["sys_id"]}
    assert user["sys_id"] not in control.ids("sys_user")
