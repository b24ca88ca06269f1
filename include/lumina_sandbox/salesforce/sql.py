"""Compiles a parsed SOQL ``Query`` to parameterised SQLite over the org's tables, plus the row projections.

Names are resolved through the object's field list (never pasted from the query) and literals are bound as
parameters. Salesforce semantics kept in SQL:

* text ``=``, ``!=``, ``IN`` and ``LIKE`` ignore case (ASCII in SQLite's C code, other letters through
  ``sf_lower``/``sf_like``); ``<``/``>`` and ORDER BY compare stored values;
* SOQL logic is two-valued: ``Industry != 'Banking'``, ``NOT IN`` and ``NOT (...)`` include nulls; a null
  checkbox is false; negations are pushed down to the leaves so index-friendly comparisons stay as they are;
* datetimes are fixed-width UTC text, so comparing text compares instants; 15-character ids are widened;
* filtering on compound fields or long text areas is INVALID_FIELD, as in Salesforce.

Projections render a record as REST JSON (built by SQLite's JSON functions) or as Bulk CSV cells.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from lumina_sandbox.salesforce import soql
from lumina_sandbox.salesforce.clock import to_storage
from lumina_sandbox.salesforce.ids import canonical
from lumina_sandbox.salesforce.schema import ADDRESS_PARTS, Catalog, Field, SObjectType, category, quote_ident
from lumina_sandbox.salesforce.soql import SoqlError
from lumina_sandbox.salesforce.store import DELETED_AT

_NO_SUCH_COLUMN = (
    "No such column '{field}' on entity '{entity}'. If you are attempting to use a custom field, be sure to "
    "append the '__c' after the custom field name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)
_ID_RE = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
# (literal kind the category takes, the type Salesforce names in its error, whether that type is quoted)
_EXPECTED: dict[str, tuple[str, str, bool]] = {
    "id": ("string", "id", True),
    "text": ("string", "string", True),
    "number": ("number", "double", False),
    "boolean": ("boolean", "boolean", False),
    "date": ("date", "date", False),
    "datetime": ("datetime", "dateTime", False),
}
_JSON_GROUP = 50  # key/value pairs per json_object() call (SQLite allows 127 arguments)


def filterable(field: Field) -> bool:
    return field.type not in ("address", "location", "base64") and not (field.type == "textarea" and field.length > 255)


def sortable(field: Field) -> bool:
    return filterable(field)


def expression(field: Field) -> str:
    """The SQL expression of a field's value over the table aliased ``t``."""
    if field.formula_sql is not None:
        return f"({field.formula_sql})"
    return f"t.{quote_ident(field.name)}"


@dataclass
class Compiled:
    """A SOQL query as SQL parts; ``params`` holds the bound literals plus ``today``."""

    sobject: SObjectType
    fields: list[Field]
    where: str
    order: str
    params: dict[str, Any]
    limit: int | None
    offset: int
    count_only: bool
    soql: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def tail(self) -> str:
        """ORDER BY ... LIMIT ... OFFSET ... (LIMIT -1 means none in SQLite)."""
        limit = -1 if self.limit is None else self.limit
        return f"{self.order} LIMIT {int(limit)} OFFSET {int(self.offset)}"

    def rowid_sql(self) -> str:
        return f"SELECT t.rowid FROM {self.sobject.table} t WHERE {self.where} {self.tail()}"

    def count_sql(self) -> str:
        return f"SELECT count(*) FROM (SELECT 1 FROM {self.sobject.table} t WHERE {self.where} {self.tail()})"

    def compound_fields(self) -> list[Field]:
        return [f for f in self.fields if f.type in ("address", "location")]


