"""Failpoints: named places where a fault test can kill or pause this process.

Production code calls :func:`hit` at a few points where a crash matters most (after extract,
between Parquet uploads, mid-COPY, between merge and commit, after commit). Nothing happens unless
the environment variable ``LUMINA_FAILPOINT`` names that point, so the cost is one dict lookup.

``LUMINA_FAILPOINT=<point>`` (or ``<point>:kill``) sends SIGKILL to the process at the point: no
``finally``, no rollback, no goodbye, exactly like the OOM killer or a lost worker.
``LUMINA_FAILPOINT=<point>:pause`` creates ``<point>.reached`` in ``LUMINA_FAILPOINT_DIR`` and waits
(at most ``PAUSE_LIMIT_S``) until ``<point>.release`` exists there, so a test can act on the process's
resources (for example terminate its Postgres backend mid-COPY) and then let it continue.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

ENV = "LUMINA_FAILPOINT"
DIR_ENV = "LUMINA_FAILPOINT_DIR"
PAUSE_LIMIT_S = 120.0
POINTS = (
    "extract.after_manifest",  # the extract step wrote its parts and manifest, not yet reported done
    "staging.part_uploaded",  # a Parquet part is on S3, the step's manifest is not
    "load.copy",  # the first COPY chunk reached Postgres, the stage is not complete
    "load.before_commit",  # merge, watermark and audit done inside the transaction, not committed
    "load.after_commit",  # the load committed, the task has not reported success
)


def hit(point: str) -> None:
    """Kill or pause this process if ``LUMINA_FAILPOINT`` names ``point``; otherwise do nothing."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    name, _, action = wanted.partition(":")
    if name != point:
        return
    if action == "pause":
        folder = Path(os.environ.get(DIR_ENV, "."))
        (folder / f"{point}.reached").touch()
        deadline = time.monotonic() + PAUSE_LIMIT_S
        while not (folder / f"{point}.release").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return
    os.kill(os.getpid(), signal.SIGKILL)
