"""The Airflow ``salesforce`` connection to a sandbox org: the one place that writes it (demo, bench, tests).

It is written as the official provider reads it, so the provider's ``SalesforceHook`` and operators and our
adapter log in alike: the login host is the ``domain`` extra (the sandbox's ``127.0.0.1:<port>/login``, see
:func:`lumina_sandbox.salesforce.auth.login_domain`), never the connection's ``host``. ``ca_bundle`` is ours;
the provider has no CA field and verifies against ``REQUESTS_CA_BUNDLE``, so point that at the same file for
the provider's operators.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lumina_sandbox.salesforce.auth import login_domain


def airflow_connection(credentials: Mapping[str, Any], ca_path: str | Path) -> dict[str, Any]:
    """The SOAP-login connection (user, password, security token) from the sandbox's credentials."""
    # A sandbox started before ``login_domain`` existed wrote only its login_url.
    domain = credentials.get("login_domain") or login_domain(credentials["login_url"])
    return {
        "conn_type": "salesforce",
        "login": credentials["username"],
        "password": credentials["password"],
        "extra": {
            "security_token": credentials["security_token"],
            "domain": domain,
            "ca_bundle": str(Path(ca_path).resolve()),
        },
    }
