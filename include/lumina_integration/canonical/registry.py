"""Find canonical entity schemas by name and version (``include/schemas/<entity>.v<N>.yaml``)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from lumina_integration.canonical.schema import EntitySchema
from lumina_integration.paths import SCHEMAS_DIR
from lumina_integration.yaml_models import load_yaml_model

_FILE_NAME = re.compile(r"^(?P<entity>[a-z][a-z0-9_]*)\.v(?P<version>\d+)\.yaml$")


def schema_files(root: Path = SCHEMAS_DIR) -> dict[tuple[str, int], Path]:
    """All schema files under ``root`` keyed by (entity, version)."""
    found: dict[tuple[str, int], Path] = {}
    for path in sorted(root.glob("*.yaml")):
        match = _FILE_NAME.match(path.name)
        if match:
            found[(match["entity"], int(match["version"]))] = path
    return found


@lru_cache(maxsize=64)
def load_entity(entity: str, version: int | None = None, root: Path = SCHEMAS_DIR) -> EntitySchema:
    """Load an entity schema; ``version=None`` means the newest one.

    Raises:
        LookupError: no such entity or version.
        YamlModelError: the file is malformed (names the file, line and field).
    """
    files = schema_files(root)
    versions = sorted(v for (name, v) in files if name == entity)
    if not versions:
        known = sorted({name for name, _ in files})
        raise LookupError(f"unknown canonical entity {entity!r}; known: {known}")
    chosen = versions[-1] if version is None else version
    if chosen not in versions:
        raise LookupError(f"entity {entity!r} has no version {chosen}; known: {versions}")
    path = files[(entity, chosen)]
    schema = load_yaml_model(EntitySchema, path)
    if (schema.entity, schema.version) != (entity, chosen):
        raise LookupError(f"{path} declares {schema.entity} v{schema.version}, its name says {entity} v{chosen}")
    return schema