class _Where:
    """Turns a WHERE tree into SQL text with named parameters."""

    def __init__(self, sobject: SObjectType, query: soql.Query, params: dict[str, Any]) -> None:
        self.sobject = sobject
        self.query = query
        self.params = params

    def bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def resolve(self, name: str) -> Field:
        found = self.sobject.find(name)
        if found is None:
            raise SoqlError(
                "INVALID_FIELD",
                _NO_SUCH_COLUMN.format(field=name, entity=self.sobject.name),
                self.query.position(name),
            )
        if not filterable(found):
            raise SoqlError(
                "INVALID_FIELD",
                f"field '{found.name}' can not be filtered in a query call",
                self.query.position(name),
            )
        return found

    def compile(self, expr: soql.Expr, negate: bool = False) -> str:
        if isinstance(expr, soql.And | soql.Or):
            joiner = " AND " if isinstance(expr, soql.And) != negate else " OR "
            return "(" + joiner.join(self.compile(e, negate) for e in expr.operands) + ")"
        if isinstance(expr, soql.Not):
            return self.compile(expr.operand, not negate)
        if isinstance(expr, soql.Comparison):
            return self.comparison(expr, negate)
        if isinstance(expr, soql.InList):
            return self.in_list(expr, negate)
        return self.like(expr, negate)

    def literal(self, field: Field, value: soql.Value) -> Any:
        """The literal as stored for the field's category; SoqlError for the wrong kind of literal."""
        if value.kind == "null":
            return None
        kind = category(field.type)
        literal_kind, type_name, quoted = _EXPECTED[kind]
        if kind == "number":
            type_name = {"int": "integer"}.get(field.type, field.type)
        if value.kind != literal_kind:
            enclosed = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
            raise SoqlError(
                "INVALID_FIELD",
                f"value of filter criterion for field '{field.name}' must be of type {type_name} and {enclosed}",
                self.query.position(field.name),
            )
        if kind == "id":
            if value.value and not _ID_RE.fullmatch(value.value):
                raise SoqlError(
                    "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {value.value}", self.query.position(field.name)
                )
            return canonical(value.value)
        if kind == "number":
            number: Decimal = value.value
            return (
                int(number) if number == number.to_integral_value() and field.type in ("int", "long") else float(number)
            )
        if kind == "date":
            day: date = value.value
            return day.isoformat()
        if kind == "datetime":
            return to_storage(value.value)
        if kind == "boolean":
            return int(value.value)
        return value.value

    @staticmethod
    def _negated(sql: str, column: str, negate: bool) -> str:
        """``sql`` as a two-valued test: when negated, nulls count as "not matching" and so are included."""
        return f"({column} IS NULL OR NOT {sql})" if negate else sql

    def comparison(self, expr: soql.Comparison, negate: bool) -> str:
        field = self.resolve(expr.field)
        column = expression(field)
        literal = self.literal(field, expr.value)
        kind = category(field.type)
        op = expr.op
        if kind == "boolean":
            if op not in ("=", "!="):
                raise SoqlError(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"invalid operator on boolean field '{field.name}': {op}",
                    self.query.position(field.name),
                )
            wanted = bool(literal) if literal is not None else False
            if (op == "!=") != negate:
                wanted = not wanted
            return f"(coalesce({column}, 0) = {int(wanted)})"
        if literal is None:
            if op in ("=", "!="):
                is_null = (op == "=") != negate
                return f"({column} IS {'' if is_null else 'NOT '}NULL)"
            return "(0)" if not negate else "(1)"
        if op in ("=", "!="):
            equal = self._equals(field, column, literal)
            # `!=` is "not equal", nulls included; negation flips it back
            return self._negated(equal, column, (op == "!=") != negate)
        test = f"({column} {op} {self.bind(literal)})"
        return self._negated(test, column, negate)

    def _equals(self, field: Field, column: str, literal: Any) -> str:
        if category(field.type) == "text":
            if literal.isascii():
                return f"({column} = {self.bind(literal)} COLLATE NOCASE)"
            return f"(sf_lower({column}) = {self.bind(literal.lower())})"
        return f"({column} = {self.bind(literal)})"

    def in_list(self, expr: soql.InList, negate: bool) -> str:
        field = self.resolve(expr.field)
        column = expression(field)
        if category(field.type) == "boolean":
            raise SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"invalid operator on boolean field '{field.name}': IN",
                self.query.position(field.name),
            )
        literals = [self.literal(field, v) for v in expr.values]
        with_null = any(v is None for v in literals)
        members = [v for v in literals if v is not None]
        if members and category(field.type) == "text":
            if all(m.isascii() for m in members):
                member_sql = f"({column} COLLATE NOCASE IN ({', '.join(self.bind(m) for m in members)}))"
            else:
                member_sql = f"(sf_lower({column}) IN ({', '.join(self.bind(m.lower()) for m in members)}))"
        elif members:
            member_sql = f"({column} IN ({', '.join(self.bind(m) for m in members)}))"
        else:
            member_sql = "(0)"
        inside = f"({member_sql} OR {column} IS NULL)" if with_null else member_sql
        if expr.negated != negate:
            if with_null:
                return f"({column} IS NOT NULL AND NOT {member_sql})"
            return f"({column} IS NULL OR NOT {member_sql})"
        return inside

    def like(self, expr: soql.Like, negate: bool) -> str:
        field = self.resolve(expr.field)
        column = expression(field)
        if category(field.type) != "text":
            raise SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"invalid operator on {field.type} field '{field.name}': LIKE",
                self.query.position(field.name),
            )
        if expr.pattern.isascii():
            test = f"({column} LIKE {self.bind(soql.like_pattern(expr.pattern))} ESCAPE '\\')"
        else:
            test = f"(sf_like({column}, {self.bind(soql.like_regex(expr.pattern).pattern)}) = 1)"
        return self._negated(test, column, negate)


