"""What the instance says its tables are: ``sys_db_object``, ``sys_dictionary``, ``sys_choice`` -> typed columns.

- Tables and inheritance: ``sys_db_object`` rows (``name``, ``label``, ``super_class`` = the parent's sys_id).
  A table's fields are its own and every ancestor's (``task`` -> ``incident``); where a table redefines an
  inherited element, the nearest definition wins. The chain is walked with a bound and a loop check, never
  by recursion.
- Fields: ``sys_dictionary`` rows of the chain (``element``, ``internal_type``, ``max_length``,
  ``reference``, ``choice``, ``column_label``); the element-less ``collection`` row of a table carries its
  ``audit`` flag (whether its deletes are written to ``sys_audit_delete``).
- Choices: ``sys_choice`` rows of the chain, the nearest table's list winning (incident's ``state``
  replaces task's).

Types: integer/longint -> int64, decimal/currency/price -> decimal128(38, 10), float -> float64, boolean
-> bool, glide_date_time (and its kin) -> UTC timestamp, glide_date -> date, all else (string, reference,
GUID, choice strings, journal...) -> text. Every Table API value is text; :mod:`~lumina_integration.hooks.rest.arrow`
casts it, and a value that does not fit is kept with its reason (quarantined), never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from lumina_integration.hooks.base import SourceField, SourceObject
from lumina_integration.hooks.rest.arrow import FieldSpec
from lumina_integration.hooks.servicenow.query import GLIDE_FORMAT, UnknownName
from lumina_integration.hooks.servicenow.settings import CURSOR, KEY, SYS_CHOICE, SYS_DB_OBJECT, SYS_DICTIONARY

if TYPE_CHECKING:
    from lumina_integration.hooks.servicenow.reader import TableApi

MAX_INHERITANCE_DEPTH = 32
CATALOGUE_PAGE = 5000
DISPLAY_PREFIX = "dv_"
_INTEGER = frozenset({"integer", "longint", "auto_increment", "order_index"})
_DECIMAL = frozenset({"decimal", "currency", "price", "currency2"})
_FLOAT = frozenset({"float"})
_DATETIME = frozenset({"glide_date_time", "due_date", "calendar_date_time", "glide_utc_time"})
_DATE = frozenset({"glide_date"})
TIMESTAMP = pa.timestamp("us", tz="UTC")
DECIMAL = pa.decimal128(38, 10)
_DB_OBJECT_FIELDS = ("sys_id", "name", "label", "super_class")
_DICTIONARY_FIELDS = ("name", "element", "internal_type", "max_length", "reference", "choice", "column_label", "audit")


@dataclass(frozen=True)
class TableInfo:
    name: str
    label: str
    sys_id: str
    super_id: str | None


@dataclass(frozen=True)
class Column:
    """One field of a table as the dictionary (and choice list) define it."""

    name: str
    internal_type: str
    max_length: int | None = None
    label: str = ""
    reference: str | None = None
    choice: bool = False
    values: tuple[str, ...] = ()
    defined_on: str = ""

    @property
    def arrow_type(self) -> pa.DataType:
        return arrow_type(self.internal_type)

    @property
    def has_display(self) -> bool:
        """Whether its display value differs from its raw value (a reference's name, a choice's label)."""
        return self.reference is not None or self.choice


def arrow_type(internal_type: str) -> pa.DataType:
    if internal_type in _INTEGER:
        return pa.int64()
    if internal_type in _DECIMAL:
        return DECIMAL
    if internal_type in _FLOAT:
        return pa.float64()
    if internal_type == "boolean":
        return pa.bool_()
    if internal_type in _DATETIME:
        return TIMESTAMP
    if internal_type in _DATE:
        return pa.date32()
    return pa.string()


@dataclass
class TableSchema:
    """A table's columns (inherited first, in dictionary order) and whether its deletes are audited."""

    table: str
    chain: list[str]
    columns: dict[str, Column] = field(default_factory=dict)
    audited: bool = False

    def names(self) -> list[str]:
        return list(self.columns)

    def select(self, wanted: Sequence[str] | None) -> list[Column]:
        """``wanted`` columns (all when None), ``sys_id`` and ``sys_updated_on`` always, unknown names refused."""
        if wanted is None:
            chosen = list(self.columns.values())
        else:
            missing = [w for w in wanted if w not in self.columns]
            if missing:
                raise UnknownName(f"fields {missing} are not in {self.table}'s dictionary (or its ancestors')")
            chosen = [self.columns[w] for w in dict.fromkeys(wanted)]
        names = {c.name for c in chosen}
        always = [self.columns[n] for n in (KEY, CURSOR) if n not in names and n in self.columns]
        return [*always, *chosen]

    def specs(self, columns: Sequence[Column], display: bool = False) -> list[FieldSpec]:
        """How each column's value becomes a typed Arrow column (display pairs when ``display``)."""
        specs: list[FieldSpec] = []
        for c in columns:
            path = (c.name, "value") if display else None
            fmt = GLIDE_FORMAT if c.arrow_type == TIMESTAMP else "%Y-%m-%d" if c.internal_type in _DATE else None
            specs.append(FieldSpec(c.name, c.arrow_type, path=path, fmt=fmt, description=c.label))
            if display and c.has_display:
                specs.append(FieldSpec(f"{DISPLAY_PREFIX}{c.name}", pa.string(), path=(c.name, "display_value")))
        return specs

    def source_fields(self) -> list[SourceField]:
        return [
            SourceField(name=c.name, type=c.internal_type, length=c.max_length, values=c.values)
            for c in self.columns.values()
        ]


