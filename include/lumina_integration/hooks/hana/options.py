"""Options of the SAP HANA adapter, as written under ``source.options`` in a pipeline spec.

Checked at DAG parse time, so this module imports Pydantic only (never hdbcli or SQLAlchemy).
Names are checked for shape here and against the database's own catalogue at run time: no
identifier from a spec reaches SQL before reflection has confirmed it.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# ABAP dictionary names: upper case, digits, underscores and /namespace/ prefixes (/BIC/AZSALES).
_SAP_NAME = re.compile(r"^(/[A-Z0-9_]{1,10}/)?[A-Z][A-Z0-9_]{0,29}$")
_CLIENT = re.compile(r"^\d{3}$")
_LANGUAGE = re.compile(r"^[0-9A-Za-z]$")


def _check_name(value: str) -> str:
    if not _SAP_NAME.match(value):
        raise ValueError(f"{value!r} is not an SAP table or field name (upper case, e.g. VBAP, ERDAT, /BIC/ZFIELD)")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChangeColumns(_Strict):
    """A change stamp of the table: a DATS column and, where the table has one, its TIMS column.

    Date-only stamps (``AEDAT``) are day-granular: windows on them start at the day's midnight so a
    second change on the same day is never missed (the merge dedupes the re-read rows).
    """

    date: str
    time: str | None = None

    _names = field_validator("date", "time")(lambda v: v if v is None else _check_name(v))


class ChangeDocuments(_Strict):
    """Change documents (``CDHDR``/``CDPOS``) of one object class, for tables whose own stamps miss
    changes (``KNA1`` has none) and for deletions.

    Args:
        object_class: ``CDHDR-OBJECTCLAS`` (``DEBI`` customers, ``VERKBELEG`` sales documents,
            ``MATERIAL`` materials).
        object_id: the table column ``CDHDR-OBJECTID`` holds (``KUNNR``, ``VBELN``, ``MATNR``).
        deletions: read ``CDPOS`` rows with ``CHNGIND = 'D'`` for this table as tombstones.
    """

    object_class: str
    object_id: str
    deletions: bool = True

    _names = field_validator("object_class", "object_id")(_check_name)


class TextTable(_Strict):
    """A language-dependent text table joined on the key (``MAKT`` for ``MARA``).

    The first of ``languages`` (SPRAS keys, ``E`` English, ``D`` German) that has a text wins,
    column by column; each text column is read as ``<column>`` and its language as ``<column>_SPRAS``.
    """

    table: str
    columns: list[str] = Field(min_length=1)
    languages: list[str] = Field(default=["E"], min_length=1)

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        return _check_name(value)

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: list[str]) -> list[str]:
        return [_check_name(v) for v in value]

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        for language in value:
            if not _LANGUAGE.match(language):
                raise ValueError(f"{language!r} is not an SAP language key (one character, e.g. E or D)")
        return value


class HanaOptions(_Strict):
    """``source.options`` of an SAP pipeline (``source.object`` is the table or CDS view).

    Args:
        client: the SAP client (``MANDT``) to read; default the connection's ``client`` extra.
        columns: the columns to read (default: all); the key columns are always read.
        key: the record key (default: the table's primary key without the client column).
        changed: change stamps; a record's cursor is the latest of them (and of its change documents).
        change_documents: change documents of the table's business object (changes and deletions).
        timezone: the SAP system's time zone, in which DATS/TIMS stamps are written.
        currency_keys: currency key columns (``WAERK``); each adds ``<column>_CURRDEC`` from
            ``TCURX`` so the mapping can shift CURR amounts to the currency's real decimals.
        texts: a language-dependent text table joined on the key.
        page_rows: rows per keyset page (one query each, all in one snapshot).
        batch_rows: rows per ``fetchmany`` and per Arrow batch: the memory bound of a read.
    """

    client: str | None = None
    columns: list[str] | None = None
    key: list[str] | None = None
    changed: list[ChangeColumns] = []
    change_documents: ChangeDocuments | None = None
    timezone: str = "UTC"
    currency_keys: list[str] = []
    texts: TextTable | None = None
    page_rows: int = Field(default=100_000, ge=100)
    batch_rows: int = Field(default=10_000, ge=10)

    @field_validator("client")
    @classmethod
    def _client(cls, value: str | None) -> str | None:
        if value is not None and not _CLIENT.match(value):
            raise ValueError(f"an SAP client is three digits (e.g. '100'), got {value!r}")
        return value

    @field_validator("columns", "key", "currency_keys")
    @classmethod
    def _names(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [_check_name(v) for v in value]

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)") from None
        return value

    @model_validator(mode="after")
    def _incremental(self) -> HanaOptions:
        if not self.changed and self.change_documents is None:
            raise ValueError("give changed (change stamp columns) or change_documents: nothing says what changed")
        if self.batch_rows > self.page_rows:
            raise ValueError("batch_rows must not exceed page_rows")
        return self