def compile_query(text: str, catalog: Catalog, *, include_deleted: bool, today: date) -> Compiled:
    """Parse and compile a SOQL statement; SoqlError (with its position) for anything Salesforce would reject."""
    query = soql.parse(text)
    sobject = catalog.find(query.sobject)
    if sobject is None or not sobject.queryable:
        raise SoqlError(
            "INVALID_TYPE",
            f"sObject type '{query.sobject}' is not supported. If you are attempting to use a custom object, be sure "
            "to append the '__c' after the entity name. Please reference your WSDL or the describe call for the "
            "appropriate names.",
            query.position("__object__"),
        )
    params: dict[str, Any] = {"today": today.isoformat()}
    fields: list[Field] = []
    for name in query.fields:
        found = sobject.find(name)
        if found is None:
            raise SoqlError(
                "INVALID_FIELD", _NO_SUCH_COLUMN.format(field=name, entity=sobject.name), query.position(name)
            )
        if any(f.name == found.name for f in fields):
            raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {found.name}", query.position(name))
        fields.append(found)
    where_compiler = _Where(sobject, query, params)
    clauses = []
    if sobject.has_is_deleted and not include_deleted:
        clauses.append('t."IsDeleted" = 0')
    if query.where is not None:
        clauses.append(where_compiler.compile(query.where))
    order_items = []
    for item in query.order_by:
        found = sobject.find(item.field)
        if found is None:
            raise SoqlError(
                "INVALID_FIELD",
                _NO_SUCH_COLUMN.format(field=item.field, entity=sobject.name),
                query.position(item.field),
            )
        if not sortable(found):
            raise SoqlError(
                "INVALID_FIELD",
                f"field '{found.name}' can not be sorted in a query call",
                query.position(item.field),
            )
        nulls_first = item.ascending if item.nulls_first is None else item.nulls_first
        direction = "ASC" if item.ascending else "DESC"
        order_items.append(f"{expression(found)} {direction} NULLS {'FIRST' if nulls_first else 'LAST'}")
    order = ("ORDER BY " + ", ".join(order_items)) if order_items else ""
    return Compiled(
        sobject=sobject,
        fields=fields,
        where=" AND ".join(clauses) or "1",
        order=order,
        params=params,
        limit=query.limit,
        offset=query.offset or 0,
        count_only=query.count_only,
        soql=text,
    )


