"""Every registered adapter keeps the contract the steps are written against (ADR 0001).

Parametrized over :data:`~lumina_integration.hooks.registry.ADAPTERS`, so an adapter is checked the
moment it is registered: its hook class, its options model, the maintenance runs it declares, its
connection types and pool, the signatures of every capability it implements, and its docs page.
Nothing here connects: what is checked is what parsing a DAG can know.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from typing_extensions import get_protocol_members

from lumina_integration.hooks import capabilities
from lumina_integration.hooks.base import SourceAdapter
from lumina_integration.hooks.capabilities import ExtractUsage, ReportsUsage, implements, supports
from lumina_integration.hooks.registry import ADAPTERS, adapter_info, hook_class, maintenance_gaps, options_model

ROOT = Path(__file__).resolve().parents[3]
NAMES = sorted(ADAPTERS)
# The optional capabilities: every runtime-checkable protocol capabilities.py defines.
CAPABILITIES = [
    value
    for value in vars(capabilities).values()
    if isinstance(value, type) and getattr(value, "_is_runtime_protocol", False)
]


def shape(function: Any) -> list[tuple[str, Any, Any]]:
    """A method's parameters as name, kind and default (annotations are text, spelled as each module likes)."""
    parameters = list(inspect.signature(function).parameters.values())
    return [(p.name, p.kind, p.default) for p in parameters]


def protocols_of(cls: type) -> list[type]:
    return [SourceAdapter, *(p for p in CAPABILITIES if implements(cls, p))]


def test_the_capabilities_are_found() -> None:
    names = {p.__name__ for p in CAPABILITIES}
    assert {"BindsRun", "ReportsUsage", "DescribesFields", "Reconciles", "ReadsColumns", "WritesBack"} <= names


@pytest.mark.parametrize("name", NAMES)
def test_the_hook_class_is_a_source_adapter(name: str) -> None:
    cls = hook_class(name)
    assert implements(cls, SourceAdapter), f"{cls.__qualname__} lacks {sorted(get_protocol_members(SourceAdapter))}"
    # Built as build_adapter builds it, without connecting (hooks look their connection up when they connect).
    adapter = cls(f"contract_test_{name}")
    assert isinstance(adapter, SourceAdapter)
    for protocol in CAPABILITIES:
        assert supports(adapter, protocol) == implements(cls, protocol), protocol.__name__


@pytest.mark.parametrize("name", NAMES)
def test_every_implemented_method_has_the_protocols_signature(name: str) -> None:
    cls = hook_class(name)
    checked = []
    for protocol in protocols_of(cls):
        for member in sorted(get_protocol_members(protocol)):
            expected, actual = shape(getattr(protocol, member)), shape(getattr(cls, member))
            assert actual == expected, f"{cls.__qualname__}.{member}{actual} is not {protocol.__name__}'s {expected}"
            checked.append(member)
    assert {"read", "discover", "server_now", "versions_read", "test_connection"} <= set(checked)


def conformance_functions() -> dict[str, set[str]]:
    """hooks/conformance.py's functions: name -> the protocol names in its return annotation."""
    import ast

    import lumina_integration.hooks.conformance as module

    tree = ast.parse(Path(module.__file__ or "").read_text())
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.returns is not None:
            found[node.name] = {n.id for n in ast.walk(node.returns) if isinstance(n, ast.Name) and n.id != "tuple"}
    return found


@pytest.mark.parametrize("name", NAMES)
def test_mypy_checks_the_types_of_every_protocol_it_implements(name: str) -> None:
    """hooks/conformance.py names each implemented protocol, so mypy compares the annotations too."""
    cls = hook_class(name)
    functions = conformance_functions()
    assert name in functions, f"hooks/conformance.py has no function {name}() for {cls.__qualname__}"
    assert functions[name] == {p.__name__ for p in protocols_of(cls)}


@pytest.mark.parametrize("name", NAMES)
def test_it_reports_usage_and_nothing_is_spent_before_a_read(name: str) -> None:
    cls = hook_class(name)
    assert implements(cls, ReportsUsage), f"{cls.__qualname__} has no usage() (hooks/capabilities.py ReportsUsage)"
    usage = cls(f"contract_test_{name}").usage()
    assert isinstance(usage, ExtractUsage)
    assert (usage.api_calls, usage.bulk_jobs, usage.reconciled) == (0, 0, None)


@pytest.mark.parametrize("name", NAMES)
def test_the_declared_maintenance_is_implemented(name: str) -> None:
    info = adapter_info(name)
    assert set(info.maintenance) <= set(capabilities.MAINTENANCE_NEEDS), info.maintenance
    assert maintenance_gaps(name) == {}


def invalid_defaults(model: type[BaseModel]) -> dict[str, str]:
    """Options whose default fails the option's own type and constraints (``Field(ge=...)`` included)."""
    found = {}
    for name, field in model.model_fields.items():
        if field.is_required():
            continue
        field_type: Any = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
        try:
            TypeAdapter(field_type).validate_python(field.get_default(call_default_factory=True))
        except ValidationError as exc:
            found[name] = str(exc)
    return found


def test_an_invalid_default_is_found() -> None:
    class Options(BaseModel):
        page_rows: int = Field(default=5, ge=100)
        mode: Literal["rest", "bulk"] = "rest"

    assert list(invalid_defaults(Options)) == ["page_rows"]


@pytest.mark.parametrize("name", NAMES)
def test_the_options_model_imports_and_its_defaults_validate(name: str) -> None:
    """Each default passes its own field's checks (the model as a whole may still require a choice: SAP's
    ``changed`` or ``change_documents``)."""
    model = options_model(name)
    assert model.model_config.get("extra") == "forbid", "a misspelt option must be an error, not ignored"
    assert any(not f.is_required() for f in model.model_fields.values()), "every option is required"
    assert invalid_defaults(model) == {}
    model.model_json_schema()  # the spec's JSON Schema embeds it (every option documented: tests/docs)


@pytest.mark.parametrize("name", NAMES)
def test_registration_names_connection_types_a_pool_and_a_page(name: str) -> None:
    info = adapter_info(name)
    assert info.name == name
    assert info.conn_types and all(info.conn_types), "a registration names the connection types it accepts"
    assert getattr(hook_class(name), "conn_type", None) in info.conn_types, "the hook's own type is accepted"
    assert info.pool, "source calls run in a pool sized below the system's limits"
    assert (ROOT / info.page).is_file(), f"{info.page} is missing"
    assert info.description


def test_a_missing_capability_is_named_with_its_methods() -> None:
    """What the parse-time check says of a class lacking a maintenance run's capability."""
    from lumina_integration.hooks.file_drop import FileDropHook

    found = capabilities.missing_maintenance(FileDropHook, ("reconcile", "refresh", "resync", "rebuild"))
    assert found == {
        "reconcile": "FileDropHook does not implement Reconciles (reconcile)",
        "refresh": "FileDropHook does not implement ReadsColumns (read_columns)",
        "rebuild": "unknown maintenance run (known: ['reconcile', 'refresh', 'resync'])",
    }
    assert capabilities.missing_maintenance(FileDropHook, ("reconcile",), resource_level=True) == {}
