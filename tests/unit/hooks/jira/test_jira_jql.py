"""JQL is built from catalogue fields and escaped values only, with minute bounds safe across DST."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from lumina_integration.hooks.jira.jql import IssueQuery, JqlError, issue_jql, literal, minute_literal
from lumina_integration.hooks.jira.options import JqlCondition

UTC_ZONE = ZoneInfo("UTC")
ALLOWED = {"issuetype", "labels", "customfield_10010", "cf[10010]", "Story Points"}


def test_values_are_quoted_and_escaped() -> None:
    assert literal('say "hi"') == '"say \\"hi\\""'
    assert literal("back\\slash") == '"back\\\\slash"'
    assert literal('x" OR project = SECRET OR "') == '"x\\" OR project = SECRET OR \\""'
    assert literal(42) == '"42"'
    with pytest.raises(JqlError):
        literal("two\nlines")


def test_window_bounds_are_a_closed_lower_minute_and_a_ceiled_upper_minute() -> None:
    query = IssueQuery(datetime(2026, 12, 4, 10, 15, 30, tzinfo=UTC), datetime(2026, 12, 4, 11, 0, 0, 1, tzinfo=UTC))
    jql = issue_jql(query, UTC_ZONE, ALLOWED)
    assert jql == 'updated >= "2026-12-04 10:15" AND updated < "2026-12-04 11:01" ORDER BY updated ASC, id ASC'
    exact = IssueQuery(datetime(2026, 12, 4, 10, 15, tzinfo=UTC), datetime(2026, 12, 4, 11, 0, tzinfo=UTC))
    assert 'updated < "2026-12-04 11:00"' in issue_jql(exact, UTC_ZONE, ALLOWED)


def test_a_first_load_is_still_bounded() -> None:
    assert issue_jql(IssueQuery(None, None), UTC_ZONE, ALLOWED).startswith('updated >= "1970-01-01 00:00"')


def test_minutes_are_written_in_the_users_time_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    instant = datetime(2026, 12, 4, 10, 15, 30, tzinfo=UTC)
    assert minute_literal(instant, berlin, lower=True) == '"2026-12-04 11:15"'


def test_a_repeated_dst_hour_moves_each_bound_outwards() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 2026-10-25 02:30 happens twice in Berlin (00:30 and 01:30 UTC).
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    lower = minute_literal(second, berlin, lower=True)
    upper = minute_literal(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), berlin, lower=False)
    assert lower == '"2026-10-25 02:30"'  # one hour earlier: 00:30 UTC, read either way below the bound
    assert upper == '"2026-10-25 02:30"'  # one hour later: 01:30 UTC
    for literal_text, instant, is_lower in ((lower, second, True), (upper, second.replace(hour=0), False)):
        wall = datetime.strptime(literal_text.strip('"'), "%Y-%m-%d %H:%M")
        readings = [wall.replace(tzinfo=berlin, fold=f).astimezone(UTC) for f in (0, 1)]
        assert all(r <= instant for r in readings) if is_lower else all(r >= instant for r in readings)


def test_conditions_name_catalogue_fields_only() -> None:
    query = IssueQuery(
        None,
        None,
        projects=("ENG", "OPS"),
        conditions=(
            JqlCondition(field="issuetype", op="in", value=["Bug", 'Sto"ry']),
            JqlCondition(field="customfield_10010", op="is not"),
        ),
    )
    jql = issue_jql(query, UTC_ZONE, ALLOWED)
    assert 'project in ("ENG", "OPS")' in jql
    assert '(issuetype IN ("Bug", "Sto\\"ry"))' in jql
    assert "(customfield_10010 IS NOT EMPTY)" in jql
    with pytest.raises(JqlError, match="not a searchable field"):
        issue_jql(IssueQuery(None, None, conditions=(JqlCondition(field="reporter", value="x"),)), UTC_ZONE, ALLOWED)


def test_ids_must_be_numbers() -> None:
    assert "id in (10001, 10002)" in issue_jql(IssueQuery(None, None, ids=("10001", "10002")), UTC_ZONE, ALLOWED)
    with pytest.raises(JqlError):
        issue_jql(IssueQuery(None, None, ids=("1) OR (1=1",)), UTC_ZONE, ALLOWED)


def test_conditions_are_checked_by_shape_in_the_spec() -> None:
    with pytest.raises(ValueError):
        JqlCondition(field="labels", op="in", value="one")
    with pytest.raises(ValueError):
        JqlCondition(field="labels", op="=")
    with pytest.raises(ValueError):
        JqlCondition(field="labels = x OR", value="x")
