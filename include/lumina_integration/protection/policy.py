"""An entity's PII policy: the action for each column (``pii.action``), applied to canonical Arrow tables.

The transform step applies it right after the mapping, so canonical parts, validated parts, the warehouse and
quarantine never hold a clear value of a column whose action is not ``keep``. Only string columns may carry a
non-keep action: a token, a ciphertext or a mask is text, and a typed column could not hold it
(:func:`policy_problems` says so at lint time, :func:`entity_policy` refuses it at run time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lumina_integration.canonical.schema import EntitySchema
from lumina_integration.protection.settings import PiiAction, PiiSettings, data_protection

if TYPE_CHECKING:
    import pyarrow as pa

    from lumina_integration.protection.keys import PiiKeys

KEYED_ACTIONS = ("tokenize", "encrypt")


class PolicyError(ValueError):
    """A policy that cannot apply to its entity (a non-keep action on a non-string column)."""


def policy_problems(schema: EntitySchema, settings: PiiSettings) -> list[str]:
    """Why ``settings`` cannot apply to ``schema`` (empty when it can)."""
    problems = []
    for column in schema.columns:
        action = settings.action(schema.entity, column)
        if action != "keep" and column.type != "string":
            problems.append(
                f"pii: {schema.entity}.{column.name} is {column.type}; the {action!r} action needs a string column "
                "(a token, ciphertext or mask is text): change the column's type or give it 'keep'"
            )
    known = set(schema.column_names)
    for name in settings.entities.get(schema.entity, {}):
        if name not in known:
            problems.append(
                f"pii.entities.{schema.entity}.{name}: {schema.entity} v{schema.version} has no such column"
            )
    return problems


def protect_values(
    action: PiiAction, values: pa.Array | pa.ChunkedArray, keys: PiiKeys | None, entity: str, column: str
) -> pa.Array | pa.ChunkedArray:
    """``values`` after ``action`` (string typed unless ``keep``)."""
    import pyarrow as pa

    from lumina_integration.protection import crypto

    if action == "keep":
        return values
    if action == "drop":
        return pa.nulls(len(values), pa.string())
    if action == "mask":
        return crypto.mask_array(values)
    if keys is None:
        raise PolicyError(f"{entity}.{column}: the {action!r} action needs the PII keys")
    if action == "tokenize":
        return crypto.tokenize_array(keys.tokenize_key, values)
    return crypto.encrypt_array(keys, entity, column, values)


@dataclass(frozen=True)
class EntityPolicy:
    """The non-keep actions of one entity's columns; ``keys`` are needed when one is tokenize or encrypt."""

    entity: str
    actions: dict[str, PiiAction] = field(default_factory=dict)

    @property
    def needs_keys(self) -> bool:
        return any(a in KEYED_ACTIONS for a in self.actions.values())

    @property
    def protected(self) -> list[str]:
        return list(self.actions)

    def action(self, column: str) -> PiiAction:
        return self.actions.get(column, "keep")

    def protect(self, table: pa.Table, keys: PiiKeys | None) -> pa.Table:
        """``table`` with every protected column present replaced by its protected values."""
        for name, action in self.actions.items():
            if name not in table.column_names:
                continue
            i = table.column_names.index(name)
            protected = protect_values(action, table.column(name), keys, self.entity, name)
            table = table.set_column(i, table.schema.field(i), protected)
        return table


def entity_policy(schema: EntitySchema, settings: PiiSettings | None = None) -> EntityPolicy:
    """The policy of ``schema`` under ``settings`` (default: the deployment's); PolicyError when it cannot apply."""
    settings = settings if settings is not None else data_protection().pii
    problems = policy_problems(schema, settings)
    if problems:
        raise PolicyError("; ".join(problems))
    actions = {c.name: settings.action(schema.entity, c) for c in schema.columns}
    return EntityPolicy(schema.entity, {name: a for name, a in actions.items() if a != "keep"})
