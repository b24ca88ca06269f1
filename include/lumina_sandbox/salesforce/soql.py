"""The SOQL subset the Salesforce sandbox understands: a tokenizer, a recursive-descent parser and an executor.

``parse`` turns a SOQL statement into a ``Query``; ``execute`` filters, orders, pages and projects in-memory
records (dicts keyed by canonical API names) with it. Anything outside the subset, and anything real Salesforce
would reject, raises ``SoqlError`` with Salesforce's own ``errorCode`` so clients see the failures they would see
against a real org.

Where the sandbox is stricter or simpler than Salesforce, it follows Salesforce's documented rules:

* mixing AND and OR at one level without parentheses is MALFORMED_QUERY, as in Salesforce;
* a filter value of the wrong kind for its field (a quoted value against a dateTime field, a number against a
  text field, ...) is INVALID_FIELD "value of filter criterion for field 'X' must be of type ...";
* ids in filters must be 15 or 18 alphanumeric characters (INVALID_QUERY_FILTER_OPERATOR "invalid ID field");
  a 15-character id is widened to its 18-character form, as Salesforce does;
* a boolean field that holds None behaves as false (Salesforce's checkboxes are never null).

Text equality (=, !=, IN, LIKE) is case-insensitive; <, <=, >, >= and ORDER BY use ordinal ordering of the stored
values so keyset paging sees the same order it filters on.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias

MAX_SOQL_LENGTH = 100_000
MAX_OFFSET = 2_000

# Salesforce's reserved words: never field or object names.
_RESERVED = frozenset(
    {
        *("AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES"),
        *("LAST", "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "WHERE", "WITH"),
    }
)
# Valid SOQL the sandbox does not implement; named in the error so nobody hunts for a typo.
_UNSUPPORTED = frozenset({"GROUP", "HAVING", "WITH", "USING", "FOR", "UPDATE", "TYPEOF", "INCLUDES", "EXCLUDES"})

_TEXT_TYPES = frozenset(
    {"string", "textarea", "picklist", "multipicklist", "email", "phone", "url", "combobox", "encryptedstring"}
)
_ID_TYPES = frozenset({"id", "reference"})
_NUMBER_TYPES = frozenset({"int", "long", "double", "currency", "percent"})
_COMPOUND_TYPES = frozenset({"address", "location"})

_NO_SUCH_COLUMN = (
    "No such column '{field}' on entity '{entity}'. If you are attempting to use a custom field, be sure to "
    "append the '__c' after the custom field name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)


class SoqlError(Exception):
    """A query Salesforce would reject.

    ``error_code`` is Salesforce's errorCode (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE,
    INVALID_QUERY_FILTER_OPERATOR, NUMBER_OUTSIDE_VALID_RANGE); ``message`` is Salesforce-style text.
    """

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


# --- syntax tree -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY key; ``nulls_first`` None means Salesforce's default (first for ASC, last for DESC)."""

    field: str
    ascending: bool = True
    nulls_first: bool | None = None


@dataclass(frozen=True)
class Value:
    """A literal in a filter: ``kind`` is string, number, boolean, null, date or datetime.

    ``value`` is the decoded Python value: str (escapes resolved), Decimal, bool, None, date, or a UTC datetime.
    """

    kind: str
    value: Any


@dataclass(frozen=True)
class Comparison:
    """``field op value`` with op one of = != < <= > >= (``<>`` is normalised to ``!=``)."""

    field: str
    op: str
    value: Value


@dataclass(frozen=True)
class InList:
    """``field IN (...)`` or, when ``negated``, ``field NOT IN (...)``."""

    field: str
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True)
class Like:
    """``field LIKE 'pattern'``; ``pattern`` is the literal as written between the quotes (escapes unresolved)."""

    field: str
    pattern: str


@dataclass(frozen=True)
class And:
    """All operands hold."""

    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    """At least one operand holds."""

    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    """The operand does not hold."""

    operand: Expr


Expr: TypeAlias = Comparison | InList | Like | And | Or | Not


@dataclass(frozen=True)
class Query:
    """A parsed SOQL statement; field and object names are kept as written."""

    sobject: str
    fields: list[str]
    count_only: bool
    where: Expr | None
    order_by: list[OrderItem]
    limit: int | None
    offset: int | None


