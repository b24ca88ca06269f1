"""Field typing from the catalogue: system and custom fields by schema type, users by flavor."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from lumina_integration.hooks.jira.fields import DELETED, STATUS_CATEGORY, Catalogue, issue_fields, issue_specs
from lumina_integration.hooks.rest.arrow import records_to_batch

CATALOGUE = Catalogue.from_api(
    [
        {"id": "summary", "name": "Summary", "custom": False, "schema": {"type": "string", "system": "summary"}},
        {"id": "updated", "name": "Updated", "custom": False, "schema": {"type": "datetime", "system": "updated"}},
        {"id": "created", "name": "Created", "custom": False, "schema": {"type": "datetime", "system": "created"}},
        {"id": "duedate", "name": "Due date", "custom": False, "schema": {"type": "date", "system": "duedate"}},
        {"id": "status", "name": "Status", "custom": False, "schema": {"type": "status", "system": "status"}},
        {"id": "assignee", "name": "Assignee", "custom": False, "schema": {"type": "user", "system": "assignee"}},
        {"id": "project", "name": "Project", "custom": False, "schema": {"type": "project", "system": "project"}},
        {"id": "labels", "name": "Labels", "schema": {"type": "array", "items": "string", "system": "labels"}},
        {"id": "description", "name": "Description", "schema": {"type": "string", "system": "description"}},
        {
            "id": "customfield_10016",
            "name": "Story point estimate",
            "custom": True,
            "clauseNames": ["cf[10016]", "Story point estimate"],
            "schema": {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"},
        },
        {
            "id": "customfield_10020",
            "name": "Team",
            "custom": True,
            "schema": {"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select"},
        },
    ]
)
ADF = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "ü"}]}]}
ISSUE = {
    "id": "10001",
    "key": "ENG-1",
    DELETED: False,
    "fields": {
        "summary": "Crash on start",
        "updated": "2026-12-04T10:15:30.123+0100",
        "created": "2026-11-01T08:00:00.000+0000",
        "duedate": "2026-12-24",
        "status": {"name": "In Progress", "statusCategory": {"key": "indeterminate"}},
        "assignee": {"accountId": "5b10ac8d82e05b22cc7d4ef5", "name": "zoe"},
        "project": {"key": "ENG", "id": "10000"},
        "labels": ["crash", "ios"],
        "description": ADF,
        "customfield_10016": 3,
        "customfield_10020": {"value": "Platform", "id": "10050"},
    },
}


def test_issue_columns_are_typed_by_schema() -> None:
    specs = issue_specs(CATALOGUE, None, user_key="accountId")
    batch = records_to_batch([ISSUE], specs)
    row = batch.to_pylist()[0]
    assert row["_lumina_error"] is None
    assert row["id"] == "10001" and row["key"] == "ENG-1"
    assert row["updated"] == datetime(2026, 12, 4, 9, 15, 30, 123000, tzinfo=UTC)
    assert str(row["duedate"]) == "2026-12-24"
    assert row["status"] == "In Progress" and row[STATUS_CATEGORY] == "indeterminate"
    assert row["assignee"] == "5b10ac8d82e05b22cc7d4ef5"
    assert row["project"] == "ENG"
    assert json.loads(row["labels"]) == ["crash", "ios"]
    assert json.loads(row["description"]) == ADF  # ADF kept whole in raw
    assert row["customfield_10016"] == 3.0 and row["customfield_10020"] == "Platform"
    assert row[DELETED] is False
    assert batch.schema.field("updated").type == pa.timestamp("us", tz="UTC")


def test_data_center_users_are_names() -> None:
    specs = issue_specs(CATALOGUE, ["assignee"], user_key="name")
    assert records_to_batch([ISSUE], specs).to_pylist()[0]["assignee"] == "zoe"
    assert [s.name for s in specs] == ["id", "key", "updated", "assignee", DELETED]


def test_a_bad_value_is_an_error_row_not_a_lost_record() -> None:
    bad = {**ISSUE, "fields": {**ISSUE["fields"], "customfield_10016": "three"}}
    row = records_to_batch([bad], issue_specs(CATALOGUE, None, user_key="accountId")).to_pylist()[0]
    assert row["customfield_10016"] is None and "customfield_10016" in row["_lumina_error"]
    assert json.loads(row["_lumina_raw"])["key"] == "ENG-1"


def test_unknown_wanted_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="customfield_99999"):
        issue_specs(CATALOGUE, ["customfield_99999"], user_key="accountId")


def test_a_field_added_mid_life_appears_in_the_snapshot() -> None:
    before = {f.name for f in issue_fields(CATALOGUE, user_key="accountId")}
    grown = Catalogue.from_api(
        [
            *({"id": f.id, "name": f.name, "schema": {"type": f.schema_type}} for f in CATALOGUE.fields),
            {"id": "customfield_10100", "name": "Risk", "custom": True, "schema": {"type": "string"}},
        ]
    )
    after = {f.name for f in issue_fields(grown, user_key="accountId")}
    assert after - before == {"customfield_10100"}
    assert "cf[10016]" in CATALOGUE.clause_names() and "Story point estimate" in CATALOGUE.clause_names()


def test_named_columns_find_a_custom_field_by_its_name() -> None:
    specs = issue_specs(CATALOGUE, ["summary"], user_key="accountId", named={"story_points": "story point estimate"})
    row = records_to_batch([ISSUE], specs).to_pylist()[0]
    assert row["story_points"] == 3.0 and row["summary"] == "Crash on start"
    with pytest.raises(ValueError, match="no field named"):
        issue_specs(CATALOGUE, None, user_key="accountId", named={"risk": "Risk"})
    with pytest.raises(ValueError, match="already a column"):
        issue_specs(CATALOGUE, None, user_key="accountId", named={"summary": "Team"})
    twins = Catalogue.from_api(
        [{"id": f"customfield_{n}", "name": "Team", "schema": {"type": "string"}} for n in (1, 2)]
    )
    with pytest.raises(ValueError, match="2 fields"):
        issue_specs(twins, None, user_key="accountId", named={"team": "Team"})
