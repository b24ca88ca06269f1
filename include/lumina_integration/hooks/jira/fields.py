"""The site's field catalogue (``GET /rest/api/{3|2}/field``) and the typed columns of each object.

Every issue column comes from the catalogue: its id is the column name (``summary``,
``customfield_10010``), its type follows the field's ``schema``:

- ``string``, ``number``, ``datetime``, ``date``: text, float, UTC timestamp, date;
- a value object with a name the warehouse wants (``status``, ``priority``, ``issuetype``,
  ``resolution``, ``securitylevel``, ``option``, ``project``, users): that name, as text
  (users: ``accountId`` on Cloud, ``name`` on Data Center);
- anything else (arrays, ``any``, ADF documents in text fields on the v3 API): JSON text, kept whole
  in raw, bounded by :class:`~lumina_integration.hooks.rest.arrow.NestingLimits`.

Custom fields are typed by the same ``schema.type``; ``schema.custom`` (the plugin type) only decides
between the cases the type leaves open. A field added to the site mid-life is a new catalogue entry:
the next run's drift check sees it and its column appears.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from lumina_integration.hooks.base import SourceField
from lumina_integration.hooks.rest.arrow import FieldSpec

TIMESTAMP = pa.timestamp("us", tz="UTC")
DELETED = "_lumina_deleted"  # true on tombstones (reconciliation), false on every record read
ISSUE_ID, ISSUE_KEY, UPDATED = "id", "key", "updated"
STATUS_CATEGORY = "status_category"  # the workflow-independent state: new, indeterminate, done

# Value objects and the key that names them.
_NAMED = {"status": "name", "priority": "name", "issuetype": "name", "resolution": "name", "securitylevel": "name"}
_SCALARS = {"string": pa.string(), "number": pa.float64(), "datetime": TIMESTAMP, "date": pa.date32()}
# Catalogue entries that are not issue columns: comments and worklogs are their own objects (an issue
# carries only their first page), issuekey repeats key, and lastViewed/thumbnail are the API user's own
# view of the issue, which change without the issue's updated moving.
NOT_COLUMNS = frozenset({"comment", "worklog", "issuekey", "lastViewed", "thumbnail"})


@dataclass(frozen=True)
class JiraField:
    """One catalogue entry."""

    id: str
    name: str
    custom: bool
    schema_type: str | None
    items: str | None = None
    plugin: str | None = None  # schema.custom: the custom field type
    searchable: bool = True
    clause_names: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, entry: dict[str, Any]) -> JiraField:
        schema = entry.get("schema") or {}
        return cls(
            id=str(entry["id"]),
            name=str(entry.get("name") or entry["id"]),
            custom=bool(entry.get("custom")),
            schema_type=schema.get("type"),
            items=schema.get("items"),
            plugin=schema.get("custom"),
            searchable=bool(entry.get("searchable", True)),
            clause_names=tuple(str(c) for c in entry.get("clauseNames") or ()),
        )


@dataclass(frozen=True)
class Catalogue:
    """The catalogue of one site, looked up by id."""

    fields: tuple[JiraField, ...]

    @classmethod
    def from_api(cls, entries: Iterable[dict[str, Any]]) -> Catalogue:
        found = [JiraField.from_api(e) for e in entries if isinstance(e, dict) and e.get("id")]
        return cls(tuple(sorted(found, key=lambda f: (f.custom, f.id))))

    def by_id(self) -> dict[str, JiraField]:
        return {f.id: f for f in self.fields}

    def named(self, name: str) -> JiraField:
        """The field whose id or (exact, then case-insensitive) name is ``name``.

        Raises:
            ValueError: no field, or several fields (a name two custom fields share).
        """
        for found in (
            [f for f in self.fields if f.id == name],
            [f for f in self.fields if f.name == name],
            [f for f in self.fields if f.name.casefold() == name.casefold()],
        ):
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise ValueError(f"{len(found)} fields of the site are named {name!r}: name one by its id")
        raise ValueError(f"the site's field catalogue has no field named {name!r}")

    def clause_names(self) -> set[str]:
        """Every name JQL accepts for a searchable field (ids, clause names, ``cf[10010]``)."""
        names = {f.id for f in self.fields if f.searchable}
        for f in self.fields:
            if f.searchable:
                names.update(f.clause_names)
        return names


def _value_path(field: JiraField, user_key: str) -> tuple[tuple[str, ...], pa.DataType]:
    """Where a field's value sits under ``fields.<id>`` and its column type."""
    kind = field.schema_type
    if kind in _SCALARS:
        return (), _SCALARS[kind]
    if kind == "user":
        return (user_key,), pa.string()
    if kind == "option":
        return ("value",), pa.string()
    if kind == "project":
        return ("key",), pa.string()
    if kind in _NAMED:
        return (_NAMED[kind],), pa.string()
    return (), pa.string()  # arrays, objects, any: JSON text


