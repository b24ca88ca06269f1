"""The fault matrix's Jira cases: real DAG runs of ``jira_issues`` against the Jira sandbox (Cloud, 300 issues,
OAuth 2.0 client credentials), each ending with an exact comparison of the warehouse against the site
(``compare.exact``: live row count, a hash per key of the compared columns, no duplicate keys) and exact counts
of what the load did.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ISSUES = "jira_issues"


@pytest.fixture(scope="module")
def jira_server() -> Iterator[Any]:
    from lumina_sandbox.jira.instance import Instance
    from lumina_sandbox.jira.server import JiraServer

    with JiraServer(Instance.generate(seed=5, counts={"issues": 300})) as server:
        yield server


@pytest.fixture
def jira(warehouse_runs: Any, jira_server: Any) -> Iterator[Any]:
    """The site as generated, ``jira_default`` on it (OAuth 2.0 client credentials), the warehouse empty."""
    from lumina_sandbox.jira.connection import airflow_connection

    jira_server.instance.reset()
    connection = airflow_connection(jira_server.control.credentials(), jira_server.ca_path, auth="oauth2")
    os.environ["AIRFLOW_CONN_JIRA_DEFAULT"] = json.dumps(connection)
    warehouse_runs.org = jira_server.instance
    yield warehouse_runs
    jira_server.instance.faults.clear()
    jira_server.instance.hooks.clear()
    jira_server.instance.tokens.expire_next(0)
    os.environ.pop("AIRFLOW_CONN_JIRA_DEFAULT", None)


def pages_of(p: Any, size: int) -> None:
    """Run the issue pipeline with ``size`` issues per search page."""
    from spec_variants import pipeline_dags

    p.variants = pipeline_dags(ISSUES, {"page_size": size})


def ok(run: Any) -> dict[str, Any]:
    assert run.state == "success", run.states()
    load = run.xcom("load")
    assert isinstance(load, dict)
    return load


def changed(load: dict[str, Any]) -> tuple[int, int, int]:
    return load["rows_inserted"], load["rows_updated"], load["rows_deleted"]


def assert_equal(p: Any, **kwargs: Any) -> Any:
    from lumina_sandbox.jira import compare

    result = compare.exact(p.engine, p.schema, p.org, ISSUES, below=p.watermark(ISSUES), **kwargs)
    assert result.equal, result.describe()
    return result


def order(site: Any) -> list[tuple[datetime, int]]:
    """``(updated, id)`` of every issue: the order the pipeline's search reads in (``ORDER BY updated, id``)."""
    from lumina_sandbox.jira.times import from_ms

    return sorted((from_ms(r["updated"]), int(r["id"])) for r in site.truth("issues"))


def update(site: Any, ids: list[Any], summary: str, stamp: datetime | None = None) -> None:
    for issue in ids:
        site.writer.update_issue(str(issue), {"summary": summary}, stamp=stamp)


def test_a_429_storm_with_retry_after(jira: Any) -> None:
    p, site = jira, jira.org
    pages_of(p, 50)
    rules = [
        site.faults.add("search", status=429, retry_after=1, times=5),  # five in a row on one request
        site.faults.add("field", status=429, retry_after=1, times=1),
        site.faults.add("search", status=503, retry_after=1, times=2, after=2),
        site.faults.add("search", status=429, retry_after=2, times=2, after=4),
    ]
    run = p.run(ISSUES)
    load = ok(run)
    assert [r.fired for r in rules] == [5, 1, 2, 2]
    assert run.task_instance("extract").try_number == 1  # waited out inside the client, no task retry
    end = p.watermark(ISSUES)
    assert changed(load) == (sum(1 for s, _ in order(site) if s < end), 0, 0)
    assert_equal(p)


def test_oauth_token_expiry_mid_extract(jira: Any) -> None:
    p, site = jira, jira.org
    pages_of(p, 10)
    ok(p.run(ISSUES))
    update(site, [i for _, i in order(site)][:30], "after the token")
    site.advance(120)
    run = p.start(ISSUES)
    run.drive(until="extract")
    # The extract's token is revoked once its first search page is read: the next page is 401, one new token.
    rule = site.faults.add("search", "expire_session", after=1)
    before = site.request_counts().get("token", 0)
    run.drive(until="transform")
    assert rule.fired == 1
    assert site.request_counts()["token"] - before == 2  # the extract's token, and one after the 401
    assert run.drive() == "success"
    assert run.task_instance("extract").try_number == 1
    assert changed(ok(run)) == (0, 30, 0)
    assert_equal(p)


def test_an_expired_next_page_token(jira: Any) -> None:
    """The search's first nextPageToken has expired when the second page asks with it (400): the read
    restarts from the last minute it read, dropping what it had already yielded there."""
    p, site = jira, jira.org
    pages_of(p, 10)
    ok(p.run(ISSUES))
    update(site, [i for _, i in order(site)][:35], "after the token expired")
    site.advance(120)
    refused = site.tokens.refused
    site.tokens.expire_next(1)
    run = p.run(ISSUES)
    assert site.tokens.refused - refused == 1
    assert run.task_instance("extract").try_number == 1
    load = ok(run)
    assert changed(load) == (0, 35, 0) and load["rows_staged"] == 35  # nothing read twice, nothing skipped
    assert_equal(p)


