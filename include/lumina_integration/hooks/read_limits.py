"""Bounds every file reader enforces, so a hostile or broken file costs error rows, not the process."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MIB = 1 << 20
DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_RECORD_BYTES = 16 * MIB
DEFAULT_MAX_FILE_BYTES = 10 * 1024 * MIB
# The JSON line decoder and the rendering of nested values use the C stack, one frame per level:
# the cap keeps a configured depth far below Python's recursion limit.
MAX_DEPTH_CAP = 256


class ReadLimits(BaseModel):
    """Bounds on one file: what exceeds them becomes an error row (quarantined), the rest is kept.

    Args:
        max_depth: deepest nesting of arrays/objects (JSON) or elements (XML) inside one record; the
            record itself is level 1 (at most 256).
        max_record_bytes: largest record: a CSV row, a JSON line, a JSON array item or an XML
            record element, in bytes of UTF-8 text (at least 1 MiB).
        max_file_bytes: largest file after decompression (a gzip bomb stops here).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_depth: int = Field(default=DEFAULT_MAX_DEPTH, ge=1, le=MAX_DEPTH_CAP)
    # Records up to one read chunk (1 MiB) are only checked when they span chunks, which keeps the
    # check off the per-row path; hence the floor.
    max_record_bytes: int = Field(default=DEFAULT_MAX_RECORD_BYTES, ge=MIB)
    max_file_bytes: int = Field(default=DEFAULT_MAX_FILE_BYTES, ge=1)
