"""The PII policy in the transform step: clear-value checks, protected canonical rows, protected quarantine."""

from __future__ import annotations

import json

import pyarrow as pa

from lumina_integration.canonical.registry import load_entity
from lumina_integration.protection.checks import clear_checks, suite_specs
from lumina_integration.protection.crypto import decrypt_text, mask_text, tokenize_text
from lumina_integration.protection.keys import generate_keys
from lumina_integration.protection.policy import entity_policy
from lumina_integration.protection.settings import PiiSettings
from lumina_integration.protection.step import TransformProtection
from lumina_integration.transforms.apply import apply_mapping
from lumina_integration.transforms.mapping import load_mapping

KEYS = generate_keys()
CUSTOMER = load_entity("customer", 1)
MAPPING = load_mapping("crm_accounts_customer")
LONG_EMAIL = "x" * 320 + "@example.com"


def _raw(**changes: str | None) -> dict[str, str | None]:
    row: dict[str, str | None] = {
        "AccountId": "A1",
        "AccountName": "Acme",
        "Email": " Jane.Doe@Example.com ",
        "Phone": "+1 555 0100",
        "Country": "us",
        "Industry": "Retail",
        "Status": "active",
        "AnnualRevenue": "10.5",
        "Employees": "12",
        "CreatedDate": "2026-01-01T00:00:00Z",
        "LastModifiedDate": "2026-01-02T00:00:00Z",
        "IsDeleted": "false",
    }
    return {**row, **changes}


def _run(rows: list[dict[str, str | None]], settings: PiiSettings | None = None) -> tuple[pa.Table, pa.Table]:
    protection = TransformProtection.for_mapping(MAPPING, CUSTOMER, settings, keys=KEYS)
    result = protection.apply(
        apply_mapping(MAPPING, CUSTOMER, pa.Table.from_pylist(rows), withheld=protection.withheld)
    )
    return result.canonical, result.rejected


def test_canonical_rows_hold_tokens_and_ciphertexts_of_the_mapped_values() -> None:
    canonical, rejected = _run([_raw(), _raw(AccountId="A2", Email=None, Phone="")])
    assert rejected.num_rows == 0
    assert canonical.column("email").to_pylist() == [tokenize_text(KEYS.tokenize_key, "jane.doe@example.com"), None]
    phone = canonical.column("phone").to_pylist()
    assert decrypt_text(KEYS, "customer", "phone", phone[0]) == "+1 555 0100" and phone[1] is None
    assert canonical.column("name").to_pylist() == ["Acme", "Acme"]  # keep


def test_a_clear_value_check_rejects_without_quoting_and_quarantines_the_protected_row() -> None:
    canonical, rejected = _run([_raw(), _raw(AccountId="A2", Email=LONG_EMAIL), _raw(AccountId="A3", Email="nope")])
    assert canonical.column("source_id").to_pylist() == ["A1"]
    assert rejected.column("stage").to_pylist() == ["validate", "validate"]
    reasons = rejected.column("reason").to_pylist()
    assert reasons == [
        "expect_column_value_lengths_to_be_between(email): the clear value's length is not between None and 320",
        "expect_column_values_to_match_regex(email): the clear value does not match regex "
        "'^[^@\\\\s]+@[^@\\\\s]+\\\\.[^@\\\\s]+$'",
    ]
    for text, clear in zip(rejected.column("record").to_pylist(), (LONG_EMAIL, "nope"), strict=True):
        record = json.loads(text)
        assert record["email"] == tokenize_text(KEYS.tokenize_key, clear)
        assert decrypt_text(KEYS, "customer", "phone", record["phone"]) == "+1 555 0100"
        assert clear not in text and "+1 555 0100" not in text


def test_raw_records_the_mapping_rejects_carry_protected_source_fields_protected() -> None:
    canonical, rejected = _run([_raw(Employees="many", Email="j@x.io")])
    assert canonical.num_rows == 0
    (text,) = rejected.column("record").to_pylist()
    record = json.loads(text)
    assert record["Email"] == tokenize_text(KEYS.tokenize_key, "j@x.io")  # the raw field, as it came
    assert decrypt_text(KEYS, "customer", "phone", record["Phone"]) == "+1 555 0100"
    assert record["Employees"] == "many" and record["AccountName"] == "Acme"  # not protected: as it came
    assert rejected.column("reason").to_pylist() == ["employee_count: cannot read 'many' as integer"]


def test_a_reason_never_quotes_a_withheld_field() -> None:
    # A typed column reading a protected field (an odd mapping, but a reason must not leak it).
    settings = PiiSettings(entities={"customer": {"industry": "mask"}})
    protection = TransformProtection.for_mapping(MAPPING, CUSTOMER, settings, keys=KEYS)
    assert "industry" in protection.withheld
    batch = pa.Table.from_pylist([_raw(Employees="Retail"), _raw(AccountId="A2", Employees="12x")])
    result = apply_mapping(MAPPING, CUSTOMER, batch, withheld=frozenset({"employees"}))
    assert result.rejected.column("reason").to_pylist() == [
        "employee_count: cannot read <withheld:pii source field> as integer",
        "employee_count: cannot read <withheld:pii source field> as integer",
    ]


def test_a_malformed_record_keeps_its_raw_text_only_under_the_strictest_action() -> None:
    batch = pa.Table.from_pylist(
        [{**_raw(), "_lumina_error": "bad quoting", "_lumina_raw": 'A1,"Acme,jane@x.io,+1 555 0100'}]
    )
    protection = TransformProtection.for_mapping(MAPPING, CUSTOMER, keys=KEYS)
    result = protection.apply(apply_mapping(MAPPING, CUSTOMER, batch, withheld=protection.withheld))
    (text,) = result.rejected.column("record").to_pylist()
    raw = json.loads(text)["_lumina_raw"]
    assert decrypt_text(KEYS, "customer", "_lumina_raw", raw) == 'A1,"Acme,jane@x.io,+1 555 0100'  # encrypt > tokenize


def test_mask_and_drop_need_no_keys() -> None:
    settings = PiiSettings(classes={"direct": "mask"}, entities={"customer": {"phone": "drop"}})
    canonical, _ = _run([_raw()], settings)
    assert canonical.column("email").to_pylist() == [mask_text("jane.doe@example.com")] == ["j***@example.com"]
    assert canonical.column("phone").to_pylist() == [None]
    assert not TransformProtection.for_mapping(MAPPING, CUSTOMER, settings).policy.needs_keys


def test_the_suite_leaves_protected_value_checks_to_the_transform_and_keeps_not_null() -> None:
    policy = entity_policy(CUSTOMER)
    moved = {(s.type, s.columns[0]) for s in clear_checks(CUSTOMER, policy)}
    assert moved == {
        ("expect_column_value_lengths_to_be_between", "email"),
        ("expect_column_value_lengths_to_be_between", "phone"),
        ("expect_column_values_to_match_regex", "email"),
    }
    kept = {(s.type, tuple(s.columns)) for s in suite_specs(CUSTOMER, policy)}
    assert not {(t, (c,)) for t, c in moved} & kept
    assert ("expect_column_to_exist", ("email",)) in kept
    assert ("expect_column_value_lengths_to_be_between", ("name",)) in kept  # keep: GX judges it
    contact = load_entity("contact", 1)
    assert ("expect_column_values_to_not_be_null", ("last_name",)) in {
        (s.type, tuple(s.columns)) for s in suite_specs(contact, entity_policy(contact))
    }
