"""Encoded queries (``sysparm_query``) parsed and turned into SQL over a table's dictionary fields.

Grammar as the instance reads it: ``^`` joins conditions with AND, ``^OR`` makes the condition an alternative of
the previous one (OR binds tighter than AND), ``^NQ`` starts a new query OR-ed with the others, ``^^`` is a
literal caret, ``ORDERBY<field>`` / ``ORDERBYDESC<field>`` sort, ``^EQ`` ends the query. Operators: ``=``,
``!=``, ``>``, ``>=``, ``<``, ``<=``, ``IN``, ``NOT IN``, ``LIKE``, ``NOT LIKE``, ``STARTSWITH``, ``ENDSWITH``,
``ISEMPTY``, ``ISNOTEMPTY``, ``ANYTHING``, ``BETWEEN`` (``a@b``), ``SAMEAS``/``NSAMEAS`` (another field).

As on the instance, a condition on a field the table does not have is ignored (the query returns more rows)
unless ``glide.invalid_query.returns_no_rows`` is set (``invalid="no_rows"``: no rows at all); ``!=`` and the
``NOT`` operators also match empty values. ``javascript:`` values are refused (the sandbox runs no scripts).
Identifiers reach SQL only from the dictionary; values are bound parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lumina_sandbox.servicenow.schema import Field
from lumina_sandbox.servicenow.store import ROW, quote

MAX_TERMS = 1000
_CARET = "\x00"
_CONDITION = re.compile(
    r"([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)"
    r"(ISNOTEMPTY|ISEMPTY|ANYTHING|NOT IN|NOT LIKE|NOTLIKE|STARTSWITH|ENDSWITH|NSAMEAS|SAMEAS|BETWEEN|LIKE|IN"
    r"|!=|>=|<=|=|>|<)(.*)",
    re.DOTALL,
)


class QueryError(ValueError):
    """A query the instance refuses (400)."""


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    value: str


@dataclass
class EncodedQuery:
    # OR of groups (^NQ); a group is an AND of terms; a term is an OR of conditions (^OR).
    groups: list[list[list[Condition | None]]] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)


def parse(text: str) -> EncodedQuery:
    """Parse ``sysparm_query``; a malformed condition is kept as None (an invalid condition)."""
    if "javascript:" in text.lower():
        raise QueryError("javascript: is not evaluated by the sandbox; send the value itself")
    tokens = [t.replace(_CARET, "^") for t in text.replace("^^", _CARET).split("^")]
    if len(tokens) > MAX_TERMS:
        raise QueryError(f"sysparm_query has more than {MAX_TERMS} conditions")
    query = EncodedQuery()
    group: list[list[Condition | None]] = []
    for raw in tokens:
        token = raw.strip()
        if not token:
            continue
        if token == "EQ":
            break
        if token.startswith("NQ"):  # ``a=1^NQb=2``: the new query's first condition follows NQ directly
            if group:
                query.groups.append(group)
            group = []
            token = token[2:]
            if not token:
                continue
        if token.startswith("ORDERBYDESC"):
            query.order.append((token[len("ORDERBYDESC") :], True))
        elif token.startswith("ORDERBY"):
            query.order.append((token[len("ORDERBY") :], False))
        elif token.startswith("OR") and group:
            group[-1].append(_condition(token[2:]))
        else:
            group.append([_condition(token)])
    if group:
        query.groups.append(group)
    return query


def _condition(token: str) -> Condition | None:
    match = _CONDITION.fullmatch(token)
    if match is None:
        return None
    return Condition(match.group(1), match.group(2), match.group(3))


@dataclass
class Sql:
    where: str
    params: list[object]
    order: str


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _column(spec: Field, numeric: bool) -> str:
    column = quote(spec.element)
    return f"CAST({column} AS REAL)" if numeric and spec.numeric else column


def _number(spec: Field, value: str) -> float | str:
    if spec.numeric:
        try:
            return float(value)
        except ValueError:
            return value
    return value


def condition_sql(condition: Condition, fields: dict[str, Field]) -> tuple[str, list[object]] | None:
    """SQL for one condition, or None when it names no field of the table (an invalid condition)."""
    spec = fields.get(condition.field)
    if spec is None:
        return None
    op, value = condition.operator, condition.value
    column = quote(spec.element)
    empty = f"({column} IS NULL OR {column} = '')"
    if op == "ANYTHING":
        return "1=1", []
    if op == "ISEMPTY" or (op == "=" and value == ""):
        return empty, []
    if op == "ISNOTEMPTY":
        return f"NOT {empty}", []
    if op == "=":
        return f"{column} = ?", [value]
    if op == "!=":
        return f"({column} IS NULL OR {column} != ?)", [value]
    if op in (">", ">=", "<", "<="):
        return f"{_column(spec, True)} {op} ?", [_number(spec, value)]
    if op == "BETWEEN":
        low, _, high = value.partition("@")
        return f"{_column(spec, True)} BETWEEN ? AND ?", [_number(spec, low), _number(spec, high)]
    if op in ("IN", "NOT IN"):
        values = value.split(",")
        marks = ", ".join("?" * len(values))
        if op == "IN":
            return f"{column} IN ({marks})", list(values)
        return f"({column} IS NULL OR {column} NOT IN ({marks}))", list(values)
    if op in ("LIKE", "NOT LIKE", "NOTLIKE", "STARTSWITH", "ENDSWITH"):
        pattern = {"STARTSWITH": "{}%", "ENDSWITH": "%{}"}.get(op, "%{}%").format(_like(value))
        if op in ("NOT LIKE", "NOTLIKE"):
            return f"({column} IS NULL OR {column} NOT LIKE ? ESCAPE '\\')", [pattern]
        return f"{column} LIKE ? ESCAPE '\\'", [pattern]
    other = fields.get(value)
    if other is None:
        return None
    if op == "SAMEAS":
        return f"{column} = {quote(other.element)}", []
    return f"({column} IS NULL OR {column} != {quote(other.element)})", []  # NSAMEAS


def to_sql(query: EncodedQuery, fields: dict[str, Field], invalid: str = "ignore") -> Sql:
    """WHERE (without the keyword; ``1=1`` when empty), its parameters and ORDER BY for ``query``."""
    params: list[object] = []
    groups: list[str] = []
    for group in query.groups:
        terms: list[str] = []
        for alternatives in group:
            parts: list[str] = []
            for condition in alternatives:
                made = condition_sql(condition, fields) if condition is not None else None
                if made is None:
                    if invalid == "no_rows":
                        return Sql("0=1", [], ROW)
                    continue
                parts.append(made[0])
                params.extend(made[1])
            if parts:
                terms.append(parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")")
        groups.append(" AND ".join(terms) if terms else "1=1")
    where = "1=1" if not groups else groups[0] if len(groups) == 1 else " OR ".join(f"({g})" for g in groups)
    order = []
    for name, descending in query.order:
        spec = fields.get(name)
        if spec is not None:
            order.append(f"{_column(spec, True)}{' DESC' if descending else ''}")
    if not any(name == "sys_id" for name, _ in query.order):
        order.append(ROW)  # sys_id is unique: after it the insertion order never decides anything
    return Sql(where, params, ", ".join(order))
