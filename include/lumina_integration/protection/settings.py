"""The deployment's data protection settings (``include/data_protection.yaml``, or ``$LUMINA_DATA_PROTECTION``).

One file per deployment, read with file:line errors like every YAML data teams edit. It holds policy only:
the PII keys live in the Airflow connection ``pii.keys_conn_id`` names (or a secrets backend), never here.
Light to import (Pydantic and PyYAML): residency is checked at DAG parse time.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lumina_integration.canonical.schema import Column, PiiClass
from lumina_integration.paths import INCLUDE_DIR
from lumina_integration.yaml_models import load_yaml_model

SETTINGS_PATH_VARIABLE = "LUMINA_DATA_PROTECTION"
DEFAULT_SETTINGS_PATH = INCLUDE_DIR / "data_protection.yaml"

PiiAction = Literal["keep", "tokenize", "encrypt", "mask", "drop"]
Zone = Literal["raw", "canonical", "quarantine", "validation", "audit", "soft_deleted"]
Days = Annotated[int, Field(ge=1)] | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PiiSettings(_Strict):
    """What the transform step does with each canonical column, by PII class, overridable per entity column."""

    classes: dict[PiiClass, PiiAction] = {
        PiiClass.NONE: "keep",
        PiiClass.INDIRECT: "keep",
        PiiClass.DIRECT: "tokenize",
        PiiClass.SENSITIVE: "encrypt",
    }
    entities: dict[str, dict[str, PiiAction]] = {}
    keys_conn_id: str = "lumina_pii_keys"

    def action(self, entity: str, column: Column) -> PiiAction:
        """The action for ``column`` of ``entity``: the entity's override, else its class's (keep when unset)."""
        override = self.entities.get(entity, {}).get(column.name)
        if override is not None:
            return override
        return self.classes.get(column.pii, "keep")


class RetentionSettings(_Strict):
    """Days each zone keeps data (None: forever); ``entities`` override per entity and zone.

    ``guard_days``: a lake run with an object written less than this many days ago is never removed,
    whatever the date in its key (it may still be running, or be retried, or be a backfill of an old interval).
    """

    zones: dict[Zone, Days] = {}
    entities: dict[str, dict[Zone, Days]] = {}
    guard_days: Annotated[int, Field(ge=1)] = 2

    def days(self, zone: Zone, entity: str | None = None) -> int | None:
        if entity is not None and zone in self.entities.get(entity, {}):
            return self.entities[entity][zone]
        return self.zones.get(zone)


# An AWS region name (us-east-1, eu-central-1, us-gov-west-1): pipeline specs' ``region`` uses the same.
Region = Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")]


class BucketSettings(_Strict):
    """A lake bucket: its region, and the server-side encryption every upload to it asks for."""

    region: Region
    sse: Literal["AES256", "aws:kms"] = "AES256"
    kms_key_id: str | None = None

    @model_validator(mode="after")
    def _key_only_with_kms(self) -> BucketSettings:
        if self.kms_key_id is not None and self.sse != "aws:kms":
            # S3 would refuse the upload (a key id without aws:kms); say so when the file is read.
            raise ValueError("kms_key_id needs sse: aws:kms")
        return self


class WarehouseSettings(_Strict):
    """A warehouse connection's region."""

    region: Region


class DataProtectionSettings(_Strict):
    pii: PiiSettings = PiiSettings()
    retention: RetentionSettings = RetentionSettings()
    buckets: dict[str, BucketSettings] = {}
    warehouses: dict[str, WarehouseSettings] = {}


def settings_path() -> Path:
    value = os.environ.get(SETTINGS_PATH_VARIABLE, "").strip()
    return Path(value).expanduser().resolve() if value else DEFAULT_SETTINGS_PATH


@lru_cache(maxsize=4)
def _load(path: Path) -> DataProtectionSettings:
    return load_yaml_model(DataProtectionSettings, path)


def data_protection() -> DataProtectionSettings:
    """The deployment's settings (cached per path; raises YamlModelError naming file, line and field)."""
    return _load(settings_path())
