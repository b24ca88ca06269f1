"""The PII policy of an entity: actions per column from the settings, applied to canonical tables."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from lumina_integration.canonical.registry import load_entity
from lumina_integration.canonical.schema import EntitySchema
from lumina_integration.protection.crypto import decrypt_text, tokenize_text
from lumina_integration.protection.keys import generate_keys
from lumina_integration.protection.policy import PolicyError, entity_policy, policy_problems
from lumina_integration.protection.settings import PiiSettings

KEYS = generate_keys()


def test_the_shipped_policy_tokenizes_direct_columns_and_encrypts_phones() -> None:
    policy = entity_policy(load_entity("customer", 1))
    assert policy.actions == {"email": "tokenize", "phone": "encrypt"}
    person = entity_policy(load_entity("person", 1))
    assert person.action("phone") == "encrypt" and person.action("email") == "tokenize"
    assert person.action("title") == "keep"  # indirect


def test_protect_applies_each_action_and_leaves_other_columns() -> None:
    schema = load_entity("contact", 1)
    settings = PiiSettings(entities={"contact": {"first_name": "mask", "email": "drop", "phone": "encrypt"}})
    table = pa.table(
        {
            "contact_id": ["c1", "c2"],
            "first_name": ["Jane", None],
            "last_name": ["Doe", "Roe"],
            "email": ["j@x.io", "r@x.io"],
            "phone": ["+1 555 0100", None],
        }
    )
    out = entity_policy(schema, settings).protect(table, KEYS)
    assert out.column("contact_id").to_pylist() == ["c1", "c2"]
    assert out.column("first_name").to_pylist() == ["J***", None]
    assert out.column("last_name").to_pylist() == [tokenize_text(KEYS.tokenize_key, v) for v in ("Doe", "Roe")]
    assert out.column("email").to_pylist() == [None, None]
    assert decrypt_text(KEYS, "contact", "phone", out.column("phone")[0].as_py()) == "+1 555 0100"
    assert out.column("phone")[1].as_py() is None
    assert out.schema == table.schema


def test_a_non_keep_action_on_a_typed_column_is_refused_with_the_reason() -> None:
    schema = EntitySchema.model_validate(
        {
            "entity": "badge",
            "version": 1,
            "primary_key": ["id"],
            "cursor": "id",
            "columns": [
                {"name": "id", "type": "string", "nullable": False},
                {"name": "born", "type": "date", "pii": "direct"},
            ],
        }
    )
    problems = policy_problems(schema, PiiSettings())
    assert problems == [
        "pii: badge.born is date; the 'tokenize' action needs a string column (a token, ciphertext or mask is text): "
        "change the column's type or give it 'keep'"
    ]
    with pytest.raises(PolicyError, match=r"badge\.born is date"):
        entity_policy(schema, PiiSettings())
    assert entity_policy(schema, PiiSettings(entities={"badge": {"born": "keep"}})).actions == {}


def test_an_override_naming_no_column_is_a_problem() -> None:
    problems = policy_problems(load_entity("customer", 1), PiiSettings(entities={"customer": {"fax": "drop"}}))
    assert problems == ["pii.entities.customer.fax: customer v1 has no such column"]


def test_the_keyed_actions_need_keys() -> None:
    schema = load_entity("customer", 1)
    policy = entity_policy(schema)
    assert policy.needs_keys
    with pytest.raises(PolicyError, match="needs the PII keys"):
        policy.protect(pa.table({"email": ["a@b.c"]}), None)
    masked = entity_policy(schema, PiiSettings(classes={"direct": "mask"}, entities={}))
    assert not masked.needs_keys
    assert masked.protect(pa.table({"email": ["a@b.c"]}), None).column("email").to_pylist() == ["a***@b.c"]


def test_lint_reports_a_policy_on_a_typed_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lumina_integration.cli import lint

    path = tmp_path / "data_protection.yaml"
    path.write_text("pii:\n  classes: {indirect: mask}\n")
    monkeypatch.setenv("LUMINA_DATA_PROTECTION", str(path))
    problems = [p for p in lint([]) if "pii:" in p]
    assert f"{path}: pii: person.last_login_at is timestamp; the 'mask' action needs a string column" in problems[0]
