"""The field catalogue (``GET /rest/api/3/field``): system fields and custom fields with their schema types.

A custom field's id is ``customfield_<n>``; JQL names it ``cf[<n>]``, ``customfield_<n>`` or by its name.
Fields can be added mid-life (``add_custom``): issues written before have no value for them. The catalogue is
also the allow-list the JQL reader resolves field names against (an unknown name is Jira's 400).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

CUSTOM_TYPES = "com.atlassian.jira.plugin.system.customfieldtypes:"
# schema type -> (custom type key, JQL comparison kind)
CUSTOM_KINDS: dict[str, tuple[str, str]] = {
    "number": ("float", "number"),
    "string": ("textfield", "text"),
    "option": ("select", "option"),
    "date": ("datepicker", "date"),
    "datetime": ("datetime", "unsupported"),
    "array": ("labels", "labels"),
    "user": ("userpicker", "user"),
}
_CF = re.compile(r"(?:cf\[(\d+)\]|customfield_(\d+))", re.IGNORECASE)


@dataclass
class FieldDef:
    id: str
    name: str
    schema: dict[str, Any] | None
    clause_names: list[str]
    custom: bool = False
    orderable: bool = True
    navigable: bool = True
    searchable: bool = True
    kind: str = "unsupported"  # how JQL compares it: number, text, option, date, datetime, labels, user, ...
    sql: str | None = None  # the SQL expression a JQL clause reads (system fields)
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """The field as ``GET /field`` lists it."""
        out: dict[str, Any] = {"id": self.id, "key": self.id, "name": self.name}
        if self.custom:
            out["untranslatedName"] = self.name
        out.update(
            custom=self.custom,
            orderable=self.orderable,
            navigable=self.navigable,
            searchable=self.searchable,
            clauseNames=list(self.clause_names),
        )
        if self.schema is not None:
            out["schema"] = dict(self.schema)
        return out


def _system(
    fid: str, name: str, schema_type: str | None, kind: str, clauses: list[str] | None = None, **extra: Any
) -> FieldDef:
    schema = None if schema_type is None else {"type": schema_type, "system": fid}
    if schema is not None and schema_type == "array":
        schema["items"] = extra.pop("items", "string")
    return FieldDef(fid, name, schema, clauses or [fid], kind=kind, **extra)


def system_fields() -> list[FieldDef]:
    return [
        FieldDef(
            "issuekey", "Key", None, ["id", "issue", "issuekey", "key"], orderable=False, searchable=False, kind="key"
        ),
        _system("summary", "Summary", "string", "text"),
        _system("description", "Description", "string", "text"),
        _system("issuetype", "Issue Type", "issuetype", "named", ["issuetype", "type"]),
        _system("project", "Project", "project", "project"),
        _system("status", "Status", "status", "named"),
        _system("priority", "Priority", "priority", "named"),
        _system("resolution", "Resolution", "resolution", "named"),
        _system("assignee", "Assignee", "user", "user"),
        _system("reporter", "Reporter", "user", "user"),
        _system("creator", "Creator", "user", "user"),
        _system("labels", "Labels", "array", "labels"),
        _system("created", "Created", "datetime", "datetime", ["created", "createdDate"]),
        _system("updated", "Updated", "datetime", "datetime", ["updated", "updatedDate"]),
        _system("resolutiondate", "Resolved", "datetime", "datetime", ["resolutiondate", "resolved"]),
        _system("duedate", "Due date", "date", "date", ["due", "duedate"]),
        _system("comment", "Comment", "comments-page", "unsupported", ["comment"], orderable=False),
        _system("worklog", "Log Work", "array", "unsupported", ["worklog"], items="worklog", orderable=False),
    ]


def custom_field(number: int, name: str, schema_type: str) -> FieldDef:
    if schema_type not in CUSTOM_KINDS:
        raise ValueError(f"custom field type is one of {', '.join(CUSTOM_KINDS)}")
    custom_key, kind = CUSTOM_KINDS[schema_type]
    schema: dict[str, Any] = {"type": schema_type, "custom": CUSTOM_TYPES + custom_key, "customId": number}
    if schema_type == "array":
        schema["items"] = "string"
    return FieldDef(f"customfield_{number}", name, schema, [f"cf[{number}]", name], custom=True, kind=kind)


# The custom fields every generated site has (ids as a new Jira Cloud site numbers them, from 10010).
DEFAULT_CUSTOM = [
    (10010, "Story Points", "number"),
    (10011, "Team", "option"),
    (10012, "Start date", "date"),
    (10013, "Customer", "string"),
    (10014, "Components touched", "array"),
]


class Catalog:
    """System and custom fields; thread-safe."""

    def __init__(self) -> None:
        self._fields: dict[str, FieldDef] = {}
        self._lock = threading.Lock()
        for definition in system_fields():
            self._fields[definition.id] = definition
        for number, name, schema_type in DEFAULT_CUSTOM:
            self._fields[f"customfield_{number}"] = custom_field(number, name, schema_type)
        self.next_custom = 10020

    def all(self) -> list[FieldDef]:
        with self._lock:
            return list(self._fields.values())

    def get(self, field_id: str) -> FieldDef | None:
        with self._lock:
            return self._fields.get(field_id)

    def custom(self) -> list[FieldDef]:
        return [f for f in self.all() if f.custom]

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._fields)

    def add_custom(self, name: str, schema_type: str, number: int | None = None) -> FieldDef:
        with self._lock:
            if any(f.name.lower() == name.lower() for f in self._fields.values()):
                raise ValueError(f"a field named {name!r} exists")
            if number is None:
                number = self.next_custom
            if f"customfield_{number}" in self._fields:
                raise ValueError(f"customfield_{number} exists")
            definition = custom_field(number, name, schema_type)
            self._fields[definition.id] = definition
            self.next_custom = max(self.next_custom, number + 1)
            return definition

    def resolve(self, name: str) -> FieldDef | None:
        """The field a JQL clause name means (clause names and custom names case-insensitively), or None."""
        match = _CF.fullmatch(name.strip())
        if match:
            return self.get(f"customfield_{match.group(1) or match.group(2)}")
        wanted = name.strip().lower()
        with self._lock:
            for definition in self._fields.values():
                if wanted in (c.lower() for c in definition.clause_names):
                    return definition
        return None