# --- projections -------------------------------------------------------------------------------------------------


def _json_value(sobject: SObjectType, field: Field) -> str:
    if field.type == "boolean":
        return f"CASE WHEN {expression(field)} THEN json('true') ELSE json('false') END"
    if field.type == "datetime":
        return f"substr({expression(field)}, 1, 23) || '+0000'"
    if field.type == "address":
        parts = {part.name: part for part in sobject.components(field.name)}
        prefix = field.name[: -len("Address")]
        pairs = []
        present = []
        for key, suffix in ADDRESS_PARTS:
            component = parts.get(prefix + suffix)
            value = expression(component) if component is not None else "NULL"
            pairs.append(f"'{key}', {value}")
            if component is not None:
                present.append(value)
        return f"CASE WHEN coalesce({', '.join(present)}) IS NULL THEN NULL ELSE json_object({', '.join(pairs)}) END"
    if field.type == "location":
        return "NULL"
    return expression(field)


def json_columns(sobject: SObjectType, fields: list[Field]) -> list[str]:
    """SQL expressions whose texts, joined, make the REST record: the attributes part first, then field groups.

    Each group is a ``json_object`` over up to 50 fields; ``record_json`` strips the braces and joins them, so
    wide objects stay within SQLite's argument limit. The version of the URL is the ``:ver`` parameter.
    """
    attributes = (
        f'\'{{"attributes":{{"type":"{sobject.name}","url":"/services/data/v\' || :ver || '
        f"'/sobjects/{sobject.name}/' || t.\"Id\" || '\"}}'"
    )
    columns = [attributes]
    for start in range(0, len(fields), _JSON_GROUP):
        group = fields[start : start + _JSON_GROUP]
        pairs = ", ".join(f"'{f.name}', {_json_value(sobject, f)}" for f in group)
        columns.append(f"json_object({pairs})")
    return columns


def record_json(row: tuple[Any, ...]) -> str:
    """Join the texts of ``json_columns`` (after any leading non-JSON columns were removed) into one record."""
    inner = ",".join(group[1:-1] for group in row[1:] if len(group) > 2)
    return f"{row[0]},{inner}}}" if inner else f"{row[0]}}}"


def _csv_value(field: Field) -> str:
    column = expression(field)
    if field.type == "boolean":
        return f"CASE WHEN {column} THEN '\"true\"' ELSE '\"false\"' END"
    if category(field.type) == "text":
        return f"coalesce('\"' || replace({column}, '\"', '\"\"') || '\"', '\"\"')"
    return f"coalesce('\"' || {column} || '\"', '\"\"')"  # ids, numbers, dates: never contain a quote


def csv_columns(fields: list[Field], delimiter: str | None = None, group: int = 100) -> list[str]:
    """SQL expressions giving each field as a finished, double-quoted CSV cell (null as ``""``).

    With a ``delimiter`` (one of Bulk 2.0's, never a quote or ``%``), each group of up to ``group`` fields is one
    ``format('"%w",...')`` call (``%w`` doubles double quotes), so SQLite renders whole lines in C and a row
    reaches Python as one or a few strings.
    """
    if delimiter is None:
        return [_csv_value(f) for f in fields]
    if delimiter not in ",\t|;^`":
        raise ValueError(f"not a Bulk 2.0 delimiter: {delimiter!r}")
    groups = []
    for start in range(0, len(fields), group):
        chunk = fields[start : start + group]
        template = delimiter.join('"%w"' for _ in chunk)
        args = ", ".join(_format_arg(f) for f in chunk)
        groups.append(f"format('{template}', {args})")
    return groups


def _format_arg(field: Field) -> str:
    column = expression(field)
    if field.type == "boolean":
        return f"CASE WHEN {column} THEN 'true' ELSE 'false' END"
    return f"coalesce({column}, '')"


def csv_header(fields: list[Field], delimiter: str) -> str:
    return delimiter.join(f'"{f.name}"' for f in fields)


def deleted_at_column() -> str:
    return DELETED_AT
