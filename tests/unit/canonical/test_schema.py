"""Entity schemas: YAML -> model -> Arrow schema, with clear errors for bad definitions."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from lumina_integration.canonical.registry import load_entity, schema_files
from lumina_integration.canonical.schema import arrow_type
from lumina_integration.yaml_models import YamlModelError

GOOD = """\
entity: thing
version: 2
primary_key: [source_system, source_id]
cursor: updated_at
columns:
  - {name: source_system, type: string, nullable: false}
  - {name: source_id, type: string, nullable: false}
  - {name: price, type: "decimal(12,3)"}
  - {name: updated_at, type: timestamp, nullable: false}
"""


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("string", pa.string(), id="string"),
        pytest.param("integer", pa.int64(), id="integer"),
        pytest.param("number", pa.float64(), id="number"),
        pytest.param("boolean", pa.bool_(), id="boolean"),
        pytest.param("date", pa.date32(), id="date"),
        pytest.param("timestamp", pa.timestamp("us", tz="UTC"), id="timestamp-utc"),
        pytest.param("decimal(18,2)", pa.decimal128(18, 2), id="decimal"),
    ],
)
def test_arrow_types(name: str, expected: pa.DataType) -> None:
    assert arrow_type(name) == expected


def test_arrow_schema_adds_the_delete_flag(tmp_path: Path) -> None:
    (tmp_path / "thing.v2.yaml").write_text(GOOD)
    schema = load_entity("thing", root=tmp_path)
    arrow = schema.arrow_schema()
    assert arrow.names == ["source_system", "source_id", "price", "updated_at", "_is_deleted"]
    assert arrow.field("source_id").nullable is False and arrow.field("price").nullable is True
    assert arrow.field("price").type == pa.decimal128(12, 3)
    assert arrow.metadata == {b"lumina.entity": b"thing", b"lumina.version": b"2"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            ('type: "decimal(12,3)"', "type: money"),
            ":8: columns.2.type: Value error, unknown canonical type",
            id="unknown-type",
        ),
        pytest.param(
            ("{name: source_id, type: string, nullable: false}", "{name: source_id, type: string}"),
            "primary key columns must be nullable: false",
            id="nullable-key",
        ),
        pytest.param(
            ("cursor: updated_at", "cursor: changed"),
            "key column 'changed' is not among the columns",
            id="unknown-cursor",
        ),
        pytest.param(("{name: price,", "{name: _is_deleted,"), "reserved for the loader", id="reserved-name"),
        pytest.param(("{name: price,", "{name: Price,"), "must be lower snake_case", id="bad-name"),
        pytest.param(("version: 2", "version: 2\nowner: me"), ":3: owner: unknown key", id="unknown-key"),
    ],
)
def test_bad_schemas_name_file_and_line(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    (tmp_path / "thing.v2.yaml").write_text(GOOD.replace(*change))
    load_entity.cache_clear()
    with pytest.raises(YamlModelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_entity("thing", root=tmp_path)


def test_registry_picks_the_newest_version_unless_pinned(tmp_path: Path) -> None:
    (tmp_path / "thing.v2.yaml").write_text(GOOD)
    (tmp_path / "thing.v3.yaml").write_text(GOOD.replace("version: 2", "version: 3"))
    load_entity.cache_clear()
    assert load_entity("thing", root=tmp_path).version == 3
    assert load_entity("thing", 2, root=tmp_path).version == 2
    with pytest.raises(LookupError, match="no version 9"):
        load_entity("thing", 9, root=tmp_path)
    with pytest.raises(LookupError, match="unknown canonical entity"):
        load_entity("nothing", root=tmp_path)


def test_file_name_and_content_must_agree(tmp_path: Path) -> None:
    (tmp_path / "thing.v5.yaml").write_text(GOOD)
    with pytest.raises(LookupError, match="declares thing v2, its name says thing v5"):
        load_entity("thing", root=tmp_path)


def test_every_shipped_schema_loads() -> None:
    found = schema_files()
    assert {entity for entity, _ in found} >= {"customer", "product", "support_case"}
    for entity, version in found:
        assert load_entity(entity, version).arrow_schema()
