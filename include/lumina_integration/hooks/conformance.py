"""Static proof (for mypy) that each shipped hook has the protocols' signatures, annotations included.

The contract test (``tests/unit/hooks/test_adapter_contract.py``) compares parameter names, kinds and
defaults at run time over every registered adapter; this compares the types, which only a type checker
can. Nothing here runs: the functions are defined under ``TYPE_CHECKING`` and never imported at run time.
Each registered adapter has one function here, named as its registry entry, returning the hook as every
protocol it implements (the contract test checks the list is complete).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lumina_integration.hooks.base import SourceAdapter
    from lumina_integration.hooks.capabilities import (
        BindsRun,
        DescribesFields,
        EstimatesCost,
        HasCalculatedFields,
        ListsVersions,
        ReadsColumns,
        ReadsIds,
        Reconciles,
        ReportsUsage,
        WritesBack,
    )
    from lumina_integration.hooks.file_drop import FileDropHook
    from lumina_integration.hooks.hana.hook import HanaHook
    from lumina_integration.hooks.jira.hook import JiraAdapterHook
    from lumina_integration.hooks.salesforce.hook import SalesforceAdapterHook
    from lumina_integration.hooks.servicenow.hook import ServiceNowHook

    def file_drop(hook: FileDropHook) -> tuple[SourceAdapter, ReportsUsage]:
        return hook, hook

    def salesforce(
        hook: SalesforceAdapterHook,
    ) -> tuple[
        SourceAdapter,
        BindsRun,
        ReportsUsage,
        DescribesFields,
        EstimatesCost,
        ListsVersions,
        Reconciles,
        ReadsIds,
        ReadsColumns,
        HasCalculatedFields,
        WritesBack,
    ]:
        return hook, hook, hook, hook, hook, hook, hook, hook, hook, hook, hook

    def sap_hana(hook: HanaHook) -> tuple[SourceAdapter, ReportsUsage, ListsVersions, Reconciles, ReadsIds]:
        return hook, hook, hook, hook, hook

    def servicenow(
        hook: ServiceNowHook,
    ) -> tuple[
        SourceAdapter, BindsRun, ReportsUsage, DescribesFields, EstimatesCost, ListsVersions, Reconciles, ReadsIds
    ]:
        return hook, hook, hook, hook, hook, hook, hook, hook

    def jira(
        hook: JiraAdapterHook,
    ) -> tuple[
        SourceAdapter, BindsRun, ReportsUsage, DescribesFields, EstimatesCost, ListsVersions, Reconciles, ReadsIds
    ]:
        return hook, hook, hook, hook, hook, hook, hook, hook
