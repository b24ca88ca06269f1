"""REST JSON pages and Bulk 2.0 CSV pages of the same records become identical Arrow batches."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from lumina_integration.hooks.salesforce.typing import (
    TypeDriftError,
    batch_from_rest,
    batches_from_csv,
    extract_schema,
)

DESCRIBE: list[dict[str, Any]] = [
    {"name": "Id", "type": "id"},
    {"name": "Name", "type": "string"},
    {"name": "Region__c", "type": "picklist"},
    {"name": "AnnualRevenue", "type": "currency", "precision": 18, "scale": 2},
    {"name": "Probability", "type": "percent"},
    {"name": "NumberOfEmployees", "type": "int"},
    {"name": "IsDeleted", "type": "boolean"},
    {"name": "CloseDate", "type": "date"},
    {"name": "SystemModstamp", "type": "datetime"},
    {"name": "BillingAddress", "type": "address"},
    {"name": "Logo__c", "type": "base64"},
]
REST = [
    {
        "attributes": {"type": "Account"},
        "Id": "001000000000001AAA",
        "Name": 'Ünïcode, "quoted"',
        "Region__c": "NA",
        "AnnualRevenue": 100.0,
        "Probability": 12.5,
        "NumberOfEmployees": 7,
        "IsDeleted": False,
        "CloseDate": "2026-03-01",
        "SystemModstamp": "2026-01-01T10:00:00.000+0000",
        "BillingAddress": {"city": "Berlin"},
    },
    {
        "attributes": {"type": "Account"},
        "Id": "001000000000002AAA",
        "Name": "Line\nbreak",
        "Region__c": None,
        "AnnualRevenue": None,
        "Probability": 1e-05,
        "NumberOfEmployees": None,
        "IsDeleted": True,
        "CloseDate": None,
        "SystemModstamp": "2026-01-01T10:00:00.000+0000",
    },
]
CSV = (
    b'"Id","Name","Region__c","AnnualRevenue","Probability","NumberOfEmployees","IsDeleted","CloseDate",'
    b'"SystemModstamp"\n'
    b'"001000000000001AAA","\xc3\x9cn\xc3\xafcode, ""quoted""","NA","100","12.5","7","false","2026-03-01",'
    b'"2026-01-01T10:00:00.000Z"\n'
    b'"001000000000002AAA","Line\nbreak","","","0.00001","","true","","2026-01-01T10:00:00.000Z"\n'
)


def test_schema_skips_compound_and_binary_fields() -> None:
    schema = extract_schema(DESCRIBE)
    assert "BillingAddress" not in schema.names and "Logo__c" not in schema.names
    assert schema.field("AnnualRevenue").type == pa.decimal128(18, 2)
    assert schema.field("SystemModstamp").type == pa.timestamp("us", tz="UTC")


def test_rest_and_bulk_give_identical_batches() -> None:
    schema = extract_schema(DESCRIBE)
    rest = pa.Table.from_batches([batch_from_rest(REST, schema)])
    bulk = pa.Table.from_batches(list(batches_from_csv(CSV, schema)))
    assert rest.equals(bulk)
    first = rest.to_pylist()[0]
    assert first["Region__c"] == "NA", '"NA" is a real picklist value, not null'
    assert first["AnnualRevenue"] == Decimal("100.00")
    assert first["CloseDate"] == date(2026, 3, 1)
    assert first["SystemModstamp"] == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert rest.column("Probability").to_pylist()[1] == pytest.approx(1e-05)


def test_a_value_that_breaks_describe_is_type_drift() -> None:
    schema = extract_schema(DESCRIBE, ["Id", "NumberOfEmployees"])
    with pytest.raises(TypeDriftError, match="NumberOfEmployees"):
        batch_from_rest([{"Id": "x", "NumberOfEmployees": "many"}], schema)
