"""The Salesforce adapter hook against the sandbox, through simple-salesforce's real HTTPS calls."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lumina_integration.hooks.base import StopRun
from lumina_integration.hooks.salesforce.hook import SalesforceAdapterHook
from lumina_integration.hooks.salesforce.soql import UnknownIdentifier
from lumina_integration.window import Window


def hook(salesforce: Any, conn_id: str = "salesforce_default") -> SalesforceAdapterHook:
    return SalesforceAdapterHook(conn_id)


def read(h: SalesforceAdapterHook, obj: str, window: Window, **options: Any) -> pa.Table:
    batches = list(h.read(obj, window, options))
    return pa.Table.from_batches(batches) if batches else pa.table({"Id": pa.array([], pa.string())})


def everything(h: SalesforceAdapterHook) -> Window:
    return Window(None, h.server_now() + timedelta(seconds=1))


@pytest.mark.parametrize(
    "mode",
    ["soap", "password", "jwt_bearer", "client_credentials", "refresh_token"],
)
def test_every_auth_mode_connects(salesforce: Any, mode: str) -> None:
    creds = salesforce.credentials
    connection = json.loads(json.dumps(salesforce.connection))
    # The provider's field names (consumer_key/consumer_secret), one flow with our older client_* names.
    if mode == "password":
        connection["extra"].update(consumer_key=creds.client_id, consumer_secret=creds.client_secret)
    elif mode == "jwt_bearer":
        connection["password"] = None
        connection["extra"] = {"consumer_key": creds.client_id, "private_key": creds.private_key_pem}
    elif mode == "client_credentials":
        connection.update(login=None, password=None)
        connection["extra"] = {"consumer_key": creds.client_id, "consumer_secret": creds.client_secret}
    elif mode == "refresh_token":
        connection["extra"] = {
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "refresh_token": creds.refresh_token,
        }
    connection["extra"].update(ca_bundle=str(salesforce.ca_path), domain=creds.login_domain)
    os.environ["AIRFLOW_CONN_SF_AUTH"] = json.dumps(connection)
    h = SalesforceAdapterHook("sf_auth")
    assert h.settings.auth_mode == mode
    ok, message = h.test_connection()
    assert ok, message
    assert "daily API requests left" in message


def test_a_wrong_password_is_a_clear_failure_that_is_not_retried(salesforce: Any) -> None:
    connection = json.loads(json.dumps(salesforce.connection))
    connection["password"] = "wrong"
    os.environ["AIRFLOW_CONN_SF_BAD"] = json.dumps(connection)
    ok, message = SalesforceAdapterHook("sf_bad").test_connection()
    assert not ok and "INVALID_LOGIN" in message
    with pytest.raises(StopRun, match="refused the soap login"):
        SalesforceAdapterHook("sf_bad").server_now()


def test_rest_and_bulk_give_identical_arrow_batches(salesforce: Any) -> None:
    h = hook(salesforce)
    window = everything(h)
    rest = read(h, "Account", window, transport="rest", page_size=200)
    after_rest = h.usage()
    assert after_rest.transport == "rest" and after_rest.api_calls > 0 and after_rest.bulk_jobs == 0
    bulk = read(h, "Account", window, transport="bulk", bulk_page_records=70)
    after_bulk = h.usage()  # what the hook spent since it was built: both reads
    assert after_bulk.transport == "bulk" and after_bulk.bulk_jobs >= 1 and after_bulk.api_calls > after_rest.api_calls
    assert rest.num_rows == len(salesforce.org.ids("Account", include_deleted=True)) > 100
    assert rest.schema == bulk.schema
    assert rest.equals(bulk)
    # The hard parts survive both transports alike.
    regions = set(rest.column("Region__c").to_pylist())
    assert "NA" in regions and None in regions
    assert pa.types.is_decimal(rest.schema.field("AnnualRevenue").type)
    assert pa.types.is_timestamp(rest.schema.field("SystemModstamp").type)
    assert "BillingAddress" not in rest.column_names and "BillingCity" in rest.column_names


def test_the_window_is_closed_below_open_above_and_ties_all_come_back(salesforce: Any) -> None:
    org = salesforce.org
    ids = sorted(org.ids("Account"))[:30]
    stamp = org.now() - timedelta(minutes=5)
    org.update("Account", [{"Id": i, "Phone": "+1 555 0100"} for i in ids], modstamp=stamp)
    h = hook(salesforce)
    on_the_boundary = read(h, "Account", Window(stamp, stamp + timedelta(milliseconds=1)), transport="rest")
    assert sorted(on_the_boundary.column("Id").to_pylist()) == ids
    below = read(h, "Account", Window(stamp - timedelta(seconds=1), stamp), transport="rest")
    assert not set(below.column("Id").to_pylist()) & set(ids)


def test_the_wide_object_is_read_over_bulk_without_a_uri_too_long(salesforce: Any) -> None:
    h = hook(salesforce)
    table = read(h, "Invoice__c", everything(h))
    assert h.usage().transport == "bulk"
    assert table.num_columns > 400 and table.num_rows == len(salesforce.org.ids("Invoice__c", include_deleted=True))


def test_deletes_arrive_as_tombstones(salesforce: Any) -> None:
    org = salesforce.org
    soft, hard = sorted(org.ids("Account"))[:3], sorted(org.ids("Account"))[3:5]
    start = org.now() - timedelta(seconds=1)
    org.delete("Account", soft)
    org.purge("Account", hard)
    h = hook(salesforce)
    table = read(h, "Account", Window(start, org.now() + timedelta(seconds=1)), transport="rest")
    deleted = table.filter(pc.field("IsDeleted"))
    assert sorted(deleted.column("Id").to_pylist()) == soft  # purged records are gone from every endpoint
    assert deleted.column("Name").null_count == 0  # queryAll rows are whole records
    # Without queryAll, the deleted-records endpoint still reports them (id and deletion time only),
    # once the minute they happened in is over: Salesforce covers whole minutes.
    org.advance(120)
    by_endpoint = read(h, "Account", Window(start, org.now()), include_deleted=False)
    tombstones = by_endpoint.filter(pc.field("IsDeleted"))
    assert sorted(tombstones.column("Id").to_pylist()) == soft
    assert tombstones.column("Name").null_count == len(soft)
    assert tombstones.column("SystemModstamp").null_count == 0


def known_versions(org: Any, ids: list[str]) -> pa.Table:
    """The warehouse's (id, stamp) as a load would have left it: the org's SystemModstamp of each id."""
    from lumina_sandbox.salesforce.clock import parse_datetime

    stamps = {r["Id"]: parse_datetime(r["SystemModstamp"]) for r in org.truth("Account", ["Id", "SystemModstamp"])}
    return pa.table(
        {"id": pa.array(ids), "stamp": pa.array([stamps.get(i) for i in ids], pa.timestamp("us", tz="UTC"))}
    )


def test_reconcile_finds_hard_deletes_gaps_and_changed_versions(salesforce: Any) -> None:
    org = salesforce.org
    live = sorted(org.ids("Account"))
    org.purge("Account", live[:2])
    # The warehouse lacks three, has one unknown, and holds older versions of two.
    known = known_versions(org, [*live[2:-3], "001000000000000AAA"])
    changed = live[2:4]
    org.update("Account", [{"Id": i, "Rating": "Warm"} for i in changed])
    h = hook(salesforce)
    as_of = h.server_now()
    table = pa.Table.from_batches(list(h.reconcile("Account", known, as_of, {}, stamp_field="SystemModstamp")))
    gone = table.filter(pc.field("IsDeleted"))
    assert sorted(gone.column("Id").to_pylist()) == ["001000000000000AAA"]
    assert set(gone.column("SystemModstamp").to_pylist()) == {as_of}
    fetched = table.filter(pc.invert(pc.field("IsDeleted")))
    assert sorted(fetched.column("Id").to_pylist()) == sorted([*changed, *live[-3:]])
    assert h.usage().reconciled == {
        "source": len(live) - 2,
        "known": len(known),
        "gone": 1,
        "missing": 3,
        "changed": 2,
        "behind": 0,
    }
    # Ids only (a mapping that computes its cursor): the changed versions are not noticed.
    h = hook(salesforce)
    list(h.reconcile("Account", known, as_of, {}))
    counts = h.usage().reconciled
    assert counts is not None and (counts["missing"], counts["changed"]) == (3, 0)


def test_versions_are_one_bulk_job_for_a_big_object(salesforce: Any) -> None:
    org = salesforce.org
    h = hook(salesforce)
    table = pa.Table.from_batches(list(h.versions("Account", "SystemModstamp", {"bulk_threshold": 100})))
    assert table.column_names == ["id", "stamp"] and table.column("stamp").null_count == 0
    assert table.num_rows == len(org.ids("Account"))
    assert org.request_counts()["bulk_create"] == 1


def test_a_query_timeout_splits_the_window_and_loses_nothing(salesforce: Any) -> None:
    org = salesforce.org
    org.faults.add("bulk_create", "query_timeout", threshold=60, times=None)
    h = hook(salesforce)
    table = read(h, "Account", everything(h), transport="bulk", bulk_poll_seconds=0.1)
    assert sorted(table.column("Id").to_pylist()) == sorted(org.ids("Account", include_deleted=True))
    assert org.request_counts()["bulk_create"] >= 3  # the whole window, then halves


def test_read_columns_gives_id_and_the_asked_fields_of_live_records(salesforce: Any) -> None:
    h = hook(salesforce)
    table = pa.Table.from_batches(list(h.read_columns("Contact", ["Account_Name__c"], {})))
    assert table.column_names == ["Id", "Account_Name__c"]
    truth = {r["Id"]: r["Account_Name__c"] for r in salesforce.org.truth("Contact", ["Id", "Account_Name__c"])}
    assert dict(zip(table.column("Id").to_pylist(), table.column("Account_Name__c").to_pylist(), strict=True)) == truth


def test_formula_fields_are_known_from_describe(salesforce: Any) -> None:
    h = hook(salesforce)
    assert h.calculated_fields("Contact") == ["Account_Name__c"]
    assert "Days_To_Close__c" in h.calculated_fields("Opportunity")
    assert h.cursor_field("Account") == "SystemModstamp"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Account WHERE Name != null", id="clause-in-object"),
        pytest.param("Account__Nope", id="unknown-object"),
    ],
)
def test_only_discovered_objects_can_be_read(salesforce: Any, name: str) -> None:
    h = hook(salesforce)
    with pytest.raises(UnknownIdentifier):
        list(h.read(name, everything(h), {}))


@pytest.mark.parametrize(
    "value",
    ["x' OR Name != '", "\\' OR '1'='1", "a\nb", "%", "');DELETE"],
)
def test_injected_ids_are_values_that_match_nothing(salesforce: Any, value: str) -> None:
    h = hook(salesforce)
    with pytest.raises(Exception, match=r"INVALID_QUERY_FILTER_OPERATOR|invalid ID"):
        list(h.read_ids("Account", [value], {}))


def test_objects_without_systemmodstamp_fall_back_to_the_next_cursor(salesforce: Any) -> None:
    h = hook(salesforce)
    assert h.cursor_field("AccountHistory") == "CreatedDate"
    table = read(h, "AccountHistory", everything(h), transport="rest")
    assert table.num_rows == len(salesforce.org.ids("AccountHistory", include_deleted=True)) > 0
    assert "SystemModstamp" not in table.column_names
