"""The SOQL subset the Salesforce sandbox understands: a tokenizer and a recursive-descent parser.

``parse`` turns a SOQL statement into a ``Query`` tree (``lumina_sandbox.salesforce.sql`` compiles it to SQL).
Anything outside the subset, and anything real Salesforce would reject at parse time, raises ``SoqlError`` with
Salesforce's own ``errorCode``; ``SoqlError.located`` renders the message the way Salesforce does, with the
offending line, a caret and ``ERROR at Row:r:Column:c``.

Mixing AND and OR at one level without parentheses is MALFORMED_QUERY, as in Salesforce. The query keeps the
position of every name it mentions so that errors found later (an unknown field) point at the right column.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
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

    def __init__(self, error_code: str, message: str, pos: int | None = None) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message
        self.pos = pos

    def located(self, soql: str) -> str:
        """Salesforce's message form: the query line, a caret under the error, its row and column, the text."""
        if self.pos is None:
            return self.message
        pos = min(max(self.pos, 0), len(soql))
        start = soql.rfind("\n", 0, pos) + 1
        end = soql.find("\n", pos)
        line = soql[start : end if end >= 0 else len(soql)]
        row = soql.count("\n", 0, pos) + 1
        column = pos - start + 1
        return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{self.message}"


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
    positions: dict[str, int] = field(default_factory=dict, compare=False)

    def position(self, name: str) -> int | None:
        """Where ``name`` (a field, or the object) first appears in the statement."""
        return self.positions.get(name.lower())


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
                raise SoqlError("MALFORMED_QUERY", "unterminated string literal", pos)
            bad = re.match(r"\S+", soql[pos:])
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{bad.group() if bad else soql[pos]}'", pos)
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


def like_pattern(body: str) -> str:
    """A LIKE pattern body (as written between the quotes) as an SQLite LIKE pattern with ``ESCAPE '\\'``."""
    parts = []
    for char, escaped in _scan_string(body, like=True):
        if (escaped and char in "%_\\") or (not escaped and char == "\\"):
            parts.append("\\" + char)
        else:
            parts.append(char)
    return "".join(parts)


def like_regex(body: str) -> re.Pattern[str]:
    """A LIKE pattern body as a case-insensitive regular expression (for text beyond ASCII)."""
    return _like_regex(body)


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
        self.positions: dict[str, int] = {}

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
        return SoqlError("MALFORMED_QUERY", message, token.pos)

    def unsupported(self, what: str) -> SoqlError:
        return SoqlError(
            "MALFORMED_QUERY", f"{what} is valid SOQL that the Salesforce sandbox does not support", self.peek().pos
        )

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
        self.positions["__object__"] = self.peek().pos
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
        return Query(sobject, fields, count_only, where, order_by, limit, offset, self.positions)

    def select_list(self) -> list[str]:
        fields: list[str] = []
        seen: set[str] = set()
        while True:
            if self.at_punct("("):
                raise self.unsupported("a subquery in SELECT")
            field = self.name("field")
            if field.lower() in seen:
                raise SoqlError(
                    "MALFORMED_QUERY", f"duplicate field selected: {field}", self.tokens[self.index - 1].pos
                )
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
        self.positions.setdefault(token.text.lower(), token.pos)
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
