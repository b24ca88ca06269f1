"""The Great Expectations suite of a canonical entity: generated from its schema, plus hand-written extras.

The schema already says which columns exist, which may not be null, which values a column allows and
how long a string may be; those become expectations here so the contract is written only once.
Whatever the schema cannot say (formats, ranges) is written by data teams in
``include/expectations/<entity>.yaml``::

    expectations:
      - type: expect_column_values_to_match_regex
        kwargs: {column: email, regex: "^[^@\\s]+@[^@\\s]+$"}
        severity: warning   # optional; "critical" (the default) quarantines the failing rows

Importing Great Expectations takes seconds, and this module is imported while Airflow parses DAG
files, so GX is only ever imported inside the functions that need it.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from lumina_integration.canonical.schema import DELETED_COLUMN, EntitySchema
from lumina_integration.paths import EXPECTATIONS_DIR
from lumina_integration.quality.gx_import import import_great_expectations
from lumina_integration.yaml_models import (
    FieldProblem,
    YamlModelError,
    compose_yaml,
    line_of,
    validate_yaml_data,
)

if TYPE_CHECKING:
    import great_expectations as gx

# Spec meta key carrying the spec's position, so validation results (which GX returns in its own
# order) can be matched back to the spec, and hence to its severity and reason text.
SPEC_INDEX_META = "lumina_spec_index"

# Kwargs naming the columns an expectation looks at, across GX's column, pair and multicolumn kinds.
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list",)


def _live_rows() -> dict[str, Any]:
    """A GX row condition selecting rows whose delete flag is not set."""
    return {"type": "comparison", "column": {"name": DELETED_COLUMN}, "operator": "==", "parameter": False}


class ExpectationSpec(BaseModel):
    """One expectation, as written in YAML or generated from a schema.

    Args:
        type: the Great Expectations 1.x expectation type in snake_case, for example
            ``expect_column_values_to_match_regex``.
        kwargs: the expectation's arguments (``column``, ``regex``, ``min_value``...).
        severity: ``critical`` failures quarantine the failing rows (or fail the whole batch when
            they cannot be pinned to rows); ``warning`` failures are only reported.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    kwargs: dict[str, Any]
    severity: Literal["critical", "warning"] = "critical"

    @property
    def columns(self) -> list[str]:
        """The columns this expectation looks at, in the order its kwargs name them."""
        names = [self.kwargs[k] for k in _COLUMN_KWARGS if isinstance(self.kwargs.get(k), str)]
        for key in _COLUMN_LIST_KWARGS:
            value = self.kwargs.get(key)
            if isinstance(value, list):
                names.extend(v for v in value if isinstance(v, str))
        return names

    @property
    def label(self) -> str:
        """A short human name such as ``expect_column_values_to_be_in_set(status)``.

        Table-level expectations, which name no column, are labelled by their type alone.
        """
        columns = self.columns
        return f"{self.type}({', '.join(columns)})" if columns else self.type


class ExpectationsFile(BaseModel):
    """The content of ``include/expectations/<entity>.yaml``."""

    model_config = ConfigDict(extra="forbid")

    expectations: list[ExpectationSpec]


def load_extra_expectations(entity: str, root: Path = EXPECTATIONS_DIR) -> list[ExpectationSpec]:
    """Read the hand-written expectations of ``entity`` from ``<root>/<entity>.yaml``.

    Each expectation is checked against Great Expectations itself (the type must exist and the
    kwargs must be the ones it accepts), so a typo fails when the file is loaded, not in the middle
    of a run.

    Args:
        entity: the canonical entity name.
        root: the directory holding the expectation files.

    Returns:
        The expectations in file order; ``[]`` when the entity has no file.

    Raises:
        YamlModelError: the file is malformed, names an unknown expectation type or passes kwargs
            the expectation does not accept (names the file, line and field).
    """
    path = root / f"{entity}.yaml"
    if not path.is_file():
        return []
    data, node = compose_yaml(path.read_text(encoding="utf-8"), path)
    model = validate_yaml_data(ExpectationsFile, data, node, path)
    problems: list[FieldProblem] = []
    for index, spec in enumerate(model.expectations):
        for loc, message in _gx_problems(spec):
            where = ["expectations", index, *loc]
            problems.append(FieldProblem(line_of(node, where), ".".join(map(str, where)), message))
    if problems:
        raise YamlModelError(path, problems)
    return model.expectations


def _gx_problems(spec: ExpectationSpec) -> list[tuple[list[str | int], str]]:
    """What Great Expectations rejects in ``spec``, as (location inside the spec, message) pairs."""
    import_great_expectations()  # scipy and altair deferred (quality/gx_import.py)
    from great_expectations.exceptions import ExpectationNotFoundError
    from great_expectations.expectations.registry import (
        get_expectation_impl,
        list_registered_expectation_implementations,
    )
    from pydantic import v1 as pydantic_v1

    try:
        get_expectation_impl(spec.type)
    except ExpectationNotFoundError:
        known = list_registered_expectation_implementations()
        close = difflib.get_close_matches(spec.type, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return [(["type"], f"unknown Great Expectations expectation type {spec.type!r}{hint}")]
    try:
        _to_expectation(spec, index=0)
    except pydantic_v1.ValidationError as exc:
        # A field typed as a union reports one error per alternative; one line per field reads better.
        by_field: dict[tuple[str | int, ...], list[str]] = {}
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if p != "__root__")
            messages = by_field.setdefault(loc, [])
            if err["msg"] not in messages:
                messages.append(err["msg"])
        return [(["kwargs", *loc], f"{spec.type}: {'; '.join(msgs)}") for loc, msgs in by_field.items()]
    except (TypeError, ValueError) as exc:
        return [(["kwargs"], f"{spec.type}: {exc}")]
    return []


