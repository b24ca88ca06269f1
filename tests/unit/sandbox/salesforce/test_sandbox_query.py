"""REST query/queryAll against the sandbox: paging, cursors, SOQL semantics and errors, formulas, new fields."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sandbox_client import salesforce, url
from simple_salesforce.exceptions import SalesforceMalformedRequest

from lumina_sandbox.salesforce.clock import rest_text, to_storage
from lumina_sandbox.salesforce.server import SandboxServer


def all_pages(sf: Any, soql: str, include_deleted: bool = False) -> tuple[list[dict[str, Any]], list[int]]:
    page = sf.query(soql, include_deleted=include_deleted)
    records, sizes = list(page["records"]), [len(page["records"])]
    while not page["done"]:
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
        records += page["records"]
        sizes.append(len(page["records"]))
    return records, sizes


def test_paging_by_next_records_url_honours_batch_size(server: SandboxServer, sf: Any) -> None:
    sf.headers["Sforce-Query-Options"] = "batchSize=200"
    first = sf.query("SELECT Id, Name FROM Contact ORDER BY Id")
    assert first["done"] is False
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-200")
    records, sizes = all_pages(sf, "SELECT Id, Name FROM Contact ORDER BY Id")
    live = server.org.truth("Contact", ["Id", "Name"])
    assert records[0]["attributes"] == {
        "type": "Contact",
        "url": f"/services/data/v62.0/sobjects/Contact/{records[0]['Id']}",
    }
    assert [{"Id": r["Id"], "Name": r["Name"]} for r in records] == live
    assert sizes[:-1] == [200] * (len(sizes) - 1)
    assert first["totalSize"] == len(live)


def test_batch_size_is_clamped_to_200_and_pages_can_be_fetched_again(server: SandboxServer, api: Any) -> None:
    headers = {"Sforce-Query-Options": "batchSize=5"}
    first = api.get(url(server, "query/"), params={"q": "SELECT Id FROM Account"}, headers=headers).json()
    assert len(first["records"]) == 200 or first["done"]
    if not first["done"]:
        again = api.get(server.base_url + first["nextRecordsUrl"]).json()
        twice = api.get(server.base_url + first["nextRecordsUrl"]).json()
        assert again == twice


def test_query_excludes_and_query_all_includes_the_recycle_bin(server: SandboxServer, sf: Any) -> None:
    deleted = {
        r["Id"] for r in server.org.truth("Account", ["Id", "IsDeleted"], include_deleted=True) if r["IsDeleted"]
    }
    assert deleted, "the generator puts some accounts in the recycle bin"
    live, _ = all_pages(sf, "SELECT Id, IsDeleted FROM Account")
    everything, _ = all_pages(sf, "SELECT Id, IsDeleted FROM Account", include_deleted=True)
    assert not deleted & {r["Id"] for r in live}
    assert deleted <= {r["Id"] for r in everything}
    assert all(r["IsDeleted"] is True for r in everything if r["Id"] in deleted)


def test_count_query(server: SandboxServer, sf: Any) -> None:
    result = sf.query("SELECT COUNT() FROM Lead WHERE CountryCode = 'NA'")
    expected = [r for r in server.org.truth("Lead", ["Id", "CountryCode"]) if r["CountryCode"] == "NA"]
    assert result == {"totalSize": len(expected), "done": True, "records": []}
    assert expected, "Namibia is among the generated lead countries"


def test_order_by_desc_nulls_last_limit_offset(server: SandboxServer, sf: Any) -> None:
    result = sf.query(
        "SELECT Id, AnnualRevenue FROM Account ORDER BY AnnualRevenue DESC NULLS LAST, Id LIMIT 30 OFFSET 5"
    )
    truth = server.org.truth("Account", ["Id", "AnnualRevenue"])
    ordered = sorted(truth, key=lambda r: r["Id"])
    ordered = sorted(ordered, key=lambda r: (r["AnnualRevenue"] is None, -(r["AnnualRevenue"] or 0)))
    assert [r["Id"] for r in result["records"]] == [r["Id"] for r in ordered[5:35]]
    ascending = sf.query("SELECT Id, AnnualRevenue FROM Account ORDER BY AnnualRevenue LIMIT 3")["records"]
    assert ascending[0]["AnnualRevenue"] is None  # ASC puts nulls first by default


def test_text_equality_ignores_case_and_not_equal_includes_nulls(server: SandboxServer, sf: Any) -> None:
    truth = server.org.truth("Account", ["Id", "Region__c"])
    na = {r["Id"] for r in truth if r["Region__c"] == "NA"}
    assert {r["Id"] for r in sf.query_all("SELECT Id FROM Account WHERE Region__c = 'na'")["records"]} == na
    not_na = {r["Id"] for r in sf.query_all("SELECT Id FROM Account WHERE Region__c != 'NA'")["records"]}
    assert not_na == {r["Id"] for r in truth} - na
    assert any(r["Region__c"] is None for r in truth if r["Id"] in not_na)
    not_in = {
        r["Id"] for r in sf.query_all("SELECT Id FROM Account WHERE NOT (Region__c IN ('NA', 'EMEA'))")["records"]
    }
    assert not_in == {r["Id"] for r in truth if r["Region__c"] not in ("NA", "EMEA")}


def test_unicode_like_and_in(server: SandboxServer, sf: Any) -> None:
    truth = server.org.truth("Contact", ["Id", "FirstName"])
    expected = {r["Id"] for r in truth if (r["FirstName"] or "").lower() in ("zoë", "josé")}
    found = sf.query_all("SELECT Id FROM Contact WHERE FirstName IN ('ZOË', 'josé')")["records"]
    assert {r["Id"] for r in found} == expected
    liked = sf.query_all("SELECT Id FROM Contact WHERE FirstName LIKE 'jo%'")["records"]
    assert {r["Id"] for r in liked} == {r["Id"] for r in truth if (r["FirstName"] or "").lower().startswith("jo")}


def test_datetime_comparison_and_fifteen_character_ids(server: SandboxServer, sf: Any) -> None:
    truth = server.org.truth("Account", ["Id", "SystemModstamp"])
    pivot = sorted(r["SystemModstamp"] for r in truth)[len(truth) // 2]
    literal = pivot[:23] + "Z"
    newer = sf.query_all(f"SELECT Id FROM Account WHERE SystemModstamp > {literal}")["records"]
    assert {r["Id"] for r in newer} == {r["Id"] for r in truth if r["SystemModstamp"] > pivot}
    some_id = truth[3]["Id"]
    by_short = sf.query(f"SELECT Id FROM Account WHERE Id = '{some_id[:15]}'")["records"]
    assert [r["Id"] for r in by_short] == [some_id]
    by_lower = sf.query(f"SELECT Id FROM Account WHERE Id = '{some_id.lower()}'")["records"]
    assert [r["Id"] for r in by_lower] == [some_id]


def test_keyset_paging_through_ties_on_system_modstamp(server: SandboxServer, sf: Any) -> None:
    stamp = server.org.now() - timedelta(hours=1)
    ids = server.org.create("Account", [{"Name": f"Tie {n}"} for n in range(7)], modstamp=stamp)
    text = to_storage(stamp)
    seen: list[str] = []
    after_id = ""
    while True:
        soql = (
            f"SELECT Id FROM Account WHERE SystemModstamp = {text} AND Id > '{after_id or '000000000000000'}' "
            "ORDER BY SystemModstamp, Id LIMIT 3"
        )
        page = sf.query(soql)["records"]
        if not page:
            break
        seen += [r["Id"] for r in page]
        after_id = page[-1]["Id"]
    assert seen[-7:] == sorted(ids)
    assert all(
        r["SystemModstamp"] == rest_text(text)
        for r in server.org.truth("Account", ["Id", "SystemModstamp"])
        if r["Id"] in ids
    )


def test_a_cursor_is_a_snapshot_of_its_first_call(server: SandboxServer, sf: Any) -> None:
    sf.headers["Sforce-Query-Options"] = "batchSize=200"
    first = sf.query("SELECT Id, Name FROM Lead ORDER BY Id")
    assert not first["done"]
    remaining = server.org.truth("Lead", ["Id", "Name"])[200:]
    server.org.update("Lead", [{"Id": r["Id"], "LastName": "Changed After First Page"} for r in remaining])
    server.org.create("Lead", [{"LastName": "Late", "Company": "Late Co"}])
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert [r["Name"] for r in second["records"]] == [r["Name"] for r in remaining]
    assert second["totalSize"] == first["totalSize"]


def test_soql_errors_in_salesforce_shape(sf: Any) -> None:
    with pytest.raises(SalesforceMalformedRequest) as unknown_field:
        sf.query("SELECT Id, Nope__c FROM Account")
    error = unknown_field.value.content[0]
    assert error["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Nope__c' on entity 'Account'" in error["message"]
    assert "ERROR at Row:1:Column:12" in error["message"]

    with pytest.raises(SalesforceMalformedRequest) as unknown_object:
        sf.query("SELECT Id FROM Nothing__c")
    assert unknown_object.value.content[0]["errorCode"] == "INVALID_TYPE"
    assert "sObject type 'Nothing__c' is not supported" in unknown_object.value.content[0]["message"]

    for soql, code in [
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account GROUP BY Name", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE"),
        ("SELECT Id FROM Account WHERE CreatedDate > '2020-01-01'", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE BillingAddress = 'x'", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE Description = 'x'", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE IsDeleted > true", "INVALID_QUERY_FILTER_OPERATOR"),
    ]:
        with pytest.raises(SalesforceMalformedRequest) as failure:
            sf.query(soql)
        assert failure.value.content[0]["errorCode"] == code, soql


def test_soql_longer_than_100000_characters(server: SandboxServer, api: Any) -> None:
    soql = "SELECT Id FROM Account WHERE Name IN (" + ", ".join(f"'n{n:06d}'" for n in range(12_000)) + ")"
    assert len(soql) > 100_000
    response = api.post(url(server, "jobs/query"), json={"operation": "query", "query": soql})
    assert response.status_code == 400
    assert response.json() == [
        {"message": "SOQL statements cannot be longer than 100000 characters", "errorCode": "MALFORMED_QUERY"}
    ]


def test_formulas_change_without_a_modstamp_bump(server: SandboxServer) -> None:
    server.org.settings(session_ttl_seconds=30 * 86400)
    sf = salesforce(server)
    case = sf.query("SELECT Id, Age_Days__c, SystemModstamp FROM Case ORDER BY Id LIMIT 1")["records"][0]
    server.org.advance(3 * 86400)
    later = sf.query(f"SELECT Id, Age_Days__c, SystemModstamp FROM Case WHERE Id = '{case['Id']}'")["records"][0]
    assert later["Age_Days__c"] == case["Age_Days__c"] + 3
    assert later["SystemModstamp"] == case["SystemModstamp"]

    contact = sf.query(
        "SELECT Id, AccountId, Account_Name__c, SystemModstamp FROM Contact WHERE AccountId != null LIMIT 1"
    )
    record = contact["records"][0]
    server.org.update("Account", [{"Id": record["AccountId"], "Name": "Renamed Parent GmbH"}])
    after = sf.query(f"SELECT Account_Name__c, SystemModstamp FROM Contact WHERE Id = '{record['Id']}'")["records"][0]
    assert after["Account_Name__c"] == "Renamed Parent GmbH"
    assert after["SystemModstamp"] == record["SystemModstamp"]
    opportunity = sf.query("SELECT CloseDate, Days_To_Close__c FROM Opportunity LIMIT 1")["records"][0]
    assert isinstance(opportunity["Days_To_Close__c"], float)


def test_added_field_appears_in_describe_and_queries(server: SandboxServer, sf: Any) -> None:
    server.control.add_field(
        "Opportunity",
        {"name": "Risk_Score__c", "type": "double", "precision": 5, "scale": 1, "label": "Risk"},
        value=4.5,
    )
    fields = {f["name"]: f for f in sf.Opportunity.describe()["fields"]}
    assert fields["Risk_Score__c"]["type"] == "double"
    assert fields["Risk_Score__c"]["custom"] is True
    rows = sf.query("SELECT Id, Risk_Score__c FROM Opportunity LIMIT 3")["records"]
    assert [r["Risk_Score__c"] for r in rows] == [4.5, 4.5, 4.5]


def test_record_json_types(sf: Any) -> None:
    record = sf.query(
        "SELECT Id, IsDeleted, NumberOfEmployees, AnnualRevenue, BillingAddress, CreatedDate, Description "
        "FROM Account WHERE BillingCity != null AND NumberOfEmployees != null AND AnnualRevenue != null LIMIT 1"
    )["records"][0]
    assert record["IsDeleted"] is False
    assert isinstance(record["NumberOfEmployees"], int)
    assert isinstance(record["AnnualRevenue"], float)
    assert set(record["BillingAddress"]) == {
        "city",
        "country",
        "countryCode",
        "geocodeAccuracy",
        "latitude",
        "longitude",
        "postalCode",
        "state",
        "street",
    }
    assert record["CreatedDate"].endswith("+0000") and len(record["CreatedDate"]) == 28
    assert record["Description"] != ""
