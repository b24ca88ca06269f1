"""The official provider and our adapter on the very same ``salesforce_default``, against the sandbox.

The provider's hook and operators build their simple-salesforce client from the connection alone (no CA
field: they verify TLS against ``REQUESTS_CA_BUNDLE``); our adapter reads the same fields through
``settings_from_connection``. Both must log in to the same org and see the same records.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lumina_integration.hooks.salesforce.hook import SalesforceAdapterHook
from lumina_integration.window import Window


@pytest.fixture
def provider(salesforce: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The sandbox, with the provider's requests sessions trusting its CA."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(salesforce.ca_path))
    return salesforce


def adapter_ids(obj: str) -> set[str]:
    hook = SalesforceAdapterHook()
    window = Window(None, hook.server_now() + timedelta(seconds=1))
    table = pa.Table.from_batches(list(hook.read(obj, window, {"transport": "rest"})))
    live = table.filter(pc.invert(table.column("IsDeleted")))
    return set(live.column("Id").to_pylist())


def test_the_provider_hook_and_the_adapter_read_the_same_salesforce_default(provider: Any) -> None:
    from airflow.providers.salesforce.hooks.salesforce import SalesforceHook

    hook = SalesforceHook()  # salesforce_default, as every provider operator uses it
    result = hook.make_query("SELECT Id, Name FROM Account")
    provider_ids = {r["Id"] for r in result["records"]}
    assert result["done"] and result["totalSize"] == len(provider_ids)
    assert hook.get_conn().sf_instance == provider.base_url.removeprefix("https://")
    assert provider_ids == provider.org.ids("Account") == adapter_ids("Account")
    ok, message = SalesforceAdapterHook().test_connection()
    assert ok, message


def test_the_provider_bulk_operator_inserts_upserts_and_deletes_in_the_sandbox(provider: Any) -> None:
    from airflow.providers.salesforce.operators.bulk import SalesforceBulkOperator

    def run(operation: str, payload: list[dict[str, Any]], **kwargs: Any) -> list[dict[str, Any]]:
        operator = SalesforceBulkOperator(
            task_id=f"bulk_{operation}", operation=operation, object_name="Account", payload=payload, **kwargs
        )
        return list(operator.execute({}))  # type: ignore[arg-type]

    org = provider.org
    tag = uuid.uuid4().hex[:6]
    inserted = run(
        "insert",
        [
            {"Name": f"Bulk one {tag}", "SAP_Customer_Number__c": f"B1{tag}"},
            {"Name": f"Bulk two {tag}"},
            {"Phone": "1"},
        ],
        batch_size=2,  # two batches: results still come back in input order
    )
    assert [r["success"] for r in inserted] == [True, True, False]
    assert inserted[2]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    new_ids = [r["id"] for r in inserted[:2]]
    assert all(r["created"] for r in inserted[:2])
    names = {r["Id"]: r["Name"] for r in org.truth("Account", ["Id", "Name"])}
    assert [names[i] for i in new_ids] == [f"Bulk one {tag}", f"Bulk two {tag}"]

    upserted = run(
        "upsert",
        [
            {"SAP_Customer_Number__c": f"B1{tag}", "Name": f"Bulk one renamed {tag}"},
            {"SAP_Customer_Number__c": f"B3{tag}", "Name": f"Bulk three {tag}"},
        ],
        external_id_field="SAP_Customer_Number__c",
    )
    assert [(r["success"], r["created"]) for r in upserted] == [(True, False), (True, True)]
    assert upserted[0]["id"] == new_ids[0]
    names = {r["Id"]: r["Name"] for r in org.truth("Account", ["Id", "Name"])}
    assert names[new_ids[0]] == f"Bulk one renamed {tag}" and names[upserted[1]["id"]] == f"Bulk three {tag}"

    deleted = run("delete", [{"Id": new_ids[1]}, {"Id": upserted[1]["id"]}])
    assert all(r["success"] for r in deleted)
    live = org.ids("Account")
    assert new_ids[0] in live and new_ids[1] not in live and upserted[1]["id"] not in live
    assert {new_ids[1], upserted[1]["id"]} <= org.ids("Account", include_deleted=True)


def test_salesforce_to_s3_reads_the_sandbox_through_the_same_connection(
    provider: Any, s3_endpoint: str, s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.providers.amazon.aws.transfers.salesforce_to_s3 import SalesforceToS3Operator

    monkeypatch.setenv(
        "AIRFLOW_CONN_PROVIDER_S3",
        json.dumps({"conn_type": "aws", "extra": {"endpoint_url": s3_endpoint, "region_name": "us-east-1"}}),
    )
    operator = SalesforceToS3Operator(
        task_id="accounts_to_s3",
        salesforce_query="SELECT Id, Name FROM Account WHERE Region__c = 'NA'",
        s3_bucket_name=bucket,
        s3_key="provider/accounts.csv",
        salesforce_conn_id="salesforce_default",
        aws_conn_id="provider_s3",
    )
    assert operator.execute({}) == f"s3://{bucket}/provider/accounts.csv"  # type: ignore[arg-type]
    body = s3.get_object(Bucket=bucket, Key="provider/accounts.csv")["Body"].read().decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    expected = {r["Id"] for r in provider.org.truth("Account", ["Id", "Region__c"]) if r["Region__c"] == "NA"}
    assert {r["id"] for r in rows} == expected and expected


def test_both_hooks_log_in_with_the_organization_id_instead_of_a_security_token(
    provider: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.providers.salesforce.hooks.salesforce import SalesforceHook

    creds = provider.credentials
    connection = json.loads(json.dumps(provider.connection))
    del connection["extra"]["security_token"]
    connection["extra"]["organization_id"] = creds.org_id
    monkeypatch.setenv("AIRFLOW_CONN_SF_IP_FILTERED", json.dumps(connection))
    records = SalesforceHook("sf_ip_filtered").make_query("SELECT Id FROM Account")["records"]
    assert {r["Id"] for r in records} == provider.org.ids("Account")
    ok, message = SalesforceAdapterHook("sf_ip_filtered").test_connection()
    assert ok, message
