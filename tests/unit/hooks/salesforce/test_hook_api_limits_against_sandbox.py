"""The adapter within Salesforce's own limits, against the sandbox: the GET request line (414), the
deleted-records horizon (INVALID_REPLICATION_DATE) and query timeouts that time splitting cannot end."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lumina_integration.hooks.salesforce.hook import SalesforceAdapterHook
from lumina_integration.hooks.salesforce.reader import parse_datetime
from lumina_integration.window import Window

WIDE = "Invoice__c"  # 465 fields: a SELECT of all of them does not fit in a GET request line


def read(h: SalesforceAdapterHook, obj: str, window: Window, **options: Any) -> pa.Table:
    batches = list(h.read(obj, window, options))
    return pa.Table.from_batches(batches) if batches else pa.table({"Id": pa.array([], pa.string())})


def ids_in(org: Any, obj: str, window: Window) -> list[str]:
    """The org's records (recycle bin included) whose SystemModstamp is in ``window``."""
    records = org.truth(obj, ["Id", "SystemModstamp"], include_deleted=True)
    return sorted(r["Id"] for r in records if window.contains(parse_datetime(r["SystemModstamp"])))


# -- 1. the URL limit ---------------------------------------------------------------------------------------------


def test_rest_configured_for_a_wide_object_reads_over_bulk_and_plan_says_so(
    salesforce: Any, caplog: pytest.LogCaptureFixture
) -> None:
    h = SalesforceAdapterHook()
    window = Window(None, h.server_now() + timedelta(seconds=1))
    estimate = h.estimate(WIDE, window, {"transport": "rest"})
    with caplog.at_level(logging.WARNING):
        table = read(h, WIDE, window, transport="rest")
    assert (estimate["transport"], h.usage().transport) == ("bulk", "bulk")  # plan and extract agree
    assert sorted(table.column("Id").to_pylist()) == sorted(salesforce.org.ids(WIDE, include_deleted=True))
    assert table.num_columns > 400
    assert any("does not fit in a GET" in r.getMessage() for r in caplog.records)


def test_refreshing_every_column_of_a_wide_object_over_rest_does_not_hit_414(salesforce: Any) -> None:
    h = SalesforceAdapterHook()
    every_field = [f.name for f in h.fields(WIDE)]
    table = pa.Table.from_batches(list(h.read_columns(WIDE, every_field, {"transport": "rest"})))
    assert sorted(table.column("Id").to_pylist()) == sorted(salesforce.org.ids(WIDE))
    assert table.num_columns == len(every_field)


@pytest.mark.parametrize("transport", ["auto", "rest"])
def test_reading_a_few_ids_of_a_wide_object_does_not_hit_414(salesforce: Any, transport: str) -> None:
    wanted = sorted(salesforce.org.ids(WIDE))[:5]
    h = SalesforceAdapterHook()
    table = pa.Table.from_batches(list(h.read_ids(WIDE, wanted, {"transport": transport})))
    assert sorted(table.column("Id").to_pylist()) == wanted
    assert table.num_columns > 400


def test_id_reads_are_sized_by_the_url_budget_and_read_every_id_once(salesforce: Any) -> None:
    org = salesforce.org
    wanted = sorted(org.ids("Account", include_deleted=True))
    h = SalesforceAdapterHook()
    h.describe("Account")  # the describe calls are not what is counted below
    org.reset_request_counts()
    table = pa.Table.from_batches(list(h.read_ids("Account", wanted, {"transport": "rest"})))
    assert sorted(table.column("Id").to_pylist()) == wanted  # all of them, none twice
    queries = org.request_counts()["query"]
    # As many ids per GET as its URL holds (a query per 300 ids before): fewer, never too long ones.
    assert queries < len(wanted) / 300
    assert org.request_counts().get("bulk_create", 0) == 0


# -- 2. the deleted-records horizon -------------------------------------------------------------------------------


def test_a_window_older_than_the_deleted_records_horizon_reads_without_that_call(salesforce: Any) -> None:
    org = salesforce.org
    now = org.now()
    old = now - timedelta(days=45)
    created = org.create("Account", [{"Name": f"Old {n}"} for n in range(4)], modstamp=old)
    window = Window(old - timedelta(days=1), old + timedelta(days=1))
    h = SalesforceAdapterHook()
    org.reset_request_counts()
    table = read(h, "Account", window, transport="rest")
    assert set(created) <= set(table.column("Id").to_pylist())
    assert sorted(table.column("Id").to_pylist()) == ids_in(org, "Account", window)
    assert org.request_counts().get("deleted", 0) == 0  # nothing the endpoint could still know


