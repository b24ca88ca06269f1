"""Issues, changelogs, comments, worklogs and the catalogue as the running sandbox serves them."""

from __future__ import annotations

import requests
from jira_sandbox_client import http_session, rest, search

from lumina_sandbox.jira.instance import Instance
from lumina_sandbox.jira.server import JiraServer


def _big_issue(server: JiraServer) -> str:
    counts: dict[str, int] = {}
    for history in server.control.truth("changelog"):
        counts[history["issue_id"]] = counts.get(history["issue_id"], 0) + 1
    issue_id, total = max(counts.items(), key=lambda item: item[1])
    assert total > 100, "the generator makes issues with more histories than one page"
    return issue_id


def test_inline_changelog_shows_one_page_and_the_endpoint_pages_the_rest(
    jira: requests.Session, server: JiraServer
) -> None:
    issue_id = _big_issue(server)
    issue = jira.get(rest(server, f"issue/{issue_id}"), params={"expand": "changelog", "fields": "updated"}).json()
    inline = issue["changelog"]
    assert inline["total"] > 100 and len(inline["histories"]) == 100 == inline["maxResults"]
    histories, start = [], 0
    while True:
        page = jira.get(rest(server, f"issue/{issue_id}/changelog"), params={"startAt": start}).json()
        assert page["maxResults"] == 100 and page["total"] == inline["total"]
        histories.extend(page["values"])
        start += len(page["values"])
        if page["isLast"]:
            assert "nextPage" not in page
            break
        assert page["nextPage"].endswith(f"startAt={start}")
    assert len(histories) == inline["total"]
    assert {h["id"] for h in inline["histories"]} <= {h["id"] for h in histories}
    assert histories[-1]["created"] == issue["fields"]["updated"]  # the last change moved `updated`
    item = histories[0]["items"][0]
    assert set(item) >= {"field", "fieldtype", "fieldId", "from", "fromString", "to", "toString"}


def test_issue_fields_adf_and_v2_text(jira: requests.Session, server: JiraServer) -> None:
    made = server.control.create_issues(
        [
            {
                "project": "ENG",
                "summary": "Grüße 日本 🚀",
                "description": {
                    "type": "doc",
                    "version": 1,
                    "content": [
                        {
                            "type": "paragraph",
                            "content": [
                                {"type": "text", "text": "ping "},
                                {"type": "mention", "attrs": {"id": "x", "text": "@Ana Okafor", "accessLevel": ""}},
                            ],
                        }
                    ],
                },
            }
        ]
    )
    key = made[0]["key"]
    v3 = jira.get(rest(server, f"issue/{key}")).json()
    assert v3["key"] == key and v3["fields"]["summary"] == "Grüße 日本 🚀"
    assert v3["fields"]["description"]["content"][0]["content"][1]["type"] == "mention"
    assert v3["fields"]["project"]["key"] == "ENG" and v3["fields"]["status"]["name"] == "To Do"
    assert "customfield_10010" in v3["fields"]
    v2 = jira.get(rest(server, f"issue/{key}", 2)).json()
    assert v2["fields"]["description"] == "ping @Ana Okafor"
    missing = jira.get(rest(server, "issue/ENG-999999"))
    assert missing.status_code == 404
    assert missing.json()["errorMessages"] == ["Issue does not exist or you do not have permission to see it."]


def test_comments_and_worklogs_pages(jira: requests.Session, server: JiraServer) -> None:
    made = server.control.create_issues([{"project": "OPS", "summary": "with children"}])
    key = made[0]["key"]
    ids = [server.control.add_comment(key, f"comment {n} — ✓") for n in range(3)]
    worklog = server.control.add_worklog(key, 5400, comment="Pairing")
    page = jira.get(rest(server, f"issue/{key}/comment"), params={"maxResults": 2}).json()
    assert page["total"] == 3 and page["startAt"] == 0 and [c["id"] for c in page["comments"]] == ids[:2]
    assert page["comments"][0]["body"]["type"] == "doc"
    rest_page = jira.get(rest(server, f"issue/{key}/comment"), params={"startAt": 2}).json()
    assert [c["id"] for c in rest_page["comments"]] == ids[2:]
    restricted = server.control.add_comment(key, "team only", visibility={"type": "role", "value": "Developers"})
    shown = jira.get(rest(server, f"issue/{key}/comment"), params={"startAt": 3}).json()["comments"]
    assert [c["id"] for c in shown] == [restricted]
    assert shown[0]["visibility"] == {"type": "role", "value": "Developers", "identifier": "Developers"}
    assert "visibility" not in page["comments"][0]
    server.control.delete_comment(restricted)
    inside = jira.get(rest(server, f"issue/{key}"), params={"fields": "comment,worklog"}).json()["fields"]
    assert inside["comment"]["total"] == 3 and [c["id"] for c in inside["comment"]["comments"]] == ids
    assert inside["worklog"]["total"] == 1 and inside["worklog"]["worklogs"][0]["id"] == worklog
    logs = jira.get(rest(server, f"issue/{key}/worklog")).json()
    assert logs["total"] == 1 and logs["worklogs"][0]["timeSpent"] == "1h 30m"
    assert logs["worklogs"][0]["issueId"] == made[0]["id"] and logs["worklogs"][0]["id"] == worklog