class Catalogue:
    """The instance's tables and their typed columns, read once per hook (one task)."""

    def __init__(self, api: TableApi) -> None:
        self.api = api
        self._tables: dict[str, TableInfo] | None = None
        self._schemas: dict[str, TableSchema] = {}

    def tables(self) -> dict[str, TableInfo]:
        if self._tables is None:
            rows = self.api.by_sys_id(SYS_DB_OBJECT, _DB_OBJECT_FIELDS, _DB_OBJECT_FIELDS, CATALOGUE_PAGE)
            found = {}
            for r in rows:
                name = str(r.get("name") or "")
                if name:
                    found[name] = TableInfo(
                        name, str(r.get("label") or ""), str(r["sys_id"]), r.get("super_class") or None
                    )
            self._tables = found
        return self._tables

    def objects(self) -> list[SourceObject]:
        return [
            SourceObject(name=t.name, description=t.label) for t in sorted(self.tables().values(), key=lambda t: t.name)
        ]

    def table(self, name: str) -> TableInfo:
        found = self.tables().get(name)
        if found is None:
            raise UnknownName(f"table {name!r} is not in the instance's sys_db_object")
        return found

    def chain(self, name: str) -> list[str]:
        """``name``'s ancestry, root first, ending with ``name`` (bounded; a loop is refused)."""
        by_id = {t.sys_id: t for t in self.tables().values()}
        chain, current = [], self.table(name)
        for _ in range(MAX_INHERITANCE_DEPTH):
            if current.name in chain:
                raise ValueError(f"sys_db_object's super_class of {name!r} loops through {current.name!r}")
            chain.append(current.name)
            if current.super_id is None:
                return chain[::-1]
            parent = by_id.get(current.super_id)
            if parent is None:  # a parent this user may not read: inherit what is visible
                return chain[::-1]
            current = parent
        raise ValueError(f"{name!r} extends more than {MAX_INHERITANCE_DEPTH} tables")

    def descendants(self, name: str) -> list[str]:
        """Tables extending ``name`` at any depth (their records are also ``name``'s records)."""
        return [t for t in self.tables() if t != name and name in self.chain(t)]

    def schema(self, name: str) -> TableSchema:
        if name not in self._schemas:
            self._schemas[name] = self._read_schema(name)
        return self._schemas[name]

    def _read_schema(self, name: str) -> TableSchema:
        chain = self.chain(name)
        depth = {t: i for i, t in enumerate(chain)}
        rows = list(
            self.api.by_sys_id(
                SYS_DICTIONARY,
                ("sys_id", *_DICTIONARY_FIELDS, "active"),
                ("sys_id", *_DICTIONARY_FIELDS),
                CATALOGUE_PAGE,
                where=lambda q: q.where_named("name", chain).where("active", "=", "true"),
            )
        )
        schema = TableSchema(name, chain)
        audit: dict[str, bool] = {}
        defined: dict[str, tuple[int, dict[str, str]]] = {}
        for row in rows:
            table, element = str(row.get("name") or ""), str(row.get("element") or "")
            if table not in depth:
                continue
            if not element:  # the table's collection row
                audit[table] = str(row.get("audit")) == "true"
                continue
            level = depth[table]
            if element not in defined or level > defined[element][0]:
                defined[element] = (level, row)
        choices = self._choices(chain, depth, [e for e, (_, r) in defined.items() if _int(r.get("choice"))])
        # Inherited fields first (root's, then each child's), by name within a table: a stable column order.
        for element, (level, row) in sorted(defined.items(), key=lambda item: (item[1][0], item[0])):
            schema.columns[element] = Column(
                name=element,
                internal_type=str(row.get("internal_type") or "string"),
                max_length=_int(row.get("max_length")) or None,
                label=str(row.get("column_label") or ""),
                reference=str(row.get("reference")) if row.get("reference") else None,
                choice=bool(_int(row.get("choice"))),
                values=choices.get(element, ()),
                defined_on=chain[level],
            )
        schema.audited = next((audit[t] for t in reversed(chain) if t in audit), False)
        return schema

    def _choices(self, chain: list[str], depth: dict[str, int], elements: Iterable[str]) -> dict[str, tuple[str, ...]]:
        wanted = sorted(set(elements))
        if not wanted:
            return {}
        fields = ("sys_id", "name", "element", "value", "inactive")
        lists: dict[str, tuple[int, set[str]]] = {}
        for row in self.api.by_sys_id(
            SYS_CHOICE,
            fields,
            fields,
            CATALOGUE_PAGE,
            where=lambda q: q.where_named("name", chain).where_named("element", wanted).where("inactive", "=", "false"),
        ):
            table, element = str(row.get("name")), str(row.get("element"))
            if table not in depth:
                continue
            level = depth[table]
            held = lists.get(element)
            if held is None or level > held[0]:
                lists[element] = (level, {str(row.get("value"))})
            elif level == held[0]:
                held[1].add(str(row.get("value")))
        return {e: tuple(sorted(values)) for e, (_, values) in lists.items()}


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
