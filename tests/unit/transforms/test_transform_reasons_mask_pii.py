"""Transform reasons quote an unreadable value only when its column is not personal."""

from __future__ import annotations

import pyarrow as pa

from lumina_integration.canonical.schema import PiiClass
from lumina_integration.transforms.apply import apply_mapping
from lumina_integration.transforms.mapping import load_mapping


def test_an_unreadable_value_of_a_personal_column_is_masked_in_its_reason() -> None:
    mapping = load_mapping("crm_accounts_customer")
    shipped = mapping.entity_schema()
    # employee_count as if a schema declared it sensitive, created_at left as it is (class none).
    schema = shipped.model_copy(
        update={
            "columns": [
                c.model_copy(update={"pii": PiiClass.SENSITIVE}) if c.name == "employee_count" else c
                for c in shipped.columns
            ]
        }
    )
    table = pa.table(
        {
            "AccountId": ["A1"],
            "AccountName": ["Acme"],
            "Status": ["active"],
            "Employees": ["4711-secret"],
            "CreatedDate": ["2024-13-01"],
            "LastModifiedDate": ["2024-02-01T00:00:00Z"],
            "IsDeleted": ["false"],
        }
    )
    [rejected] = apply_mapping(mapping, schema, table).rejected.to_pylist()
    assert rejected["reason"] == (
        "employee_count: cannot read <masked:sensitive> as integer; created_at: cannot read '2024-13-01' as timestamp"
    )
    assert "4711-secret" not in rejected["reason"]
