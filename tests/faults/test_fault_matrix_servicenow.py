"""The fault matrix's ServiceNow cases: real DAG runs of ``servicenow_incident`` and ``servicenow_core_company``
against the ServiceNow sandbox (300 incidents, OAuth password grant), each ending with an exact comparison of
the warehouse against the instance (``compare.exact``: live row count, a hash per key of the compared columns,
no duplicate keys) and exact counts of what the load did.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

pytestmark = pytest.mark.integration

INCIDENT, COMPANY = "servicenow_incident", "servicenow_core_company"
COUNTS = {"core_company": 20, "sys_user": 10, "incident": 300, "sc_req_item": 5, "change_request": 5}


@pytest.fixture(scope="module")
def snow_server() -> Iterator[Any]:
    from lumina_sandbox.servicenow.instance import Instance
    from lumina_sandbox.servicenow.server import ServiceNowServer

    with ServiceNowServer(Instance.generate(seed=5, counts=COUNTS)) as server:
        yield server


@pytest.fixture
def snow(warehouse_runs: Any, snow_server: Any) -> Iterator[Any]:
    """The instance as generated, ``servicenow_default`` on it (OAuth password grant), the warehouse empty."""
    from lumina_sandbox.servicenow.connection import airflow_connection

    snow_server.instance.reset()
    credentials = {**snow_server.credentials.as_dict(), "instance_url": snow_server.base_url}
    connection = airflow_connection(credentials, snow_server.ca_path, auth="oauth_password")
    os.environ["AIRFLOW_CONN_SERVICENOW_DEFAULT"] = json.dumps(connection)
    warehouse_runs.org = snow_server.instance
    yield warehouse_runs
    snow_server.instance.faults.clear()
    snow_server.instance.hooks.clear()
    os.environ.pop("AIRFLOW_CONN_SERVICENOW_DEFAULT", None)


def pages_of(p: Any, size: int) -> None:
    """Run the two pipelines with ``size`` records per Table API request."""
    from spec_variants import pipeline_dags

    p.variants = {**pipeline_dags(INCIDENT, {"page_size": size}), **pipeline_dags(COMPANY, {"page_size": size})}


def ok(run: Any) -> dict[str, Any]:
    assert run.state == "success", run.states()
    load = run.xcom("load")
    assert isinstance(load, dict)
    return load


def changed(load: dict[str, Any]) -> tuple[int, int, int]:
    return load["rows_inserted"], load["rows_updated"], load["rows_deleted"]


def assert_equal(p: Any, dag_id: str, **kwargs: Any) -> Any:
    from lumina_sandbox.servicenow import compare

    result = compare.exact(p.engine, p.schema, p.org, dag_id, below=p.watermark(dag_id), **kwargs)
    assert result.equal, result.describe()
    return result


def stamps(instance: Any, table: str) -> list[tuple[datetime, str]]:
    """``(sys_updated_on, sys_id)`` of every record: the keyset order the pipelines read in."""
    from lumina_sandbox.servicenow.compare import normal

    return sorted((normal(r["sys_updated_on"]), str(r["sys_id"])) for r in instance.truth(table))


def test_a_429_storm_with_retry_after(snow: Any) -> None:
    p, instance = snow, snow.org
    pages_of(p, 50)
    rules = [
        instance.faults.add("table", status=429, retry_after=1, times=5),  # five in a row on one request
        instance.faults.add("stats", status=429, retry_after=1, times=1),
        instance.faults.add("table", status=503, retry_after=1, times=2, after=8),
        instance.faults.add("table", status=429, retry_after=2, times=2, after=11),
    ]
    run = p.run(INCIDENT)
    load = ok(run)
    assert [r.fired for r in rules] == [5, 1, 2, 2]
    assert run.task_instance("extract").try_number == 1  # waited out inside the client, no task retry
    end = p.watermark(INCIDENT)
    assert changed(load) == (sum(1 for s, _ in stamps(instance, "incident") if s < end), 0, 0)
    assert_equal(p, INCIDENT)


def test_oauth_token_expiry_mid_extract(snow: Any) -> None:
    p, instance = snow, snow.org
    pages_of(p, 10)
    ok(p.run(INCIDENT))
    ids = [i for _, i in stamps(instance, "incident")][:30]
    instance.update("incident", [{"sys_id": i, "short_description": "after the token"} for i in ids])
    instance.advance(120)
    run = p.start(INCIDENT)
    run.drive(until="extract")
    # The extract's token is revoked once its first page is read: the next page is 401, one new token.
    rule = instance.faults.add("table", "expire_session", after=1)
    before = instance.request_counts().get("token", 0)
    run.drive(until="transform")
    assert rule.fired == 1
    assert instance.request_counts()["token"] - before == 2  # the extract's token, and one after the 401
    assert run.drive() == "success"
    assert run.task_instance("extract").try_number == 1
    assert changed(ok(run)) == (0, 30, 0)
    assert_equal(p, INCIDENT)


def test_records_updated_created_and_deleted_mid_paging(snow: Any) -> None:
    p, instance = snow, snow.org
    pages_of(p, 50)
    run = p.start(INCIDENT)
    run.drive(until="extract")
    end = datetime.fromisoformat(run.xcom("plan")["window"]["end"])
    order = [i for s, i in stamps(instance, "incident") if s < end]
    read, unread = order[:100], order[-100:]  # pages 1-2 are read when page 3 is asked for
    moved_read, moved_unread, doomed = read[10:15], unread[50:55], read[20]
    # Before page 3 of the extract: records already read and not yet read move (stamped after the window's
    # end), one already read is deleted (audited), one is created. sysparm_offset paging would now skip 5.
    hook = instance.add_page_hook(
        {
            "table": "incident",
            "page": 3,
            "update": [{"sys_id": i, "short_description": "moved mid-paging"} for i in moved_read + moved_unread],
            "delete": [doomed],
            "create": [{"short_description": "created mid-paging"}],
        }
    )
    assert run.drive() == "success"
    assert hook.fired
    first = ok(run)
    assert changed(first) == (len(order) - len(moved_unread), 0, 0)  # every record stamped in the window
    assert first["rows_staged"] == len(order) - len(moved_unread)
    assert_equal(p, INCIDENT)  # the moved, created and deleted ones are after the watermark
    instance.advance(120)
    second = ok(p.run(INCIDENT))
    assert changed(second) == (len(moved_unread) + 1, len(moved_read), 1)
    assert_equal(p, INCIDENT)
    assert p.rows("SELECT count(*) FROM {s}.support_case WHERE source_id = :d AND _is_deleted", d=doomed) == [(1,)]


def test_deletes_between_runs_audited_tombstoned_unaudited_reconciled(snow: Any) -> None:
    p, instance = snow, snow.org
    pages_of(p, 50)
    companies = sorted(instance.create("core_company", [{"name": f"Short-lived {i}"} for i in range(2)]))
    instance.advance(120)
    ok(p.run(INCIDENT))
    ok(p.run(COMPANY))
    incidents = [i for _, i in stamps(instance, "incident")]
    instance.delete("incident", incidents[:3])  # audited: sys_audit_delete rows
    instance.delete("incident", incidents[3:5], audit=False)  # a table cleaner: no trace
    instance.delete("core_company", companies)  # not an audited table
    instance.advance(120)
    assert changed(ok(p.run(INCIDENT))) == (0, 0, 3)
    assert changed(ok(p.run(COMPANY))) == (0, 0, 0)
    from lumina_sandbox.servicenow import compare

    for dag_id, gone in ((INCIDENT, incidents[3:5]), (COMPANY, companies)):
        assert_equal(p, dag_id, ignore_gone=True)
        unseen = compare.exact(p.engine, p.schema, instance, dag_id, below=p.watermark(dag_id))
        assert unseen.differing == sorted(gone)  # still live in the warehouse until a reconcile
    assert ok(p.run(f"{INCIDENT}__reconcile"))["rows_deleted"] == 2
    assert ok(p.run(f"{COMPANY}__reconcile"))["rows_deleted"] == 2
    assert_equal(p, INCIDENT)
    assert_equal(p, COMPANY)


def test_a_tie_at_the_second_boundary(snow: Any) -> None:
    """Twelve records in the window's last second and eight in the second it ends at, five a page: the
    scheduled run reads the twelve (across three pages), the next interval's run the eight."""
    p, instance = snow, snow.org
    pages_of(p, 5)
    ok(p.run(INCIDENT))
    now = instance.now()
    boundary = now.replace(minute=now.minute // 15 * 15, second=0, microsecond=0) + timedelta(minutes=30)
    incidents = [i for _, i in stamps(instance, "incident")]
    last, on = incidents[:12], incidents[12:19]
    instance.update(
        "incident",
        [{"sys_id": i, "short_description": "last second"} for i in last],
        stamp=boundary - timedelta(seconds=1),
    )
    instance.update("incident", [{"sys_id": i, "short_description": "on the boundary"} for i in on], stamp=boundary)
    [made] = instance.create("incident", [{"short_description": "new on the boundary"}], stamp=boundary)
    instance.set_time(boundary + timedelta(minutes=2))
    run = p.run(INCIDENT, "scheduled", interval=(boundary - timedelta(minutes=15), boundary))
    assert changed(ok(run)) == (0, 12, 0)
    assert p.watermark(INCIDENT) == boundary
    assert_equal(p, INCIDENT)  # the eight at the boundary itself are not below the watermark
    instance.set_time(boundary + timedelta(minutes=17))
    run = p.run(INCIDENT, "scheduled", interval=(boundary, boundary + timedelta(minutes=15)))
    assert changed(ok(run)) == (1, 7, 0)
    assert p.watermark(INCIDENT) == boundary + timedelta(minutes=15)
    assert_equal(p, INCIDENT)
    assert p.rows("SELECT subject FROM {s}.support_case WHERE source_id = :m", m=made) == [("new on the boundary",)]
