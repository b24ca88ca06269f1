"""Adapters by name, with the Airflow connection types each accepts.

Entries are dotted paths, imported only when used, so DAG parsing never pays for a system's
client library. The options model of each adapter is light (Pydantic only) and is checked at
parse time, so a misspelt option is an import error of that pipeline, not a failed run.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from lumina_integration.hooks.base import SourceAdapter


@dataclass(frozen=True)
class AdapterInfo:
    """An adapter's registration.

    Attributes:
        pool: the Airflow pool the tasks that call the system run in (sized below its limits).
        maintenance: the maintenance runs it supports (``reconcile``, ``refresh``, ``resync``: a full
            read of the object that rewrites its rows, offered as a manual DAG for every pipeline).
        object_check: a light function that raises ValueError for a ``source.object`` the adapter
            would refuse at run time, by the same rule the run applies (lint and DAG parsing call it).
        resource_level: its unit of change is a whole resource (a file version), so a reconcile reads
            every version the ledger lacks instead of comparing records (no ``Reconciles`` needed).
        docs_page: its reference page, ``docs/sources/<docs_page>.md`` (default: its name).
    """

    name: str
    conn_types: tuple[str, ...]
    hook_class: str
    options_model: str
    description: str
    pool: str | None = None
    maintenance: tuple[str, ...] = ()
    object_check: str | None = None
    resource_level: bool = False
    docs_page: str | None = None

    @property
    def page(self) -> str:
        """The reference page's path in the repository."""
        return f"docs/sources/{self.docs_page or self.name}.md"


ADAPTERS: dict[str, AdapterInfo] = {
    "file_drop": AdapterInfo(
        name="file_drop",
        conn_types=("aws",),
        hook_class="lumina_integration.hooks.file_drop.FileDropHook",
        options_model="lumina_integration.hooks.file_drop_options.FileDropOptions",
        description="CSV, JSON and XML exports landing under an S3 prefix",
        pool="file_drop",
        # Reconcile re-reads every file version the ledger lacks. No resync: a landing prefix holds
        # delta exports, not an image of the source, so a record absent from it is not a deletion.
        maintenance=("reconcile",),
        object_check="lumina_integration.hooks.file_drop_options.split_location",
        resource_level=True,
    ),
    "salesforce": AdapterInfo(
        name="salesforce",
        conn_types=("salesforce",),
        hook_class="lumina_integration.hooks.salesforce.hook.SalesforceAdapterHook",
        options_model="lumina_integration.hooks.salesforce.options.SalesforceOptions",
        description="Salesforce sObjects over REST or Bulk API 2.0, incremental by SystemModstamp",
        pool="salesforce_api",
        maintenance=("reconcile", "refresh", "resync"),
        object_check="lumina_integration.hooks.salesforce.options.sobject_name",
    ),
    "sap_hana": AdapterInfo(
        name="sap_hana",
        conn_types=("hana",),
        hook_class="lumina_integration.hooks.hana.hook.HanaHook",
        options_model="lumina_integration.hooks.hana.options.HanaOptions",
        description="SAP ERP tables and CDS views over SQL on HANA (hdbcli), by change stamps and change documents",
        pool="sap_hana",
        maintenance=("reconcile", "resync"),
        docs_page="sap",
    ),
    "servicenow": AdapterInfo(
        name="servicenow",
        conn_types=("servicenow",),
        hook_class="lumina_integration.hooks.servicenow.hook.ServiceNowHook",
        options_model="lumina_integration.hooks.servicenow.options.ServiceNowOptions",
        description="ServiceNow tables over the Table API, keyset windows on (sys_updated_on, sys_id), "
        "deletes from sys_audit_delete or sys_id reconciliation",
        pool="servicenow_api",
        maintenance=("reconcile", "resync"),
        object_check="lumina_integration.hooks.servicenow.options.table_name",
    ),
    "jira": AdapterInfo(
        name="jira",
        conn_types=("jira",),
        hook_class="lumina_integration.hooks.jira.hook.JiraAdapterHook",
        options_model="lumina_integration.hooks.jira.options.JiraOptions",
        description="Jira Cloud and Data Center issues, comments, worklogs and changelogs, incrementally by updated",
        pool="jira_api",
        # Reconcile finds deleted issues (Jira has no deleted feed) by comparing every live (id, updated).
        maintenance=("reconcile", "resync"),
        object_check="lumina_integration.hooks.jira.options.object_name",
    ),
}


def _import(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def adapter_info(name: str) -> AdapterInfo:
    try:
        return ADAPTERS[name]
    except KeyError:
        raise LookupError(f"unknown source type {name!r}; known: {sorted(ADAPTERS)}") from None


def options_model(name: str) -> type[BaseModel]:
    model: type[BaseModel] = _import(adapter_info(name).options_model)
    return model


def check_object(name: str, obj: str) -> None:
    """Raise ValueError when adapter ``name`` would refuse ``obj`` by its shape alone (no connection needed)."""
    check = adapter_info(name).object_check
    if check is not None:
        _import(check)(obj)


def hook_class(name: str) -> type:
    """The adapter's hook class, imported (its client libraries are not: hooks import them when they connect)."""
    cls: type = _import(adapter_info(name).hook_class)
    return cls


def maintenance_gaps(name: str) -> dict[str, str]:
    """The maintenance runs adapter ``name`` is registered with that its hook class cannot do, each
    with what it lacks (empty: none).

    Judged on the class (:data:`~lumina_integration.hooks.capabilities.MAINTENANCE_NEEDS`), without
    connecting, so DAG parsing and ``lumina lint`` refuse a run that would otherwise fail only when it runs.
    """
    return dict(_maintenance_gaps(adapter_info(name)))


@cache  # once per registration and process: DAG parsing asks for every spec
def _maintenance_gaps(info: AdapterInfo) -> tuple[tuple[str, str], ...]:
    from lumina_integration.hooks.capabilities import missing_maintenance

    hook: type = _import(info.hook_class)
    return tuple(missing_maintenance(hook, info.maintenance, resource_level=info.resource_level).items())


def build_adapter(name: str, conn_id: str) -> SourceAdapter:
    """Instantiate the adapter's hook; it checks the connection's type when it connects."""
    from lumina_integration.hooks.base import SourceAdapter

    adapter = hook_class(name)(conn_id)
    if not isinstance(adapter, SourceAdapter):
        raise TypeError(f"{adapter_info(name).hook_class} does not implement SourceAdapter (hooks/base.py)")
    return adapter
