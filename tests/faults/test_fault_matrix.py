"""The fault matrix: every case ends with an exact comparison of the warehouse against the org (live row
count, a hash per key of the compared columns, no duplicate keys).

Kills are real: the task runs in a worker process of its own, which ``LUMINA_FAILPOINT`` SIGKILLs at the
named point; the driver then fails the attempt as a lost worker and the task is retried in the same DAG
run (same run key, staged keys and Bulk checkpoint).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from lumina_sandbox.common.protected import Protection

pytestmark = pytest.mark.integration

ACCOUNT = "salesforce_account"


def ok(run: Any) -> dict[str, Any]:
    assert run.state == "success", run.states()
    load = run.xcom("load")
    assert isinstance(load, dict)
    return load


def audit_rows(p: Any, run: Any) -> list[tuple[Any, ...]]:
    return p.rows("SELECT rows_inserted, watermark_after FROM {s}.lumina_audit WHERE run_id = :r", r=run.run_id)


@pytest.mark.parametrize(
    ("task_id", "failpoint"),
    [
        pytest.param("extract", "extract.after_manifest", id="after-extract"),
        pytest.param("extract", "staging.part_uploaded", id="during-s3-upload"),
        pytest.param("load", "load.copy", id="during-copy"),
        pytest.param("load", "load.before_commit", id="after-merge-before-commit"),
        pytest.param("load", "load.after_commit", id="after-commit"),
    ],
)
def test_sigkill_then_retry(pipelines: Any, task_id: str, failpoint: str) -> None:
    p, org = pipelines, pipelines.org
    run = p.run(ACCOUNT, workers={task_id: failpoint})  # first load: 1,200 accounts over Bulk 2.0
    assert [(k.task_id, k.try_number, k.signal) for k in run.killed] == [(task_id, 1, 9)]
    assert run.task_instance(task_id).try_number == 2
    load = ok(run)
    p.assert_equal(ACCOUNT)
    # The retried extract re-attached to the job the killed one created; nothing was paid twice.
    assert org.request_counts()["bulk_create"] == 1
    audit = audit_rows(p, run)
    assert len(audit) == 1 and p.watermark(ACCOUNT) == audit[0][1]
    # A retry after the commit merges the same rows again and changes nothing.
    expected_inserted = 0 if failpoint == "load.after_commit" else len(org.ids("Account"))
    assert load["rows_inserted"] == expected_inserted == audit[0][0]


def test_the_same_interval_three_more_times_changes_nothing(pipelines: Any) -> None:
    p, org = pipelines, pipelines.org
    ok(p.run(ACCOUNT))
    org.advance(30 * 60)
    start, end = p.last_interval()
    ids = sorted(org.ids("Account"))
    org.update("Account", [{"Id": i, "Phone": "+1 555 0100"} for i in ids[:20]], modstamp=end - timedelta(minutes=3))
    org.create("Account", [{"Name": f"New in the interval {i}"} for i in range(5)], modstamp=end - timedelta(minutes=2))
    org.delete("Account", ids[20:23], modstamp=end - timedelta(minutes=1))
    run = p.run(ACCOUNT, "scheduled", interval=(start, end))
    first = ok(run)
    assert (first["rows_inserted"], first["rows_updated"], first["rows_deleted"]) == (5, 20, 3)
    assert p.watermark(ACCOUNT) == end
    checksum = p.assert_equal(ACCOUNT).warehouse.checksum
    for _ in range(3):
        run.clear()
        assert run.drive() == "success", run.states()
        again = ok(run)
        assert again["rows_staged"] >= 28  # the interval's records were read and merged again
        assert (again["rows_inserted"], again["rows_updated"], again["rows_deleted"]) == (0, 0, 0)
        assert p.assert_equal(ACCOUNT).warehouse.checksum == checksum
        assert p.watermark(ACCOUNT) == end


def _lock_waiters(p: Any) -> int:
    return p.rows(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%lumina_state%'"
    )[0][0]


def test_a_backfill_beside_the_scheduled_run(pipelines: Any, tmp_path: Path, monkeypatch: Any) -> None:
    from airflow_runs import wait_for

    p, org = pipelines, pipelines.org
    ok(p.run(ACCOUNT))
    watermark = p.watermark(ACCOUNT)
    assert watermark is not None
    ids = sorted(org.ids("Account"))[:10]
    # An old interval the backfill reprocesses: versions committed there long ago (only it reads them).
    old = (watermark - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    org.update("Account", [{"Id": i, "Phone": "old version"} for i in ids], modstamp=old + timedelta(minutes=5))
    backfill = p.start(ACCOUNT, "backfill", interval=(old, old + timedelta(minutes=15)))
    backfill.drive(until="load")
    # Newer versions of the same records, read by the scheduled run of the current interval.
    org.update("Account", [{"Id": i, "Phone": "new version"} for i in ids])
    now = org.now()
    org.advance((15 - now.minute % 15) * 60 + 120)
    scheduled = p.start(ACCOUNT, "scheduled")
    scheduled.drive(until="load")

    # The scheduled load takes the state row lock and stops before its commit; the backfill's load waits.
    monkeypatch.setenv("LUMINA_FAILPOINT_DIR", str(tmp_path))
    first = scheduled.start_worker(scheduled.next_task(), "load.before_commit:pause")
    wait_for(lambda: (tmp_path / "load.before_commit.reached").exists(), "the scheduled load's pause")
    second = backfill.start_worker(backfill.next_task())
    wait_for(lambda: _lock_waiters(p) == 1, "the backfill's load to wait for the state row lock")
    (tmp_path / "load.before_commit.release").touch()
    assert scheduled.finish_worker("load", first) == 0
    assert backfill.finish_worker("load", second) == 0
    assert scheduled.drive() == backfill.drive() == "success"

    assert ok(backfill)["rows_updated"] == 0  # the older versions lost to the newer ones (cursor guard)
    assert ok(backfill)["rows_staged"] == len(ids)
    assert p.watermark(ACCOUNT) == scheduled.interval[1]  # the scheduled run's; the backfill moved nothing
    p.assert_equal(ACCOUNT)
    phones = p.rows("SELECT phone FROM {s}.customer WHERE source_id = ANY(:ids)", ids=ids)
    assert {Protection("customer").stored("phone", r[0]) for r in phones} == {"new version"}  # encrypted at rest


def test_a_429_and_503_storm_with_retry_after(pipelines: Any) -> None:
    p, org = pipelines, pipelines.org
    rules = [
        org.faults.add("any", status=429, retry_after=1, times=5),
        org.faults.add("any", status=503, retry_after=1, times=5, after=8),
        org.faults.add("bulk_results", status=503, retry_after=2, times=3),
    ]
    ok(p.run(ACCOUNT))
    assert [r.fired for r in rules] == [5, 5, 3]
    p.assert_equal(ACCOUNT)
    assert org.request_counts()["bulk_create"] == 1


def test_a_permanent_5xx_fails_fast_and_opens_the_breaker(pipelines: Any) -> None:
    from airflow.models import Variable

    p, org = pipelines, pipelines.org
    ok(p.run(ACCOUNT))
    watermark = p.watermark(ACCOUNT)
    org.update("Account", [{"Id": i, "Rating": "Warm"} for i in sorted(org.ids("Account"))[:7]])
    org.advance(120)
    org.faults.add("limits", status=503, retry_after=1, times=None)  # the plan's first call, for good
    failed = p.run(ACCOUNT)
    assert failed.state == "failed"
    plan = failed.task_instance("plan")
    # Three attempts fail after all their HTTP retries; the third opens the breaker and stops the task.
    assert str(plan.state) == "failed" and plan.try_number == 3
    breaker = Variable.get("lumina_breaker__salesforce_default")  # noqa: AIR311
    assert "3 calls in a row failed" in breaker and "503" in breaker
    assert p.watermark(ACCOUNT) == watermark
    # The alert: one message for the task that failed for good (not one per attempt), naming the breaker.
    [alert] = [m["text"] for m in p.alerts.messages()]
    assert alert.startswith(f"Lumina: {ACCOUNT}.plan failed (run {failed.run_id}, try 3).")
    assert "circuit breaker of connection 'salesforce_default' is open" in alert
    before = sum(org.request_counts().values())
    refused = p.run(ACCOUNT)
    assert refused.state == "failed"
    assert sum(org.request_counts().values()) == before  # the open breaker spent nothing
    assert "is open until" in p.alerts.messages()[-1]["text"] and len(p.alerts.messages()) == 2

    org.faults.clear()
    Variable.delete("lumina_breaker__salesforce_default")  # noqa: AIR311  (an operator closes it)
    assert ok(p.run(ACCOUNT))["rows_updated"] == 7
    p.assert_equal(ACCOUNT)


def test_the_daily_limit_running_out_mid_extract(pipelines: Any) -> None:
    from airflow.models import Variable

    p, org = pipelines, pipelines.org
    org.faults.add("bulk_results", status=403, times=None)  # REQUEST_LIMIT_EXCEEDED after plan's checks
    failed = p.run(ACCOUNT)
    extract = failed.task_instance("extract")
    assert failed.state == "failed" and str(extract.state) == "failed" and extract.try_number == 1
    assert "REQUEST_LIMIT_EXCEEDED" in Variable.get("lumina_breaker__salesforce_default")  # noqa: AIR311
    assert p.watermark(ACCOUNT) is None and p.rows("SELECT COUNT(*) FROM {s}.lumina_audit")[0][0] == 0

    org.faults.clear()
    Variable.delete("lumina_breaker__salesforce_default")  # noqa: AIR311
    ok(p.run(ACCOUNT))
    p.assert_equal(ACCOUNT)
    assert org.request_counts()["bulk_create"] == 2  # a new DAG run: a new job


def test_session_expiry_mid_run(pipelines: Any) -> None:
    p, org = pipelines, pipelines.org
    ok(p.run(ACCOUNT))
    ids = sorted(org.ids("Account"))
    org.update("Account", [{"Id": i, "Rating": "Hot"} for i in ids[:30]])
    org.delete("Account", ids[30:32])
    org.advance(120)
    # Every session ends between the plan and the extract, and again inside the extract (after its COUNT).
    org.faults.add("describe", "expire_session", after=1)
    org.faults.add("query", "expire_session", after=2)
    org.faults.add("deleted", "expire_session")
    load = ok(p.run(ACCOUNT))
    assert (load["rows_updated"], load["rows_deleted"]) == (30, 2)
    assert all(rule.fired == 1 for rule in org.faults.rules())
    p.assert_equal(ACCOUNT)


def test_postgres_connection_reset_mid_copy(pipelines: Any, tmp_path: Path, monkeypatch: Any) -> None:
    from airflow_runs import wait_for

    p = pipelines
    run = p.start(ACCOUNT)
    run.drive(until="load")
    monkeypatch.setenv("LUMINA_FAILPOINT_DIR", str(tmp_path))
    worker = run.start_worker(run.next_task(), "load.copy:pause")
    wait_for(lambda: (tmp_path / "load.copy.reached").exists(), "the load's COPY")
    # A first load COPYs straight into the empty table (warehouse/first_load.py), later loads into the stage.
    terminated = p.rows(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'COPY %FROM STDIN%' "
        "AND pid <> pg_backend_pid()"
    )
    assert terminated == [(True,)]
    (tmp_path / "load.copy.release").touch()
    assert run.finish_worker("load", worker) == 1  # the attempt failed on the dead connection
    assert str(run.task_instance("load").state) == "up_for_retry"
    assert p.watermark(ACCOUNT) is None
    assert run.drive() == "success"
    assert run.task_instance("load").try_number == 2
    p.assert_equal(ACCOUNT)


def test_late_rows_deletes_and_a_field_added_mid_run(pipelines: Any) -> None:
    p, org = pipelines, pipelines.org
    ok(p.run(ACCOUNT))
    watermark = p.watermark(ACCOUNT)
    assert watermark is not None
    ids = sorted(org.ids("Account"))
    # Committed late, behind the watermark inside the lookback; some exactly on it, some 9 minutes behind.
    org.update("Account", [{"Id": i, "Phone": "late"} for i in ids[:5]], modstamp=watermark)
    org.update("Account", [{"Id": i, "Phone": "later"} for i in ids[5:10]], modstamp=watermark - timedelta(minutes=9))
    org.delete("Account", ids[10:14])  # soft: to the recycle bin
    org.purge("Account", ids[14:17])  # hard: gone
    org.purge("Account", ids[10:12])  # soft, then purged before any run saw the deletion
    org.advance(120)
    run = p.start(ACCOUNT)
    run.drive(until="extract")
    # The field rolls out between the plan (which took the describe snapshot) and the extract.
    org.add_field(
        "Account",
        {"name": "Customer_Segment__c", "type": "picklist", "picklistValues": ["Enterprise", "SMB"]},
        value="SMB",
    )
    org.update("Account", [{"Id": ids[20], "Customer_Segment__c": "Enterprise"}], modstamp=watermark)
    assert run.drive() == "success"
    load = ok(run)
    assert (load["rows_updated"], load["rows_deleted"]) == (11, 2)
    # Before reconcile and refresh: equal for everything but the hard deletes and the backfilled column.
    p.assert_equal(ACCOUNT, ignore_gone=True, skip_columns=("segment",))
    assert len(p.exact(ACCOUNT).differing) > 0
    assert ok(p.run(ACCOUNT))["rows_inserted"] == 0  # the next run sees the drift; nothing new
    assert ok(p.run("salesforce_account__reconcile"))["rows_deleted"] == 5
    assert ok(p.run("salesforce_account__refresh"))["rows_updated"] > 1000
    p.assert_equal(ACCOUNT)
    changes = p.rows("SELECT field, change FROM {s}.lumina_schema_changes")
    assert changes == [("Customer_Segment__c", "added")]
