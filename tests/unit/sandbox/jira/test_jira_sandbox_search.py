"""Cloud's enhanced search against the running sandbox: /search/jql, nextPageToken, the removed /search (410),
JQL at the minute, errors in Jira's shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from jira_sandbox_client import rest, search, search_all

from lumina_sandbox.jira.server import JiraServer
from lumina_sandbox.jira.times import jira_text, parse_jira_text


def test_removed_search_answers_410_with_change_2046(jira: requests.Session, server: JiraServer) -> None:
    for version in (2, 3):
        for method in ("GET", "POST"):
            response = jira.request(method, rest(server, "search", version), json={"jql": "project = ENG"})
            assert response.status_code == 410
            body = response.json()
            assert body["errors"] == {}
            assert "CHANGE-2046" in body["errorMessages"][0]
            assert "/rest/api/3/search/jql" in body["errorMessages"][0]


def test_search_pages_with_tokens_and_no_total(jira: requests.Session, server: JiraServer) -> None:
    jql = "project in (ENG, OPS, WEB) ORDER BY updated ASC, key ASC"
    issues, pages = search_all(jira, server, jql=jql, fields=["updated", "summary"], maxResults=50)
    assert len(issues) == server.instance.count("issues")
    assert pages == -(-len(issues) // 50)
    assert len({i["id"] for i in issues}) == len(issues)
    stamps = [parse_jira_text(i["fields"]["updated"]) for i in issues]
    assert stamps == sorted(stamps)


def test_default_fields_are_only_id_key_self(jira: requests.Session, server: JiraServer) -> None:
    page = search(jira, server, jql="project = ENG", maxResults=5)
    assert page["issues"] and all(set(i) == {"expand", "id", "key", "self"} for i in page["issues"])


def test_get_search_jql_takes_query_parameters(jira: requests.Session, server: JiraServer) -> None:
    response = jira.get(
        rest(server, "search/jql"), params={"jql": "project = WEB", "fields": "summary,status", "maxResults": "3"}
    )
    assert response.status_code == 200
    page = response.json()
    assert len(page["issues"]) == 3
    assert set(page["issues"][0]["fields"]) == {"summary", "status"}
    assert page["issues"][0]["key"].startswith("WEB-")


def test_unbounded_and_unknown_field_are_jira_400s(jira: requests.Session, server: JiraServer) -> None:
    response = jira.post(rest(server, "search/jql"), json={"jql": "ORDER BY updated"})
    assert response.status_code == 400
    assert "Unbounded JQL" in response.json()["errorMessages"][0]
    response = jira.post(rest(server, "search/jql"), json={"jql": "nosuchfield = 1"})
    assert response.status_code == 400
    assert response.json() == {
        "errorMessages": ["Field 'nosuchfield' does not exist or you do not have permission to view it."],
        "errors": {},
    }
    response = jira.post(rest(server, "search/jql"), json={"jql": "project = NOPE"})
    assert response.json()["errorMessages"] == ["The value 'NOPE' does not exist for the field 'project'."]


def test_updated_compares_at_the_minute(jira: requests.Session, server: JiraServer) -> None:
    minute = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    control = server.control
    made = control.create_issues(
        [{"project": "OPS", "summary": f"tie {n}"} for n in range(3)], stamp=minute + timedelta(seconds=7)
    )
    control.create_issues([{"project": "OPS", "summary": "late in the minute"}], stamp=minute + timedelta(seconds=59))
    keys = {m["key"] for m in made}
    literal = minute.strftime("%Y-%m-%d %H:%M")
    inside = search(
        jira, server, jql=f'project = OPS AND updated >= "{literal}" AND updated <= "{literal}"', fields=["updated"]
    )
    assert keys <= {i["key"] for i in inside["issues"]}
    assert len(inside["issues"]) == 4
    strictly_after = search(
        jira, server, jql=f'project = OPS AND updated > "{literal}" AND updated < "2026-01-05 09:32"'
    )
    assert strictly_after["issues"] == []  # the whole 09:30 minute is left out by a strict >
    before = search(jira, server, jql=f'project = OPS AND updated < "{literal}" AND updated >= "2026-01-05 09:00"')
    assert before["issues"] == []


def test_custom_fields_by_cf_and_id_and_name(jira: requests.Session, server: JiraServer) -> None:
    by_cf = search_all(jira, server, jql="cf[10010] = 8 ORDER BY key ASC", fields=["customfield_10010"])[0]
    by_id = search_all(jira, server, jql="customfield_10010 = 8 ORDER BY key ASC")[0]
    by_name = search_all(jira, server, jql='"Story Points" = 8 ORDER BY key ASC')[0]
    assert by_cf and [i["id"] for i in by_cf] == [i["id"] for i in by_id] == [i["id"] for i in by_name]
    assert all(i["fields"]["customfield_10010"] == 8.0 for i in by_cf)


def test_quoted_values_with_escapes_and_unknown_keys(jira: requests.Session, server: JiraServer) -> None:
    made = server.control.create_issues([{"project": "WEB", "customfield_10013": 'Say "hi" \\ there'}])
    equal = jira.post(rest(server, "search/jql"), json={"jql": 'customfield_10013 = "x"'})
    assert equal.json()["errorMessages"] == ["The operator '=' is not supported by the 'Customer' field."]  # as Jira
    for jql in ("customfield_10013 ~ 'Say \"hi\" \\\\ there'", 'cf[10013] ~ "Say \\"hi\\" \\\\ there"'):
        exact = search(jira, server, jql=jql, fields=["customfield_10013"])
        assert [i["key"] for i in exact["issues"]] == [made[0]["key"]], jql
        assert exact["issues"][0]["fields"]["customfield_10013"] == 'Say "hi" \\ there'
    either = search(jira, server, jql=f"key = {made[0]['key']} OR key = ENG-1", maxResults=10)
    assert {i["key"] for i in either["issues"]} == {made[0]["key"], "ENG-1"}
    response = jira.post(rest(server, "search/jql"), json={"jql": 'key = "NOPE-1"'})
    assert response.status_code == 400
    assert response.json()["errorMessages"] == ["An issue with key 'NOPE-1' does not exist for field 'key'."]
    response = jira.post(rest(server, "search/jql"), json={"jql": 'summary = "open'})
    assert response.status_code == 400 and response.json()["errorMessages"][0].startswith("Error in the JQL Query")


def test_expired_and_foreign_page_tokens_are_400(jira: requests.Session, server: JiraServer) -> None:
    jql = "project = ENG ORDER BY updated ASC, key ASC"
    first = search(jira, server, jql=jql, maxResults=10)
    token = first["nextPageToken"]
    assert search(jira, server, jql=jql, maxResults=10, nextPageToken=token)["issues"]
    other = jira.post(rest(server, "search/jql"), json={"jql": "project = OPS", "nextPageToken": token})
    assert other.status_code == 400
    server.control.expire_page_tokens()
    expired = jira.post(rest(server, "search/jql"), json={"jql": jql, "nextPageToken": token})
    assert expired.status_code == 400
    assert expired.json() == {"errorMessages": ["The provided next page token is invalid or expired."], "errors": {}}
    server.control.settings(page_token_ttl=60)
    fresh = search(jira, server, jql=jql, maxResults=10)["nextPageToken"]
    server.control.advance(61)
    assert jira.post(rest(server, "search/jql"), json={"jql": jql, "nextPageToken": fresh}).status_code == 400


def test_the_next_page_token_expires_as_it_is_issued(jira: requests.Session, server: JiraServer) -> None:
    """``expire_next_page_tokens``: the next token is stale when it leaves (the read's next page is 400), the
    one after it is good: an expiry at an exact point of a read."""
    jql = "project = ENG ORDER BY updated ASC, key ASC"
    server.control.expire_next_page_tokens(1)
    stale = search(jira, server, jql=jql, maxResults=10)["nextPageToken"]
    refused = jira.post(rest(server, "search/jql"), json={"jql": jql, "nextPageToken": stale})
    assert refused.status_code == 400
    assert refused.json()["errorMessages"] == ["The provided next page token is invalid or expired."]
    good = search(jira, server, jql=jql, maxResults=10)["nextPageToken"]
    assert search(jira, server, jql=jql, maxResults=10, nextPageToken=good)["issues"]


def test_issue_updated_while_its_window_is_paged_moves_behind_the_cursor(
    jira: requests.Session, server: JiraServer
) -> None:
    jql = "project = WEB ORDER BY updated ASC, id ASC"
    everything = search_all(jira, server, jql=jql, maxResults=100)[0]
    first_key = everything[0]["key"]
    later = server.control.now() + timedelta(days=1)  # after every other issue, whatever earlier tests wrote
    server.control.on_page("issues", page=2, update=[{"key": first_key, "summary": "changed mid-paging"}], stamp=later)
    seen, _ = search_all(jira, server, jql=jql, maxResults=20, fields=["summary"])
    keys = [i["key"] for i in seen]
    assert keys.count(first_key) == 2  # read on page 1, and again at its new place in the order
    assert seen[-1]["key"] == first_key and seen[-1]["fields"]["summary"] == "changed mid-paging"
    assert server.control.hooks()[0]["fired"]


def test_times_are_in_the_users_zone(jira: requests.Session, server: JiraServer) -> None:
    server.control.settings(time_zone="Europe/Berlin")
    me = jira.get(rest(server, "myself")).json()
    assert me["timeZone"] == "Europe/Berlin"
    page = search(jira, server, jql="project = ENG", fields=["updated"], maxResults=1)
    assert page["issues"][0]["fields"]["updated"][-5:] in ("+0100", "+0200")
    assert jira_text(0, "Europe/Berlin") == "1970-01-01T01:00:00.000+0100"


@pytest.mark.parametrize(
    "jql",
    [
        'project = ENG AND (status = "In Progress" OR status = Done) AND NOT labels = customer',
        "project != ENG AND assignee is EMPTY",
        "assignee = currentUser() OR reporter in (x)",
    ],
)
def test_jql_forms_agree_with_the_truth(jira: requests.Session, server: JiraServer, jql: str) -> None:
    truth = server.control.truth("issues")
    me = server.control.credentials()["account_id"]
    if "currentUser" in jql:
        response = jira.post(rest(server, "search/jql"), json={"jql": jql})
        assert response.status_code == 400  # "x" is no user
        jql = "assignee = currentUser()"
    expected = {
        'project = ENG AND (status = "In Progress" OR status = Done) AND NOT labels = customer': lambda r: (
            r["project"] == "ENG" and r["status"] in ("In Progress", "Done") and "customer" not in r["labels"]
        ),
        "project != ENG AND assignee is EMPTY": lambda r: r["project"] != "ENG" and r["assignee"] is None,
        "assignee = currentUser()": lambda r: r["assignee"] == me,
    }[jql]
    found = {i["id"] for i in search_all(jira, server, jql=jql, maxResults=100)[0]}
    assert found == {r["id"] for r in truth if expected(r)}


def test_approximate_count(jira: requests.Session, server: JiraServer) -> None:
    response = jira.post(rest(server, "search/approximate-count"), json={"jql": "project = OPS"})
    assert response.status_code == 200
    assert response.json() == {"count": sum(1 for r in server.control.truth("issues") if r["project"] == "OPS")}
    unbounded = jira.post(rest(server, "search/approximate-count"), json={"jql": ""})
    assert unbounded.status_code == 400
