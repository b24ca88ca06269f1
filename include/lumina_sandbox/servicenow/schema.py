"""The instance's table model: tables (with ``super_class`` inheritance), their dictionary fields and choices.

``Catalog`` answers what ``sys_db_object`` / ``sys_dictionary`` / ``sys_choice`` say: a table's fields are its
own plus every ancestor's (``task`` -> ``incident``), a table's rows live in its hierarchy root's physical table
(querying ``task`` returns incidents and changes too, with only task's fields), and a choice list is looked up
on the table, then on its ancestors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NAME = re.compile(r"[a-z][a-z0-9_]{0,79}")
NUMERIC_TYPES = frozenset({"integer", "decimal", "float", "longint", "currency", "price"})


@dataclass
class Field:
    """One ``sys_dictionary`` entry (a column)."""

    element: str
    internal_type: str = "string"
    max_length: int = 40
    label: str = ""
    reference: str | None = None  # referenced table (internal_type "reference")
    reference_key: str = "sys_id"  # the referenced table's column the value names
    choice: int = 0  # 0: no choice list, 1: dropdown with -- None --, 3: dropdown without
    mandatory: bool = False
    read_only: bool = False
    default_value: str = ""
    display: bool = False  # the table's display field (what references show)
    table: str = ""  # the table that defines it
    sys_id: str = ""
    created: str = ""  # glide datetime of the dictionary entry

    @property
    def numeric(self) -> bool:
        return self.internal_type in NUMERIC_TYPES


@dataclass
class Choice:
    """One ``sys_choice`` entry."""

    table: str
    element: str
    value: str
    label: str
    sequence: int
    sys_id: str = ""
    inactive: bool = False


@dataclass
class Table:
    """One ``sys_db_object`` entry and its own fields."""

    name: str
    label: str
    super_class: str | None = None
    audited: bool = False
    extendable: bool = False
    number_prefix: str | None = None
    fields: dict[str, Field] = field(default_factory=dict)
    sys_id: str = ""
    created: str = ""


class Catalog:
    """Tables, fields and choices of the instance; inheritance resolved here only."""

    def __init__(self) -> None:
        self.tables: dict[str, Table] = {}
        self.choices: dict[tuple[str, str], list[Choice]] = {}

    def add_table(self, table: Table) -> Table:
        if not NAME.fullmatch(table.name):
            raise ValueError(f"invalid table name {table.name!r}")
        if table.super_class is not None and table.super_class not in self.tables:
            raise ValueError(f"super_class {table.super_class!r} of {table.name!r} is not a table")
        self.tables[table.name] = table
        return table

    def add_field(self, table: str, spec: Field) -> Field:
        if not NAME.fullmatch(spec.element):
            raise ValueError(f"invalid field name {spec.element!r}")
        if spec.element in self.fields(table) or any(spec.element in self.fields(d) for d in self.descendants(table)):
            raise ValueError(f"{table}.{spec.element} already exists")
        if spec.reference is not None and spec.reference not in self.tables:
            raise ValueError(f"reference table {spec.reference!r} does not exist")
        spec.table = table
        self.tables[table].fields[spec.element] = spec
        return spec

    def add_choices(self, table: str, element: str, entries: list[tuple[str, str]]) -> list[Choice]:
        made = [Choice(table, element, value, label, (i + 1) * 10) for i, (value, label) in enumerate(entries)]
        self.choices.setdefault((table, element), []).extend(made)
        return made

    # -- inheritance -----------------------------------------------------------------------------------------

    def table(self, name: str) -> Table:
        found = self.tables.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def chain(self, name: str) -> list[Table]:
        """The table's ancestry, root first, ending with the table itself."""
        chain: list[Table] = []
        current: str | None = name
        while current is not None:
            table = self.table(current)
            chain.append(table)
            current = table.super_class
        return chain[::-1]

    def root(self, name: str) -> str:
        return self.chain(name)[0].name

    def descendants(self, name: str) -> list[str]:
        """Tables extending ``name`` (not itself), at any depth."""
        return [t for t in self.tables if t != name and name in {c.name for c in self.chain(t)}]

    def classes(self, name: str) -> list[str]:
        """``name`` and every table extending it: the ``sys_class_name`` values a query on it returns."""
        return [name, *self.descendants(name)]

    def fields(self, name: str) -> dict[str, Field]:
        """Own and inherited fields, ancestors' first."""
        merged: dict[str, Field] = {}
        for table in self.chain(name):
            merged.update(table.fields)
        return merged

    def columns(self, root: str) -> dict[str, Field]:
        """Every field of a hierarchy: the physical table's columns."""
        merged = dict(self.fields(root))
        for name in self.descendants(root):
            merged.update(self.tables[name].fields)
        return merged

    def display_field(self, name: str) -> str | None:
        for field_ in reversed(list(self.fields(name).values())):
            if field_.display:
                return field_.element
        return None

    def choice_list(self, name: str, element: str) -> list[Choice]:
        """The choices of ``name.element``: the table's own list, else the nearest ancestor's."""
        for table in reversed(self.chain(name)):
            found = self.choices.get((table.name, element))
            if found:
                return found
        return []

    def audited(self, name: str) -> bool:
        return self.table(name).audited
