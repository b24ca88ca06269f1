"""The issue reader over real HTTP (a scripted loopback server): minute bounds, token expiry, Data Center
paging, the 410 of the removed endpoint, changelogs longer than the search shows, the worklog feed."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_loopback import LoopbackApi, Received, Reply

from lumina_integration.hooks.jira.reader import (
    IssueReader,
    MinuteDedupe,
    Search,
    SearchEndpointGone,
    TooManyRestarts,
    history_rows,
)
from lumina_integration.hooks.rest.client import RestClient

T0 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
_LOWER = re.compile(r'updated >= "([^"]+)"')


def stamp(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def issue(i: int, seconds: float) -> dict[str, Any]:
    return {"id": str(i), "key": f"ENG-{i}", "fields": {"updated": stamp(seconds)}}


class SearchJql:
    """``POST /rest/api/3/search/jql`` over ``issues``: the lower minute bound, (updated, id) order, tokens."""

    def __init__(self, issues: list[dict[str, Any]], page: int = 2) -> None:
        self.issues, self.page, self.expire_at, self.jqls = issues, page, set(), []

    def __call__(self, request: Received) -> Reply:
        body = request.json()
        self.jqls.append(body["jql"])
        lower = datetime.strptime(_LOWER.search(body["jql"]).group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        rows = sorted(
            (i for i in self.issues if datetime.fromisoformat(i["fields"]["updated"]) >= lower),
            key=lambda i: (datetime.fromisoformat(i["fields"]["updated"]), int(i["id"])),
        )
        token = body.get("nextPageToken")
        if token in self.expire_at:
            self.expire_at.discard(token)
            return Reply(400, {"errorMessages": ["The provided next page token is invalid or expired."]})
        start = int(token or 0)
        chunk = json.loads(json.dumps(rows[start : start + self.page]))  # as sent, not as mutated later
        more = start + self.page < len(rows)
        return Reply(
            200, {"issues": chunk, "isLast": not more, **({"nextPageToken": str(start + self.page)} if more else {})}
        )


def jql_from(lower: datetime) -> Any:
    return lambda restart: f'updated >= "{(restart or lower).strftime("%Y-%m-%d %H:%M")}" ORDER BY updated ASC, id ASC'


def test_the_minute_before_the_start_is_read_and_the_exact_end_is_not(api: LoopbackApi) -> None:
    # Window [10:00:30, 10:02:00): JQL can only say "from 10:00", so 10:00:05 comes back (the merge dedupes it);
    # 10:02:00 and later belong to the next window.
    server = SearchJql([issue(1, 5), issue(2, 30), issue(3, 59.9), issue(4, 119.999), issue(5, 120), issue(6, 200)])
    api.route("POST", "/rest/api/3/search/jql", server)
    reader = IssueReader(RestClient(api.base_url), cloud=True, page_size=2)
    found = [i["id"] for i in reader.issues(Search(jql_from(T0), ["updated"], end=T0 + timedelta(minutes=2)))]
    assert found == ["1", "2", "3", "4"]


def test_an_expired_token_restarts_from_the_last_minute_without_repeats_or_gaps(api: LoopbackApi) -> None:
    # Five issues tie on 10:01 (to the minute; two even to the millisecond), the token dies mid-minute.
    issues = [issue(1, 10), issue(2, 61), issue(3, 61), issue(4, 61.5), issue(5, 62), issue(6, 62), issue(7, 130)]
    server = SearchJql(issues, page=2)
    server.expire_at = {"4"}
    api.route("POST", "/rest/api/3/search/jql", server)
    reader = IssueReader(RestClient(api.base_url), cloud=True, page_size=2)
    found = [i["id"] for i in reader.issues(Search(jql_from(T0), ["updated"], end=T0 + timedelta(hours=1)))]
    assert found == ["1", "2", "3", "4", "5", "6", "7"]
    assert reader.restarts == 1
    assert server.jqls[-2].startswith('updated >= "2026-12-04 10:01"')  # the restart: from the last minute read


def test_a_token_that_keeps_expiring_stops_the_run(api: LoopbackApi) -> None:
    def search(request: Received) -> Reply:
        if request.json().get("nextPageToken"):
            return Reply(400, {"errorMessages": ["nextPageToken expired"]})
        return Reply(200, {"issues": [issue(1, 1)], "nextPageToken": "x", "isLast": False})

    api.route("POST", "/rest/api/3/search/jql", search)
    reader = IssueReader(RestClient(api.base_url), cloud=True, page_size=1, max_restarts=2)
    with pytest.raises(TooManyRestarts):
        list(reader.issues(Search(jql_from(T0), ["updated"], end=None)))
    assert reader.restarts == 3


def test_an_issue_updated_while_paging_is_read_at_its_new_version(api: LoopbackApi) -> None:
    issues = [issue(1, 10), issue(2, 20), issue(3, 30)]
    server = SearchJql(issues, page=2)

    def moving(request: Received) -> Reply:
        reply = server(request)
        if request.json().get("nextPageToken") is None:
            issues[0]["fields"]["updated"] = stamp(40)  # issue 1 changes after the first page was served
        return reply

    api.route("POST", "/rest/api/3/search/jql", moving)
    reader = IssueReader(RestClient(api.base_url), cloud=True, page_size=2)
    found = [(i["id"], i["fields"]["updated"]) for i in reader.issues(Search(jql_from(T0), ["updated"], end=None))]
    assert [f[0] for f in found] == ["1", "2", "1"]  # old version, then the new one: the merge keeps the newer
    assert found[-1][1] == stamp(40)


def test_data_center_pages_by_start_at(api: LoopbackApi) -> None:
    rows = [issue(i, i) for i in range(1, 6)]

    def search(request: Received) -> Reply:
        body = request.json()
        assert body["expand"] == ["changelog"]
        return Reply(
            200, {"startAt": body["startAt"], "total": 5, "issues": rows[body["startAt"] : body["startAt"] + 2]}
        )

    api.route("POST", "/rest/api/2/search", search)
    reader = IssueReader(RestClient(api.base_url), cloud=False, page_size=2)
    found = [i["id"] for i in reader.issues(Search(jql_from(T0), ["updated"], end=None, expand_changelog=True))]
    assert found == ["1", "2", "3", "4", "5"]
    assert [c.json()["startAt"] for c in api.calls("/rest/api/2/search")] == [0, 2, 4]


def test_the_removed_search_endpoint_is_a_clear_error(api: LoopbackApi) -> None:
    api.replies("POST", "/rest/api/2/search", Reply(410, {"errorMessages": ["The requested API has been removed."]}))
    reader = IssueReader(RestClient(api.base_url), cloud=False, page_size=2)
    with pytest.raises(SearchEndpointGone, match="search/jql"):
        list(reader.issues(Search(jql_from(T0), ["updated"], end=None)))


def test_a_changelog_longer_than_the_search_shows_is_read_from_its_endpoint(api: LoopbackApi) -> None:
    entries = [
        {"id": str(100 + n), "created": stamp(n), "items": [{"field": "status", "toString": f"S{n}"}]} for n in range(5)
    ]

    def changelog(request: Received) -> Reply:
        start, size = int(request.query["startAt"][0]), int(request.query["maxResults"][0])
        page = entries[start : start + size]
        return Reply(200, {"startAt": start, "total": 5, "isLast": start + size >= 5, "values": page})

    api.route("GET", "/rest/api/3/issue/10001/changelog", changelog)
    reader = IssueReader(RestClient(api.base_url), cloud=True, page_size=2)
    cut = {"id": "10001", "changelog": {"startAt": 0, "maxResults": 2, "total": 5, "histories": entries[-2:]}}
    assert [h["id"] for h in reader.histories(cut, page_size=2)] == ["100", "101", "102", "103", "104"]
    whole = {"id": "10002", "changelog": {"total": 2, "histories": entries[:2]}}
    assert [h["id"] for h in reader.histories(whole, page_size=2)] == ["100", "101"]
    assert len(api.calls("/rest/api/3/issue/10001/changelog")) == 3
    rows = list(history_rows("10001", {"id": "7", "created": stamp(0), "items": [{"field": "a"}, {"field": "b"}]}))
    assert [r["id"] for r in rows] == ["7.0", "7.1"] and rows[1]["item_index"] == 1


def test_the_worklog_feed_follows_next_page(api: LoopbackApi) -> None:
    def updated(request: Received) -> Reply:
        if request.query.get("since") == ["1000"]:
            return Reply(
                200,
                {
                    "values": [{"worklogId": 1, "updatedTime": 1500}],
                    "lastPage": False,
                    "nextPage": f"{api.base_url}/rest/api/3/worklog/updated?since=2000",
                },
            )
        return Reply(200, {"values": [{"worklogId": 2, "updatedTime": 2500}], "lastPage": True})

    api.route("GET", "/rest/api/3/worklog/updated", updated)
    reader = IssueReader(RestClient(api.base_url), cloud=True, page_size=2)
    since = datetime.fromtimestamp(1, UTC)
    assert [v["worklogId"] for v in reader.worklog_changes("updated", since)] == [1, 2]


def test_minute_dedupe_keeps_one_minute_only() -> None:
    dedupe = MinuteDedupe()
    at = lambda s: T0 + timedelta(seconds=s)  # noqa: E731
    assert dedupe.first_time("1", "a", at(61)) and not dedupe.first_time("1", "a", at(61))
    assert dedupe.first_time("1", "b", at(62))  # a newer version of the same issue
    assert dedupe.first_time("2", "c", at(125)) and dedupe.seen == {("2", "c")}
    assert dedupe.first_time("3", "d", at(10))  # before the restart point: never a restart's repeat
