"""Encoded queries: only catalogue names, values escaped, windows on whole seconds (pure, no instance)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lumina_integration.hooks.servicenow.options import ServiceNowOptions, table_name
from lumina_integration.hooks.servicenow.query import Query, UnknownName, UnsafeValue, names, sys_ids, window_query

FIELDS = ["sys_id", "sys_updated_on", "short_description", "tablename"]
T0 = datetime(2026, 11, 20, 10, 15, 30, 400_000, tzinfo=UTC)
T1 = datetime(2026, 11, 20, 11, 0, 0, tzinfo=UTC)


def test_a_window_has_a_closed_lower_second_and_an_open_upper_one() -> None:
    text = window_query(FIELDS, "incident", T0, T1)
    assert text == (
        "sys_updated_on<2026-11-20 11:00:00^sys_updated_on>=2026-11-20 10:15:30^ORDERBYsys_updated_on^ORDERBYsys_id"
    )
    fractional_end = window_query(FIELDS, "incident", None, T0)
    assert fractional_end.startswith("sys_updated_on<2026-11-20 10:15:31^ORDER")  # the end's second is in


def test_a_keyset_page_continues_strictly_after_the_pair() -> None:
    text = window_query(FIELDS, "incident", T0, T1, after=("2026-11-20 10:20:00", "a" * 32))
    first, second = text.split("^NQ")
    assert first == "sys_updated_on<2026-11-20 11:00:00^sys_updated_on>2026-11-20 10:20:00"
    assert second.startswith("sys_updated_on<2026-11-20 11:00:00^sys_updated_on=2026-11-20 10:20:00^sys_id>aaaa")
    assert second.endswith("^ORDERBYsys_updated_on^ORDERBYsys_id")


def test_only_catalogue_names_reach_a_query() -> None:
    with pytest.raises(UnknownName):
        Query(FIELDS, "incident").where("short_descriptionLIKEx^ORactive", "=", "true")
    with pytest.raises(UnknownName):
        window_query(["sys_id"], "incident", None, T1)  # no sys_updated_on in this table
    with pytest.raises(ValueError, match="not a ServiceNow table"):
        table_name("incident^ORDERBYsys_id")
    with pytest.raises(ValueError):
        ServiceNowOptions.model_validate({"fields": ["Number"]})


def test_values_are_escaped_and_scripts_refused() -> None:
    q = Query(FIELDS, "incident").where("short_description", "=", "a^ORsys_id!=x").text()
    assert q == "short_description=a^^ORsys_id!=x"
    for bad in ("javascript:gs.getUserID()", "two\nlines"):
        with pytest.raises(UnsafeValue):
            Query(FIELDS, "incident").where("short_description", "=", bad)
    with pytest.raises(UnsafeValue):
        sys_ids(["a" * 32, "b,c"])
    with pytest.raises(UnsafeValue):
        names(["incident", "task^NQ"])
    assert Query(FIELDS, "x").where_in("sys_id", ["a" * 32, "b" * 32]).text() == f"sys_idIN{'a' * 32},{'b' * 32}"
