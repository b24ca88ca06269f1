"""The JQL reader on its own (no server): precedence, negation, lists, emptiness, relative dates, ordering and
its refusals, checked against the site's truth in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lumina_sandbox.jira import reads
from lumina_sandbox.jira.errors import JiraError
from lumina_sandbox.jira.instance import Instance
from lumina_sandbox.jira.times import MINUTE_MS


@pytest.fixture(scope="module")
def site() -> Iterator[Instance]:
    instance = Instance.generate(seed=5, counts={"issues": 300})
    yield instance
    instance.close()


def ids(site: Instance, text: str) -> list[str]:
    query = reads.read_jql(site, text)
    order = ", ".join(f"{c} {'ASC' if a else 'DESC'}" for c, a in query.order)
    rows = site.store.query(f"SELECT id FROM issues WHERE {query.where} ORDER BY {order}", query.params)
    return [str(r[0]) for r in rows]


def truth(site: Instance, keep: Callable[[dict[str, Any]], bool]) -> set[str]:
    return {r["id"] for r in site.truth("issues") if keep(r)}


def test_and_binds_tighter_than_or_and_parentheses_regroup(site: Instance) -> None:
    plain = set(ids(site, "project = ENG OR project = OPS AND status = Done"))
    assert plain == truth(site, lambda r: r["project"] == "ENG" or (r["project"] == "OPS" and r["status"] == "Done"))
    grouped = set(ids(site, "(project = ENG OR project = OPS) AND status = Done"))
    assert grouped == truth(site, lambda r: r["project"] in ("ENG", "OPS") and r["status"] == "Done")
    nested = set(ids(site, "NOT (project in (ENG, OPS) AND NOT (status != Done)) AND project != WEB"))
    assert nested == truth(
        site, lambda r: not (r["project"] in ("ENG", "OPS") and r["status"] == "Done") and r["project"] != "WEB"
    )


def test_lists_emptiness_and_labels(site: Instance) -> None:
    assert set(ids(site, 'priority not in (High, "Highest") AND project = ENG')) == truth(
        site, lambda r: r["priority"] not in ("High", "Highest") and r["project"] == "ENG"
    )
    assert set(ids(site, "resolution is not EMPTY AND project is not empty")) == truth(
        site, lambda r: r["resolution"] is not None
    )
    assert set(ids(site, "labels in (customer, regression)")) == truth(
        site, lambda r: bool({"customer", "regression"} & set(r["labels"]))
    )
    assert set(ids(site, "labels is EMPTY AND project = WEB")) == truth(
        site, lambda r: not r["labels"] and r["project"] == "WEB"
    )
    assert set(ids(site, "cf[10011] = Platform")) == truth(site, lambda r: r["customfield_10011"] == "Platform")
    assert set(ids(site, "cf[10010] >= 8")) == truth(site, lambda r: (r["customfield_10010"] or 0) >= 8)


def test_relative_dates_and_ordering(site: Instance) -> None:
    now = site.now_ms()
    recent = set(ids(site, "updated >= -30d"))
    floor = (now - 30 * 86_400_000) // MINUTE_MS * MINUTE_MS
    assert recent == truth(site, lambda r: r["updated"] >= floor)
    newest_first = ids(site, "project = ENG ORDER BY created DESC")
    created = {r["id"]: r["created"] for r in site.truth("issues")}
    assert [created[i] for i in newest_first] == sorted((created[i] for i in newest_first), reverse=True)
    by_key = ids(site, "project in (ENG, OPS) ORDER BY key ASC")
    keys = {r["id"]: (r["project"], int(r["key"].split("-")[1])) for r in site.truth("issues")}
    assert [keys[i] for i in by_key] == sorted(keys[i] for i in by_key)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("status ~ Done", "The operator '~' is not supported by the 'status' field."),
        ("project = ENG ORDER BY status", "The sandbox cannot sort by the field 'Status'."),
        ("project = ENG AND", "Error in the JQL Query: Expecting a field name but got '<EOF>'."),
        ("project ENG", "Error in the JQL Query: Expecting operator but got 'ENG'."),
        ("updated > yesterday", "Date value 'yesterday' for field 'updated' is invalid."),
        ("summary = 'a\\qb'", "'\\q' is an illegal JQL escape sequence."),
        ("status was Done", "The sandbox does not support the 'WAS' operator."),
        ("(" * 60 + "project = ENG" + ")" * 60, "the query nests too deeply."),
    ],
)
def test_refusals_in_jiras_words(site: Instance, text: str, message: str) -> None:
    with pytest.raises(JiraError) as refused:
        ids(site, text)
    assert refused.value.status == 400
    assert message in refused.value.messages[0]
