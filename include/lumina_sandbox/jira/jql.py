"""A JQL subset read into SQL over the issues table (values always bound parameters).

Supported: clauses ``field OP value`` with ``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=``, ``~``, ``!~``, ``IN``,
``NOT IN``, ``IS [NOT] EMPTY|NULL``; ``AND`` (binds tighter), ``OR``, ``NOT``, parentheses; values bare, or quoted
with ``"`` or ``'`` and backslash escapes (``\\"``, ``\\'``, ``\\\\``, ``\\n``, ``\\t``, ``\\uXXXX``); functions
``currentUser()``, ``now()``; ``ORDER BY`` ``updated``, ``created``, ``key``/``issuekey``, ``id``, ``project``
with ``ASC``/``DESC``. Fields: project (key, id or name), key/issuekey/id, summary, status, issuetype, priority,
resolution, assignee/reporter/creator (account id or ``currentUser()``), labels, created, updated, resolved,
due, and custom fields as ``cf[10010]``, ``customfield_10010`` or their name.

Dates compare at the MINUTE, as Jira's index keeps them: ``updated > "2026-12-04 17:47"`` means updated in 17:48
or later, ``updated >= "2026-12-04 17:47"`` includes all of 17:47. Errors are Jira's 400s: an unknown field is
"Field 'x' does not exist or you do not have permission to view it.", an unknown project value "The value 'X'
does not exist for the field 'project'.", a syntax error "Error in the JQL Query: ...". The reader is iterative
over tokens, with a bounded nesting depth and query length.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lumina_sandbox.jira import reference
from lumina_sandbox.jira.catalog import Catalog, FieldDef
from lumina_sandbox.jira.errors import JiraError
from lumina_sandbox.jira.times import MINUTE_MS, date_literal

MAX_LENGTH = 20_000
MAX_DEPTH = 50
KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}
_TOKEN = re.compile(
    r"""\s*(?:(?P<op>!=|>=|<=|!~|=|>|<|~)|(?P<punct>[(),])|(?P<quoted>"|')|(?P<word>[^\s=!<>~(),"']+))"""
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\", " ": " "}
_KEY = re.compile(r"([A-Za-z][A-Za-z0-9_]*)-(\d+)")
SORTABLE = {
    "updated": ["updated"],
    "created": ["created"],
    "key": ["project", "num"],
    "issuekey": ["project", "num"],
    "id": ["id"],
    "project": ["project"],
}
DEFAULT_ORDER = [("project", False), ("num", False)]  # no ORDER BY: key descending


@dataclass
class Token:
    kind: str  # op, punct, string, word, end
    text: str
    position: int

    @property
    def keyword(self) -> str:
        return self.text.lower() if self.kind == "word" else ""


@dataclass
class Query:
    where: str
    params: list[Any]
    order: list[tuple[str, bool]]  # (column, ascending); always ends with the unique id
    bounded: bool
    sort_text: str = ""
    fields: list[str] = field(default_factory=list)


def syntax_error(message: str, token: Token) -> JiraError:
    return JiraError(400, f"Error in the JQL Query: {message} (line 1, character {token.position + 1})")


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise JiraError(400, "The JQL query is too long.")
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise JiraError(
                400, f"Error in the JQL Query: The character '{text[position]}' is a reserved JQL character."
            )
        start = match.start(match.lastgroup or 0)
        if match.group("quoted"):
            value, position = _quoted(text, match.end(), match.group("quoted"), start)
            tokens.append(Token("string", value, start))
            continue
        kind = "op" if match.group("op") else "punct" if match.group("punct") else "word"
        tokens.append(Token(kind, match.group(kind), start))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _quoted(text: str, position: int, quote: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    while position < len(text):
        char = text[position]
        if char == quote:
            return "".join(out), position + 1
        if char == "\\":
            following = text[position + 1 : position + 2]
            if following == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[position + 2 : position + 6]):
                out.append(chr(int(text[position + 2 : position + 6], 16)))
                position += 6
                continue
            if following not in _ESCAPES:
                raise JiraError(
                    400,
                    f"Error in the JQL Query: '\\{following}' is an illegal JQL escape sequence. "
                    f"(line 1, character {position + 1})",
                )
            out.append(_ESCAPES[following])
            position += 2
            continue
        out.append(char)
        position += 1
    raise JiraError(400, f"Error in the JQL Query: The quoted string starting at character {start + 1} is not closed.")


@dataclass(frozen=True)
class Site:
    """What a JQL text is read against besides the catalogue: now and the user's zone (relative dates, date
    literals), the caller (``currentUser()``), and lookups of users and issue keys."""

    now_ms: int
    zone: str
    me: str
    user_id: Callable[[str], str | None]
    key_to_id: Callable[[str, int], int | None]


class Reader:
    """Reads one JQL text against the catalogue and the ``site``."""

    def __init__(self, catalog: Catalog, site: Site):
        self.catalog = catalog
        self.site = site
        self.now_ms = site.now_ms
        self.zone = site.zone
        self.me = site.me
        self.user_id = site.user_id
        self.tokens: list[Token] = []
        self.index = 0
        self.params: list[Any] = []
        self.restricted = False

    # -- token helpers ------------------------------------------------------------------------------------------

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def accept(self, keyword: str) -> bool:
        if self.peek().keyword == keyword:
            self.index += 1
            return True
        return False

    # -- the grammar (iterative over clauses; parentheses nest up to MAX_DEPTH) -------------------------------------

    def read(self, text: str) -> Query:
        self.tokens = tokenize(text)
        where = "1=1"
        if self.peek().kind != "end" and self.peek().keyword != "order":
            where = self.expression()
        order = self.order_by()
        if self.peek().kind != "end":
            token = self.peek()
            raise syntax_error(f"Expecting either 'OR' or 'AND' but got '{token.text}'.", token)
        return Query(where, self.params, order, self.restricted)

    def expression(self) -> str:
        """OR of ANDs of (NOT)* terms; a term is a clause or a parenthesised expression (an explicit stack)."""
        stack: list[tuple[list[list[str]], list[bool]]] = []
        ors: list[list[str]] = [[]]
        while True:
            negations = 0
            while self.accept("not"):
                negations += 1
            token = self.peek()
            if token.kind == "punct" and token.text == "(":
                if len(stack) >= MAX_DEPTH:
                    raise JiraError(400, "Error in the JQL Query: the query nests too deeply.")
                self.take()
                stack.append((ors, [negations % 2 == 1]))
                ors = [[]]
                continue
            term = self.clause()
            if negations % 2:
                term = f"NOT ({term})"
            ors[-1].append(term)
            while True:
                if self.accept("and"):
                    break  # the next term joins this AND group
                if self.accept("or"):
                    ors.append([])
                    break
                closing = self.peek()
                if closing.kind == "punct" and closing.text == ")" and stack:
                    self.take()
                    inner = self._join(ors)
                    ors, negated = stack.pop()
                    ors[-1].append(f"NOT ({inner})" if negated[0] else f"({inner})")
                    continue
                if stack:
                    raise syntax_error(f"Expecting ')' but got '{closing.text or '<EOF>'}'.", closing)
                return self._join(ors)

    @staticmethod
    def _join(ors: list[list[str]]) -> str:
        return " OR ".join("(" + " AND ".join(terms) + ")" for terms in ors)

    def field_name(self) -> tuple[str, Token]:
        token = self.take()
        if token.kind not in ("word", "string") or (token.kind == "word" and token.keyword in KEYWORDS):
            raise syntax_error(f"Expecting a field name but got '{token.text or '<EOF>'}'.", token)
        return token.text, token

    def clause(self) -> str:
        name, _token = self.field_name()
        definition = self.catalog.resolve(name)
        if definition is None:
            raise JiraError(400, f"Field '{name}' does not exist or you do not have permission to view it.")
        operator = self.operator()
        if operator in ("is", "is not"):
            word = self.take()
            if word.keyword not in ("empty", "null"):
                raise syntax_error(f"Expecting 'EMPTY' but got '{word.text}'.", word)
            return self.emptiness(definition, operator == "is not")
        values = self.operand(operator)
        self.restricted = True
        return self.compare(definition, operator, values)

    def operator(self) -> str:
        token = self.take()
        if token.kind == "op":
            return token.text
        if token.keyword == "in":
            return "in"
        if token.keyword == "not" and self.accept("in"):
            return "not in"
        if token.keyword == "is":
            return "is not" if self.accept("not") else "is"
        if token.keyword in ("was", "changed"):
            raise JiraError(400, f"The sandbox does not support the '{token.text.upper()}' operator.")
        raise syntax_error(f"Expecting operator but got '{token.text or '<EOF>'}'.", token)

    def operand(self, operator: str) -> list[Token]:
        if operator in ("in", "not in"):
            opening = self.take()
            if not (opening.kind == "punct" and opening.text == "("):
                raise syntax_error(f"Expecting '(' but got '{opening.text}'.", opening)
            values = [self.value()]
            while self.peek().kind == "punct" and self.peek().text == ",":
                self.take()
                values.append(self.value())
            closing = self.take()
            if not (closing.kind == "punct" and closing.text == ")"):
                raise syntax_error(f"Expecting ')' but got '{closing.text}'.", closing)
            return values
        return [self.value()]

    def value(self) -> Token:
        token = self.take()
        if token.kind == "string":
            return token
        if token.kind == "word" and token.keyword not in KEYWORDS - {"empty", "null"}:
            following = self.peek()
            if following.kind == "punct" and following.text == "(":  # a function: name()
                self.take()
                closing = self.take()
                if not (closing.kind == "punct" and closing.text == ")"):
                    raise JiraError(400, f"The sandbox supports functions without arguments only: {token.text}().")
                return Token("function", token.text.lower() + "()", token.position)
            return token
        raise syntax_error(f"Expecting either a value, list or function but got '{token.text or '<EOF>'}'.", token)

    # -- SQL of a clause -----------------------------------------------------------------------------------------

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    def emptiness(self, definition: FieldDef, negated: bool) -> str:
        column = self.column(definition)
        sql = f"COALESCE(json_array_length({column}), 0) = 0" if definition.kind == "labels" else f"{column} IS NULL"
        self.restricted = True
        return f"NOT ({sql})" if negated else sql

    def column(self, definition: FieldDef) -> str:
        if definition.id in ("created", "updated"):
            return definition.id
        if definition.id == "project":
            return "project"
        if definition.id == "issuekey":
            return "id"
        path = f"$.{definition.id}"
        return f"json_extract(data, '{path}')"

    def compare(self, definition: FieldDef, operator: str, values: list[Token]) -> str:
        kind = definition.kind
        if kind == "unsupported":
            raise JiraError(400, f"The sandbox cannot search on the field '{definition.name}'.")
        if operator in ("~", "!~") and kind != "text":
            raise JiraError(
                400, f"The operator '{operator}' is not supported by the '{definition.clause_names[0]}' field."
            )
        if kind in ("datetime", "date"):
            return self.dates(definition, operator, values)
        if operator in (">", ">=", "<", "<=") and kind not in ("number", "key"):
            raise JiraError(
                400, f"The operator '{operator}' is not supported by the '{definition.clause_names[0]}' field."
            )
        column = self.column(definition)
        if kind == "text":
            if operator in ("~", "!~"):
                like = "%" + values[0].text.replace("*", "%").strip("%") + "%"
                sql = f"{column} LIKE {self.bind(like)}"
                return f"NOT ({sql})" if operator == "!~" else sql
            raise JiraError(400, f"The operator '{operator}' is not supported by the '{definition.name}' field.")
        resolved = [self.resolve_value(definition, value) for value in values]
        if kind == "labels":
            sql = " OR ".join(
                f"EXISTS (SELECT 1 FROM json_each(data, '$.{definition.id}') WHERE value = {self.bind(v)})"
                for v in resolved
            )
            return f"NOT ({sql})" if operator in ("!=", "not in") else f"({sql})"
        if kind == "key":
            column = "id"
        if kind == "option":
            column = f"json_extract(data, '$.{definition.id}')"
        if operator in ("=", "in"):
            return f"{column} IN ({', '.join(self.bind(v) for v in resolved)})"
        if operator in ("!=", "not in"):
            # Jira: != leaves out issues without a value, as SQL's NULL does
            return f"{column} NOT IN ({', '.join(self.bind(v) for v in resolved)})"
        return f"{column} {operator} {self.bind(resolved[0])}"

    def resolve_value(self, definition: FieldDef, token: Token) -> Any:
        text = token.text
        kind = definition.kind
        if kind == "project":
            project = reference.project_by(text)
            if project is None:
                raise JiraError(400, f"The value '{text}' does not exist for the field 'project'.")
            return project[1]
        if kind == "key":
            return self.issue_id(text)
        if kind == "named":
            table = reference.named(definition.id)
            for name, ident in table.items():
                if text.lower() in (name.lower(), str(ident)):
                    return name
            raise JiraError(400, f"The value '{text}' does not exist for the field '{definition.clause_names[0]}'.")
        if kind == "user":
            if token.kind == "function" and token.text == "currentuser()":
                return self.me
            found = self.user_id(text)
            if found is None:
                raise JiraError(400, f"The value '{text}' does not exist for the field '{definition.clause_names[0]}'.")
            return found
        if kind == "number":
            try:
                return float(text)
            except ValueError:
                raise JiraError(400, f"The value '{text}' is not a number for the field '{definition.name}'.") from None
        return text

    def issue_id(self, text: str) -> int:
        if text.isdigit():
            return int(text)
        match = _KEY.fullmatch(text)
        if match is None:
            raise JiraError(400, f"The issue key '{text}' for field 'key' is invalid.")
        project, number = match.group(1).upper(), int(match.group(2))
        found = self.site.key_to_id(project, number)
        if found is None:
            raise JiraError(400, f"An issue with key '{project}-{number}' does not exist for field 'key'.")
        return found

    def dates(self, definition: FieldDef, operator: str, values: list[Token]) -> str:
        column = self.column(definition)
        if definition.kind == "date":
            texts = [v.text for v in values]
            if operator in ("in", "not in", "=", "!="):
                marks = ", ".join(self.bind(t) for t in texts)
                return f"{column} {'NOT IN' if operator in ('!=', 'not in') else 'IN'} ({marks})"
            return f"{column} {operator} {self.bind(texts[0])}"
        minutes = []
        for value in values:
            moment = date_literal(value.text, self.now_ms, self.zone)
            if moment is None:
                raise JiraError(
                    400,
                    f"Date value '{value.text}' for field '{definition.clause_names[0]}' is invalid. Valid formats "
                    "include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
                    "format e.g. '-5d', '4w 2d'.",
                )
            minutes.append(moment)
        # The stored value compared at its minute: floor(v) OP m, for minute-aligned m.
        if operator in ("=", "in", "!=", "not in"):
            parts = [f"({column} >= {self.bind(m)} AND {column} < {self.bind(m + MINUTE_MS)})" for m in minutes]
            sql = " OR ".join(parts)
            return f"NOT ({sql})" if operator in ("!=", "not in") else f"({sql})"
        moment = minutes[0]
        if operator == ">":
            return f"{column} >= {self.bind(moment + MINUTE_MS)}"
        if operator == ">=":
            return f"{column} >= {self.bind(moment)}"
        if operator == "<":
            return f"{column} < {self.bind(moment)}"
        return f"{column} < {self.bind(moment + MINUTE_MS)}"  # <=

    # -- ORDER BY --------------------------------------------------------------------------------------------------

    def order_by(self) -> list[tuple[str, bool]]:
        if not self.accept("order"):
            return [*DEFAULT_ORDER, ("id", False)]
        if not self.accept("by"):
            token = self.peek()
            raise syntax_error(f"Expecting 'by' but got '{token.text}'.", token)
        order: list[tuple[str, bool]] = []
        while True:
            name, token = self.field_name()
            definition = self.catalog.resolve(name)
            if definition is None:
                raise JiraError(400, f"Field '{name}' does not exist or you do not have permission to view it.")
            columns = SORTABLE.get(name.lower()) or SORTABLE.get(definition.id)
            if columns is None:
                raise JiraError(400, f"The sandbox cannot sort by the field '{definition.name}'.")
            ascending = True
            if self.accept("desc"):
                ascending = False
            else:
                self.accept("asc")
            order.extend((c, ascending) for c in columns if c not in {o[0] for o in order})
            if self.peek().kind == "punct" and self.peek().text == ",":
                self.take()
                continue
            break
        if "id" not in {o[0] for o in order}:
            order.append(("id", True))  # ties broken by id: the page token's keyset needs a unique order
        return order


def read(text: str, catalog: Catalog, site: Site) -> Query:
    """Read ``text`` into a ``Query`` (Jira's 400 for what it refuses)."""
    return Reader(catalog, site).read(text)
