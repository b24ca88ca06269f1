"""REST resources of the sandbox: describe shapes, sObject rows, get deleted/updated, limits, headers, 414."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import pytest
from sandbox_client import http_session, url
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from lumina_sandbox.salesforce.server import SandboxServer

FIELD_KEYS = {
    "aggregatable",
    "autoNumber",
    "byteLength",
    "calculated",
    "calculatedFormula",
    "caseSensitive",
    "compoundFieldName",
    "createable",
    "custom",
    "defaultValue",
    "defaultedOnCreate",
    "digits",
    "externalId",
    "filterable",
    "groupable",
    "idLookup",
    "label",
    "length",
    "name",
    "nameField",
    "nillable",
    "picklistValues",
    "precision",
    "referenceTo",
    "relationshipName",
    "restrictedPicklist",
    "scale",
    "soapType",
    "sortable",
    "type",
    "unique",
    "updateable",
}


def test_versions_and_resources(server: SandboxServer, api: Any) -> None:
    versions = http_session(server).get(f"{server.base_url}/services/data/").json()
    assert versions[0] == {"label": "Winter '21", "url": "/services/data/v50.0", "version": "50.0"}
    assert versions[-1]["version"] == "63.0"
    assert api.get(f"{server.base_url}/services/data/v49.0/limits").status_code == 404
    assert api.get(f"{server.base_url}/services/data/v63.0/limits").status_code == 200


def test_describe_global(sf: Any) -> None:
    described = sf.describe()
    assert described["encoding"] == "UTF-8" and described["maxBatchSize"] == 200
    by_name = {s["name"]: s for s in described["sobjects"]}
    assert {"Account", "Contact", "Opportunity", "Lead", "Case", "User", "Invoice__c", "AccountHistory"} <= set(by_name)
    account = by_name["Account"]
    assert account["keyPrefix"] == "001" and account["queryable"] and account["replicateable"]
    assert by_name["Invoice__c"]["custom"] is True
    assert account["urls"]["describe"] == "/services/data/v62.0/sobjects/Account/describe"


def test_describe_fields_are_real_shaped(sf: Any) -> None:
    described = sf.Account.describe()
    assert described["name"] == "Account" and described["keyPrefix"] == "001"
    assert {"Contacts", "Opportunities", "Cases"} <= {c["relationshipName"] for c in described["childRelationships"]}
    fields = {f["name"]: f for f in described["fields"]}
    for field in fields.values():
        assert set(field) >= FIELD_KEYS
    assert fields["Id"]["type"] == "id" and fields["Id"]["soapType"] == "tns:ID" and fields["Id"]["length"] == 18
    assert fields["BillingAddress"]["type"] == "address" and fields["BillingAddress"]["soapType"] == "urn:address"
    assert fields["BillingCity"]["compoundFieldName"] == "BillingAddress"
    assert fields["AnnualRevenue"]["type"] == "currency" and fields["AnnualRevenue"]["soapType"] == "xsd:double"
    assert fields["NumberOfEmployees"]["soapType"] == "xsd:int"
    assert fields["SystemModstamp"]["soapType"] == "xsd:dateTime"
    assert fields["Description"]["type"] == "textarea" and fields["Description"]["filterable"] is False
    assert fields["OwnerId"]["referenceTo"] == ["User"] and fields["OwnerId"]["relationshipName"] == "Owner"
    assert fields["SAP_Customer_Number__c"]["externalId"] is True and fields["SAP_Customer_Number__c"]["length"] == 10
    region = fields["Region__c"]
    assert region["restrictedPicklist"] is True
    assert {"value": "NA", "label": "North America", "active": True, "defaultValue": False, "validFor": None} in region[
        "picklistValues"
    ]
    contact = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert contact["Account_Name__c"]["calculated"] is True
    assert contact["Account_Name__c"]["calculatedFormula"] == "Account.Name"
    assert contact["Birthdate"]["soapType"] == "xsd:date"
    history = {f["name"] for f in sf.AccountHistory.describe()["fields"]}
    assert "CreatedDate" in history and "SystemModstamp" not in history and "LastModifiedDate" not in history
    users = {f["name"] for f in sf.User.describe()["fields"]}
    assert "IsDeleted" not in users


def test_wide_object_describe_and_414_for_a_select_of_every_field(server: SandboxServer, api: Any) -> None:
    fields = [f["name"] for f in api.get(url(server, "sobjects/Invoice__c/describe")).json()["fields"]]
    assert len(fields) > 450
    soql = f"SELECT {', '.join(fields)} FROM Invoice__c"
    assert len(f"/services/data/v62.0/query/?q={quote(soql)}") > 16_384
    response = api.get(url(server, "query/"), params={"q": soql})
    assert response.status_code == 414
    assert "Sforce-Limit-Info" not in response.headers
    narrow = api.get(url(server, "query/"), params={"q": f"SELECT {', '.join(fields[:40])} FROM Invoice__c"})
    assert narrow.status_code == 200
    assert narrow.json()["records"][0]["Name"].startswith("INV-")


def test_headers_over_the_limit_are_431(server: SandboxServer, api: Any) -> None:
    response = api.get(url(server, "limits/"), headers={"X-Padding": "x" * 16_300})
    assert response.status_code == 431


def test_limits_usage_header_and_the_daily_limit(server: SandboxServer, sf: Any, api: Any) -> None:
    server.control.set_api_limit(50, used=40)
    first = api.get(url(server, "limits/"))
    assert first.headers["Sforce-Limit-Info"] == "api-usage=41/50"
    assert first.json()["DailyApiRequests"] == {"Max": 50, "Remaining": 9}
    assert {"DailyBulkV2QueryJobs", "DailyBulkV2QueryFileStorageMB", "DailyBulkApiBatches"} <= set(first.json())
    sf.query("SELECT COUNT() FROM Account")
    assert sf.api_usage["api-usage"].used == 42
    server.control.set_api_limit(50, used=50)
    refused = api.get(url(server, "limits/"))
    assert refused.status_code == 403
    assert refused.json() == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=50/50"
    with pytest.raises(SalesforceRefusedRequest):
        sf.query("SELECT COUNT() FROM Account")
    token = http_session(server).post(
        f"{server.base_url}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": server.credentials.client_id,
            "client_secret": server.credentials.client_secret,
        },
    )
    assert token.status_code == 200  # logins do not count against the API limit


def test_date_header_comes_from_the_sandbox_clock(server: SandboxServer, api: Any) -> None:
    server.org.settings(session_ttl_seconds=10 * 86400)
    before = parsedate_to_datetime(api.get(url(server, "limits/")).headers["Date"])
    assert abs((before - datetime.now(UTC)).total_seconds()) < 5
    server.control.advance(86_400)
    fresh = http_session(server).get(f"{server.base_url}/services/data/")
    assert parsedate_to_datetime(fresh.headers["Date"]) - before >= timedelta(hours=23, minutes=59)
    assert "server" not in {k.lower() for k in fresh.headers}


def test_record_crud_and_validation_errors(server: SandboxServer, sf: Any) -> None:
    created = sf.Account.create({"Name": "Crud Test AG", "Region__c": "NA", "NumberOfEmployees": 12})
    assert created["success"] is True and created["errors"] == []
    record = sf.Account.get(created["id"])
    assert record["Name"] == "Crud Test AG" and record["Region__c"] == "NA" and record["Description"] is None
    assert record["CreatedById"] == server.credentials.user_id
    assert sf.Account.update(created["id"], {"Phone": "", "Description": 'Änderung, "quoted"'}) == 204
    updated = sf.Account.get(created["id"])
    assert updated["Phone"] is None and updated["Description"] == 'Änderung, "quoted"'
    assert updated["SystemModstamp"] >= record["SystemModstamp"]

    failures = [
        ({}, "REQUIRED_FIELD_MISSING"),
        ({"Name": "x", "Nope__c": 1}, "INVALID_FIELD"),
        ({"Name": "x" * 256}, "STRING_TOO_LONG"),
        ({"Name": "x", "Region__c": "Mars"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"Name": "x", "NumberOfEmployees": "many"}, "JSON_PARSER_ERROR"),
        ({"Name": "x", "ParentId": "001000000000000"}, "INVALID_CROSS_REFERENCE_KEY"),
        ({"Name": "x", "IsDeleted": True}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
    ]
    for body, code in failures:
        with pytest.raises(SalesforceMalformedRequest) as failure:
            sf.Account.create(body)
        assert failure.value.content[0]["errorCode"] == code, body
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.Account.create({"Phone": "1"})
    assert missing.value.content == [
        {"message": "Required fields are missing: [Name]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Name"]}
    ]

    assert sf.Account.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as gone:
        sf.Account.get(created["id"])
    assert gone.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    with pytest.raises(SalesforceResourceNotFound) as missing_record:
        sf.Account.get("001" + "5g0" + "000000zzz" + "AAA")
    assert missing_record.value.content[0]["errorCode"] == "NOT_FOUND"


def test_upsert_by_external_id(server: SandboxServer, sf: Any, api: Any) -> None:
    created = api.patch(url(server, "sobjects/Account/SAP_Customer_Number__c/9900000001"), json={"Name": "Upsert GmbH"})
    assert created.status_code == 201 and created.json()["created"] is True
    again = api.patch(url(server, "sobjects/Account/SAP_Customer_Number__c/9900000001"), json={"Rating": "Hot"})
    assert again.status_code == 200 and again.json() == {**created.json(), "created": False}
    record = sf.Account.get_by_custom_id("SAP_Customer_Number__c", "9900000001")
    assert (record["Name"], record["Rating"]) == ("Upsert GmbH", "Hot")
    bad = api.patch(url(server, "sobjects/Account/Phone/123"), json={"Name": "x"})
    assert bad.status_code == 404


def test_deleted_and_updated_resources(server: SandboxServer, sf: Any) -> None:
    org = server.org
    start = org.now() - timedelta(minutes=5)
    ids = org.create("Contact", [{"LastName": f"Gone {n}"} for n in range(3)])
    org.delete("Contact", ids[:2])
    org.purge("Contact", ids[1:2])
    org.purge("Contact", ids[2:3])
    end = org.now() + timedelta(minutes=2)
    in_this_minute = sf.Contact.deleted(start, end)
    # the minute still under way is not covered yet: latestDateCovered says where the next call starts
    assert ids[0] not in {d["id"] for d in in_this_minute["deletedRecords"]}
    assert in_this_minute["latestDateCovered"] <= org.now().strftime("%Y-%m-%dT%H:%M:00.000+0000")
    org.advance(61)
    deleted = sf.Contact.deleted(start, end)
    found = {d["id"] for d in deleted["deletedRecords"]}
    assert ids[0] in found and ids[1] not in found and ids[2] not in found
    assert all(d["deletedDate"].endswith("+0000") for d in deleted["deletedRecords"])
    assert {"earliestDateAvailable", "latestDateCovered"} <= set(deleted)
    everything = {r["Id"] for r in sf.query_all("SELECT Id FROM Contact", include_deleted=True)["records"]}
    assert ids[0] in everything and ids[1] not in everything and ids[2] not in everything

    changed = org.create("Contact", [{"LastName": "Fresh"}])
    org.advance(61)
    updated = sf.Contact.updated(start, org.now() + timedelta(minutes=2))
    assert changed[0] in updated["ids"] and ids[0] not in updated["ids"]

    with pytest.raises(SalesforceMalformedRequest) as backwards:
        sf.Contact.deleted(end, start)
    assert backwards.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    with pytest.raises(SalesforceMalformedRequest) as too_old:
        sf.Contact.deleted(org.now() - timedelta(days=40), org.now())
    assert too_old.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    # The start must precede the end by more than a minute (seconds are ignored) ...
    minute = org.now().replace(second=0, microsecond=0) - timedelta(minutes=10)
    with pytest.raises(SalesforceMalformedRequest) as one_minute:
        sf.Contact.deleted(minute, minute + timedelta(minutes=1, seconds=59))
    assert one_minute.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    assert "deletedRecords" in sf.Contact.deleted(minute, minute + timedelta(minutes=2))
    # ... and lie within 30 days of the server's now, whatever the end.
    with pytest.raises(SalesforceMalformedRequest) as old_window:
        sf.Contact.deleted(org.now() - timedelta(days=31), org.now() - timedelta(days=20))
    assert "30 days" in old_window.value.content[0]["message"]
    assert "deletedRecords" in sf.Contact.deleted(org.now() - timedelta(days=29), org.now() - timedelta(days=20))


def test_recycle_bin_keeps_deleted_records_for_15_days(server: SandboxServer) -> None:
    org = server.org
    ids = org.create("Lead", [{"LastName": "Binned", "Company": "Bin Co"}])
    org.delete("Lead", ids)
    assert ids[0] in org.ids("Lead", include_deleted=True)
    org.advance(16 * 86400)
    assert ids[0] not in org.ids("Lead", include_deleted=True)


def test_unknown_resources_answer_not_found(server: SandboxServer, api: Any) -> None:
    response = api.get(url(server, "nothing/here"))
    assert response.status_code == 404
    assert response.json() == [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
    unknown = api.get(url(server, "sobjects/Nope__c/describe"))
    assert unknown.status_code == 400 and unknown.json()[0]["errorCode"] == "INVALID_TYPE"