# --- tokenizer ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # ws, string, datetime, date, number, ident, op, punct, eof
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "ident" else ""


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\[\s\S])*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})(?![\w.:+-]))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\w.:+-]))
  | (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?![\w.:+-]))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),:])
    """,
    re.VERBOSE,
)


def _tokenize(soql: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(soql):
        match = _TOKEN_RE.match(soql, pos)
        if match is None:
            if soql[pos] == "'":
                raise SoqlError("MALFORMED_QUERY", f"unterminated string literal starting at column {pos + 1}")
            bad = re.match(r"\S+", soql[pos:])
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{bad.group() if bad else soql[pos]}'")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(_Token("eof", "<EOF>", len(soql)))
    return tokens


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _scan_string(body: str, *, like: bool) -> Iterator[tuple[str, bool]]:
    """Yield (character, was_escaped) for a string literal's body; ``\\%`` and ``\\_`` exist only in LIKE."""
    chars = iter(body)
    for char in chars:
        if char != "\\":
            yield char, False
            continue
        escaped = next(chars, "")
        if escaped.lower() in _ESCAPES:
            yield _ESCAPES[escaped.lower()], True
        elif like and escaped in "%_" and escaped:
            yield escaped, True
        else:
            raise SoqlError(
                "MALFORMED_QUERY", f"Invalid string literal '{body}'. Illegal escape sequence '\\{escaped}'"
            )


def _decode_string(body: str) -> str:
    return "".join(char for char, _ in _scan_string(body, like=False))