def test_worklog_feeds_leave_out_the_last_minute(jira: requests.Session, server: JiraServer) -> None:
    made = server.control.create_issues([{"project": "OPS", "summary": "feeds"}])
    start = int(server.control.now().timestamp() * 1000)
    worklog = server.control.add_worklog(made[0]["key"], 600)
    updated = jira.get(rest(server, "worklog/updated"), params={"since": start - 1}).json()
    assert int(worklog) not in [v["worklogId"] for v in updated["values"]]  # changed within the last minute
    server.control.advance(61)
    updated = jira.get(rest(server, "worklog/updated"), params={"since": start - 1}).json()
    assert int(worklog) in [v["worklogId"] for v in updated["values"]] and updated["lastPage"] is True
    listed = jira.post(rest(server, "worklog/list"), json={"ids": [int(worklog)]}).json()
    assert [w["id"] for w in listed] == [worklog]
    server.control.delete_worklog(worklog)
    server.control.advance(61)
    deleted = jira.get(rest(server, "worklog/deleted"), params={"since": start - 1}).json()
    assert [v["worklogId"] for v in deleted["values"]] == [int(worklog)]


def test_deleted_issue_vanishes(jira: requests.Session, server: JiraServer) -> None:
    made = server.control.create_issues([{"project": "WEB", "summary": "short-lived"}])
    assert jira.delete(rest(server, f"issue/{made[0]['key']}")).status_code == 204
    assert jira.get(rest(server, f"issue/{made[0]['id']}")).status_code == 404
    assert made[0]["id"] in server.control.deleted_ids("issues")
    assert made[0]["id"] not in server.control.ids("issues")


def test_field_catalogue_and_a_field_added_mid_life(jira: requests.Session, server: JiraServer) -> None:
    before = {f["id"]: f for f in jira.get(rest(server, "field")).json()}
    assert before["customfield_10010"]["schema"] == {
        "type": "number",
        "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float",
        "customId": 10010,
    }
    assert before["updated"]["schema"] == {"type": "datetime", "system": "updated"}
    added = server.control.add_field("Risk score", "number", value=2)
    assert added["id"] not in before and added["clauseNames"][0].startswith("cf[")
    after = {f["id"] for f in jira.get(rest(server, "field")).json()}
    assert added["id"] in after
    page = search(jira, server, jql=f"{added['clauseNames'][0]} = 2", fields=[added["id"]], maxResults=5)
    assert page["issues"] and page["issues"][0]["fields"][added["id"]] == 2


def test_server_info_and_myself(jira: requests.Session, server: JiraServer) -> None:
    info = requests.get(rest(server, "serverInfo"), verify=str(server.ca_path)).json()  # anonymous
    assert info["deploymentType"] == "Cloud" and info["baseUrl"] == server.base_url
    me = jira.get(rest(server, "myself")).json()
    assert me["emailAddress"] == server.credentials.email and me["accountId"]


def test_expand_names_beside_the_issues(jira: requests.Session, server: JiraServer) -> None:
    page = search(jira, server, jql="project = ENG", fields=["summary", "customfield_10010"], expand="names")
    assert page["names"] == {"summary": "Summary", "customfield_10010": "Story Points"}
    assert all("names" not in issue for issue in page["issues"])
    one = jira.get(rest(server, f"issue/{page['issues'][0]['id']}"), params={"fields": "status", "expand": "names"})
    assert one.json()["names"] == {"status": "Status"}


def test_worklog_feed_pages_by_until_without_losing_any() -> None:
    with JiraServer(Instance.generate(seed=3, counts={"issues": 2500})) as big:
        session = http_session(big)
        session.auth = big.basic_auth
        seen: set[int] = set()
        url, pages = rest(big, "worklog/updated") + "?since=0", 0
        while True:
            page = session.get(url).json()
            pages += 1
            assert len(page["values"]) <= 1000
            times = [v["updatedTime"] for v in page["values"]]
            assert times == sorted(times) and (not times or page["until"] == times[-1])
            seen |= {v["worklogId"] for v in page["values"]}
            if page["lastPage"]:
                assert "nextPage" not in page
                break
            url = page["nextPage"]
            assert url.endswith(f"since={page['until']}")
        assert pages >= 2
        assert {str(i) for i in seen} == big.control.ids("worklogs")
