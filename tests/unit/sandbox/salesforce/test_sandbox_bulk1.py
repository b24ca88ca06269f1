"""Bulk API 1.0 against the sandbox: simple-salesforce's SFBulkHandler and raw JSON/CSV jobs."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from typing import Any

import pytest
import requests
from sandbox_client import VERSION, http_session, password_token

from lumina_sandbox.salesforce.server import SandboxServer


@pytest.fixture
def async_api(server: SandboxServer) -> requests.Session:
    """A requests session with Bulk 1.0's session header; URLs are relative to ``/services/async/62.0/``."""
    session = http_session(server)
    session.headers["X-SFDC-Session"] = password_token(server)["access_token"]
    session.headers["Content-Type"] = "application/json"
    return session


def job_url(server: SandboxServer, path: str = "") -> str:
    return f"{server.base_url}/services/async/{VERSION}/job{path}"


def epoch_ms(text: str | None) -> int | None:
    if text is None:
        return None
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)


def test_the_session_travels_in_x_sfdc_session(server: SandboxServer) -> None:
    token = password_token(server)["access_token"]
    body = {"operation": "query", "object": "Account", "contentType": "JSON"}
    for headers in ({}, {"Authorization": f"Bearer {token}"}, {"X-SFDC-Session": "guess"}):
        refused = http_session(server).post(job_url(server), json=body, headers=headers)
        assert refused.status_code == 400
        assert refused.json() == {"exceptionCode": "InvalidSessionId", "exceptionMessage": "Invalid session id"}
    created = http_session(server).post(job_url(server), json=body, headers={"X-SFDC-Session": token})
    assert created.status_code == 201 and created.json()["state"] == "Open"


def test_simple_salesforce_bulk_query_matches_the_org_with_epoch_millisecond_stamps(
    server: SandboxServer, sf: Any
) -> None:
    org = server.org
    soql = "SELECT Id, Name, AnnualRevenue, SystemModstamp FROM Account ORDER BY Id"
    records = sf.bulk.Account.query(soql)
    truth = org.truth("Account", ["Id", "Name", "AnnualRevenue", "SystemModstamp"])
    assert [r["Id"] for r in records] == [r["Id"] for r in truth]
    assert records[0]["attributes"]["type"] == "Account"
    assert [r["SystemModstamp"] for r in records] == [epoch_ms(r["SystemModstamp"]) for r in truth]
    assert [(r["Name"], r["AnnualRevenue"]) for r in records] == [(r["Name"], r["AnnualRevenue"]) for r in truth]
    gone = sorted(org.ids("Account"))[0]
    org.delete("Account", [gone])
    assert gone not in {r["Id"] for r in sf.bulk.Account.query("SELECT Id FROM Account")}
    assert gone in {r["Id"] for r in sf.bulk.Account.query_all("SELECT Id, IsDeleted FROM Account")}


def test_a_bad_query_fails_its_batch_with_the_reason(server: SandboxServer, sf: Any) -> None:
    from simple_salesforce.exceptions import SalesforceGeneralError

    with pytest.raises(SalesforceGeneralError) as failed:
        sf.bulk.Account.query("SELECT Id, NoSuchField__c FROM Account")
    assert "InvalidBatch" in str(failed.value.content) and "NoSuchField__c" in str(failed.value.content)


def test_simple_salesforce_bulk_dml_reports_each_record_in_input_order(server: SandboxServer, sf: Any) -> None:
    org = server.org
    tag = uuid.uuid4().hex[:6]
    inserted = sf.bulk.Account.insert([{"Name": f"One {tag}"}, {"Rating": "Hot"}, {"Name": f"Two {tag}"}], batch_size=2)
    assert [r["success"] for r in inserted] == [True, False, True]
    assert inserted[1]["errors"] == [
        {"fields": ["Name"], "message": "Required fields are missing: [Name]", "statusCode": "REQUIRED_FIELD_MISSING"}
    ]
    first, second = inserted[0]["id"], inserted[2]["id"]
    updated = sf.bulk.Account.update([{"Id": first, "Rating": "Warm"}, {"Id": "001000000000000AAA", "Rating": "Hot"}])
    assert [r["success"] for r in updated] == [True, False] and updated[1]["id"] == "001000000000000AAA"
    assert {r["Id"]: r["Rating"] for r in org.truth("Account", ["Id", "Rating"])}[first] == "Warm"
    upserted = sf.bulk.Account.upsert([{"Id": second, "Name": f"Two again {tag}"}, {"Name": f"Three {tag}"}], "Id")
    assert [(r["success"], r["created"]) for r in upserted] == [(True, False), (True, True)]
    sf.bulk.Account.hard_delete([{"Id": upserted[1]["id"]}])
    sf.bulk.Account.delete([{"Id": second}])
    assert second in org.ids("Account", include_deleted=True) - org.ids("Account")
    assert upserted[1]["id"] not in org.ids("Account", include_deleted=True)


