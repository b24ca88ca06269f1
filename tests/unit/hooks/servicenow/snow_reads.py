"""Helpers shared by the ServiceNow adapter tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyarrow as pa

from lumina_integration.hooks.servicenow.hook import ServiceNowHook
from lumina_integration.window import Window


def connection(server: Any, auth: str = "basic", **kwargs: Any) -> dict[str, Any]:
    """The ``servicenow`` connection to ``server`` as the sandbox's connection helper (the demo's) writes it."""
    from lumina_sandbox.servicenow.connection import airflow_connection

    creds = {**server.credentials.as_dict(), "instance_url": server.base_url}
    return airflow_connection(creds, server.ca_path, auth=auth, **kwargs)


def everything(h: ServiceNowHook) -> Window:
    return Window(None, h.server_now() + timedelta(seconds=1))


def read(h: ServiceNowHook, obj: str, window: Window | None = None, **options: Any) -> pa.Table:
    batches = list(h.read(obj, window or everything(h), options))
    return pa.Table.from_batches(batches)


def live(table: pa.Table) -> pa.Table:
    import pyarrow.compute as pc

    return table.filter(pc.invert(table.column("_lumina_deleted")))


def latest(table: pa.Table) -> dict[str, dict[str, Any]]:
    """sys_id -> its newest row (the merge's view of an extract that may hold several versions)."""
    newest: dict[str, dict[str, Any]] = {}
    for row in table.to_pylist():
        held = newest.get(row["sys_id"])
        if held is None or row["sys_updated_on"] >= held["sys_updated_on"]:
            newest[row["sys_id"]] = row
    return newest
