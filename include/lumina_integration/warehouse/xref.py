"""Cross-system references: one warehouse view linking the records of one real-world entity that
several systems hold (a Salesforce Account and the SAP customer it names).

Configured in ``include/xref/<view>.yaml``; the column names come from the validated canonical
schema and are quoted by the dialect, the system names are bound values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy import Engine, text

from lumina_integration.canonical.registry import load_entity
from lumina_integration.canonical.schema import DELETED_COLUMN
from lumina_integration.paths import INCLUDE_DIR
from lumina_integration.warehouse.dialects import dialect_for
from lumina_integration.yaml_models import load_yaml_model

XREF_DIR = INCLUDE_DIR / "xref"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Side(_Strict):
    source_system: str
    column: str


class Link(_Strict):
    """Rows of ``left.source_system`` whose ``left.column`` equals ``right.column`` of ``right.source_system``."""

    name: str
    description: str = ""
    left: Side
    right: Side
    normalize: Literal["exact", "alpha"] = "exact"


class XrefSpec(_Strict):
    """A view ``view`` over ``entity``: one row per linked pair of live records."""

    view: str
    entity: str
    links: list[Link]

    @model_validator(mode="after")
    def _columns_exist(self) -> XrefSpec:
        columns = set(load_entity(self.entity).column_names)
        for link in self.links:
            for side in (link.left, link.right):
                if side.column not in columns:
                    raise ValueError(f"links.{link.name}: {self.entity} has no column {side.column!r}")
        if not self.view.isidentifier():
            raise ValueError(f"view {self.view!r} is not a plain name")
        return self


def load_xref(name: str, root: Path = XREF_DIR) -> XrefSpec:
    return load_yaml_model(XrefSpec, root / f"{name}.yaml")


def apply_xref(engine: Engine, schema: str, spec: XrefSpec) -> None:
    """(Re)create the view; idempotent, and cheap enough to run after every load of the entity."""
    with engine.begin() as conn:
        d = dialect_for(conn)
        table = d.table(schema, spec.entity)
        selects: list[str] = []
        params: dict[str, str] = {}
        for i, link in enumerate(spec.links):
            left, right = d.quote(link.left.column), d.quote(link.right.column)
            lhs, rhs = f"l.{left}", f"r.{right}"
            if link.normalize == "alpha":
                lhs, rhs = f"LTRIM(TRIM(l.{left}), '0')", f"LTRIM(TRIM(r.{right}), '0')"
            params |= {f"name{i}": link.name, f"ls{i}": link.left.source_system, f"rs{i}": link.right.source_system}
            selects.append(
                f"SELECT CAST(:name{i} AS VARCHAR) AS link, l.source_system AS left_system, l.source_id AS left_id, "
                f"r.source_system AS right_system, r.source_id AS right_id FROM {table} l JOIN {table} r "
                f"ON {lhs} = {rhs} AND {lhs} <> '' "
                f"WHERE l.source_system = :ls{i} AND r.source_system = :rs{i} "
                f"AND NOT l.{d.quote(DELETED_COLUMN)} AND NOT r.{d.quote(DELETED_COLUMN)}"
            )
        body = " UNION ALL ".join(selects)
        # Views cannot take parameters: render the bound system names as literals through the
        # driver's own quoting (SQLAlchemy literal binds), never by string pasting.
        statement = text(body).bindparams(**params).compile(conn, compile_kwargs={"literal_binds": True})
        view = d.table(schema, spec.view)
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {view}")
        conn.exec_driver_sql(f"CREATE VIEW {view} AS {statement}")
