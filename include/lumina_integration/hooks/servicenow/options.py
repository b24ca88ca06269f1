"""Options of the ServiceNow adapter, as written under ``source.options`` in a pipeline spec.

The window's lookback and safety lag are the spec's ``window.lookback`` / ``window.safety_lag`` (every
adapter's), measured on the instance's clock: the plan step bounds the window by the adapter's
``server_now``, the ``Date`` header of an instance answer, never by the worker's clock.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from lumina_integration.hooks.servicenow.settings import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

# sys_db_object / sys_dictionary names: lower case, digits and underscores (u_ and x_<scope>_ included).
_NAME = re.compile(r"[a-z][a-z0-9_]{0,79}")


def _name(text: str, what: str) -> str:
    if not _NAME.fullmatch(text):
        raise ValueError(f"{text!r} is not a ServiceNow {what} name (lower case letters, digits, underscores)")
    return text


def table_name(name: str) -> str:
    """``source.object`` of a ServiceNow spec, by the rule the catalogue's names follow (see the registry)."""
    return _name(name, "table")


def _field_name(name: str) -> str:
    return _name(name, "field")


FieldName = Annotated[str, AfterValidator(_field_name)]
Deletes = Literal["auto", "audit", "reconcile", "none"]


class ServiceNowOptions(BaseModel):
    """``source.options`` of a ServiceNow pipeline.

    Args:
        fields: the fields to read (default: every field of the table, inherited ones included);
            ``sys_id`` and ``sys_updated_on`` are always read.
        display_value: also read display values (``sysparm_display_value=all``): each reference and choice
            field ``f`` gets a text column ``dv_f`` beside its raw value.
        page_size: records per Table API request (``sysparm_limit``).
        deletes: where deletions come from. ``audit``: ``sys_audit_delete`` rows of the window (the
            table must be audited); ``reconcile``: only the ``__reconcile`` DAG's sys_id comparison;
            ``none``: not at all (a reconcile run then only fills gaps); ``auto``: ``audit`` for an audited
            table, else ``reconcile``.
        trust_short_pages: end a window's paging at a page shorter than ``page_size``. Off by default:
            ACLs remove rows from a page after the limit is applied, so a short page is not always the last.
        read_ids_batch: sys_ids per ``sys_idIN`` request (reconcile re-reads, repairs).
        reserve_share: the share of the instance's rate-limit window every pipeline leaves to others.
        max_api_calls: a per-run cap on API calls (None: none).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: list[FieldName] | None = None
    display_value: bool = False
    page_size: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    deletes: Deletes = "auto"
    trust_short_pages: bool = False
    read_ids_batch: int = Field(default=100, ge=1, le=500)
    reserve_share: float = Field(default=0.2, ge=0, lt=1)
    max_api_calls: int | None = Field(default=None, ge=1)