def test_an_issue_updated_mid_paging(jira: Any) -> None:
    p, site = jira, jira.org
    pages_of(p, 50)
    run = p.start(ISSUES)
    run.drive(until="extract")
    end = datetime.fromisoformat(run.xcom("plan")["window"]["end"])
    ids = [i for s, i in order(site) if s < end]
    read, unread = ids[:100], ids[-100:]  # pages 1-2 are read when page 3 is asked for
    moved_read, moved_unread, doomed = read[10:15], unread[50:55], read[20]
    # Before page 3: issues already read and not yet read are updated (after the window's end: they move
    # behind the cursor, out of this window), one already read is deleted, one is created.
    hook = site.add_page_hook(
        {
            "table": "issues",
            "page": 3,
            "update": [{"id": str(i), "summary": "moved mid-paging"} for i in moved_read + moved_unread],
            "delete": [str(doomed)],
            "create": [{"project": "ENG", "summary": "created mid-paging"}],
        }
    )
    assert run.drive() == "success"
    assert hook.fired
    first = ok(run)
    assert changed(first) == (len(ids) - len(moved_unread), 0, 0) and first["rows_staged"] == len(ids) - 5
    assert_equal(p, ignore_gone=True)  # the deleted issue: only a reconcile can tell
    site.advance(120)
    assert changed(ok(p.run(ISSUES))) == (len(moved_unread) + 1, len(moved_read), 0)
    assert_equal(p, ignore_gone=True)
    assert ok(p.run(f"{ISSUES}__reconcile"))["rows_deleted"] == 1
    assert_equal(p)


def test_deleted_issues_are_found_by_the_reconcile(jira: Any) -> None:
    from lumina_sandbox.jira import compare

    p, site = jira, jira.org
    pages_of(p, 50)
    ok(p.run(ISSUES))
    doomed = sorted(str(i) for _, i in order(site)[:3])
    site.writer.delete_issues(doomed)  # Jira has no deleted feed: the issues vanish
    update(site, [i for _, i in order(site)][:4], "beside the deletes")
    site.advance(120)
    assert changed(ok(p.run(ISSUES))) == (0, 4, 0)
    assert_equal(p, ignore_gone=True)
    assert compare.exact(p.engine, p.schema, site, ISSUES, below=p.watermark(ISSUES)).differing == doomed
    assert ok(p.run(f"{ISSUES}__reconcile"))["rows_deleted"] == 3
    assert_equal(p)


def test_ties_at_the_updated_minute_boundary(jira: Any) -> None:
    """JQL compares ``updated`` at the minute. (1) A run ends mid-minute; issues written in that minute before
    its end (late) and after it must both reach the next run, which a strict ``>`` on the minute would skip.
    (2) A scheduled interval ends on a minute: eight issues at one instant in its last minute (ties across
    pages of five) load with it, seven at the boundary instant and in the boundary's minute with the next."""
    p, site = jira, jira.org
    pages_of(p, 5)
    ok(p.run(ISSUES))
    watermark = p.watermark(ISSUES)
    assert watermark is not None and watermark.second + watermark.microsecond > 0  # mid-minute
    ids = [i for _, i in order(site)]
    before, after = ids[:6], ids[6:12]
    update(site, before, "late in the watermark's minute", stamp=watermark - timedelta(milliseconds=500))
    minute_end = watermark.replace(second=0, microsecond=0) + timedelta(minutes=1)
    update(site, after, "after the watermark in its minute", stamp=minute_end - timedelta(milliseconds=1))
    site.advance(120)
    assert changed(ok(p.run(ISSUES))) == (0, 12, 0)
    assert_equal(p)

    now = site.now()
    boundary = now.replace(minute=now.minute // 15 * 15, second=0, microsecond=0) + timedelta(minutes=30)
    last, on, later = ids[12:20], ids[20:24], ids[24:27]
    update(site, last, "last minute", stamp=boundary - timedelta(seconds=20))
    update(site, on, "on the boundary", stamp=boundary)
    update(site, later, "in the boundary's minute", stamp=boundary + timedelta(seconds=30))
    site.set_time(boundary + timedelta(minutes=2))
    assert changed(ok(p.run(ISSUES, "scheduled", interval=(boundary - timedelta(minutes=15), boundary)))) == (0, 8, 0)
    assert p.watermark(ISSUES) == boundary
    assert_equal(p)
    site.set_time(boundary + timedelta(minutes=17))
    run = p.run(ISSUES, "scheduled", interval=(boundary, boundary + timedelta(minutes=15)))
    assert changed(ok(run)) == (0, 7, 0)
    assert_equal(p)
