"""The Jira adapter hook against the Jira sandbox (HTTPS on loopback): each hard part of the issue, one test.

Ties at the minute boundary, an issue updated mid-paging, an expired nextPageToken, a 429 storm, an OAuth
token that expires, a changelog longer than one page, a custom field added mid-life, the 410 of the removed
search endpoint, Data Center, and deleted issues found by reconciliation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pytest

from lumina_integration.hooks.capabilities import ListsVersions, ReadsIds, Reconciles, ReportsUsage, supports
from lumina_integration.window import Window


@pytest.fixture(scope="module")
def site() -> Iterator[Any]:
    from lumina_sandbox.jira.instance import Instance
    from lumina_sandbox.jira.server import JiraServer

    with JiraServer(Instance.generate(counts={"issues": 240})) as server:
        yield server


def connect(server: Any, **kwargs: Any) -> None:
    from lumina_sandbox.jira.connection import airflow_connection

    creds = server.control.credentials()
    os.environ["AIRFLOW_CONN_JIRA_DEFAULT"] = json.dumps(airflow_connection(creds, server.ca_path, **kwargs))


@pytest.fixture
def jira(site: Any) -> Iterator[Any]:
    site.control.reset()
    connect(site)
    yield site
    site.control.clear_faults()
    site.control.clear_hooks()


def hook() -> Any:
    from lumina_integration.hooks.jira.hook import JiraAdapterHook

    return JiraAdapterHook("jira_default")


def read(h: Any, obj: str, window: Window, **options: Any) -> pa.Table:
    batches = list(h.read(obj, window, options))
    return pa.Table.from_batches(batches) if batches else pa.table({})


def whole(h: Any) -> Window:
    return Window(None, h.server_now())


def test_every_object_reads_record_for_record(jira: Any) -> None:
    h = hook()
    assert h.test_connection()[0]
    window = whole(h)
    for obj in ("issues", "comments", "worklogs", "changelog"):
        table = read(h, obj, window, page_size=50)
        assert table.column("_lumina_error").null_count == table.num_rows, obj
        assert set(table.column("id").to_pylist()) == _truth_ids(jira, obj), obj
        assert table.num_rows == len(set(table.column("id").to_pylist())), f"{obj}: duplicates"
    assert supports(h, ReportsUsage) and h.usage().api_calls > 0
    assert supports(h, Reconciles) and supports(h, ListsVersions) and supports(h, ReadsIds)


def _truth_ids(jira: Any, obj: str) -> set[str]:
    if obj != "changelog":
        return set(jira.control.ids(obj))
    return {f"{h['id']}.{i}" for h in jira.control.truth("changelog") for i in range(len(h["items"]))}


def test_ties_at_the_minute_boundary_are_read_by_the_next_window(jira: Any) -> None:
    h = hook()
    now = h.server_now().replace(second=0, microsecond=0) - timedelta(minutes=3)
    keys = [i["key"] for i in jira.control.truth("issues")[:2]]
    jira.control.update_issues([{"key": keys[0], "summary": "early in the minute"}], stamp=now + timedelta(seconds=10))
    jira.control.update_issues([{"key": keys[1], "summary": "late in the minute"}], stamp=now + timedelta(seconds=50))
    cut = now + timedelta(seconds=30)  # the first window ends mid-minute
    first = read(h, "issues", Window(now - timedelta(minutes=1), cut))
    second = read(h, "issues", Window(cut, now + timedelta(minutes=2)))
    assert set(first.column("key").to_pylist()) == {keys[0]}
    # A strict "updated > 10:15" would miss the late one; the closed minute bound reads both again.
    assert {keys[0], keys[1]} <= set(second.column("key").to_pylist())


def test_an_issue_updated_mid_paging_is_read_at_its_new_version(jira: Any) -> None:
    h = hook()
    truth = sorted(jira.control.truth("issues"), key=lambda i: (i["updated"], int(i["id"])))
    first = truth[0]["key"]  # on the first page; updated before the third page is served
    jira.control.on_page("issues", page=3, update=[{"key": first, "summary": "moved while paging"}])
    window = whole(h)
    table = read(h, "issues", window, page_size=40)
    keys = table.column("key").to_pylist()
    assert keys.count(first) == 1 and set(table.column("id").to_pylist()) == set(jira.control.ids("issues"))
    # Its new version is stamped after this window's end: the next window reads it.
    after = read(h, "issues", Window(window.end, h.server_now() + timedelta(minutes=1)))
    rows = dict(zip(after.column("key").to_pylist(), after.column("summary").to_pylist(), strict=True))
    assert rows[first] == "moved while paging"


def test_an_expired_page_token_restarts_from_the_last_minute_read(jira: Any) -> None:
    h = hook()
    readers: list[Any] = []
    make = h.reader

    def expiring_reader() -> Any:
        reader = make()
        readers.append(reader)
        send = reader._cloud_page

        def page(jql: str, search: Any, token: str | None) -> Any:
            if token is not None and reader.restarts == 0:
                jira.control.expire_page_tokens()  # every token handed out so far dies, as after 7 days
            return send(jql, search, token)

        reader._cloud_page = page
        return reader

    h.reader = expiring_reader
    table = read(h, "issues", whole(h), page_size=40)
    ids = table.column("id").to_pylist()
    assert sorted(ids) == sorted(jira.control.ids("issues")) and len(ids) == len(set(ids))
    assert readers[-1].restarts == 1


def test_a_429_storm_is_waited_out_and_counted(jira: Any) -> None:
    for _ in range(3):
        jira.control.add_fault("search", status=429, retry_after=1)
    h = hook()
    table = read(h, "issues", whole(h), page_size=100)
    assert table.num_rows == len(jira.control.ids("issues"))
    assert h.client.retries == 3


def test_an_expired_oauth_token_is_renewed_once(jira: Any) -> None:
    connect(jira, auth="oauth2")
    jira.control.settings(access_token_ttl=3600)
    h = hook()
    assert h.test_connection()[0]
    jira.control.expire_sessions()  # the server revokes every access token mid-run
    table = read(h, "issues", whole(h), page_size=100)
    assert table.num_rows == len(jira.control.ids("issues"))
    assert h.client.auth.token_requests == 2  # the first token, and one renewal after the 401


def test_a_changelog_longer_than_one_page(jira: Any) -> None:
    jira.control.settings(inline_changelog_limit=3)
    h = hook()
    table = read(h, "changelog", whole(h), detail_page_size=10)
    assert set(table.column("id").to_pylist()) == _truth_ids(jira, "changelog")
    assert jira.control.request_counts().get("changelog", 0) > 0


def test_a_custom_field_added_mid_life(jira: Any) -> None:
    before = {f.name for f in hook().fields("issues")}
    added = jira.control.add_field({"name": "Risk", "type": "string"}, value="high")
    h = hook()
    after = {f.name for f in h.fields("issues")}
    assert after - before == {added["id"]}
    table = read(h, "issues", whole(h))
    assert set(table.column(added["id"]).to_pylist()) == {"high"}


def test_the_removed_search_endpoint(jira: Any) -> None:
    from lumina_integration.hooks.jira.reader import SearchEndpointGone

    h = hook()
    with pytest.raises(SearchEndpointGone, match=r"CHANGE-2046|search/jql"):
        read(h, "issues", whole(h), flavor="data_center")


def test_flavor_auto_switches_to_search_jql_on_the_410(jira: Any) -> None:
    h = hook()
    h._cloud = False  # as if serverInfo had said Server: the first search hits the removed endpoint
    table = read(h, "issues", whole(h))
    assert h.cloud and set(table.column("id").to_pylist()) == set(jira.control.ids("issues"))


def test_data_center_with_a_personal_access_token(jira: Any) -> None:
    jira.control.settings(deployment="datacenter")
    connect(jira, auth="bearer")
    h = hook()
    assert not h.cloud
    for obj in ("issues", "comments", "worklogs", "changelog"):
        table = read(h, obj, whole(h), page_size=50)
        assert set(table.column("id").to_pylist()) == _truth_ids(jira, obj), obj


def test_deleted_issues_are_found_by_reconciliation(jira: Any) -> None:
    from lumina_integration.reconcile import ID, STAMP, versions_table

    h = hook()
    known = versions_table(h.versions("issues", "updated", {}))
    gone = sorted(jira.control.ids("issues"))[:3]
    jira.control.delete_issues(gone)
    as_of = h.server_now()
    out = pa.Table.from_batches(
        list(hook().reconcile("issues", known.rename_columns([ID, STAMP]), as_of, {}, stamp_field="updated"))
    )
    tombstones = out.filter(pa.compute.field("_lumina_deleted"))
    assert sorted(tombstones.column("id").to_pylist()) == gone
    assert set(tombstones.column("updated").to_pylist()) == {
        as_of.replace(microsecond=as_of.microsecond // 1000 * 1000)
    }


def test_the_estimate_counts_and_the_budget_stops_before_reading(jira: Any) -> None:
    from lumina_integration.hooks.governance import BudgetExceeded

    h = hook()
    window = whole(h)
    estimate = h.estimate("issues", window, {"page_size": 50})
    assert estimate["records"] == len(jira.control.ids("issues"))
    assert estimate["api_calls"] >= estimate["records"] // 50
    before = jira.control.request_counts().get("search", 0)
    with pytest.raises(BudgetExceeded, match="cap is 6"):
        # serverInfo, myself, field and the count fit; a page per issue for the comments does not
        hook().estimate("comments", window, {"max_api_calls": 6})
    assert jira.control.request_counts().get("search", 0) == before + 1  # the count only, no page


def test_a_named_column_reads_the_sites_story_points(jira: Any) -> None:
    h = hook()
    table = read(h, "issues", whole(h), field_names={"story_points": "Story Points"})
    got = dict(zip(table.column("id").to_pylist(), table.column("story_points").to_pylist(), strict=True))
    truth = {r["id"]: r.get("customfield_10010") for r in jira.control.truth("issues")}
    assert got == truth and any(v is not None for v in got.values())