def issue_specs(
    catalogue: Catalogue,
    wanted: Sequence[str] | None,
    *,
    user_key: str,
    named: Mapping[str, str] | None = None,
) -> list[FieldSpec]:
    """The columns of an issue batch: id, key, updated, the wanted catalogue fields, status category, the
    ``named`` columns (column -> a field's name, see ``JiraOptions.field_names``), deleted.

    Raises:
        ValueError: a wanted field the catalogue does not have, a name it does not know, a clashing column.
    """
    known = catalogue.by_id()
    named = dict(named or {})
    if wanted is not None:
        extra = {ISSUE_ID, ISSUE_KEY, UPDATED, STATUS_CATEGORY, DELETED, *named}
        unknown = sorted(w for w in wanted if w not in known and w not in extra)
        if unknown:
            raise ValueError(f"these fields are not in the site's field catalogue: {unknown}")
    skip = {ISSUE_KEY, UPDATED, *NOT_COLUMNS}
    chosen = [f for f in catalogue.fields if (wanted is None or f.id in wanted) and f.id not in skip]
    specs = [
        FieldSpec(ISSUE_ID, pa.string(), description="the issue's numeric id"),
        FieldSpec(ISSUE_KEY, pa.string(), description="the issue key (changes when the issue moves project)"),
        FieldSpec(UPDATED, TIMESTAMP, path=("fields", UPDATED), description="last change (the cursor)"),
    ]
    for f in chosen:
        if f.id == ISSUE_ID:
            continue
        sub, arrow_type = _value_path(f, user_key)
        specs.append(FieldSpec(f.id, arrow_type, path=("fields", f.id, *sub), description=f.name))
    if "status" in known and (wanted is None or "status" in wanted):
        specs.append(FieldSpec(STATUS_CATEGORY, pa.string(), path=("fields", "status", "statusCategory", "key")))
    taken = {s.name for s in specs} | set(known) | {DELETED}
    for column, name in named.items():
        if column in taken:
            raise ValueError(f"field_names: the column {column!r} is already a column of the issues")
        field = catalogue.named(name)
        sub, arrow_type = _value_path(field, user_key)
        specs.append(FieldSpec(column, arrow_type, path=("fields", field.id, *sub), description=field.name))
    specs.append(FieldSpec(DELETED, pa.bool_()))
    return specs


def issue_fields(catalogue: Catalogue, *, user_key: str) -> list[SourceField]:
    """The issue columns as drift snapshots describe them (type: the catalogue's schema type)."""
    by_id = catalogue.by_id()
    out = []
    for spec in issue_specs(catalogue, None, user_key=user_key):
        field = by_id.get(spec.name)
        kind = field.schema_type if field is not None else str(spec.arrow_type)
        if field is not None and field.plugin:
            kind = f"{kind}:{field.plugin.rpartition(':')[2]}"
        out.append(SourceField(name=spec.name, type=kind or "any"))
    return out


# -- the child objects: fixed columns, as their endpoints return them ------------------------------------
def comment_specs(user_key: str) -> list[FieldSpec]:
    return [
        FieldSpec("id", pa.string()),
        FieldSpec("issue_id", pa.string()),
        FieldSpec("author", pa.string(), path=("author", user_key)),
        FieldSpec("body", pa.string(), description="ADF JSON on Cloud (v3), wiki text on Data Center (v2)"),
        FieldSpec("created", TIMESTAMP),
        FieldSpec("updated", TIMESTAMP),
        FieldSpec("visibility", pa.string()),
        FieldSpec(DELETED, pa.bool_()),
    ]


def worklog_specs(user_key: str) -> list[FieldSpec]:
    return [
        FieldSpec("id", pa.string()),
        FieldSpec("issue_id", pa.string(), path=("issueId",)),
        FieldSpec("author", pa.string(), path=("author", user_key)),
        FieldSpec("comment", pa.string(), description="ADF JSON on Cloud (v3), wiki text on Data Center (v2)"),
        FieldSpec("started", TIMESTAMP),
        FieldSpec("time_spent_seconds", pa.int64(), path=("timeSpentSeconds",)),
        FieldSpec("created", TIMESTAMP),
        FieldSpec("updated", TIMESTAMP),
        FieldSpec(DELETED, pa.bool_()),
    ]


def changelog_specs(user_key: str) -> list[FieldSpec]:
    """One row per changed field of a history entry (``id`` = ``<history id>.<item index>``)."""
    return [
        FieldSpec("id", pa.string()),
        FieldSpec("history_id", pa.string()),
        FieldSpec("item_index", pa.int32()),
        FieldSpec("issue_id", pa.string()),
        FieldSpec("author", pa.string(), path=("author", user_key)),
        FieldSpec("created", TIMESTAMP),
        FieldSpec("field", pa.string()),
        FieldSpec("field_id", pa.string(), path=("fieldId",)),
        FieldSpec("field_type", pa.string(), path=("fieldtype",)),
        FieldSpec("from_value", pa.string(), path=("from",)),
        FieldSpec("from_string", pa.string(), path=("fromString",)),
        FieldSpec("to_value", pa.string(), path=("to",)),
        FieldSpec("to_string", pa.string(), path=("toString",)),
        FieldSpec(DELETED, pa.bool_()),
    ]


def fixed_fields(specs: Sequence[FieldSpec]) -> list[SourceField]:
    return [SourceField(name=s.name, type=str(s.arrow_type)) for s in specs]
