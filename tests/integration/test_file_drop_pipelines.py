"""Each demo pipeline against the sandbox: the warehouse must equal the source truth, record for record."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lumina_integration.warehouse import loader
from lumina_sandbox import file_drops

CRM, ERP, HELPDESK = "filedrop_crm_accounts", "filedrop_erp_products", "filedrop_helpdesk_tickets"


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def expected_customers(drop: file_drops.Drop) -> set[tuple[Any, ...]]:
    return {
        (
            sid,
            r["AccountName"].strip(),
            r["Status"].lower(),
            r["IsDeleted"] == "true",
            instant(r["LastModifiedDate"]),
        )
        for sid, r in drop.truth.items()
        if sid not in drop.rejected
    }


def warehouse_customers(h: Any) -> set[tuple[Any, ...]]:
    return set(h.rows("SELECT source_id, name, status, _is_deleted, source_updated_at FROM {s}.customer"))


@pytest.mark.integration
def test_crm_accounts_initial_delta_and_replay(harness: Any) -> None:
    initial = file_drops.accounts_initial(n=400)
    harness.drop(initial)
    first = harness.load_result(harness.run(CRM))
    assert warehouse_customers(harness) == expected_customers(initial)
    assert first["rows_inserted"] == 398 and first["rows_quarantined"] == 3

    reasons = sorted(
        r[0] for r in harness.rows("SELECT reason FROM {s}.lumina_quarantine WHERE pipeline_id = :p", p=CRM)
    )
    assert len(reasons) == 3
    assert any("created_at: cannot read '31/02/2026' as timestamp" in r for r in reasons)
    assert any("expect_column_values_to_be_in_set(status)" in r for r in reasons)
    assert any(r.startswith("malformed source record:") and "expected 12" in r for r in reasons)

    delta = file_drops.accounts_delta(initial)
    harness.drop(delta)
    second = harness.load_result(harness.run(CRM))
    assert warehouse_customers(harness) == expected_customers(delta)
    assert (second["rows_inserted"], second["rows_updated"], second["rows_deleted"]) == (25, 50, 5)
    assert second["rows_guard_refused"] == 1, "the stale row must not overwrite the newer warehouse copy"

    watermark = harness.watermark(CRM)
    harness.drop(initial, delta)  # the same bytes again: same ETags
    replay = harness.load_result(harness.run(CRM))
    assert replay["rows_staged"] == 0 and replay["rows_inserted"] == 0 and replay["rows_updated"] == 0
    assert harness.watermark(CRM) > watermark
    assert warehouse_customers(harness) == expected_customers(delta)
    assert harness.rows("SELECT COUNT(*) FROM {s}.lumina_quarantine")[0][0] == 3, "nothing quarantined twice"


@pytest.mark.integration
def test_a_run_whose_lake_is_another_environments_refuses_to_start(
    harness: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import socket

    import boto3
    from moto.server import ThreadedMotoServer

    # Another checkout's S3 sandbox, and a lake connection imported for it: this environment's lake is
    # the test server (LUMINA_S3_ENDPOINT, set by conftest).
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    other = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    other.start()
    try:
        other_endpoint = f"http://127.0.0.1:{port}"
        other_s3 = boto3.client("s3", endpoint_url=other_endpoint, region_name="us-east-1")
        other_s3.create_bucket(Bucket="lumina-lake")
        monkeypatch.setenv(
            "AIRFLOW_CONN_LUMINA_LAKE",
            json.dumps({"conn_type": "aws", "extra": {"endpoint_url": other_endpoint, "region_name": "us-east-1"}}),
        )
        harness.drop(file_drops.accounts_initial(n=50))
        run = harness.run(CRM)
        states = harness.states(run)
        assert states["plan"] == "failed" and states["extract"] == "upstream_failed", states
        assert other_s3.list_objects_v2(Bucket="lumina-lake")["KeyCount"] == 0, "nothing staged in the other lake"
        assert harness.count("customer") == 0 and harness.count("lumina_state") == 0, "the warehouse is untouched"
    finally:
        other.stop()


@pytest.mark.integration
def test_changed_file_is_reloaded_and_its_rows_updated_not_duplicated(harness: Any) -> None:
    initial = file_drops.accounts_initial(n=100)
    harness.drop(initial)
    harness.load_result(harness.run(CRM))
    key = "crm/accounts/accounts_full_part1.csv"
    edited = initial.files[key].decode().replace("2026-11-01T00:", "2026-11-02T00:").replace("Company ", "Renamed ")
    changed = file_drops.Drop(files={key: edited.encode()})
    harness.drop(changed)
    result = harness.load_result(harness.run(CRM))
    assert result["rows_inserted"] == 0 and result["rows_updated"] > 0
    names = dict(harness.rows("SELECT source_id, name FROM {s}.customer"))
    assert len(names) == 98
    assert names["ACC-000001"] == "Renamed 1"
    assert harness.rows("SELECT COUNT(*) FROM {s}.lumina_source_ledger WHERE source_key = :k", k=key)[0][0] == 2


@pytest.mark.integration
def test_failure_between_copy_and_commit_leaves_no_trace(harness: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    harness.drop(file_drops.accounts_initial(n=50))
    real_write_audit = loader.write_audit

    def crash(*args: Any, **kwargs: Any) -> None:
        raise AirflowFailException("injected: the worker dies after COPY and merge, before commit")

    monkeypatch.setattr(loader, "write_audit", crash)
    failed = harness.run(CRM)
    assert harness.states(failed)["load"] == "failed"
    for table in ("customer", "lumina_source_ledger", "lumina_audit", "lumina_quarantine"):
        assert harness.count(table) == 0, table
    assert harness.watermark(CRM) is None

    monkeypatch.setattr(loader, "write_audit", real_write_audit)
    result = harness.load_result(harness.run(CRM))
    assert result["rows_inserted"] == 48
    assert harness.rows("SELECT COUNT(*) FROM {s}.customer")[0][0] == 48


@pytest.mark.integration
def test_erp_products_xml_and_fail_policy(harness: Any) -> None:
    products = file_drops.products(n=120)
    harness.drop(products)
    result = harness.load_result(harness.run(ERP))
    assert result["rows_inserted"] == 120
    rows = {
        r[0]: r[1:]
        for r in harness.rows(
            "SELECT source_id, name, currency, is_active, unit_price, source_updated_at FROM {s}.product"
        )
    }
    assert set(rows) == set(products.truth)
    for sku, record in products.truth.items():
        name, currency, active, price, updated = rows[sku]
        assert name == record["Name"] and currency == record["Currency"].upper()
        assert active is (record["Status"] == "ACTIVE")
        assert str(price) == f"{record['Amount']}00"
        assert updated.astimezone(UTC).strftime("%Y%m%d%H%M%S") != record["ChangedAt"], "Berlin -> UTC"

    broken = file_drops.Drop(
        files={
            "erp/products/catalog_bad.xml": (
                b'<Catalog><Product sku="MAT-X"><Name>Bad</Name>'
                b"<Price><Amount>-5</Amount><Currency>EUR</Currency></Price>"
                b"<Status>ACTIVE</Status><ChangedAt>20261102120000</ChangedAt></Product></Catalog>"
            )
        }
    )
    watermark = harness.watermark(ERP)
    harness.drop(broken)
    failed = harness.run(ERP)
    assert harness.states(failed)["validate"] == "failed" and harness.states(failed)["load"] != "success"
    assert harness.watermark(ERP) == watermark
    assert harness.rows("SELECT COUNT(*) FROM {s}.product WHERE source_id = 'MAT-X'")[0][0] == 0


@pytest.mark.integration
def test_helpdesk_json_with_hard_deletes_and_a_requested_window(harness: Any) -> None:
    initial = file_drops.tickets_initial(n=80)
    harness.drop(initial)
    first = harness.load_result(harness.run(HELPDESK))
    assert first["rows_inserted"] == 80 and first["rows_quarantined"] == 1  # the line that is not JSON
    delta = file_drops.tickets_delta(initial)
    harness.drop(delta)
    second = harness.load_result(harness.run(HELPDESK))
    assert (second["rows_updated"], second["rows_deleted"]) == (30, 5)
    live = {r[0]: r[1] for r in harness.rows("SELECT source_id, status FROM {s}.support_case")}
    expected = {sid: r for sid, r in delta.truth.items() if not r["deleted"]}
    assert set(live) == set(expected)
    assert all(live[sid] == "closed" for sid, r in expected.items() if r["state"] == "solved")

    # A manual run over an explicit window reprocesses it and never moves the live watermark.
    watermark = harness.watermark(HELPDESK)
    requested = harness.run(HELPDESK, run_conf={"window_start": "2000-01-01T00:00:00Z"})
    reprocessed = harness.load_result(requested)
    assert reprocessed["rows_staged"] == 80 + 35 and reprocessed["rows_inserted"] == 0
    assert reprocessed["rows_updated"] == 0 and reprocessed["rows_deleted"] == 0
    assert harness.watermark(HELPDESK) == watermark

    # The window's params end with their run: the next runs in this process, of this DAG and of another,
    # continue from their watermarks (Airflow writes a run's conf into the DAG's Param objects in place).
    for dag_id in (HELPDESK, CRM):
        plan = harness.run(dag_id).get_task_instance("plan").xcom_pull(task_ids="plan")
        assert plan["advance_watermark"] is True, plan["reason"]
        assert plan["reason"] in ("continues from the watermark", "first load")


@pytest.mark.integration
def test_hand_written_taskflow_dag_reuses_the_operators(harness: Any) -> None:
    harness.drop(file_drops.tickets_initial(n=60))
    run = harness.run("example_taskflow_support_cases")
    assert harness.load_result(run)["rows_inserted"] == 60
    reported = run.get_task_instance("report_urgent_open_cases").xcom_pull(task_ids="report_urgent_open_cases")
    expected = harness.rows(
        "SELECT COUNT(*) FROM {s}.support_case WHERE status <> 'closed' AND priority IN ('high', 'critical')"
    )[0][0]
    assert reported == expected and expected > 0


def backdate(bucket: str, key: str, when: datetime) -> None:
    """Give an object the LastModified S3 gives a multipart upload: the time it was initiated.

    A large export whose upload began before the lookback looks older than every window once it
    completes. moto stamps the completion instead, so the test sets the stamp as S3 would.
    """
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    stored = s3_backends[DEFAULT_ACCOUNT_ID]["global"].get_object(bucket, key)
    assert stored is not None
    stored.last_modified = when.astimezone(UTC).replace(tzinfo=None)


@pytest.mark.integration
def test_a_replaced_file_stamped_below_the_window_is_read_by_reconcile(harness: Any) -> None:
    initial = file_drops.accounts_initial(n=100)
    harness.drop(initial)
    harness.load_result(harness.run(CRM))
    key = "crm/accounts/accounts_full_part1.csv"
    edited = initial.files[key].decode().replace("2026-11-01T00:", "2026-11-02T00:").replace("Company ", "Renamed ")
    harness.drop(file_drops.Drop(files={key: edited.encode()}))  # a new version: a new ETag
    backdate("lumina-landing", key, datetime.now(UTC) - timedelta(hours=2))  # below the 1-hour lookback
    missed = harness.load_result(harness.run(CRM))
    assert missed["rows_staged"] == 0, "the incremental window saw the backdated file"
    watermark = harness.watermark(CRM)

    reconciled = harness.load_result(harness.run(f"{CRM}__reconcile"))
    assert reconciled["rows_inserted"] == 0 and reconciled["rows_updated"] > 0
    names = {r["AccountId"]: r["AccountName"].strip() for r in csv.DictReader(io.StringIO(edited))}
    stored = dict(harness.rows("SELECT source_id, name FROM {s}.customer WHERE source_id = ANY(:i)", i=list(names)))
    assert stored and all(stored[i] == names[i] for i in stored)
    assert any(name.startswith("Renamed ") for name in stored.values())
    assert harness.watermark(CRM) == watermark
    # The ledger now holds the new version: the next reconcile reads no file.
    assert harness.load_result(harness.run(f"{CRM}__reconcile"))["rows_staged"] == 0
