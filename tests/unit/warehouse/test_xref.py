"""The customer cross-reference view on the real Postgres: one customer across Salesforce and SAP,
its opportunities beside its orders."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from lumina_integration.warehouse.xref import apply_xref, load_xref


def _setup(conn: Any, schema: str) -> None:
    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    conn.execute(
        text(
            f'CREATE TABLE "{schema}".customer (source_system TEXT, source_id TEXT, name TEXT, '
            f"sap_customer_number TEXT, _is_deleted BOOLEAN)"
        )
    )
    conn.execute(
        text(
            f'CREATE TABLE "{schema}".opportunity '
            "(source_system TEXT, source_id TEXT, customer_source_id TEXT, amount NUMERIC)"
        )
    )
    conn.execute(
        text(
            f'CREATE TABLE "{schema}".sales_order '
            "(source_system TEXT, source_id TEXT, customer_source_id TEXT, net_value NUMERIC)"
        )
    )
    conn.execute(
        text(
            f"""INSERT INTO "{schema}".customer VALUES
            ('salesforce', '001A', 'Acme Inc.', '0000000042', false),
            ('salesforce', '001B', 'Globex', '4711', false),
            ('salesforce', '001C', 'No SAP number', NULL, false),
            ('salesforce', '001D', 'Deleted account', '0000000042', true),
            ('sap_erp', '0000000042', 'ACME INC', '0000000042', false),
            ('sap_erp', '0000004711', 'Globex GmbH', '0000004711', false),
            ('sap_erp', '0000009999', 'Only in SAP', '0000009999', false),
            ('crm_export', '0000000042', 'Same id, other system', NULL, false)"""
        )
    )
    conn.execute(
        text(
            f'INSERT INTO "{schema}".opportunity VALUES '
            "('salesforce', '006X', '001A', 1000), ('salesforce', '006Y', '001A', 500)"
        )
    )
    conn.execute(text(f"""INSERT INTO "{schema}".sales_order VALUES ('sap_erp', '0000004801', '0000000042', 120.5)"""))


def test_view_links_salesforce_accounts_to_sap_customers(pg_schema: tuple[Any, str]) -> None:
    engine, schema = pg_schema
    with engine.begin() as conn:
        _setup(conn, schema)
    spec = load_xref("customer")
    apply_xref(engine, schema, spec)
    apply_xref(engine, schema, spec)  # idempotent
    with engine.connect() as conn:
        links = conn.execute(text(f'SELECT left_id, right_id FROM "{schema}".customer_xref ORDER BY 1')).all()
        # The customer's opportunities and orders, across systems, through the view.
        activity = conn.execute(
            text(
                f"""SELECT x.left_id,
                    (SELECT COUNT(*) FROM "{schema}".opportunity o WHERE o.source_system = 'salesforce'
                        AND o.customer_source_id = x.left_id) AS opportunities,
                    (SELECT COUNT(*) FROM "{schema}".sales_order s WHERE s.source_system = 'sap_erp'
                        AND s.customer_source_id = x.right_id) AS orders
                FROM "{schema}".customer_xref x ORDER BY 1"""
            )
        ).all()
    # Leading zeros do not matter (4711 = 0000004711); deleted accounts and other systems do not link.
    assert [tuple(r) for r in links] == [("001A", "0000000042"), ("001B", "0000004711")]
    assert [tuple(r) for r in activity] == [("001A", 2, 1), ("001B", 0, 0)]


def test_view_links_servicenow_companies_to_sap_and_salesforce(pg_schema: tuple[Any, str]) -> None:
    engine, schema = pg_schema
    with engine.begin() as conn:
        _setup(conn, schema)
        conn.execute(
            text(
                f"""INSERT INTO "{schema}".customer VALUES
                ('servicenow', 'c0ffee00c0ffee00c0ffee00c0ffee00', 'Acme (ITSM)', '42', false),
                ('servicenow', 'deadbeefdeadbeefdeadbeefdeadbeef', 'No ERP number', NULL, false),
                ('servicenow', 'feedfacefeedfacefeedfacefeedface', 'Deleted company', '4711', true)"""
            )
        )
    apply_xref(engine, schema, load_xref("customer"))
    with engine.connect() as conn:
        links = conn.execute(
            text(f"""SELECT link, right_id FROM "{schema}".customer_xref WHERE left_system = 'servicenow' ORDER BY 1""")
        ).all()
    assert [tuple(r) for r in links] == [
        ("servicenow_company_to_salesforce_account", "001A"),
        ("servicenow_company_to_sap_customer", "0000000042"),
    ]