def _like_regex(body: str) -> re.Pattern[str]:
    parts = []
    for char, escaped in _scan_string(body, like=True):
        if escaped:
            parts.append(re.escape(char))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _parse_datetime(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        raise SoqlError("MALFORMED_QUERY", f"invalid dateTime literal: {text}") from None


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SoqlError("MALFORMED_QUERY", f"invalid date literal: {text}") from None


# --- parser ------------------------------------------------------------------------------------------------------


def parse(soql: str) -> Query:
    """Parse one SOQL statement; raises ``SoqlError`` for anything outside the supported subset."""
    if len(soql) > MAX_SOQL_LENGTH:
        raise SoqlError("MALFORMED_QUERY", f"SOQL statements cannot be longer than {MAX_SOQL_LENGTH} characters")
    return _Parser(_tokenize(soql)).query()


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0

    # token helpers

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.peek()
        self.index += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        return self.peek().upper in words

    def at_punct(self, text: str) -> bool:
        token = self.peek()
        return token.kind == "punct" and token.text == text

    def expect_keyword(self, word: str) -> None:
        if not self.at_keyword(word):
            raise self.unexpected()
        self.advance()

    def expect_punct(self, text: str) -> None:
        if not self.at_punct(text):
            raise self.unexpected()
        self.advance()

    def unexpected(self, token: _Token | None = None) -> SoqlError:
        token = token or self.peek()
        message = f"unexpected token: '{token.text}'"
        if token.upper in _UNSUPPORTED:
            message += f" ({token.upper} is valid SOQL that the Salesforce sandbox does not support)"
        return SoqlError("MALFORMED_QUERY", message)

    @staticmethod
    def unsupported(what: str) -> SoqlError:
        return SoqlError("MALFORMED_QUERY", f"{what} is valid SOQL that the Salesforce sandbox does not support")

    # grammar

    def query(self) -> Query:
        self.expect_keyword("SELECT")
        fields: list[str] = []
        count_only = self.at_keyword("COUNT") and self.peek(1).text == "("
        if count_only:
            self.advance()
            self.advance()
            if not self.at_punct(")"):
                raise self.unsupported(f"the aggregate COUNT({self.peek().text})")
            self.advance()
        else:
            fields = self.select_list()
        self.expect_keyword("FROM")
        sobject = self.name("object")
        where = None
        if self.at_keyword("WHERE"):
            self.advance()
            where = self.condition()
        order_by = self.order_by() if self.at_keyword("ORDER") else []
        limit = self.count_clause("LIMIT")
        offset = self.count_clause("OFFSET")
        if offset is not None and offset > MAX_OFFSET:
            raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        if self.peek().kind != "eof":
            raise self.unexpected()
        return Query(sobject, fields, count_only, where, order_by, limit, offset)

    def select_list(self) -> list[str]:
        fields: list[str] = []
        seen: set[str] = set()
        while True:
            if self.at_punct("("):
                raise self.unsupported("a subquery in SELECT")
            field = self.name("field")
            if field.lower() in seen:
                raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {field}")
            seen.add(field.lower())
            fields.append(field)
            if not self.at_punct(","):
                return fields
            self.advance()

    def name(self, what: str) -> str:
        """A field or object name: an identifier that is no reserved word and no relationship path."""
        token = self.peek()
        if token.kind != "ident" or token.upper in _RESERVED or token.upper in _UNSUPPORTED:
            raise self.unexpected()
        if self.peek(1).kind == "punct" and self.peek(1).text == "(":
            raise self.unsupported(f"the function {token.text}()")
        if "." in token.text:
            raise self.unsupported(f"the relationship {what} '{token.text}'")
        self.advance()
        return token.text

    def order_by(self) -> list[OrderItem]:
        self.expect_keyword("ORDER")
        self.expect_keyword("BY")
        items: list[OrderItem] = []
        while True:
            field = self.name("field")
            ascending = True
            if self.at_keyword("ASC", "DESC"):
                ascending = self.advance().upper == "ASC"
            nulls_first = None
            if self.at_keyword("NULLS"):
                self.advance()
                if not self.at_keyword("FIRST", "LAST"):
                    raise self.unexpected()
                nulls_first = self.advance().upper == "FIRST"
            items.append(OrderItem(field, ascending, nulls_first))
            if not self.at_punct(","):
                return items
            self.advance()

    def count_clause(self, keyword: str) -> int | None:
        if not self.at_keyword(keyword):
            return None
        self.advance()
        token = self.peek()
        if token.kind != "number" or not token.text.isdigit():
            raise self.unexpected()
        self.advance()
        return int(token.text)

    def condition(self) -> Expr:
        """Operands joined by one kind of connective; Salesforce demands parentheses to mix AND and OR."""
        first = self.operand()
        if not self.at_keyword("AND", "OR"):
            return first
        connective = self.peek().upper
        operands = [first]
        while self.at_keyword(connective):
            self.advance()
            operands.append(self.operand())
        if self.at_keyword("AND", "OR"):
            raise self.unexpected()
        return And(tuple(operands)) if connective == "AND" else Or(tuple(operands))

    def operand(self) -> Expr:
        if self.at_keyword("NOT"):
            self.advance()
            return Not(self.operand())
        if self.at_punct("("):
            self.advance()
            if self.at_keyword("SELECT"):
                raise self.unsupported("a subquery")
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.simple()

    def simple(self) -> Expr:
        field = self.name("field")
        token = self.peek()
        if token.kind == "op":
            self.advance()
            return Comparison(field, "!=" if token.text == "<>" else token.text, self.value())
        if token.upper == "LIKE":
            self.advance()
            pattern = self.peek()
            if pattern.kind != "string":
                raise self.unexpected()
            self.advance()
            body = pattern.text[1:-1]
            _like_regex(body)  # reject bad escapes at parse time, as Salesforce does
            return Like(field, body)
        negated = token.upper == "NOT"
        if negated:
            self.advance()
        if not self.at_keyword("IN"):
            raise self.unexpected()
        self.advance()
        self.expect_punct("(")
        if self.at_keyword("SELECT"):
            raise self.unsupported("a semi-join subquery")
        values = [self.value()]
        while self.at_punct(","):
            self.advance()
            values.append(self.value())
        self.expect_punct(")")
        return InList(field, tuple(values), negated)

    def value(self) -> Value:
        token = self.peek()
        if token.kind == "string":
            result = Value("string", _decode_string(token.text[1:-1]))
        elif token.kind == "number":
            try:
                result = Value("number", Decimal(token.text))
            except InvalidOperation:
                raise self.unexpected() from None
        elif token.kind == "date":
            result = Value("date", _parse_date(token.text))
        elif token.kind == "datetime":
            result = Value("datetime", _parse_datetime(token.text))
        elif token.upper in ("TRUE", "FALSE"):
            result = Value("boolean", token.upper == "TRUE")
        elif token.upper == "NULL":
            result = Value("null", None)
        else:
            # date literals (TODAY, LAST_N_DAYS:n), bind variables and expressions land here
            raise self.unexpected()
        self.advance()
        return result


# --- executor ----------------------------------------------------------------------------------------------------

Record: TypeAlias = Mapping[str, Any]
Predicate: TypeAlias = Callable[[Record], bool]

_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ID_RE = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_ID_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def _id18(value: str) -> str:
    """Widen a 15-character id to 18 characters (the suffix encodes which characters are upper case)."""
    if len(value) != 15:
        return value
    suffix = ""
    for start in range(0, 15, 5):
        bits = sum(1 << i for i, char in enumerate(value[start : start + 5]) if "A" <= char <= "Z")
        suffix += _ID_SUFFIX_CHARS[bits]
    return value + suffix


class _Schema:
    """Case-insensitive field lookup for one sObject."""

    def __init__(self, sobject: str, field_types: Mapping[str, str]) -> None:
        self.sobject = sobject
        self.fields = {name.lower(): (name, kind.lower()) for name, kind in field_types.items()}

    def resolve(self, field: str) -> tuple[str, str]:
        """(canonical name, Salesforce type) of a field as written in the query."""
        try:
            return self.fields[field.lower()]
        except KeyError:
            raise SoqlError("INVALID_FIELD", _NO_SUCH_COLUMN.format(field=field, entity=self.sobject)) from None

    def filterable(self, field: str) -> tuple[str, str]:
        name, kind = self.resolve(field)
        if kind in _COMPOUND_TYPES:
            raise SoqlError(
                "INVALID_FIELD",
                f"field '{name}' can not be filtered in a query call: compound fields cannot be filtered",
            )
        return name, kind


def _category(kind: str) -> str:
    if kind in _ID_TYPES:
        return "id"
    if kind in _NUMBER_TYPES:
        return "number"
    if kind in ("boolean", "date", "datetime"):
        return kind
    return "text"  # known text types, and any type the sandbox has no special rules for


# (literal kind the category takes, the type Salesforce names in its error, whether that type is quoted)
_EXPECTED: dict[str, tuple[str, str, bool]] = {
    "id": ("string", "id", True),
    "text": ("string", "string", True),
    "number": ("number", "double", False),
    "boolean": ("boolean", "boolean", False),
    "date": ("date", "date", False),
    "datetime": ("datetime", "dateTime", False),
}


def _coerce(name: str, kind: str, category: str, value: Value) -> Any:
    """The literal as the Python value stored for this field's category; None for null."""
    if value.kind == "null":
        return None
    literal_kind, type_name, quoted = _EXPECTED[category]
    if category == "number":
        type_name = {"int": "integer"}.get(kind, kind)
    if value.kind != literal_kind:
        enclosed = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
        raise SoqlError(
            "INVALID_FIELD", f"value of filter criterion for field '{name}' must be of type {type_name} and {enclosed}"
        )
    if category == "id":
        if value.value and not _ID_RE.fullmatch(value.value):
            raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {value.value}")
        return _id18(value.value)
    if category == "text":
        return value.value.casefold()
    return value.value


def _number_matcher(literal: Decimal, compare: Callable[[Any, Any], bool]) -> Predicate:
    """Compare stored ints, Decimals and floats with a Decimal literal without float/Decimal exactness surprises."""
    as_float = float(literal)

    def matches(stored: Any) -> bool:
        return compare(stored, as_float if isinstance(stored, float) else literal)

    return matches


class _Compiler:
    """Turns a WHERE tree into one Python closure, resolving names and checking literal types up front."""

    def __init__(self, schema: _Schema) -> None:
        self.schema = schema

    def compile(self, expr: Expr) -> Predicate:
        if isinstance(expr, And):
            return _all_of([self.compile(e) for e in expr.operands])
        if isinstance(expr, Or):
            return _any_of([self.compile(e) for e in expr.operands])
        if isinstance(expr, Not):
            inner = self.compile(expr.operand)
            return lambda record: not inner(record)
        if isinstance(expr, Comparison):
            return self.comparison(expr)
        if isinstance(expr, InList):
            return self.in_list(expr)
        return self.like(expr)

    def comparison(self, expr: Comparison) -> Predicate:
        name, kind = self.schema.filterable(expr.field)
        category = _category(kind)
        literal = _coerce(name, kind, category, expr.value)
        op = expr.op
        if category == "boolean":
            if op not in ("=", "!="):
                raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"invalid operator on boolean field '{name}': {op}")
            # Salesforce treats a null checkbox as false, so `= null` means `= false`.
            wanted = bool(literal)
            if op == "=":
                return lambda record: bool(record.get(name)) is wanted
            return lambda record: bool(record.get(name)) is not wanted
        if literal is None:
            if op == "=":
                return lambda record: record.get(name) is None
            if op == "!=":
                return lambda record: record.get(name) is not None
            return lambda record: False
        if category == "text" and op in ("=", "!="):
            equal = op == "="

            def text_equality(record: Record) -> bool:
                stored = record.get(name)
                return isinstance(stored, str) and (stored.casefold() == literal) is equal

            return text_equality
        if category == "text":
            # ordering compares the literal as written, not its case-folded form
            literal = expr.value.value
        compare = _COMPARATORS[op]
        if category == "number":
            matches = _number_matcher(literal, compare)

            def number_comparison(record: Record) -> bool:
                stored = record.get(name)
                return stored is not None and matches(stored)

            return number_comparison

        def comparison(record: Record) -> bool:
            stored = record.get(name)
            return stored is not None and compare(stored, literal)

        return comparison

    def in_list(self, expr: InList) -> Predicate:
        name, kind = self.schema.filterable(expr.field)
        category = _category(kind)
        if category == "boolean":
            raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"invalid operator on boolean field '{name}': IN")
        literals = [_coerce(name, kind, category, value) for value in expr.values]
        with_null = any(value is None for value in literals)
        members = {value for value in literals if value is not None}
        floats = {float(value) for value in members} if category == "number" else set()
        negated = expr.negated

        def member(stored: Any) -> bool:
            if category == "text":
                return isinstance(stored, str) and stored.casefold() in members
            if isinstance(stored, float):
                return stored in floats
            return stored in members

        def in_list(record: Record) -> bool:
            stored = record.get(name)
            if stored is None:
                return with_null and not negated
            return member(stored) is not negated

        return in_list

    def like(self, expr: Like) -> Predicate:
        name, kind = self.schema.filterable(expr.field)
        if _category(kind) != "text":
            raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"invalid operator on {kind} field '{name}': LIKE")
        fullmatch = _like_regex(expr.pattern).fullmatch

        def like(record: Record) -> bool:
            stored = record.get(name)
            return isinstance(stored, str) and fullmatch(stored) is not None

        return like


