"""compare.py's record-for-record verdicts, against a real SQLite warehouse table filled from what the REST API
serves (so the site's truth and its API must agree for the verdict to be equal)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from jira_sandbox_client import rest, search_all
from sqlalchemy import Engine, create_engine, text

from lumina_sandbox.jira import adf, compare
from lumina_sandbox.jira.server import JiraServer
from lumina_sandbox.jira.times import parse_jira_text

ISSUE_COLUMNS = list(compare.PIPELINES["jira_issues"].columns)
COMMENT_COLUMNS = list(compare.PIPELINES["jira_comments"].columns)


@pytest.fixture
def warehouse() -> Iterator[Engine]:
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        for table, columns in (("work_item", ISSUE_COLUMNS), ("work_item_comment", COMMENT_COLUMNS)):
            listed = ", ".join(f"{c} {'REAL' if c == 'story_points' else 'TEXT'}" for c in columns)
            conn.execute(
                text(f"CREATE TABLE {table} (source_system TEXT, source_id TEXT, _is_deleted BOOLEAN, {listed})")
            )
    yield engine
    engine.dispose()


def _insert(engine: Engine, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    names = list(rows[0])
    with engine.begin() as conn:
        conn.execute(
            text(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"), rows
        )


def _issue_rows(session: requests.Session, server: JiraServer) -> list[dict[str, Any]]:
    fields = ["project", "summary", "status", "priority", "assignee", "customfield_10010", "created", "updated"]
    issues, _ = search_all(session, server, jql="project in (ENG, OPS, WEB) ORDER BY id", fields=fields, maxResults=100)
    rows = []
    for issue in issues:
        f = issue["fields"]
        rows.append(
            {
                "source_system": "jira",
                "source_id": issue["id"],
                "_is_deleted": False,
                "key": issue["key"],
                "project_key": f["project"]["key"],
                "summary": f["summary"],
                "status": f["status"]["name"],
                "priority": f["priority"]["name"],
                "assignee_source_id": (f["assignee"] or {}).get("accountId"),
                "story_points": f["customfield_10010"],
                "created_at": parse_jira_text(f["created"]).isoformat(),
                "source_updated_at": parse_jira_text(f["updated"]).isoformat(),
            }
        )
    return rows


def test_issues_equal_then_missing_not_deleted_and_differing(
    jira: requests.Session, server: JiraServer, warehouse: Engine
) -> None:
    _insert(warehouse, "work_item", _issue_rows(jira, server))
    verdict = compare.compare(warehouse, "main", server.control, "jira_issues")
    assert verdict.equal, verdict.describe()
    assert verdict.source_live == verdict.warehouse_live == server.instance.count("issues")
    truth = server.control.truth("issues")
    server.control.update_issues([{"key": truth[0]["key"], "summary": "changed at the source"}])
    server.control.delete_issues([truth[1]["id"]])
    made = server.control.create_issues([{"project": "ENG", "summary": "new at the source"}])
    verdict = compare.compare(warehouse, "main", server.control, "jira_issues")
    assert not verdict.equal
    assert [d[0] for d in verdict.differing] == [truth[0]["id"]]
    assert verdict.not_deleted == [truth[1]["id"]] and verdict.missing == [made[0]["id"]]
    assert "DIFFERENT" in verdict.describe() and compare.HEADER.startswith("pipeline")


def test_comments_compare_adf_as_text(jira: requests.Session, server: JiraServer, warehouse: Engine) -> None:
    rows = []
    for record in server.control.truth("issues")[:40]:
        page = jira.get(rest(server, f"issue/{record['id']}/comment")).json()
        for c in page["comments"]:
            rows.append(
                {
                    "source_system": "jira",
                    "source_id": c["id"],
                    "_is_deleted": False,
                    "work_item_source_id": record["id"],
                    "author_source_id": c["author"]["accountId"],
                    "body": adf.to_text(c["body"]),
                    "created_at": parse_jira_text(c["created"]).isoformat(),
                    "source_updated_at": parse_jira_text(c["updated"]).isoformat(),
                }
            )
    assert rows and any("@" in r["body"] for r in rows)  # mentions flatten to @name
    _insert(warehouse, "work_item_comment", rows)
    verdict = compare.compare(warehouse, "main", server.control, "jira_comments")
    assert verdict.warehouse_live == len(rows) and not verdict.differing and not verdict.not_deleted
    assert len(verdict.missing) == verdict.source_live - len(rows)  # the comments of the issues not loaded


def test_exact_below_a_watermark_and_deletes_only_a_reconcile_finds(
    jira: requests.Session, server: JiraServer, warehouse: Engine
) -> None:
    """The fault tests' verdict: hashes per key below a watermark; a deleted issue is gone (no deleted feed),
    left out with ``ignore_gone`` until a reconcile."""
    _insert(warehouse, "work_item", _issue_rows(jira, server))
    site = server.control
    assert compare.exact(warehouse, "main", site, "jira_issues").equal
    watermark = server.instance.now()
    server.instance.advance(30)
    first, doomed = (r["key"] for r in site.truth("issues")[:2])
    site.update_issues([{"key": first, "summary": "after the watermark"}])
    below = compare.exact(warehouse, "main", site, "jira_issues", below=watermark)
    assert below.equal, below.describe()  # in flight: updated after the watermark
    [changed] = compare.exact(warehouse, "main", site, "jira_issues").differing
    assert compare.exact(warehouse, "main", site, "jira_issues", skip_ids=frozenset({changed})).equal
    assert compare.exact(warehouse, "main", site, "jira_issues", skip_columns=("summary", "source_updated_at")).equal
    [doomed_id] = [r["id"] for r in site.truth("issues") if r["key"] == doomed]
    site.delete_issues([doomed_id])
    assert compare.exact(warehouse, "main", site, "jira_issues", below=watermark).differing == [doomed_id]
    assert compare.exact(warehouse, "main", site, "jira_issues", below=watermark, ignore_gone=True).equal
    with warehouse.begin() as conn:
        conn.execute(text("UPDATE work_item SET _is_deleted = 1 WHERE source_id = :i"), {"i": doomed_id})
    assert compare.exact(warehouse, "main", site, "jira_issues", below=watermark).equal
