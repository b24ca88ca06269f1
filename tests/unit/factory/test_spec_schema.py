"""The spec JSON Schema editors complete from: each adapter's options under its source.type, current with the code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from lumina_integration.factory.spec_schema import spec_json_schema
from lumina_integration.hooks.registry import ADAPTERS, options_model

ROOT = Path(__file__).resolve().parents[3]


class _EditorLoader(yaml.SafeLoader):
    """YAML as an editor's language server reads it for the schema: ``2026-01-01`` is a string."""


_EditorLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = spec_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def spec(source_type: str, options: dict[str, Any]) -> dict[str, Any]:
    return {"source": {"type": source_type, "conn_id": "c", "object": "Account", "options": options}, "mapping": "m"}


def offered_options(schema: dict[str, Any], adapter: str) -> dict[str, Any]:
    """The options the schema offers under ``source.type: <adapter>``."""
    branches = schema["$defs"]["SourceSpec"]["allOf"]
    branch = next(b for b in branches if b["if"]["properties"]["type"]["const"] == adapter)
    ref: str = branch["then"]["properties"]["options"]["$ref"]
    options: dict[str, Any] = schema["$defs"][ref.rsplit("/", 1)[1]]["properties"]
    return options


def errors(validator: jsonschema.Draft202012Validator, document: dict[str, Any]) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_committed_schema_is_current() -> None:
    schema = spec_json_schema()
    assert schema["required"] == ["source", "mapping"]
    assert "dag_id" not in schema["properties"]
    assert schema["additionalProperties"] is False
    committed = ROOT / "docs" / "pipeline-spec.schema.json"
    assert json.loads(committed.read_text()) == json.loads(json.dumps(schema, sort_keys=True)), (
        "docs/pipeline-spec.schema.json is stale: run `make schema`"
    )


def test_salesforce_options_offered_under_their_source_type(validator: jsonschema.Draft202012Validator) -> None:
    offered = offered_options(validator.schema, "salesforce")
    assert {"bulk_threshold", "transport", "api_budget_share", "page_size"} <= set(offered)
    assert offered["bulk_threshold"]["default"] == 50_000
    assert errors(validator, spec("salesforce", {"bulk_threshold": 1000, "transport": "bulk"})) == []


def test_unknown_or_ill_typed_option_is_rejected(validator: jsonschema.Draft202012Validator) -> None:
    unknown = errors(validator, spec("salesforce", {"bulk_treshold": 1000}))
    assert len(unknown) == 1 and "source.options" in unknown[0] and "bulk_treshold" in unknown[0]
    assert errors(validator, spec("salesforce", {"transport": "soap"}))
    assert errors(validator, spec("salesforce", {"bulk_threshold": -1}))
    # The same key is Salesforce's, not the file drop's: branches do not leak into each other.
    assert errors(validator, spec("file_drop", {"bulk_threshold": 1000}))


def test_unknown_source_type_is_rejected(validator: jsonschema.Draft202012Validator) -> None:
    assert errors(validator, spec("salesfroce", {}))


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_every_registered_adapter_has_its_options_branch(
    adapter: str, validator: jsonschema.Draft202012Validator
) -> None:
    schema = validator.schema
    assert adapter in schema["$defs"]["SourceSpec"]["properties"]["type"]["enum"]
    assert set(offered_options(schema, adapter)) == set(options_model(adapter).model_fields)
    assert errors(validator, spec(adapter, {"no_such_option": 1}))


@pytest.mark.parametrize("path", sorted((ROOT / "dags").rglob("*.dag.yaml")), ids=lambda p: p.name)
def test_every_shipped_spec_is_valid_for_editors(path: Path, validator: jsonschema.Draft202012Validator) -> None:
    document = yaml.load(path.read_text(), Loader=_EditorLoader)
    assert errors(validator, document) == []