def _all_of(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 2:
        first, second = predicates
        return lambda record: first(record) and second(record)
    return lambda record: all(predicate(record) for predicate in predicates)


def _any_of(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 2:
        first, second = predicates
        return lambda record: first(record) or second(record)
    return lambda record: any(predicate(record) for predicate in predicates)


def _sort_key(name: str, nulls_low: bool) -> Callable[[Record], tuple[Any, ...]]:
    """A key that never compares None with a value: nulls get their own leading rank."""
    null_rank, value_rank = (0, 1) if nulls_low else (1, 0)

    def key(record: Record) -> tuple[Any, ...]:
        stored = record.get(name)
        return (null_rank,) if stored is None else (value_rank, stored)

    return key


def execute(
    query: Query, records: Iterable[Mapping[str, Any]], field_types: Mapping[str, str]
) -> list[dict[str, Any]] | int:
    """Filter, order, offset/limit and project ``records``; an int for COUNT() queries.

    ``field_types`` maps each field of the sObject to its Salesforce type (looked up case-insensitively).
    Every name in the query is checked before any record is read, so an unknown field fails even on an empty
    object. Result rows are keyed by canonical field names in SELECT order, values as stored.
    """
    schema = _Schema(query.sobject, field_types)
    selected = [schema.resolve(field)[0] for field in query.fields]
    predicate = _Compiler(schema).compile(query.where) if query.where is not None else None
    keys: list[tuple[Callable[[Record], tuple[Any, ...]], bool]] = []
    for item in query.order_by:
        name, kind = schema.resolve(item.field)
        if kind in _COMPOUND_TYPES:
            raise SoqlError("INVALID_FIELD", f"field '{name}' can not be sorted in a query call")
        nulls_first = item.ascending if item.nulls_first is None else item.nulls_first
        # with reverse=True the lowest key ends up last, so "nulls first" means nulls rank high
        keys.append((_sort_key(name, nulls_first == item.ascending), item.ascending))

    rows = [record for record in records if predicate(record)] if predicate else list(records)
    if not query.count_only:
        # one stable pass per key, least significant first, so each key can have its own direction
        for key, ascending in reversed(keys):
            rows.sort(key=key, reverse=not ascending)
    start = query.offset or 0
    stop = None if query.limit is None else start + query.limit
    page = rows[start:stop]
    if query.count_only:
        return len(page)
    return [{name: record.get(name) for name in selected} for record in page]
