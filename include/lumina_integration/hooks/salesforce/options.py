"""Options of the Salesforce adapter, as written under ``source.options`` in a pipeline spec."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from lumina_integration.hooks.salesforce.soql import api_name


def _field_name(name: str) -> str:
    return api_name(name, "field")


def sobject_name(name: str) -> str:
    """``source.object`` of a Salesforce spec, by the same rule every query applies (see the registry)."""
    return api_name(name, "sObject")


# Checked by shape here (lint and every run); against the org's describe when a run queries.
FieldName = Annotated[str, AfterValidator(_field_name)]


class SalesforceOptions(BaseModel):
    """``source.options`` of a Salesforce pipeline.

    Args:
        fields: the fields to read (default: every readable field; compound fields via components).
        transport: ``auto`` picks Bulk 2.0 above ``bulk_threshold`` records; ``rest`` and ``bulk``
            force one. Any transport sends a query that does not fit in a GET (wide objects) over
            Bulk 2.0, and ``auto``/``bulk`` read a one-second slice that times out over REST by Bulk.
        include_deleted: read the recycle bin too (``queryAll``), so soft deletes arrive as tombstones.
        deleted_endpoint: also ask ``sobjects/X/deleted`` for the window's deletions (those of the
            last 15 days by the org's clock; older windows rely on ``queryAll`` and the reconcile
            DAG); with ``include_deleted`` off it is the only way soft deletes arrive.
        reserve_share: the share of the org's daily API requests every pipeline leaves to others.
        api_budget_share: the share of the org's daily API requests this pipeline may spend in
            any 24 hours (None: no per-pipeline cap).
        bulk_job_budget_share: the same for the org's daily Bulk 2.0 query jobs.
        max_api_calls: a per-run cap on API calls (None: none).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: list[FieldName] | None = None
    transport: Literal["auto", "rest", "bulk"] = "auto"
    bulk_threshold: int = Field(default=50_000, ge=0)
    include_deleted: bool = True
    deleted_endpoint: bool = True
    reserve_share: float = Field(default=0.2, ge=0, lt=1)
    api_budget_share: float | None = Field(default=None, gt=0, le=1)
    bulk_job_budget_share: float | None = Field(default=None, gt=0, le=1)
    max_api_calls: int | None = Field(default=None, ge=1)
    page_size: int = Field(default=2000, ge=200, le=2000)
    # 50k records a result page: ~25 MB of CSV for a 40-field object; memory is bounded by one page.
    bulk_page_records: int = Field(default=50_000, ge=1)
    # The first wait for a Bulk job's state; each next one 1.5x longer (at most 30 s). A small window's job is
    # done in well under a second, so a first wait of 1 s was a second of every incremental run; a long job
    # pays about 3 more polls (API calls) than it did.
    bulk_poll_seconds: float = Field(default=0.25, gt=0)
    bulk_timeout_seconds: float = Field(default=7200, gt=0)
