"""Hook for the embedded DuckDB warehouse connection type (the laptop default)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook


class DuckDBWarehouseHook(BaseHook):
    """A DuckDB database file used as the warehouse.

    Args:
        duckdb_conn_id: connection whose ``host`` is the database file.
    """

    conn_name_attr = "duckdb_conn_id"
    default_conn_name = "lumina_warehouse"
    conn_type = "duckdb"
    hook_name = "DuckDB warehouse (Lumina)"

    def __init__(self, duckdb_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.duckdb_conn_id = duckdb_conn_id

    def get_conn(self) -> Any:
        from lumina_integration.warehouse.connection import warehouse_target

        return warehouse_target(self.duckdb_conn_id).engine.connect()

    def test_connection(self) -> tuple[bool, str]:
        from sqlalchemy import text

        try:
            with self.get_conn() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # report any failure to the UI instead of raising
            return False, f"{type(exc).__name__}: {exc}"
        return True, "DuckDB database opened"
