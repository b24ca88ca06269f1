"""Mappings applied to Arrow: every input row lands in exactly one of canonical or rejected."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from lumina_integration.transforms.apply import apply_mapping
from lumina_integration.transforms.mapping import ColumnRule, Mapping, load_mapping
from lumina_integration.yaml_models import YamlModelError

UTC = UTC


def accounts(**overrides: list[object]) -> pa.Table:
    data: dict[str, list[object]] = {
        "AccountId": [" A1", "A2"],
        "AccountName": ["Acme ", "Beta"],
        "Email": ["X@Y.COM", ""],
        "Status": ["Active", "inactive"],
        "AnnualRevenue": ["1000.5", None],
        "Employees": ["10", "20"],
        "Country": ["de", "US"],
        "CreatedDate": ["2024-01-01T00:00:00Z", None],
        "LastModifiedDate": ["2024-02-01T00:00:00+01:00", "2024-02-02T00:00:00Z"],
        "IsDeleted": ["false", "true"],
    }
    data.update(overrides)
    return pa.table({k: pa.array(v, pa.string()) for k, v in data.items()})


def test_crm_mapping_renames_casts_and_derives() -> None:
    mapping = load_mapping("crm_accounts_customer")
    result = apply_mapping(mapping, mapping.entity_schema(), accounts())
    assert result.rejected.num_rows == 0
    expected = mapping.entity_schema().arrow_schema()
    # Same names and types; nullability is judged by validation (which quarantines), not by a cast.
    assert [(f.name, f.type) for f in result.canonical.schema] == [(f.name, f.type) for f in expected]
    assert result.canonical.schema.metadata == expected.metadata
    first, second = result.canonical.to_pylist()
    assert first["source_system"] == "crm_export" and first["source_id"] == "A1"
    assert first["name"] == "Acme" and first["email"] == "x@y.com" and first["status"] == "active"
    assert first["country_code"] == "DE"
    assert first["annual_revenue"] == Decimal("1000.50")
    assert first["source_updated_at"] == datetime(2024, 1, 31, 23, tzinfo=UTC)
    assert second["email"] is None, "null_if_empty"
    assert (first["_is_deleted"], second["_is_deleted"]) == (False, True)


def test_unreadable_values_are_rejected_with_every_reason() -> None:
    mapping = load_mapping("crm_accounts_customer")
    table = accounts(Employees=["ten", "20"], CreatedDate=["2024-13-01", None]).append_column(
        "_lumina_record_no", pa.array([7, 8], pa.int64())
    )
    result = apply_mapping(mapping, mapping.entity_schema(), table)
    assert result.canonical.column("source_id").to_pylist() == ["A2"]
    [rejected] = result.rejected.to_pylist()
    assert rejected["stage"] == "transform" and rejected["_lumina_record_no"] == 7
    assert rejected["reason"] == (
        "employee_count: cannot read 'ten' as integer; created_at: cannot read '2024-13-01' as timestamp"
    )
    assert '"Employees": "ten"' in rejected["record"]


def test_reader_errors_become_rejects() -> None:
    mapping = load_mapping("crm_accounts_customer")
    table = accounts().append_column("_lumina_error", pa.array([None, "line 3: expected 12 fields, found 2"]))
    result = apply_mapping(mapping, mapping.entity_schema(), table)
    assert result.canonical.num_rows == 1
    assert result.rejected.column("reason").to_pylist() == [
        "malformed source record: line 3: expected 12 fields, found 2"
    ]


def test_value_lookup_coalesce_concat_and_missing_fields() -> None:
    mapping = Mapping(
        entity="support_case",
        entity_version=1,
        columns={
            "source_system": ColumnRule(constant="hd"),
            "source_id": ColumnRule(concat=["queue", "number"], separator="-"),
            "subject": ColumnRule.model_validate({"from": "title"}),
            "status": ColumnRule.model_validate({"from": "state", "values": {"solved": "closed"}}),
            "opened_at": ColumnRule.model_validate({"from": "opened"}),
            "source_updated_at": ColumnRule(coalesce=["updated", "opened"]),
        },
    )
    table = pa.table(
        {
            "queue": ["Q", "Q"],
            "number": ["1", "2"],
            "title": ["a", "b"],
            "state": ["solved", "open"],
            "opened": ["2024-01-01T00:00:00Z"] * 2,
            "updated": [None, "2024-03-01T00:00:00Z"],
        }
    )
    rows = apply_mapping(mapping, mapping.entity_schema(), table).canonical.to_pylist()
    assert [r["source_id"] for r in rows] == ["Q-1", "Q-2"]
    assert [r["status"] for r in rows] == ["closed", "open"]
    assert [r["source_updated_at"].month for r in rows] == [1, 3]
    assert rows[0]["priority"] is None, "an unmapped column is null"


def test_mapping_rules_need_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one of"):
        ColumnRule.model_validate({"from": "a", "constant": 1})


def test_mapping_with_unknown_column_names_file(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(
        "entity: customer\nentity_version: 1\ncolumns:\n  source_system: {constant: x}\n  source_id: {from: id}\n"
        "  source_updated_at: {from: ts}\n  shoe_size: {from: s}\n"
    )
    with pytest.raises(YamlModelError, match=r"m.yaml:1: columns.shoe_size: customer v1 has no such column"):
        load_mapping("m", tmp_path)


def test_every_shipped_mapping_loads() -> None:
    from lumina_integration.paths import MAPPINGS_DIR

    names = [p.stem for p in MAPPINGS_DIR.glob("*.yaml")]
    assert names
    for name in names:
        assert load_mapping(name).columns
