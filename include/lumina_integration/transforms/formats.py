"""Source-specific value formats: named casts a mapping rule selects with ``format: <name>``.

A mapping column's ``format`` is either a ``strptime`` pattern (it contains ``%``, e.g.
``"%Y%m%d%H%M%S"``) that the generic casts in :mod:`lumina_integration.transforms.casting` apply to
dates and timestamps, or the name of a format registered here: a source's own convention for
writing values (SAP's ``YYYYMMDD`` dates with ``00000000`` for none, Jira's Atlassian Document
Format bodies...). A registered format applies even when the raw column already has the target
type, since the convention lives inside the value (NUMC text stays text, but is checked).

How an adapter registers a format:

1. Write the cast in the adapter's own module (``transforms/sap_types.py`` for SAP; Jira's goes
   beside its ADF code) with the signature of :data:`ValueCast`::

       def adf_text(values: pa.Array, target: pa.DataType, timezone: str) -> CastResult: ...

   It returns the values cast to ``target`` and the mask of the values that are impossible (those
   rows are quarantined with ``CastResult.hint`` in their reason), never raises for bad values.
2. Add one entry to :data:`VALUE_FORMATS` below, ``"jira_adf_text":
   "lumina_integration.hooks.jira.adf.adf_text"``. Names are ``<source>_<what>`` in lower case
   and contain no ``%`` (so they can never be read as a ``strptime`` pattern).

Mappings are checked at DAG parse time, where pyarrow is not imported: this module therefore holds
only dotted paths, and the cast's module is imported on first use (:func:`value_cast`).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import pyarrow as pa

    from lumina_integration.transforms.casting import CastResult

# (raw values, canonical target type, time zone of wall-clock values) -> cast values + invalid mask.
ValueCast = Callable[["pa.Array", "pa.DataType", str], "CastResult"]

# Format name -> dotted path ("package.module.function") of its ValueCast.
VALUE_FORMATS: dict[str, str] = {
    "sap_dats": "lumina_integration.transforms.sap_types.sap_dats",
    "sap_tims": "lumina_integration.transforms.sap_types.sap_tims",
    "sap_timestamp": "lumina_integration.transforms.sap_types.sap_timestamp",
    "sap_numc": "lumina_integration.transforms.sap_types.sap_numc",
    "sap_alpha": "lumina_integration.transforms.sap_types.sap_alpha",
    "sap_char": "lumina_integration.transforms.sap_types.sap_char",
    "sap_spras": "lumina_integration.transforms.sap_types.sap_spras",
    "jira_adf_text": "lumina_integration.hooks.jira.adf.adf_text",
}

_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


class UnknownFormatError(ValueError):
    """A mapping names a value format that nobody registered."""


def value_formats() -> list[str]:
    """The registered format names, sorted."""
    return sorted(VALUE_FORMATS)


def is_registered(fmt: str | None) -> bool:
    """Whether ``fmt`` names a registered format (rather than a strptime pattern or nothing)."""
    return fmt is not None and fmt in VALUE_FORMATS


def check_format(fmt: str | None) -> None:
    """Refuse, at parse time, a ``format`` that is neither registered nor a strptime pattern.

    A name-like format (``sap_dat``, ``jira_adf``) without ``%`` would otherwise be handed to
    strptime at run time and quarantine every row of the column.
    """
    if fmt is None or fmt in VALUE_FORMATS or "%" in fmt:
        return
    kind = "value format" if _NAME.match(fmt) else "format (a strptime pattern contains %)"
    raise UnknownFormatError(f"unknown {kind} {fmt!r}; registered value formats: {value_formats()}")


@cache
def value_cast(fmt: str) -> ValueCast:
    """The cast function of a registered format, its module imported on first use."""
    if fmt not in VALUE_FORMATS:
        raise UnknownFormatError(f"unknown value format {fmt!r}; registered value formats: {value_formats()}")
    module_name, _, attribute = VALUE_FORMATS[fmt].rpartition(".")
    function = getattr(importlib.import_module(module_name), attribute)
    if not callable(function):
        raise TypeError(f"value format {fmt!r}: {VALUE_FORMATS[fmt]} is not a function")
    return cast(ValueCast, function)
