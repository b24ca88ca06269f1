"""Where a run's files live in the lake: ``<zone>/<system>/<object>/<run key>/``.

The run key is derived from the DAG run id, so a retried task writes to exactly the same keys
as its failed attempt and overwrites them instead of leaving a second copy beside them.
"""

from __future__ import annotations

import re

# checkpoints: state a task keeps for its own retries; schema: the source fields a run saw.
ZONES = ("raw", "canonical", "quarantine", "validation", "checkpoints", "schema")
_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def slug(value: str) -> str:
    """A key segment safe for S3 and for humans: runs of other characters become ``_``."""
    return _UNSAFE.sub("_", value).strip("_") or "_"


def run_key(dag_id: str, run_id: str) -> str:
    return f"{slug(dag_id)}__{slug(run_id)}"


def run_prefix(zone: str, system: str, obj: str, key: str) -> str:
    if zone not in ZONES:
        raise ValueError(f"unknown zone {zone!r}; expected one of {ZONES}")
    return f"{zone}/{slug(system)}/{slug(obj)}/{key}/"
