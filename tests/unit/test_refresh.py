"""Refresh planning: which fields a refresh reads and which canonical columns it may touch."""

from __future__ import annotations

import pytest

from lumina_integration.refresh import plan_refresh
from lumina_integration.transforms.mapping import load_mapping

CONTACT = load_mapping("salesforce_contact_contact")
FIELDS = ["Id", "AccountId", "FirstName", "LastName", "Email", "Phone", "Title", "Account_Name__c"]
FIELDS += ["CreatedDate", "SystemModstamp", "IsDeleted"]


def test_nothing_loaded_yet_means_nothing_to_refresh() -> None:
    assert plan_refresh(CONTACT, FIELDS, ["Account_Name__c"], None).empty


def test_formula_fields_are_refreshed_with_the_id() -> None:
    plan = plan_refresh(CONTACT, FIELDS, ["Account_Name__c"], covered=FIELDS)
    assert plan.fields == ["Id", "Account_Name__c"]
    assert plan.columns == ["customer_name"]
    assert plan.formula_fields == ["Account_Name__c"] and plan.backfill_fields == []


def test_a_mapped_field_no_load_has_filled_is_backfilled() -> None:
    covered = [f for f in FIELDS if f != "Title"]  # Title appeared after the first load
    plan = plan_refresh(CONTACT, FIELDS, [], covered)
    assert plan.fields == ["Id", "Title"] and plan.columns == ["title"] and plan.backfill_fields == ["Title"]


def test_mapped_fields_the_source_lacks_are_not_read() -> None:
    present = [f for f in FIELDS if f != "Title"]
    plan = plan_refresh(CONTACT, present, [], covered=present)
    assert plan.empty and plan.fields == []


def test_key_and_cursor_columns_are_never_refreshed() -> None:
    plan = plan_refresh(CONTACT, FIELDS, ["SystemModstamp", "Id"], covered=FIELDS)
    assert plan.empty


def test_source_key_of_a_mapping() -> None:
    key = CONTACT.source_key()
    assert (key.constants, key.id_column, key.id_field) == ({"source_system": "salesforce"}, "source_id", "Id")


def test_source_key_needs_a_plain_id_field() -> None:
    tickets = load_mapping("crm_accounts_customer")  # source_id has a strip transform
    with pytest.raises(ValueError, match="reconciliation needs"):
        tickets.source_key()
