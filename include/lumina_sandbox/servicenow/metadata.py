"""The catalog written into the metadata tables the Table API serves: ``sys_db_object`` (one row per table,
``super_class`` a reference to the parent's row), ``sys_dictionary`` (a ``collection`` row per table carrying its
``audit`` flag, then one row per field), ``sys_choice`` and ``sys_glide_object``.

A field added later (``record_field``) gets its dictionary row stamped at that moment, so a catalogue read
incrementally on ``sys_dictionary.sys_updated_on`` sees it.
"""

from __future__ import annotations

from lumina_sandbox.servicenow.records import Writer
from lumina_sandbox.servicenow.schema import Choice, Field, Table
from lumina_sandbox.servicenow.store import Store
from lumina_sandbox.servicenow.tables import GLIDE_TYPES

CREATOR = "system"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _stamped(row: dict[str, str | None], sys_id: str, when: str) -> dict[str, str | None]:
    return {
        **row,
        "sys_id": sys_id,
        "sys_created_on": when,
        "sys_updated_on": when,
        "sys_created_by": CREATOR,
        "sys_updated_by": CREATOR,
        "sys_mod_count": "0",
    }


def dictionary_row(table: str, spec: Field) -> dict[str, str | None]:
    return _stamped(
        {
            "name": table,
            "element": spec.element,
            "column_label": spec.label,
            "internal_type": spec.internal_type,
            "max_length": str(spec.max_length),
            "reference": spec.reference,
            "choice": str(spec.choice),
            "mandatory": _bool(spec.mandatory),
            "read_only": _bool(spec.read_only),
            "active": "true",
            "display": _bool(spec.display),
            "audit": "false",
            "default_value": spec.default_value or None,
        },
        spec.sys_id,
        spec.created,
    )


def collection_row(table: Table, sys_id: str) -> dict[str, str | None]:
    """The table's own dictionary entry (type ``collection``, no element): where its ``audit`` flag lives."""
    row = dictionary_row(table.name, Field("", "collection", 40, table.label, sys_id=sys_id, created=table.created))
    row["element"] = None
    row["audit"] = _bool(table.audited)
    return row


def choice_row(choice: Choice, when: str) -> dict[str, str | None]:
    return _stamped(
        {
            "name": choice.table,
            "element": choice.element,
            "value": choice.value,
            "label": choice.label,
            "sequence": str(choice.sequence),
            "inactive": _bool(choice.inactive),
            "language": "en",
        },
        choice.sys_id,
        when,
    )


def materialize(writer: Writer, store: Store, when: str) -> None:
    """Create every hierarchy's physical table and write the catalog's metadata rows (stamped ``when``)."""
    catalog = writer.catalog
    for table in catalog.tables.values():
        table.sys_id = table.sys_id or writer.ids.next()
        table.created = table.created or when
        for spec in table.fields.values():
            spec.sys_id = spec.sys_id or writer.ids.next()
            spec.created = spec.created or when
    for name, table in catalog.tables.items():
        if table.super_class is None:
            store.create(name, catalog.columns(name).values())

    def insert(table: str, rows: list[dict[str, str | None]]) -> None:
        writer.insert_rows(table, rows, list(catalog.fields(table)))

    insert(
        "sys_glide_object",
        [
            _stamped({"name": n, "label": label, "scalar_type": n, "scalar_length": None}, writer.ids.next(), when)
            for n, label in GLIDE_TYPES
        ],
    )
    insert(
        "sys_db_object",
        [
            _stamped(
                {
                    "name": t.name,
                    "label": t.label,
                    "super_class": catalog.tables[t.super_class].sys_id if t.super_class else None,
                    "is_extendable": _bool(t.extendable or bool(catalog.descendants(t.name))),
                    "number_ref": None,
                },
                t.sys_id,
                t.created,
            )
            for t in catalog.tables.values()
        ],
    )
    rows: list[dict[str, str | None]] = []
    for table in catalog.tables.values():
        rows.append(collection_row(table, writer.ids.next()))
        rows.extend(dictionary_row(table.name, spec) for spec in table.fields.values())
    insert("sys_dictionary", rows)
    choices = [c for entries in catalog.choices.values() for c in entries]
    for choice in choices:
        choice.sys_id = choice.sys_id or writer.ids.next()
    insert("sys_choice", [choice_row(c, when) for c in choices])


def record_field(writer: Writer, table: str, spec: Field, choices: list[Choice], when: str) -> None:
    """Write the dictionary (and choice) rows of a field added to ``table`` at ``when``."""
    catalog = writer.catalog
    writer.insert_rows("sys_dictionary", [dictionary_row(table, spec)], list(catalog.fields("sys_dictionary")))
    for choice in choices:
        choice.sys_id = choice.sys_id or writer.ids.next()
    if choices:
        writer.insert_rows("sys_choice", [choice_row(c, when) for c in choices], list(catalog.fields("sys_choice")))
