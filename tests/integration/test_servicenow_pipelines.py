"""ServiceNow pipelines end to end: real DAG runs against the sandbox instance (the adapter's requests over
HTTPS), moto's S3 server and the real Postgres. After every scripted sequence of changes and faults the warehouse
must equal the instance record for record (the sandbox's compare.py): no duplicates, no lost changes, no lost
deletes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from lumina_sandbox.servicenow import compare

pytestmark = pytest.mark.integration

PIPELINES = list(compare.PIPELINES)
UNAUDITED = ["servicenow_core_company", "servicenow_sys_user"]


def assert_warehouse_equals_instance(harness: Any, instance: Any, dag_id: str) -> None:
    result = compare.compare(harness.engine, harness.schema, instance, dag_id)
    assert result.equal, (
        f"{dag_id}: {result.duplicates} duplicate keys, {len(result.missing)} missing, "
        f"{len(result.not_deleted)} not deleted, {len(result.differing)} differ, e.g. {result.differing[:1]}"
    )


def test_initial_load_then_ties_late_updates_and_deletes(harness: Any, servicenow: Any) -> None:
    instance, control = servicenow.instance, servicenow.control
    for dag_id in PIPELINES:
        result = harness.run_ok(dag_id)
        assert result["rows_inserted"] > 0 and harness.quarantined(dag_id) == 0, dag_id
        assert_warehouse_equals_instance(harness, instance, dag_id)
    audit = dict(harness.rows("SELECT pipeline_id, api_calls FROM {s}.lumina_audit"))
    assert all(audit[p] > 0 for p in PIPELINES)

    incidents = sorted(control.ids("incident"))
    users = sorted(control.ids("sys_user"))
    companies = sorted(control.ids("core_company"))
    watermark = harness.watermark("servicenow_incident")
    created = control.create("incident", [{"short_description": f"New today {i}", "urgency": "1"} for i in range(7)])
    # Committed late: stamped 30 s behind the watermark (inside the 10 min lookback), 40 of them on one second.
    control.update(
        "incident", [{"sys_id": i, "state": "2"} for i in incidents[:40]], stamp=watermark - timedelta(seconds=30)
    )
    control.delete("incident", incidents[40:45])  # audited: sys_audit_delete
    control.delete("sys_user", users[-4:])  # not audited: only the reconcile DAG sees these
    control.delete("core_company", companies[-2:])
    control.update("core_company", [{"sys_id": companies[0], "phone": "+41 44 000 00 00"}])
    control.add_field("incident", {"element": "u_escalation_tier", "internal_type": "integer", "label": "Tier"}, "1")
    control.advance(120)  # past the safety lag

    for dag_id in PIPELINES:
        harness.run_ok(dag_id)
    assert ("u_escalation_tier", "added", "evolved") in harness.rows(
        "SELECT field, change, action FROM {s}.lumina_schema_changes"
    )
    for dag_id in ["servicenow_incident", "servicenow_sc_req_item", "servicenow_change_request"]:
        assert_warehouse_equals_instance(harness, instance, dag_id)
    # Unaudited deletes are invisible to the incremental runs ...
    for dag_id in UNAUDITED:
        assert not compare.compare(harness.engine, harness.schema, instance, dag_id).equal
    # ... and found by their reconcile DAGs (sys_id comparison).
    assert harness.run_ok("servicenow_sys_user__reconcile")["rows_deleted"] == 4
    assert harness.run_ok("servicenow_core_company__reconcile")["rows_deleted"] == 2
    for dag_id in PIPELINES:
        assert_warehouse_equals_instance(harness, instance, dag_id)
    assert set(created) <= {r[0] for r in harness.rows("SELECT source_id FROM {s}.support_case")}
    # Replaying reads the lookback again and changes nothing.
    for dag_id in PIPELINES:
        again = harness.run_ok(dag_id)
        assert again["rows_inserted"] == 0 and again["rows_updated"] == 0, (dag_id, again)


def test_a_record_updated_mid_paging_a_429_storm_and_a_token_expiry_lose_nothing(harness: Any, servicenow: Any) -> None:
    instance, control = servicenow.instance, servicenow.control
    harness.run_ok("servicenow_incident")
    incidents = sorted(control.ids("incident"))
    # Many changes in one window, so the next run pages (5,000 records a page): 6,000 new incidents, some tied.
    control.create("incident", [{"short_description": f"Bulk {i}", "urgency": "3"} for i in range(6000)])
    control.advance(120)
    # While that window is paged: an already-read record and a not-yet-read one change, one is deleted.
    control.on_page(
        "incident",
        page=2,
        update=[
            {"sys_id": incidents[0], "short_description": "changed mid-paging"},
            {"sys_id": incidents[-1], "state": "6"},
        ],
        delete=[incidents[1]],
    )
    instance.faults.add("table", status=429, retry_after=1, times=3, after=1)
    result = harness.run_ok("servicenow_incident")
    assert result["rows_inserted"] >= 6000
    control.advance(120)
    harness.run_ok("servicenow_incident")  # the mid-paging changes stamped past the first window's end
    assert_warehouse_equals_instance(harness, instance, "servicenow_incident")
    fired = {rule.category: rule.fired for rule in instance.faults.rules()}
    assert fired == {"table": 3}
    assert [hook["fired"] for hook in control.hooks()] == [True]
