"""The Table API as a client sees it: shapes, paging headers, encoded queries, display values, inheritance."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from snow_client import rows, table_url

from lumina_sandbox.servicenow.server import ServiceNowServer

GLIDE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def test_list_shape_every_value_a_string_and_references_linked(
    server: ServiceNowServer, snow: requests.Session
) -> None:
    response = snow.get(table_url(server, "incident"), params={"sysparm_limit": "5"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["X-Total-Count"] == "300"
    result = response.json()["result"]
    assert len(result) == 5
    record = result[0]
    assert GLIDE.fullmatch(record["sys_updated_on"]) and re.fullmatch(r"[0-9a-f]{32}", record["sys_id"])
    assert record["number"].startswith("INC") and record["sys_class_name"] == "incident"
    for name, value in record.items():
        assert isinstance(value, str | dict), name
    caller = next(r["caller_id"] for r in result if r["caller_id"])
    assert set(caller) == {"link", "value"}
    assert caller["link"] == f"{server.base_url}/api/now/table/sys_user/{caller['value']}"
    empty = [r for r in rows(snow, server, "incident", sysparm_limit=300) if r["assigned_to"] == ""]
    assert empty, "an empty reference is an empty string"


def test_exclude_reference_link_and_fields(server: ServiceNowServer, snow: requests.Session) -> None:
    result = rows(
        snow,
        server,
        "incident",
        sysparm_fields="number,caller_id,nope,state",
        sysparm_limit=3,
        sysparm_exclude_reference_link="true",
    )
    assert [list(r) for r in result] == [["number", "caller_id", "state"]] * 3  # unknown names left out
    assert all(isinstance(r["caller_id"], str) for r in result)


def test_display_values_true_and_all(server: ServiceNowServer, snow: requests.Session) -> None:
    raw = rows(
        snow, server, "incident", sysparm_fields="sys_id,state,priority,caller_id,reopen_count", sysparm_limit=50
    )
    shown = rows(
        snow,
        server,
        "incident",
        sysparm_fields="sys_id,state,priority,caller_id",
        sysparm_limit=50,
        sysparm_display_value="true",
    )
    both = rows(
        snow,
        server,
        "incident",
        sysparm_fields="state,caller_id,reopen_count",
        sysparm_limit=50,
        sysparm_display_value="all",
        sysparm_exclude_reference_link="true",
    )
    labels = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed", "8": "Canceled"}
    priorities = {"1": "1 - Critical", "2": "2 - High", "3": "3 - Moderate", "4": "4 - Low", "5": "5 - Planning"}
    users = {u["sys_id"]: u["name"] for u in rows(snow, server, "sys_user", sysparm_fields="sys_id,name")}
    for plain, text, pair in zip(raw, shown, both, strict=True):
        assert text["state"] == labels[plain["state"]]
        assert text["priority"] == priorities[plain["priority"]]
        assert pair["state"] == {"display_value": labels[plain["state"]], "value": plain["state"]}
        assert pair["reopen_count"]["value"] == plain["reopen_count"]
        if plain["caller_id"]:
            caller = plain["caller_id"]["value"]
            assert text["caller_id"] == {"display_value": users[caller], "link": plain["caller_id"]["link"]}
            assert pair["caller_id"] == {"display_value": users[caller], "value": caller}


def test_offset_paging_with_link_header(server: ServiceNowServer, snow: requests.Session) -> None:
    params = {"sysparm_limit": "40", "sysparm_offset": "80", "sysparm_query": "ORDERBYnumber"}
    response = snow.get(table_url(server, "incident"), params=params)
    links = dict((rel, url) for url, rel in re.findall(r'<([^>]+)>;rel="(\w+)"', response.headers["Link"]))
    assert set(links) == {"first", "prev", "next", "last"}
    offsets = {rel: parse_qs(urlparse(url).query)["sysparm_offset"][0] for rel, url in links.items()}
    assert offsets == {"first": "0", "prev": "40", "next": "120", "last": "280"}
    assert parse_qs(urlparse(links["next"]).query)["sysparm_query"] == ["ORDERBYnumber"]
    pages = []
    url: str | None = table_url(server, "incident") + "?sysparm_limit=70&sysparm_query=ORDERBYnumber"
    while url:
        page = snow.get(url)
        pages.extend(r["number"] for r in page.json()["result"])
        url = next((u for u, rel in re.findall(r'<([^>]+)>;rel="(\w+)"', page.headers["Link"]) if rel == "next"), None)
    assert pages == sorted(pages) and len(set(pages)) == 300
    single = snow.get(table_url(server, "core_company"), params={"sysparm_limit": "1000"})
    assert "Link" not in single.headers and single.headers["X-Total-Count"] == str(len(single.json()["result"]))
    suppressed = snow.get(table_url(server, "incident"), params={"sysparm_suppress_pagination_header": "true"})
    assert "Link" not in suppressed.headers
    uncounted = snow.get(table_url(server, "incident"), params={"sysparm_no_count": "true", "sysparm_limit": "1"})
    assert "X-Total-Count" not in uncounted.headers


def _numbers(snow: requests.Session, server: ServiceNowServer, query: str, table: str = "incident") -> list[str]:
    return [r["number"] for r in rows(snow, server, table, sysparm_query=query, sysparm_fields="number")]


def test_encoded_query_operators(server: ServiceNowServer, snow: requests.Session) -> None:
    everything = rows(snow, server, "incident", sysparm_exclude_reference_link="true")

    def expect(predicate: object) -> list[str]:
        return sorted(r["number"] for r in everything if predicate(r))  # type: ignore[operator]

    cases = {
        "priority=1": lambda r: r["priority"] == "1",
        "priority!=1": lambda r: r["priority"] != "1",
        "priority<=2": lambda r: int(r["priority"]) <= 2,
        "priority>3": lambda r: int(r["priority"]) > 3,
        "priority>=4^state=2": lambda r: int(r["priority"]) >= 4 and r["state"] == "2",
        "state=1^ORstate=2^priority<3": lambda r: r["state"] in ("1", "2") and int(r["priority"]) < 3,
        "priority=1^NQstate=8": lambda r: r["priority"] == "1" or r["state"] == "8",
        "stateIN6,7": lambda r: r["state"] in ("6", "7"),
        "stateNOT IN6,7": lambda r: r["state"] not in ("6", "7"),
        "short_descriptionSTARTSWITHunable": lambda r: r["short_description"].lower().startswith("unable"),
        "short_descriptionENDSWITHrequest": lambda r: r["short_description"].endswith("request"),
        "short_descriptionLIKEvpn": lambda r: "vpn" in r["short_description"].lower(),
        "assigned_toISEMPTY": lambda r: r["assigned_to"] == "",
        "assigned_toISNOTEMPTY": lambda r: r["assigned_to"] != "",
        "closed_atISEMPTY^active=true": lambda r: r["closed_at"] == "" and r["active"] == "true",
    }
    for query, predicate in cases.items():
        assert sorted(_numbers(snow, server, query)) == expect(predicate), query


def test_sys_updated_on_comparisons_and_ordering(server: ServiceNowServer, snow: requests.Session) -> None:
    everything = rows(snow, server, "incident", sysparm_fields="number,sys_updated_on,sys_id")
    stamps = sorted(r["sys_updated_on"] for r in everything)
    middle = stamps[150]
    later = _numbers(snow, server, f"sys_updated_on>{middle}")
    assert sorted(later) == sorted(r["number"] for r in everything if r["sys_updated_on"] > middle)
    at_or_after = _numbers(snow, server, f"sys_updated_on>={middle}")
    assert len(at_or_after) == sum(r["sys_updated_on"] >= middle for r in everything)
    between = _numbers(snow, server, f"sys_updated_onBETWEEN{stamps[10]}@{stamps[20]}")
    assert len(between) == sum(stamps[10] <= r["sys_updated_on"] <= stamps[20] for r in everything)
    ordered = rows(
        snow,
        server,
        "incident",
        sysparm_query="ORDERBYDESCsys_updated_on^ORDERBYsys_id",
        sysparm_fields="sys_updated_on,sys_id",
    )
    keys = [(r["sys_updated_on"], r["sys_id"]) for r in ordered]
    assert keys == sorted(sorted(keys, key=lambda k: k[1]), key=lambda k: k[0], reverse=True)
    assert len(stamps) - len(set(stamps)) > 0, "the generated data has ties on sys_updated_on"


def test_keyset_window_reads_every_record_once(server: ServiceNowServer, snow: requests.Session) -> None:
    seen: list[str] = []
    stamp, last = "", ""
    while True:
        query = "ORDERBYsys_updated_on^ORDERBYsys_id"
        if stamp:
            query = f"sys_updated_on>{stamp}^NQsys_updated_on={stamp}^sys_id>{last}^{query}"
        page = rows(
            snow, server, "incident", sysparm_query=query, sysparm_limit=37, sysparm_fields="sys_id,sys_updated_on"
        )
        if not page:
            break
        seen.extend(r["sys_id"] for r in page)
        stamp, last = page[-1]["sys_updated_on"], page[-1]["sys_id"]
    assert len(seen) == len(set(seen)) == 300


def test_invalid_conditions_are_ignored_unless_the_property_says_no_rows(
    server: ServiceNowServer, snow: requests.Session
) -> None:
    response = snow.get(
        table_url(server, "incident"), params={"sysparm_query": "no_such_field=1", "sysparm_limit": "1"}
    )
    assert response.headers["X-Total-Count"] == "300"  # the instance drops the condition, returning everything
    server.control.settings(invalid_query="no_rows")
    response = snow.get(table_url(server, "incident"), params={"sysparm_query": "no_such_field=1"})
    assert response.headers["X-Total-Count"] == "0" and response.json()["result"] == []


def test_javascript_is_refused_and_carets_escape(server: ServiceNowServer, snow: requests.Session) -> None:
    refused = snow.get(
        table_url(server, "incident"), params={"sysparm_query": "sys_updated_on>javascript:gs.daysAgo(1)"}
    )
    assert refused.status_code == 400
    assert refused.json()["status"] == "failure" and "javascript" in refused.json()["error"]["message"]
    [sys_id] = server.control.create("incident", [{"short_description": "a^b caret"}])
    found = rows(snow, server, "incident", sysparm_query="short_description=a^^b caret", sysparm_fields="sys_id")
    assert found == [{"sys_id": sys_id}]


def test_inheritance_task_returns_every_extension(server: ServiceNowServer, snow: requests.Session) -> None:
    response = snow.get(table_url(server, "task"), params={"sysparm_fields": "sys_class_name,number,caller_id"})
    result = response.json()["result"]
    classes = {r["sys_class_name"] for r in result}
    assert classes == {"incident", "sc_req_item", "change_request"}
    assert all("caller_id" not in r for r in result)  # task's fields only
    counts = {c: sum(r["sys_class_name"] == c for r in result) for c in classes}
    assert counts["sc_req_item"] == 60 and counts["change_request"] == 40
    assert _numbers(snow, server, "sys_class_name=change_request", "task")[0].startswith("CHG")


def test_unknown_table_single_record_and_stats(server: ServiceNowServer, snow: requests.Session) -> None:
    unknown = snow.get(table_url(server, "no_such_table"))
    assert unknown.status_code == 400
    assert unknown.json() == {"error": {"message": "Invalid table no_such_table", "detail": None}, "status": "failure"}
    first = rows(snow, server, "incident", sysparm_limit=1)[0]
    one = snow.get(table_url(server, "incident", first["sys_id"]))
    assert one.status_code == 200 and one.json()["result"] == first
    missing = snow.get(table_url(server, "incident", "0" * 32))
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "No Record found"
    stats = snow.get(
        f"{server.base_url}/api/now/stats/incident", params={"sysparm_count": "true", "sysparm_query": "priority=1"}
    )
    expected = len(rows(snow, server, "incident", sysparm_query="priority=1", sysparm_fields="sys_id"))
    assert stats.json() == {"result": {"stats": {"count": str(expected)}}}
    v2 = snow.get(f"{server.base_url}/api/now/v2/table/incident", params={"sysparm_limit": "1"})
    assert v2.status_code == 200 and len(v2.json()["result"]) == 1


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_table_api_writes(server: ServiceNowServer, snow: requests.Session, method: str) -> None:
    created = snow.post(
        table_url(server, "incident"), json={"short_description": f"via {method}", "urgency": "1", "bogus": "x"}
    )
    assert created.status_code == 201, created.text
    record = created.json()["result"]
    assert record["number"].startswith("INC") and record["state"] == "1" and "bogus" not in record
    assert created.headers["Location"].endswith(record["sys_id"])
    server.instance.advance(5)
    changed = snow.request(method, table_url(server, "incident", record["sys_id"]), json={"state": "2"})
    assert changed.status_code == 200
    after = changed.json()["result"]
    assert (
        after["state"] == "2" and after["sys_mod_count"] == "1" and after["sys_updated_on"] > record["sys_updated_on"]
    )
    assert after["sys_updated_by"] == server.credentials.username
    deleted = snow.delete(table_url(server, "incident", record["sys_id"]))
    assert deleted.status_code == 204
    assert snow.delete(table_url(server, "incident", record["sys_id"])).status_code == 404
