"""Options of the Salesforce adapter, as written under ``source.options`` in a pipeline spec."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SalesforceOptions(BaseModel):
    """``source.options`` of a Salesforce pipeline.

    Args:
        fields: the fields to read (default: every readable field; compound fields via components).
        transport: ``auto`` picks Bulk 2.0 above ``bulk_threshold`` records (or for wide objects).
        include_deleted: read the recycle bin too (``queryAll``), so soft deletes arrive as tombstones.
        reserve_share: the share of the org's daily API requests this pipeline leaves to others.
        max_api_calls: a per-run cap on API calls (None: none).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: list[str] | None = None
    transport: Literal["auto", "rest", "bulk"] = "auto"
    bulk_threshold: int = Field(default=50_000, ge=0)
    include_deleted: bool = True
    reserve_share: float = Field(default=0.2, ge=0, lt=1)
    max_api_calls: int | None = None
    page_size: int = Field(default=2000, ge=200, le=2000)
    bulk_page_records: int = 100_000
    bulk_poll_seconds: float = 1.0
