"""Bulk API 2.0 against the sandbox: query job lifecycle, locators, snapshots, failures, ingest write-back."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

from sandbox_client import url

from lumina_sandbox.salesforce.server import SandboxServer


def wait(api: Any, server: SandboxServer, job_id: str, kind: str = "query") -> dict[str, Any]:
    for _ in range(400):
        info: dict[str, Any] = api.get(url(server, f"jobs/{kind}/{job_id}")).json()
        if info["state"] in ("JobComplete", "Failed", "Aborted"):
            return info
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish")


def pages(api: Any, server: SandboxServer, job_id: str, max_records: int) -> list[tuple[str, str, int]]:
    """(body, next locator, record count) of every page."""
    result, locator = [], ""
    while True:
        params: dict[str, Any] = {"maxRecords": max_records, **({"locator": locator} if locator else {})}
        response = api.get(url(server, f"jobs/query/{job_id}/results"), params=params)
        assert response.status_code == 200, response.text
        locator = response.headers["Sforce-Locator"]
        result.append((response.text, locator, int(response.headers["Sforce-NumberOfRecords"])))
        if locator == "null":
            return result


def test_query_job_lifecycle_locators_and_refetch(server: SandboxServer, api: Any) -> None:
    server.org.settings(bulk_processing_delay=0.3)
    soql = "SELECT Id, Name, IsDeleted, CreatedDate, AnnualRevenue, Description FROM Account ORDER BY Id"
    created = api.post(url(server, "jobs/query"), json={"operation": "query", "query": soql})
    assert created.status_code == 200
    job = created.json()
    assert job["state"] == "UploadComplete" and job["object"] == "Account" and job["contentType"] == "CSV"
    assert {"id", "operation", "createdDate", "concurrencyMode", "apiVersion", "lineEnding", "columnDelimiter"} <= set(
        job
    )
    states = {api.get(url(server, f"jobs/query/{job['id']}")).json()["state"]}
    info = wait(api, server, job["id"])
    states.add(info["state"])
    assert states >= {"UploadComplete", "JobComplete"}
    truth = server.org.truth("Account", ["Id", "Name"])
    assert info["numberRecordsProcessed"] == len(truth)
    assert info["jobType"] == "V2Query" and "totalProcessingTime" in info

    listed = pages(api, server, job["id"], 50)
    assert [count for _, _, count in listed][:-1] == [50] * (len(listed) - 1)
    rows = [row for body, _, _ in listed for row in list(csv.DictReader(io.StringIO(body)))]
    assert [r["Id"] for r in rows] == [t["Id"] for t in truth]
    assert [r["Name"] for r in rows] == [t["Name"] for t in truth]
    first_body = listed[0][0]
    assert first_body.startswith('"Id","Name","IsDeleted","CreatedDate","AnnualRevenue","Description"\n')
    sample = first_body.splitlines()[1]
    assert sample.startswith('"001') and '"false"' in sample
    assert all(r["CreatedDate"].endswith("Z") and len(r["CreatedDate"]) == 24 for r in rows)

    # results are a snapshot of job completion and any page can be fetched again
    server.org.update("Account", [{"Id": truth[60]["Id"], "Name": "Changed After The Job"}])
    second_locator = listed[0][1]
    again = api.get(
        url(server, f"jobs/query/{job['id']}/results"), params={"locator": second_locator, "maxRecords": 50}
    )
    assert again.text == listed[1][0]
    assert "Changed After The Job" not in "".join(body for body, _, _ in pages(api, server, job["id"], 1000))

    assert api.delete(url(server, f"jobs/query/{job['id']}")).status_code == 204
    assert api.get(url(server, f"jobs/query/{job['id']}")).status_code == 404


def test_simple_salesforce_bulk2_query(sf: Any, server: SandboxServer) -> None:
    results = list(sf.bulk2.Lead.query("SELECT Id, Company FROM Lead", max_records=100, wait=0.05))
    rows = [row for page in results for row in csv.DictReader(io.StringIO(page))]
    assert len(rows) == len(server.org.ids("Lead"))


def test_query_all_job_includes_deleted_records(server: SandboxServer, api: Any) -> None:
    everything = server.org.ids("Account", include_deleted=True)
    job = api.post(url(server, "jobs/query"), json={"operation": "queryAll", "query": "SELECT Id FROM Account"}).json()
    assert wait(api, server, job["id"])["numberRecordsProcessed"] == len(everything)


def test_abort_query_job(server: SandboxServer, api: Any) -> None:
    server.org.settings(bulk_processing_delay=5)
    job = api.post(url(server, "jobs/query"), json={"operation": "query", "query": "SELECT Id FROM Account"}).json()
    aborted = api.patch(url(server, f"jobs/query/{job['id']}"), json={"state": "Aborted"})
    assert aborted.status_code == 200 and aborted.json()["state"] == "Aborted"
    assert api.get(url(server, f"jobs/query/{job['id']}")).json()["state"] == "Aborted"
    results = api.get(url(server, f"jobs/query/{job['id']}/results"))
    assert results.status_code == 400
    listed = api.get(url(server, "jobs/query")).json()
    assert job["id"] in {j["id"] for j in listed["records"]}


def test_compound_fields_fail_the_job(server: SandboxServer, api: Any) -> None:
    job = api.post(
        url(server, "jobs/query"), json={"operation": "query", "query": "SELECT Id, BillingAddress FROM Account"}
    )
    info = wait(api, server, job.json()["id"])
    assert info["state"] == "Failed"
    assert info["errorMessage"] == "FUNCTIONALITY_NOT_ENABLED: Selecting compound data not supported in Bulk Query"


def test_bad_soql_is_refused_at_creation(server: SandboxServer, api: Any) -> None:
    response = api.post(url(server, "jobs/query"), json={"operation": "query", "query": "SELECT Nope FROM Account"})
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "INVALID_FIELD"


def test_query_timeout_fails_big_jobs(server: SandboxServer, api: Any) -> None:
    server.control.add_fault("bulk_create", "query_timeout", threshold=10)
    used = server.org.limits.bulk_query_jobs_used
    job = api.post(url(server, "jobs/query"), json={"operation": "query", "query": "SELECT Id FROM Contact"}).json()
    info = wait(api, server, job["id"])
    assert info["state"] == "Failed" and "QUERY_TIMEOUT" in info["errorMessage"]
    assert server.org.limits.bulk_query_jobs_used == used + 1


def test_ingest_upsert_with_simple_salesforce(server: SandboxServer, sf: Any) -> None:
    records = [
        {"SAP_Customer_Number__c": "7700000001", "Name": "Bulk One", "Region__c": "EMEA"},
        {"SAP_Customer_Number__c": "7700000002", "Name": "Bulk Two", "Region__c": "Atlantis"},
        {"SAP_Customer_Number__c": "7700000003", "Name": 'Bulk Three, "Quoted"', "Region__c": "NA"},
    ]
    result = sf.bulk2.Account.upsert(records=records, external_id_field="SAP_Customer_Number__c", wait=0.05)
    assert result[0]["numberRecordsProcessed"] == 3 and result[0]["numberRecordsFailed"] == 1
    job_id = result[0]["job_id"]
    ok = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_successful_records(job_id))))
    failed = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_failed_records(job_id))))
    assert {r["SAP_Customer_Number__c"] for r in ok} == {"7700000001", "7700000003"}
    assert all(r["sf__Created"] == "true" and r["sf__Id"].startswith("001") for r in ok)
    assert failed[0]["sf__Error"].startswith("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:")
    stored = {r["SAP_Customer_Number__c"]: r for r in server.org.truth("Account", ["SAP_Customer_Number__c", "Name"])}
    assert stored["7700000003"]["Name"] == 'Bulk Three, "Quoted"'

    second = sf.bulk2.Account.upsert(
        records=[{"SAP_Customer_Number__c": "7700000001", "Name": "Bulk One Renamed"}],
        external_id_field="SAP_Customer_Number__c",
        wait=0.05,
    )
    updated = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_successful_records(second[0]["job_id"]))))
    assert updated[0]["sf__Created"] == "false"


def test_ingest_update_delete_and_failed_batches(server: SandboxServer, api: Any) -> None:
    ids = server.org.create("Lead", [{"LastName": f"Ingest {n}", "Company": "Ingest Co"} for n in range(3)])
    job = api.post(
        url(server, "jobs/ingest"), json={"object": "Lead", "operation": "update", "lineEnding": "LF"}
    ).json()
    assert job["state"] == "Open" and job["contentUrl"].endswith("/batches")
    data = f"Id,Company,Email\n{ids[0]},New Co,#N/A\n{ids[1]},,not-an-email\n"
    upload = api.put(
        url(server, f"jobs/ingest/{job['id']}/batches"), data=data.encode(), headers={"Content-Type": "text/csv"}
    )
    assert upload.status_code == 201
    assert api.patch(url(server, f"jobs/ingest/{job['id']}"), json={"state": "UploadComplete"}).status_code == 200
    info = wait(api, server, job["id"], "ingest")
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == ("JobComplete", 2, 1)
    failed = api.get(url(server, f"jobs/ingest/{job['id']}/failedResults/")).text
    assert failed.splitlines()[0] == '"sf__Id","sf__Error","Id","Company","Email"'
    assert "INVALID_EMAIL_ADDRESS" in failed
    companies = {r["Id"]: r["Company"] for r in server.org.truth("Lead", ["Id", "Company"])}
    assert companies[ids[0]] == "New Co" and companies[ids[1]] == "Ingest Co"

    removal = api.post(url(server, "jobs/ingest"), json={"object": "Lead", "operation": "hardDelete"}).json()
    api.put(
        url(server, f"jobs/ingest/{removal['id']}/batches"),
        data=f"Id\n{ids[2]}\n",
        headers={"Content-Type": "text/csv"},
    )
    api.patch(url(server, f"jobs/ingest/{removal['id']}"), json={"state": "UploadComplete"})
    assert wait(api, server, removal["id"], "ingest")["numberRecordsFailed"] == 0
    assert ids[2] not in server.org.ids("Lead", include_deleted=True)

    broken = api.post(url(server, "jobs/ingest"), json={"object": "Lead", "operation": "insert"}).json()
    api.put(
        url(server, f"jobs/ingest/{broken['id']}/batches"), data=b"Nope__c\nx\n", headers={"Content-Type": "text/csv"}
    )
    api.patch(url(server, f"jobs/ingest/{broken['id']}"), json={"state": "UploadComplete"})
    failed_job = wait(api, server, broken["id"], "ingest")
    assert failed_job["state"] == "Failed" and "Nope__c" in failed_job["errorMessage"]