def test_a_csv_ingest_job_and_its_lifecycle(server: SandboxServer, async_api: requests.Session) -> None:
    org = server.org
    tag = uuid.uuid4().hex[:6]
    job = async_api.post(job_url(server), json={"operation": "insert", "object": "Account", "contentType": "CSV"})
    assert job.status_code == 201, job.text
    job_id = job.json()["id"]
    upload = f'Name,NumberOfEmployees\n"CSV, one {tag}",12\n,3\nCSV two {tag},many\n'
    batch = async_api.post(job_url(server, f"/{job_id}/batch"), data=upload, headers={"Content-Type": "text/csv"})
    assert batch.status_code == 201 and batch.json()["state"] == "Queued"
    batch_id = batch.json()["id"]
    status = async_api.get(job_url(server, f"/{job_id}/batch/{batch_id}")).json()
    assert (status["state"], status["numberRecordsProcessed"], status["numberRecordsFailed"]) == ("Completed", 3, 2)
    result = async_api.get(job_url(server, f"/{job_id}/batch/{batch_id}/result"))
    rows = list(csv.DictReader(io.StringIO(result.text)))
    assert [(r["Success"], r["Created"]) for r in rows] == [("true", "true"), ("false", "false"), ("false", "false")]
    assert rows[1]["Error"].startswith("REQUIRED_FIELD_MISSING:") and rows[2]["Error"].startswith("JSON_PARSER_ERROR")
    assert {r["Id"]: r["Name"] for r in org.truth("Account", ["Id", "Name"])}[rows[0]["Id"]] == f"CSV, one {tag}"
    assert async_api.get(job_url(server, f"/{job_id}/batch/{batch_id}/request")).text == upload
    info = async_api.get(job_url(server, f"/{job_id}")).json()
    assert (info["numberBatchesTotal"], info["numberBatchesCompleted"], info["numberRecordsFailed"]) == (1, 1, 2)
    closed = async_api.post(job_url(server, f"/{job_id}"), json={"state": "Closed"})
    assert closed.json()["state"] == "Closed"
    late = async_api.post(job_url(server, f"/{job_id}/batch"), data=upload, headers={"Content-Type": "text/csv"})
    assert late.status_code == 400 and late.json()["exceptionCode"] == "InvalidJobState"


def test_a_csv_query_job_and_bad_jobs(server: SandboxServer, async_api: requests.Session) -> None:
    job_id = async_api.post(
        job_url(server), json={"operation": "query", "object": "Lead", "contentType": "CSV"}
    ).json()["id"]
    batch = async_api.post(job_url(server, f"/{job_id}/batch"), data="SELECT Id, LastName FROM Lead ORDER BY Id")
    batch_id = batch.json()["id"]
    result_ids = async_api.get(job_url(server, f"/{job_id}/batch/{batch_id}/result")).json()
    body = async_api.get(job_url(server, f"/{job_id}/batch/{batch_id}/result/{result_ids[0]}")).text
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows == [{"Id": r["Id"], "LastName": r["LastName"]} for r in server.org.truth("Lead", ["Id", "LastName"])]
    for body, code in (
        ({"operation": "merge", "object": "Account", "contentType": "JSON"}, "InvalidJob"),
        ({"operation": "insert", "object": "Nope__c", "contentType": "JSON"}, "InvalidJob"),
        (
            {"operation": "upsert", "object": "Account", "contentType": "JSON", "externalIdFieldName": "Name"},
            "InvalidJob",
        ),
    ):
        refused = async_api.post(job_url(server), json=body)
        assert refused.status_code == 400 and refused.json()["exceptionCode"] == code
    xml = async_api.post(job_url(server), data="<jobInfo/>", headers={"Content-Type": "application/xml"})
    assert xml.status_code == 400 and "JSON" in xml.json()["exceptionMessage"]
