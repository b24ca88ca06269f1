"""The ``Org`` itself (no HTTP): deterministic generation, the clock, fields added mid-life, reset, ids."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from lumina_sandbox.salesforce.ids import canonical, checksum, is_valid_id
from lumina_sandbox.salesforce.org import Org

TINY = {"User": 3, "Account": 40, "Contact": 30, "Opportunity": 10, "Lead": 10, "Case": 10, "Invoice__c": 5}
STABLE = ["Id", "Name", "Industry", "Region__c", "BillingAddress", "Description", "SAP_Customer_Number__c", "IsDeleted"]


@pytest.fixture
def org() -> Iterator[Org]:
    made = Org.generate(seed=11, counts=TINY, wide_fields=20)
    yield made
    made.close()


def test_generation_is_deterministic_for_a_seed(org: Org) -> None:
    again = Org.generate(seed=11, counts=TINY, wide_fields=20)
    other = Org.generate(seed=12, counts=TINY, wide_fields=20)
    try:
        assert org.truth("Account", STABLE, include_deleted=True) == again.truth(
            "Account", STABLE, include_deleted=True
        )
        assert org.truth("Account", STABLE, include_deleted=True) != other.truth(
            "Account", STABLE, include_deleted=True
        )
    finally:
        again.close()
        other.close()


def test_generated_data_has_the_quirks_clients_must_survive(org: Org) -> None:
    accounts = org.truth("Account", include_deleted=True)
    assert len(accounts) == 40
    assert all(value != "" for record in accounts for value in record.values())
    assert any(r["IsDeleted"] for r in accounts)
    stamps = [r["SystemModstamp"] for r in accounts]
    assert len(set(stamps)) < len(stamps), "a data-loader batch shares one SystemModstamp"
    assert all(r["SystemModstamp"] <= org.now().strftime("%Y-%m-%dT%H:%M:%S.999+0000") for r in accounts)
    texts = " ".join(str(r["Description"]) + str(r["Name"]) for r in accounts)
    assert not texts.isascii()
    sap = [r["SAP_Customer_Number__c"] for r in accounts if r["SAP_Customer_Number__c"]]
    assert sap and all(len(number) == 10 and number.isdigit() for number in sap)
    wide = org.sobject("Invoice__c")
    assert len(wide.fields) > 20 and org.truth("Invoice__c")[0]["Name"].startswith("INV-")


def test_set_time_and_advance(org: Org) -> None:
    moment = datetime(2030, 5, 17, 8, 30, tzinfo=UTC)
    assert abs((org.set_time(moment) - moment).total_seconds()) < 1
    later = org.advance(90)
    assert 89 <= (later - moment).total_seconds() < 92
    ids = org.create("Account", [{"Name": "Future"}])
    record = next(r for r in org.truth("Account", ["Id", "CreatedDate", "SystemModstamp"]) if r["Id"] == ids[0])
    assert record["CreatedDate"].startswith("2030-05-17T08:3")
    assert record["SystemModstamp"] == record["CreatedDate"]


def test_add_field_with_a_value_per_record(org: Org) -> None:
    before = {
        r["Id"]: r["SystemModstamp"] for r in org.truth("Contact", ["Id", "SystemModstamp"], include_deleted=True)
    }
    described = org.add_field(
        "Contact", {"name": "Name_Length__c", "type": "int", "label": "Name Length"}, value=lambda r: len(r["LastName"])
    )
    assert described["type"] == "int" and described["soapType"] == "xsd:int" and described["custom"] is True
    rows = org.truth("Contact", ["Id", "LastName", "Name_Length__c", "SystemModstamp"], include_deleted=True)
    assert all(r["Name_Length__c"] == len(r["LastName"]) for r in rows)
    assert {r["Id"]: r["SystemModstamp"] for r in rows} == before


def test_reset_restores_the_generated_state(org: Org) -> None:
    generated = org.ids("Account", include_deleted=True)
    org.create("Account", [{"Name": "Extra"}])
    org.faults.add("query", "status", status=500)
    org.set_api_limit(10, used=9)
    org.advance(86_400)
    org.reset()
    assert org.ids("Account", include_deleted=True) == generated
    assert org.faults.rules() == []
    assert org.limits.api_used == 0
    assert abs((org.now() - datetime.now(UTC)).total_seconds()) < 5


def test_ids_checksum_and_canonical_form() -> None:
    assert checksum("001A0000006Vm9r") == "IAC"
    assert canonical("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert canonical("001a0000006vm9riac") == "001A0000006Vm9rIAC"
    assert is_valid_id("001A0000006Vm9rIAC") and not is_valid_id("001A0000006Vm9rAAA")
