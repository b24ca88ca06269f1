"""Jira pipelines end to end: real DAG runs against the Jira sandbox (HTTPS on loopback), moto's S3 server and
the real Postgres. After each scripted sequence of changes and faults the warehouse must equal the site record
for record: no duplicates, no lost changes, no lost deletes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lumina_sandbox.jira import compare

pytestmark = pytest.mark.integration

# pipeline -> (object, canonical table, cursor column)
PIPELINES = {
    "jira_issues": ("issues", "work_item", "source_updated_at"),
    "jira_comments": ("comments", "work_item_comment", "source_updated_at"),
    "jira_worklogs": ("worklogs", "work_item_worklog", "source_updated_at"),
    "jira_changelog": ("changelog", "work_item_history", "changed_at"),
}


@pytest.fixture(scope="module")
def jira_site() -> Iterator[Any]:
    from lumina_sandbox.jira.instance import Instance
    from lumina_sandbox.jira.server import JiraServer

    # Several search pages (100 issues each), many issues sharing an updated minute, long changelogs.
    with JiraServer(Instance.generate(counts={"issues": 260})) as server:
        yield server


def connect(server: Any, **kwargs: Any) -> None:
    from lumina_sandbox.jira.connection import airflow_connection

    connection = airflow_connection(server.control.credentials(), server.ca_path, **kwargs)
    os.environ["AIRFLOW_CONN_JIRA_DEFAULT"] = json.dumps(connection)


@pytest.fixture
def jira(jira_site: Any) -> Iterator[Any]:
    jira_site.control.reset()
    connect(jira_site)
    yield jira_site.control
    jira_site.control.clear_faults()
    jira_site.control.clear_hooks()


def truth(control: Any, obj: str) -> dict[str, datetime]:
    """The site's live records of ``obj``: id -> cursor (UTC, ms)."""
    stamp = lambda ms: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(ms))  # noqa: E731
    records = control.truth(obj)
    if obj == "changelog":
        return {f"{h['id']}.{i}": stamp(h["created"]) for h in records for i in range(len(h["items"]))}
    return {r["id"]: stamp(r["updated"]) for r in records}


def warehouse(harness: Any, table: str, cursor: str) -> tuple[dict[str, datetime], int]:
    rows = harness.rows(f"SELECT source_id, {cursor} FROM {{s}}.{table} WHERE NOT _is_deleted")
    return {r[0]: r[1].astimezone(UTC) for r in rows}, len(rows)


def assert_equal(harness: Any, control: Any, dag_id: str) -> None:
    obj, table, cursor = PIPELINES[dag_id]
    expected = truth(control, obj)
    found, rows = warehouse(harness, table, cursor)
    assert rows == len(found), f"{dag_id}: duplicate keys"
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    differ = [k for k in expected.keys() & found.keys() if abs(expected[k] - found[k]) >= timedelta(milliseconds=1)]
    assert not (missing or extra or differ), (
        f"{dag_id}: {len(missing)} missing {missing[:3]}, {len(extra)} not deleted {extra[:3]}, "
        f"{len(differ)} differ {differ[:3]}"
    )
    # Value for value, as the demo's verdict compares (lumina_sandbox.jira.compare).
    verdict = compare.compare(harness.engine, harness.schema, control, dag_id)
    assert verdict.equal, f"{dag_id}: {verdict.describe()}; e.g. {verdict.differing[:1]}"


def run_ok(harness: Any, dag_id: str) -> dict[str, Any]:
    run = harness.run(dag_id)
    assert str(run.state) == "success", harness.states(run)
    return harness.load_result(run)


def quarantined(harness: Any, pipeline: str) -> int:
    return harness.rows("SELECT COUNT(*) FROM {s}.lumina_quarantine WHERE pipeline_id = :p", p=pipeline)[0][0]


