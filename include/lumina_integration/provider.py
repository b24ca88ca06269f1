"""Airflow provider metadata: the ``duckdb`` warehouse and the ``hana`` and ``servicenow`` source connection types
and their UI forms."""

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
            },
            {
                "connection-type": "hana",
                "hook-class-name": "lumina_integration.hooks.hana.hook.HanaHook",
                "hook-name": "SAP HANA (Lumina)",
                "ui-field-behaviour": {
                    "hidden-fields": ["extra"],
                    "relabeling": {"schema": "Tenant database", "login": "User"},
                    "placeholders": {"host": "hana.example.com", "port": "30015", "schema": "S4P"},
                },
                "conn-fields": {
                    "sap_schema": {"label": "ABAP schema", "schema": {"type": ["string", "null"], "default": None}},
                    "client": {"label": "SAP client (MANDT)", "schema": {"type": ["string", "null"], "default": None}},
                    "encrypt": {"label": "TLS", "schema": {"type": "boolean", "default": True}},
                    "validate_certificate": {
                        "label": "Validate the server certificate",
                        "schema": {"type": "boolean", "default": True},
                    },
                    "trust_store": {
                        "label": "Trusted CA (PEM text or file)",
                        "schema": {"type": ["string", "null"], "default": None},
                    },
                    "hostname_in_certificate": {
                        "label": "Host name in the certificate",
                        "schema": {"type": ["string", "null"], "default": None},
                    },
                    "user_key": {"label": "hdbuserstore key", "schema": {"type": ["string", "null"], "default": None}},
                    "certificate": {
                        "label": "X.509 client certificate and key (PEM)",
                        "schema": {"type": ["string", "null"], "format": "password", "default": None},
                    },
                    "isolation_level": {
                        "label": "Read snapshot isolation",
                        "schema": {
                            "type": "string",
                            "enum": ["REPEATABLE READ", "SERIALIZABLE"],
                            "default": "REPEATABLE READ",
                        },
                    },
                    "sqlalchemy_url": {
                        "label": "Sandbox: SQLAlchemy URL of a SAP-shaped database instead of HANA",
                        "schema": {"type": ["string", "null"], "default": None},
                    },
                },
            },
            {
                "connection-type": "servicenow",
                "hook-class-name": "lumina_integration.hooks.servicenow.hook.ServiceNowHook",
                "hook-name": "ServiceNow (Lumina)",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "extra"],
                    "relabeling": {"host": "Instance URL", "login": "User (basic, OAuth password grant)"},
                    "placeholders": {"host": "https://acme.service-now.com", "login": "lumina.integration"},
                },
                # Names as hooks/servicenow/settings.py and the sandbox's connection helper read them.
                "conn-fields": {
                    "auth_type": {
                        "label": "Authentication",
                        "schema": {
                            "type": "string",
                            "enum": ["basic", "oauth_password", "oauth_refresh_token", "oauth_client_credentials"],
                            "default": "basic",
                        },
                    },
                    "client_id": {
                        "label": "OAuth client id (Application Registry)",
                        "schema": {"type": ["string", "null"], "default": None},
                    },
                    "client_secret": {
                        "label": "OAuth client secret",
                        "schema": {"type": ["string", "null"], "format": "password", "default": None},
                    },
                    "refresh_token": {
                        "label": "OAuth refresh token (oauth_refresh_token)",
                        "schema": {"type": ["string", "null"], "format": "password", "default": None},
                    },
                    "ca_bundle": {
                        "label": "Trusted CA (PEM text or file)",
                        "schema": {"type": ["string", "null"], "default": None},
                    },
                    "client_cert": {
                        "label": "Mutual TLS: client certificate (PEM text or file; may hold the key)",
                        "schema": {"type": ["string", "null"], "default": None},
                    },
                    "client_key": {
                        "label": "Mutual TLS: client key (PEM text or file)",
                        "schema": {"type": ["string", "null"], "format": "password", "default": None},
                    },
                    "timeout_seconds": {
                        "label": "Read timeout of one request (s)",
                        "schema": {"type": ["number", "null"], "default": 120},
                    },
                },
            },
        ],
    }