def test_the_deleted_records_call_is_clamped_to_the_horizon_by_the_source_clock(salesforce: Any) -> None:
    org = salesforce.org
    gone = sorted(org.ids("Account"))[:2]
    org.delete("Account", gone)
    org.advance(120)  # Salesforce covers whole minutes
    now = org.now()
    # A window reaching further back than the endpoint knows: the call covers what it can.
    h = SalesforceAdapterHook()
    window = Window(now - timedelta(days=40), now - timedelta(seconds=30))
    table = read(h, "Account", window, transport="rest", include_deleted=False)
    tombstones = table.filter(pc.field("IsDeleted"))
    in_the_bin = set(org.ids("Account", include_deleted=True)) - set(org.ids("Account"))
    assert set(gone) <= in_the_bin  # the generator put others there too, days ago
    assert sorted(tombstones.column("Id").to_pylist()) == sorted(in_the_bin)
    assert org.request_counts()["deleted"] >= 1


def test_a_window_ending_sixteen_days_back_never_asks_for_a_start_beyond_thirty_days(salesforce: Any) -> None:
    org = salesforce.org
    now = org.now()
    window = Window(now - timedelta(days=40), now - timedelta(days=16))
    h = SalesforceAdapterHook()
    table = read(h, "Account", window, transport="rest")
    assert sorted(table.column("Id").to_pylist()) == ids_in(org, "Account", window)


# -- 5. query timeouts that time splitting cannot end ---------------------------------------------------------------


def tied_accounts(org: Any, count: int = 40) -> tuple[list[str], datetime, Window]:
    stamp = (org.now() - timedelta(minutes=30)).replace(microsecond=0)
    ids = org.create("Account", [{"Name": f"Tied {n}"} for n in range(count)], modstamp=stamp)
    return sorted(ids), stamp, Window(stamp - timedelta(minutes=2), stamp + timedelta(minutes=2))


def read_exactly_once(table: pa.Table, org: Any, window: Window) -> None:
    got = table.column("Id").to_pylist()
    assert len(got) == len(set(got)), "a record was read twice"
    assert sorted(got) == ids_in(org, "Account", window)


def warned(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(text in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_rest_timeouts_on_one_second_move_that_second_to_bulk(
    salesforce: Any, caplog: pytest.LogCaptureFixture
) -> None:
    org = salesforce.org
    _, _, window = tied_accounts(org)
    org.faults.add("query", "query_timeout", threshold=10, times=None)  # every REST query over 10 records
    h = SalesforceAdapterHook()
    with caplog.at_level(logging.WARNING):
        table = read(h, "Account", window, bulk_poll_seconds=0.05)
    read_exactly_once(table, org, window)
    assert "bulk" in (h.usage().transport or "")
    assert warned(caplog, "reading it over Bulk 2.0") == 1 and warned(caplog, "splitting it by Id") == 0


def test_timeouts_on_rest_and_bulk_split_the_second_by_id_range(
    salesforce: Any, caplog: pytest.LogCaptureFixture
) -> None:
    org = salesforce.org
    _, _, window = tied_accounts(org)
    org.faults.add("any", "query_timeout", threshold=10, times=None)  # REST queries and Bulk jobs alike
    h = SalesforceAdapterHook()
    with caplog.at_level(logging.WARNING):
        table = read(h, "Account", window, bulk_poll_seconds=0.05)
    read_exactly_once(table, org, window)
    assert warned(caplog, "splitting it by Id") >= 3  # 40 tied records, at most 10 a query


def test_timeouts_with_rest_configured_split_by_id_range_over_rest(
    salesforce: Any, caplog: pytest.LogCaptureFixture
) -> None:
    org = salesforce.org
    _, _, window = tied_accounts(org)
    org.faults.add("query", "query_timeout", threshold=7, times=None)
    h = SalesforceAdapterHook()
    with caplog.at_level(logging.WARNING):
        table = read(h, "Account", window, transport="rest", page_size=200)
    read_exactly_once(table, org, window)
    assert warned(caplog, "splitting it by Id") >= 5 and warned(caplog, "over Bulk 2.0") == 0
    assert h.usage().transport == "rest" and org.request_counts().get("bulk_create", 0) == 0