def test_initial_load_then_every_kind_of_change(harness: Any, jira: Any) -> None:
    for dag_id in PIPELINES:
        result = run_ok(harness, dag_id)
        assert result["rows_inserted"] > 0 and quarantined(harness, dag_id) == 0, dag_id
        assert_equal(harness, jira, dag_id)
    audit = dict(harness.rows("SELECT pipeline_id, api_calls FROM {s}.lumina_audit"))
    assert all(audit[d] > 0 for d in PIPELINES)

    issues = sorted(jira.truth("issues"), key=lambda i: int(i["id"]))
    watermark = harness.watermark("jira_issues").astimezone(UTC)
    # Committed late, behind the watermark but inside the lookback, six of them in one minute.
    tied = watermark.replace(second=0, microsecond=0) + timedelta(seconds=7)
    if tied >= watermark:
        tied -= timedelta(minutes=1)
    jira.update_issues([{"key": i["key"], "priority": "High"} for i in issues[:6]], stamp=tied)
    created = jira.create_issues(
        [{"project": "ENG", "summary": f"Brand-new {n}", "issuetype": "Task"} for n in range(3)]
    )
    mention = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Grüße an "},
                    {"type": "mention", "attrs": {"id": "x", "text": "@Zoë Ødegård"}},
                    {"type": "text", "text": " ✅"},
                ],
            }
        ],
    }
    comment = jira.add_comment(issues[10]["key"], mention)
    worklog = jira.add_worklog(issues[11]["key"], 1800, comment=mention)
    doomed_worklog = sorted(jira.ids("worklogs"))[0]
    jira.delete_worklog(doomed_worklog)
    deleted = [issues[20]["id"], issues[21]["id"]]
    jira.delete_issues(deleted)  # Jira reports no deletes: only reconciliation finds them
    risk = jira.add_field({"name": "Risk", "type": "string"}, value="low")
    jira.advance(120)  # past the safety lag

    for dag_id in PIPELINES:
        run_ok(harness, dag_id)
    changes = harness.rows("SELECT field, change, action FROM {s}.lumina_schema_changes")
    assert (risk["id"], "added", "evolved") in changes
    assert harness.rows("SELECT priority FROM {s}.work_item WHERE source_id = :i", i=issues[0]["id"]) == [("High",)]
    assert {c["id"] for c in created} <= {r[0] for r in harness.rows("SELECT source_id FROM {s}.work_item")}
    body = harness.rows("SELECT body FROM {s}.work_item_comment WHERE source_id = :c", c=comment)[0][0]
    assert body == "Grüße an @Zoë Ødegård ✅"  # ADF in raw, text in canonical
    assert harness.rows("SELECT comment FROM {s}.work_item_worklog WHERE source_id = :w", w=worklog)[0][0] == body
    gone = harness.rows("SELECT _is_deleted FROM {s}.work_item_worklog WHERE source_id = :w", w=doomed_worklog)
    assert gone == [(True,)]  # worklog/deleted: a tombstone in the incremental run
    assert harness.rows(
        "SELECT COUNT(*) FROM {s}.work_item WHERE source_id IN (:a, :b) AND NOT _is_deleted", a=deleted[0], b=deleted[1]
    ) == [(2,)]

    reconciled = run_ok(harness, "jira_issues__reconcile")
    assert reconciled["rows_deleted"] == 2
    for dag_id in ("jira_comments__reconcile", "jira_changelog__reconcile", "jira_worklogs__reconcile"):
        run_ok(harness, dag_id)  # the deleted issues' comments, histories and worklogs go with them
    for dag_id in PIPELINES:
        assert_equal(harness, jira, dag_id)
        assert quarantined(harness, dag_id) == 0, dag_id

    # Replaying reads the last window again and changes nothing.
    again = run_ok(harness, "jira_issues")
    assert again["rows_inserted"] == 0 and again["rows_deleted"] == 0
    assert_equal(harness, jira, "jira_issues")


def test_faults_lose_and_duplicate_nothing(harness: Any, jira: Any) -> None:
    for _ in range(4):
        jira.add_fault("search", status=429, retry_after=1)  # a 429 storm on the searches
    jira.add_fault("comment", status=503, retry_after=1)
    jira.add_fault("field", status=500)
    # An issue updated while the search pages through the window.
    first = sorted(jira.truth("issues"), key=lambda i: (i["updated"], int(i["id"])))[0]
    jira.on_page("issues", page=2, update=[{"key": first["key"], "summary": "changed mid-paging"}])
    for dag_id in PIPELINES:
        run_ok(harness, dag_id)
    fired = {f["category"]: f["fired"] for f in jira.faults()}
    assert fired["search"] >= 1 and fired["comment"] == 1 and fired["field"] == 1
    jira.advance(120)
    for dag_id in PIPELINES:  # the mid-paging version is stamped after the first windows' end: the next ones read it
        run_ok(harness, dag_id)
    assert harness.rows("SELECT summary FROM {s}.work_item WHERE source_id = :i", i=first["id"]) == [
        ("changed mid-paging",)
    ]
    for dag_id in PIPELINES:
        assert_equal(harness, jira, dag_id)


def test_oauth2_and_an_expired_page_token(harness: Any, jira: Any, jira_site: Any) -> None:
    connect(jira_site, auth="oauth2")
    jira.settings(access_token_ttl=60)
    run_ok(harness, "jira_issues")
    assert_equal(harness, jira, "jira_issues")
    # The next search's tokens die mid-read: the reader restarts from the last minute it read.
    keys = [i["key"] for i in jira.truth("issues")[:150]]
    jira.update_issues([{"key": k, "labels": ["touched"]} for k in keys])
    jira.advance(120)
    # The third search call (after plan's count and the first page) is refused as the site refuses a dead token.
    jira.add_fault("search", status=400, message="The provided next page token is invalid or expired.", after=2)
    result = run_ok(harness, "jira_issues")
    assert [f["fired"] for f in jira.faults()] == [1]
    assert result["rows_updated"] == len(keys)
    assert_equal(harness, jira, "jira_issues")
