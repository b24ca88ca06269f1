"""Airflow provider metadata: makes the ``duckdb`` warehouse connection type appear in the UI form."""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "lumina-integration",
        "name": "Lumina Integration Layer",
        "description": "Pipelines from enterprise systems into a SQL warehouse and an S3 data lake.",
        "versions": ["0.1.0"],
        "connection-types": [
            {
                "connection-type": "duckdb",
                "hook-class-name": "lumina_integration.warehouse.hook.DuckDBWarehouseHook",
                "hook-name": "DuckDB warehouse (Lumina)",
                "ui-field-behaviour": {
                    "hidden-fields": ["login", "password", "port", "schema"],
                    "relabeling": {"host": "Database file"},
                    "placeholders": {"host": ".lumina/warehouse.duckdb"},
                },
                "conn-fields": {
                    "warehouse_schema": {
                        "label": "Schema for the tables",
                        "schema": {"type": "string", "default": "main"},
                    }
                },
            }
        ],
    }