def expectation_specs(schema: EntitySchema, extras: list[ExpectationSpec]) -> list[ExpectationSpec]:
    """The full list of expectations of an entity: generated from ``schema``, then ``extras``.

    Per column, in schema order: ``expect_column_to_exist``; ``expect_column_values_to_not_be_null``
    when the column is not nullable; ``expect_column_values_to_be_in_set`` for ``allowed_values``;
    ``expect_column_value_lengths_to_be_between`` for ``max_length``. Then the soft-delete flag
    must exist and be non-null on every row. Not-null checks of columns outside the primary key and the
    cursor only apply to live rows, as tombstones may carry nothing but their key.

    There is deliberately no uniqueness expectation on the primary key: a batch may hold several
    versions of one record, and the loader keeps the newest.

    Args:
        schema: the entity schema.
        extras: hand-written expectations (see :func:`load_extra_expectations`), appended as is.

    Returns:
        The specs in a deterministic order.

    Raises:
        ValueError: an extra expectation names a column the entity does not have.
    """
    specs: list[ExpectationSpec] = []
    always_required = {*schema.primary_key, schema.cursor}
    for col in schema.columns:
        specs.append(ExpectationSpec(type="expect_column_to_exist", kwargs={"column": col.name}))
        if not col.nullable:
            kwargs: dict[str, Any] = {"column": col.name}
            # Tombstones often carry only their key and cursor.
            if col.name not in always_required:
                kwargs["row_condition"] = _live_rows()
            specs.append(ExpectationSpec(type="expect_column_values_to_not_be_null", kwargs=kwargs))
        if col.allowed_values is not None:
            specs.append(
                ExpectationSpec(
                    type="expect_column_values_to_be_in_set",
                    kwargs={"column": col.name, "value_set": list(col.allowed_values)},
                )
            )
        if col.max_length is not None:
            specs.append(
                ExpectationSpec(
                    type="expect_column_value_lengths_to_be_between",
                    kwargs={"column": col.name, "max_value": col.max_length},
                )
            )
    specs.append(ExpectationSpec(type="expect_column_to_exist", kwargs={"column": DELETED_COLUMN}))
    specs.append(ExpectationSpec(type="expect_column_values_to_not_be_null", kwargs={"column": DELETED_COLUMN}))

    known = {*schema.column_names, DELETED_COLUMN}
    for extra in extras:
        unknown = [c for c in extra.columns if c not in known]
        if unknown:
            raise ValueError(
                f"extra expectation {extra.label} of {schema.entity} v{schema.version} names unknown columns {unknown}"
            )
    return [*specs, *extras]


def _to_expectation(spec: ExpectationSpec, index: int) -> Any:
    """Build the GX expectation object of ``spec`` (raises GX's own errors on bad kwargs)."""
    import_great_expectations()  # scipy and altair deferred (quality/gx_import.py)
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    config = ExpectationConfiguration(
        type=spec.type,
        kwargs=dict(spec.kwargs),
        severity=spec.severity,  # type: ignore[arg-type]  # GX coerces the string to its enum
        meta={SPEC_INDEX_META: index},
    )
    expectation = config.to_domain_obj()
    # Some expectations (table row counts) default to letting errors escape validation; an error
    # must be reported like any other failure instead of aborting the whole batch.
    expectation.catch_exceptions = True
    return expectation


def suite_name(schema: EntitySchema) -> str:
    """The suite name of an entity version, for example ``customer_v1``."""
    return f"{schema.entity}_v{schema.version}"


def build_suite(schema: EntitySchema, specs: list[ExpectationSpec]) -> gx.ExpectationSuite:
    """Build the Great Expectations suite named ``<entity>_v<version>`` from ``specs``.

    Each expectation's ``meta`` records its position in ``specs`` under :data:`SPEC_INDEX_META`.

    Args:
        schema: the entity schema (names the suite).
        specs: usually :func:`expectation_specs` of the schema.

    Returns:
        A suite not attached to any data context.
    """
    gx = import_great_expectations()

    expectations = [_to_expectation(spec, index) for index, spec in enumerate(specs)]
    return gx.ExpectationSuite(name=suite_name(schema), expectations=expectations)


def suite_json(schema: EntitySchema, specs: list[ExpectationSpec]) -> dict[str, Any]:
    """The suite of :func:`build_suite` as a JSON-safe dict, to store next to the data and in docs."""
    result: dict[str, Any] = build_suite(schema, specs).to_json_dict()
    return result
