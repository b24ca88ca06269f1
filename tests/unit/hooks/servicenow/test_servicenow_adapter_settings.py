"""The connection: what the form offers is what the settings read; the instance URL; PEM text as files."""

from __future__ import annotations

import os
import stat
from types import SimpleNamespace
from typing import Any

import pytest

from lumina_integration.hooks.registry import adapter_info, build_adapter, check_object
from lumina_integration.hooks.servicenow.settings import settings_from_connection
from lumina_integration.provider import get_provider_info


def conn(**kwargs: Any) -> SimpleNamespace:
    base = {"conn_id": "c", "host": "acme.service-now.com", "port": None, "login": "u", "password": "p", "extra": {}}
    base.update(kwargs)
    return SimpleNamespace(**base, extra_dejson=base["extra"])


def test_the_form_offers_exactly_the_extras_the_settings_read() -> None:
    [entry] = [c for c in get_provider_info()["connection-types"] if c["connection-type"] == "servicenow"]
    assert entry["hook-class-name"] == adapter_info("servicenow").hook_class
    offered = set(entry["conn-fields"])
    extras = {name: "x" for name in offered}
    extras.update(auth_type="oauth_refresh_token", timeout_seconds="30")
    settings = settings_from_connection(conn(extra=extras))
    assert settings.client_id == settings.client_secret == settings.refresh_token == "x"
    assert settings.timeout_seconds == 30.0
    assert offered == {
        "auth_type", "client_id", "client_secret", "refresh_token", "ca_bundle", "client_cert", "client_key",
        "timeout_seconds",
    }  # fmt: skip


def test_the_instance_url() -> None:
    assert settings_from_connection(conn()).instance_url == "https://acme.service-now.com"
    assert settings_from_connection(conn(host="https://127.0.0.1", port=9557)).instance_url == "https://127.0.0.1:9557"
    with pytest.raises(ValueError, match="must be https"):
        settings_from_connection(conn(host="http://acme.service-now.com"))
    with pytest.raises(ValueError, match="host must be the instance URL"):
        settings_from_connection(conn(host=""))


def test_pem_text_becomes_a_private_file() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
    settings = settings_from_connection(conn(extra={"ca_bundle": pem}))
    assert settings.ca_bundle is not None and settings.ca_bundle != pem
    with open(settings.ca_bundle) as written:
        assert written.read().startswith("-----BEGIN CERTIFICATE-----")
    assert stat.S_IMODE(os.stat(settings.ca_bundle).st_mode) == 0o600
    os.unlink(settings.ca_bundle)


def test_the_registry_builds_the_hook_and_checks_object_names() -> None:
    assert type(build_adapter("servicenow", "servicenow_default")).__name__ == "ServiceNowHook"
    assert adapter_info("servicenow").maintenance == ("reconcile", "resync")
    check_object("servicenow", "incident")
    with pytest.raises(ValueError):
        check_object("servicenow", "Incident")
