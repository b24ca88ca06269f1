"""Salesforce pipelines end to end: real DAG runs against the sandbox (simple-salesforce over HTTPS),
moto's S3 server and the real Postgres. After every scripted sequence of changes and faults the
warehouse must equal the org record for record: no duplicates, no lost changes, no lost deletes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from lumina_sandbox.common.protected import Protection
from lumina_sandbox.salesforce import compare

pytestmark = pytest.mark.integration

PIPELINES = list(compare.PIPELINES)


def assert_warehouse_equals_org(harness: Any, org: Any, dag_id: str) -> None:
    result = compare.compare(harness.engine, harness.schema, org, dag_id)
    assert result.equal, (
        f"{dag_id}: {result.duplicates} duplicate keys, {len(result.missing)} missing, "
        f"{len(result.not_deleted)} not deleted, {len(result.differing)} differ, e.g. {result.differing[:1]}"
    )


def test_initial_load_then_every_kind_of_change(harness: Any, salesforce: Any) -> None:
    org = salesforce.org
    for dag_id in PIPELINES:
        result = harness.run_ok(dag_id)
        assert result["rows_inserted"] > 0 and harness.quarantined(dag_id) == 0
        assert_warehouse_equals_org(harness, org, dag_id)
    audit = dict(harness.rows("SELECT pipeline_id, api_calls FROM {s}.lumina_audit"))
    assert all(calls > 0 for calls in audit.values())

    accounts = sorted(org.ids("Account"))
    watermark = harness.watermark("salesforce_account")
    created = org.create("Account", [{"Name": f"Brand-new {i}", "Region__c": "NA"} for i in range(3)])
    # Committed late, behind the watermark but inside the lookback, six of them on one timestamp.
    org.update("Account", [{"Id": i, "Phone": "+49 30 123456"} for i in accounts[:6]], modstamp=watermark)
    org.delete("Account", accounts[6:9])  # to the recycle bin
    org.purge("Account", accounts[9:11])  # hard deletes: no endpoint reports them
    parent = org.truth("Contact", ["AccountId"])[0]["AccountId"]
    org.update("Account", [{"Id": parent, "Name": "Renamed Holdings Ltd"}])  # a formula input
    org.add_field(
        "Account",
        {"name": "Customer_Segment__c", "type": "picklist", "picklistValues": ["Enterprise", "Mid-Market", "SMB"]},
        value=lambda record: "Enterprise" if record["AnnualRevenue"] and record["AnnualRevenue"] > 5e7 else "SMB",
    )
    org.advance(120)  # past the safety lag

    for dag_id in PIPELINES:
        harness.run_ok(dag_id)
    changes = harness.rows("SELECT field, change, action FROM {s}.lumina_schema_changes")
    assert ("Customer_Segment__c", "added", "evolved") in changes
    # Hard deletes, a contact formula that changed without the contact changing, a field that
    # existing accounts got a value for without their stamps moving: the maintenance DAGs.
    reconciled = harness.run_ok("salesforce_account__reconcile")
    assert reconciled["rows_deleted"] == 2
    backfill = harness.run_ok("salesforce_account__refresh")
    assert backfill["rows_updated"] > 0
    formulas = harness.run_ok("salesforce_contact__refresh")
    assert formulas["rows_updated"] >= 1
    for dag_id in PIPELINES:
        assert_warehouse_equals_org(harness, org, dag_id)
    assert set(created) <= {r[0] for r in harness.rows("SELECT source_id FROM {s}.customer")}

    # Days go by: formulas on TODAY change for every open record, and only the refresh sees it.
    org.advance(2 * 86400)
    harness.run_ok("salesforce_opportunity__refresh")
    harness.run_ok("salesforce_case__refresh")
    assert_warehouse_equals_org(harness, org, "salesforce_opportunity")
    assert_warehouse_equals_org(harness, org, "salesforce_case")
    # Replaying reads everything again and changes nothing.
    again = harness.run_ok("salesforce_account__refresh")
    assert again["rows_updated"] == 0


def test_faults_on_every_kind_of_call_lose_and_duplicate_nothing(harness: Any, salesforce: Any) -> None:
    org = salesforce.org
    org.faults.add("limits", "expire_session")  # plan's first call: one new login
    org.faults.add("describe", status=500)
    org.faults.add("query", status=503, retry_after=1)  # the COUNT() estimate
    org.faults.add("bulk_create", status=429, retry_after=1)
    org.faults.add("bulk_status", "expire_session")  # mid-run, while polling the job
    org.faults.add("bulk_results", "drop", times=2)  # connection dropped mid-body, twice
    result = harness.run_ok("salesforce_account")  # 1,200 records: over Bulk 2.0
    assert result["rows_inserted"] == len(org.ids("Account"))  # live ones; recycle-bin rows are tombstones
    assert_warehouse_equals_org(harness, org, "salesforce_account")
    fired = {rule.category: rule.fired for rule in org.faults.rules()}
    assert fired == {
        "limits": 1,
        "describe": 1,
        "query": 1,
        "bulk_create": 1,
        "bulk_status": 1,
        "bulk_results": 2,
    }
    assert org.request_counts()["bulk_create"] == 2  # the refused creation and the one that ran

    org.faults.clear()
    changed = sorted(org.ids("Account"))[:40]
    org.update("Account", [{"Id": i, "Rating": "Hot"} for i in changed])
    org.advance(120)
    org.faults.add("query", "drop")  # now over REST: the page breaks mid-body
    org.faults.add("deleted", status=502)
    assert harness.run_ok("salesforce_account")["rows_updated"] == 40
    assert_warehouse_equals_org(harness, org, "salesforce_account")


def test_the_daily_limit_opens_the_breaker_and_keeps_the_watermark(harness: Any, salesforce: Any) -> None:
    # The test reads the metadata DB as an operator would in the UI, not as task code.
    from airflow.models import Variable

    org = salesforce.org
    harness.run_ok("salesforce_account")
    watermark = harness.watermark("salesforce_account")
    org.update("Account", [{"Id": i, "Rating": "Cold"} for i in sorted(org.ids("Account"))[:5]])
    org.advance(120)
    org.set_api_limit(100_000, used=100_000)
    try:
        failed = harness.run("salesforce_account")
        assert str(failed.state) == "failed"
        plan = failed.get_task_instance("plan")
        assert str(plan.state) == "failed" and plan.try_number == 1  # not retried
        breaker = Variable.get("lumina_breaker__salesforce_default")  # noqa: AIR311
        assert "REQUEST_LIMIT_EXCEEDED" in breaker
        assert harness.watermark("salesforce_account") == watermark

        before = sum(org.request_counts().values())
        assert str(harness.run("salesforce_account").state) == "failed"
        assert sum(org.request_counts().values()) == before  # the open breaker spent nothing
    finally:
        Variable.delete("lumina_breaker__salesforce_default")  # noqa: AIR311
    org.set_api_limit(100_000, used=0)
    assert harness.run_ok("salesforce_account")["rows_updated"] == 5
    assert_warehouse_equals_org(harness, org, "salesforce_account")


def test_the_budget_stops_a_run_before_the_org_limit_is_reached(harness: Any, salesforce: Any) -> None:
    org = salesforce.org
    org.set_api_limit(1000, used=795)  # pipelines leave 20%: they stop at 800
    run = harness.run("salesforce_account")
    assert str(run.state) == "failed"
    plan = run.get_task_instance("plan")
    assert str(plan.state) == "failed" and plan.try_number == 1
    assert harness.count("customer") == 0 and harness.watermark("salesforce_account") is None
    assert org.request_counts().get("bulk_create", 0) == 0
    assert org.limits.api_used < 800


def test_a_failed_bulk_download_is_retried_on_the_same_job(harness: Any, salesforce: Any) -> None:
    import threading
    import time

    org = salesforce.org
    org.faults.add("bulk_results", "drop", times=None)  # every download breaks: the task fails

    def heal_before_the_retry() -> None:
        deadline = time.monotonic() + 120
        while org.request_counts().get("bulk_results", 0) < 5 and time.monotonic() < deadline:
            time.sleep(0.2)
        org.faults.clear()

    healer = threading.Thread(target=heal_before_the_retry, daemon=True)
    healer.start()
    run = harness.run("salesforce_account")
    healer.join()
    assert str(run.state) == "success", harness.states(run)
    assert run.get_task_instance("extract").try_number == 2
    assert org.request_counts()["bulk_create"] == 1  # the retry re-attached to the first job
    assert_warehouse_equals_org(harness, org, "salesforce_account")


def test_write_back_upserts_by_external_id_and_records_every_row(harness: Any, salesforce: Any) -> None:
    from lumina_sandbox import file_drops

    org = salesforce.org
    accounts = file_drops.accounts_initial()
    harness.drop(accounts)
    harness.run_ok("filedrop_crm_accounts")
    active = {
        r[0]: r[1]
        for r in harness.rows(
            "SELECT source_id, name FROM {s}.customer WHERE source_system = 'crm_export' AND status = 'active' "
            "AND NOT _is_deleted"
        )
    }
    assert active
    # One the legacy system allowed and Salesforce will not take (NumberOfEmployees has 8 digits).
    rejected = sorted(active)[0]
    with harness.engine.begin() as conn:
        conn.exec_driver_sql(
            f'UPDATE "{harness.schema}".customer SET employee_count = 1234567890 '
            f"WHERE source_system = 'crm_export' AND source_id = '{rejected}'"
        )

    first = harness.run("salesforce_writeback_legacy_accounts")
    assert str(first.state) == "success", harness.states(first)
    summary = first.get_task_instance("upsert_accounts").xcom_pull(task_ids="upsert_accounts")
    assert summary == {"rows": len(active), "failed": 1, "created": len(active) - 1, "updated": 0, "unchanged": 0}
    in_salesforce = {r["Legacy_CRM_Id__c"]: r for r in org.truth("Account", ["Id", "Name", "Legacy_CRM_Id__c"])}
    outcomes = harness.rows("SELECT record_key, target_id, created, error FROM {s}.lumina_writeback_results")
    assert len(outcomes) == len(active)
    for key, target_id, created, error in outcomes:
        if error is None:
            assert created is True and in_salesforce[key]["Id"] == target_id
            assert in_salesforce[key]["Name"] == active[key]
        else:  # rejected rows are recorded with Salesforce's reason
            assert key == rejected and key not in in_salesforce and "NUMBER_OUTSIDE_VALID_RANGE" in error

    # Again: only the rejected row is sent (it still fails); accepted rows are unchanged, not re-sent.
    again = harness.run("salesforce_writeback_legacy_accounts")
    summary = again.get_task_instance("upsert_accounts").xcom_pull(task_ids="upsert_accounts")
    assert summary == {"rows": 1, "failed": 1, "created": 0, "updated": 0, "unchanged": len(active) - 1}
    # A change in the warehouse is written as an update of the same account: no twins.
    changed = sorted(active)[1]
    with harness.engine.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE \"{harness.schema}\".customer SET name = 'Renamed in the warehouse' "
            f"WHERE source_system = 'crm_export' AND source_id = '{changed}'"
        )
    third = harness.run("salesforce_writeback_legacy_accounts")
    summary = third.get_task_instance("upsert_accounts").xcom_pull(task_ids="upsert_accounts")
    assert (summary["updated"], summary["created"]) == (1, 0)
    legacy = {r["Legacy_CRM_Id__c"]: r["Name"] for r in org.truth("Account", ["Name", "Legacy_CRM_Id__c"])}
    assert legacy[changed] == "Renamed in the warehouse"
    assert sum(1 for k in legacy if k) == len(active) - 1


def test_a_backfill_of_an_interval_45_days_back_runs_green_and_loads_its_records(harness: Any, salesforce: Any) -> None:
    from datetime import timedelta

    from lumina_integration.hooks.salesforce.reader import parse_datetime

    org = salesforce.org
    harness.run_ok("salesforce_account")
    now = org.now()
    old = now - timedelta(days=45)
    # An old interval changes late (a migration replays it): new records, and edits of older ones.
    created = org.create("Account", [{"Name": f"Migrated {n}", "Region__c": "EMEA"} for n in range(3)], modstamp=old)
    stamps = {r["Id"]: parse_datetime(r["SystemModstamp"]) for r in org.truth("Account", ["Id", "SystemModstamp"])}
    edited = sorted(i for i, stamp in stamps.items() if stamp < old - timedelta(days=15))[:2]
    org.update("Account", [{"Id": i, "Phone": "+44 20 7946 0000"} for i in edited], modstamp=old)
    # Deleted since the last run: a recent soft delete, which only a window reaching today can see.
    binned = sorted(set(org.ids("Account")) - set(created) - set(edited))[:2]
    org.delete("Account", binned)
    org.advance(120)

    # Older than the deleted-records endpoint reaches: extract used to fail it on every retry.
    interval = {
        "window_start": (old - timedelta(days=1)).isoformat(),
        "window_end": (old + timedelta(days=1)).isoformat(),
    }
    backfill = harness.run("salesforce_account", run_conf=interval)
    assert str(backfill.state) == "success", harness.states(backfill)
    assert backfill.get_task_instance("extract").try_number == 1
    phone = Protection("customer")  # the policy encrypts customer.phone
    loaded = {
        i: phone.stored("phone", v)
        for i, v in harness.rows(
            "SELECT source_id, phone FROM {s}.customer WHERE source_system = 'salesforce' AND NOT _is_deleted"
        )
    }
    assert set(created) <= set(loaded) and all(loaded[i] == "+44 20 7946 0000" for i in edited)

    # From 45 days back to today: the soft deletes arrive through queryAll (IsDeleted rows).
    # (Both bounds given: a run's params must not depend on the previous run's; see issue 9, item 3.)
    today = {"window_start": interval["window_start"], "window_end": org.now().isoformat()}
    since = harness.run("salesforce_account", run_conf=today)
    assert str(since.state) == "success", harness.states(since)
    deleted = {
        r[0]
        for r in harness.rows("SELECT source_id FROM {s}.customer WHERE source_system = 'salesforce' AND _is_deleted")
    }
    assert set(binned) <= deleted
    assert_warehouse_equals_org(harness, org, "salesforce_account")


def modstamps(org: Any) -> dict[str, Any]:
    from lumina_sandbox.salesforce.clock import parse_datetime

    return {r["Id"]: parse_datetime(r["SystemModstamp"]) for r in org.truth("Account", ["Id", "SystemModstamp"])}


def test_an_update_stamped_below_the_lookback_is_repaired_by_the_next_reconcile(harness: Any, salesforce: Any) -> None:
    org = salesforce.org
    harness.run_ok("salesforce_account")
    watermark = harness.watermark("salesforce_account")
    # Committed two hours behind the watermark, far below its 10-minute lookback: no window reads it.
    below = watermark - timedelta(hours=2)
    older = sorted(i for i, stamp in modstamps(org).items() if stamp < below)[:4]
    org.update("Account", [{"Id": i, "Phone": "+1 555 0100"} for i in older], modstamp=below)
    org.advance(120)
    missed = harness.run_ok("salesforce_account")
    assert missed["rows_inserted"] == missed["rows_updated"] == 0
    watermark = harness.watermark("salesforce_account")

    reconciled = harness.run_ok("salesforce_account__reconcile")
    assert (reconciled["rows_inserted"], reconciled["rows_updated"], reconciled["rows_deleted"]) == (0, 4, 0)
    found = harness.rows("SELECT source_id, phone FROM {s}.customer WHERE source_id = ANY(:ids)", ids=older)
    phones = {i: Protection("customer").stored("phone", v) for i, v in found}  # encrypted by the policy
    assert phones == dict.fromkeys(older, "+1 555 0100")
    assert_warehouse_equals_org(harness, org, "salesforce_account")
    assert harness.watermark("salesforce_account") == watermark
    # Nothing differs any more: the next reconcile reads no record by id.
    assert harness.run_ok("salesforce_account__reconcile")["rows_staged"] == 0


def test_a_source_clock_behind_the_watermark_beyond_the_lookback_fails_the_plan(
    harness: Any, salesforce: Any, capfd: Any
) -> None:
    org = salesforce.org
    harness.run_ok("salesforce_account")
    watermark = harness.watermark("salesforce_account")
    org.set_time(watermark - timedelta(minutes=30))  # the org's clock stepped back 30 min; the lookback is 10
    run = harness.run("salesforce_account")
    assert str(run.state) == "failed"
    plan = run.get_task_instance("plan")
    assert str(plan.state) == "failed" and plan.try_number == 1  # not retried
    assert str(run.get_task_instance("extract").state) != "success"
    output = "".join(capfd.readouterr())
    assert "is behind the watermark" in output and "more than the lookback 0:10:00" in output
    assert f"the watermark {watermark.isoformat()}" in output
    assert harness.watermark("salesforce_account") == watermark


OTHER_SOURCES = (
    "SELECT source_id, source_updated_at, _is_deleted FROM {s}.customer WHERE source_system <> 'salesforce' ORDER BY 1"
)


def test_a_resync_rewrites_newer_rows_and_tombstones_unread_ones_without_moving_the_watermark(
    harness: Any, salesforce: Any
) -> None:
    from lumina_sandbox import file_drops

    org = salesforce.org
    harness.drop(file_drops.accounts_initial())
    harness.run_ok("filedrop_crm_accounts")  # another source's rows in the same table: never touched
    legacy = harness.rows(OTHER_SOURCES)
    accounts = sorted(org.ids("Account"))
    changed, purged = accounts[0], accounts[1]
    # The org's clock ran a day ahead; a change was loaded with that stamp; then the clock was put right.
    org.advance(86400)
    org.update("Account", [{"Id": changed, "Name": "Stamped a day ahead"}])
    org.advance(120)
    harness.run_ok("salesforce_account")
    org.advance(-86400)
    org.update("Account", [{"Id": changed, "Name": "Corrected after the clock fix"}])
    watermark = harness.watermark("salesforce_account")
    (ahead,) = harness.rows("SELECT source_updated_at FROM {s}.customer WHERE source_id = :i", i=changed)[0]
    assert ahead > modstamps(org)[changed]  # the warehouse's stamp is newer than the org's

    # The reconcile cannot fix it: the cursor guard keeps the newer row.
    assert harness.run_ok("salesforce_account__reconcile")["rows_updated"] == 0
    org.purge("Account", [purged])  # a hard delete since

    resynced = harness.run_ok("salesforce_account__resync")
    assert (resynced["rows_inserted"], resynced["rows_updated"], resynced["rows_deleted_unread"]) == (0, 1, 1)
    assert harness.rows("SELECT name FROM {s}.customer WHERE source_id = :i", i=changed) == [
        ("Corrected after the clock fix",)
    ]
    assert harness.rows("SELECT _is_deleted FROM {s}.customer WHERE source_id = :i", i=purged) == [(True,)]
    assert_warehouse_equals_org(harness, org, "salesforce_account")
    assert harness.watermark("salesforce_account") == watermark
    assert harness.rows(OTHER_SOURCES) == legacy
    # A second resync finds nothing to change.
    again = harness.run_ok("salesforce_account__resync")
    assert again["rows_inserted"] == again["rows_updated"] == again["rows_deleted"] == again["rows_deleted_unread"] == 0
