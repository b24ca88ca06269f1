"""The jira connection as the provider's JiraHook reads it, plus our auth modes in extras."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from lumina_integration.hooks.jira.options import JiraOptions, object_name
from lumina_integration.hooks.jira.settings import JiraConnectionError, settings_from_connection


def conn(**kwargs: object) -> SimpleNamespace:
    base = {"conn_id": "jira_default", "host": "https://acme.atlassian.net", "port": None, "login": None}
    base.update({"password": None, "extra": "{}"})
    base.update(kwargs)
    if isinstance(base["extra"], dict):
        base["extra"] = json.dumps(base["extra"])
    return SimpleNamespace(**base)


def test_basic_is_the_providers_login_and_password() -> None:
    s = settings_from_connection(conn(login="ops@acme.com", password="api-token", extra={"verify": "/ca.pem"}))
    assert (s.auth_mode, s.base_url, s.ca_bundle, s.verify) == ("basic", "https://acme.atlassian.net", "/ca.pem", True)
    assert s.secrets() == ["api-token"]


def test_bearer_pat_and_host_without_scheme() -> None:
    s = settings_from_connection(conn(host="jira.corp.example", port=8443, password="pat"))
    assert s.auth_mode == "bearer" and s.base_url == "https://jira.corp.example:8443"
    assert settings_from_connection(conn(password="p", extra={"verify": False})).verify is False


def test_oauth2_needs_its_extras() -> None:
    extra = {"auth_mode": "oauth2", "token_url": "https://auth.atlassian.com/oauth/token"}
    with pytest.raises(JiraConnectionError, match="grant_type"):
        settings_from_connection(conn(extra=extra))
    s = settings_from_connection(
        conn(login="client", password="secret", extra={**extra, "grant_type": "client_credentials"})
    )
    assert (s.client_id, s.client_secret) == ("client", "secret")
    with pytest.raises(JiraConnectionError, match="refresh_token"):
        settings_from_connection(conn(extra={**extra, "grant_type": "refresh_token"}))


def test_bad_connections_say_what_to_fix() -> None:
    with pytest.raises(JiraConnectionError, match="no host"):
        settings_from_connection(conn(host=""))
    with pytest.raises(JiraConnectionError, match="auth_mode"):
        settings_from_connection(conn(password="x", extra={"auth_mode": "kerberos"}))
    with pytest.raises(JiraConnectionError, match="basic auth needs"):
        settings_from_connection(conn(login="only-login"))


def test_options_and_objects() -> None:
    assert JiraOptions.model_validate({"lookback": "2m"}).lookback.total_seconds() == 120
    with pytest.raises(ValueError):
        JiraOptions.model_validate({"projects": ['ENG" OR 1=1']})
    with pytest.raises(ValueError):
        JiraOptions.model_validate({"fields": ["summary; DROP"]})
    with pytest.raises(ValueError):
        JiraOptions.model_validate({"page_sise": 10})
    assert object_name("worklogs") == "worklogs"
    with pytest.raises(ValueError, match="unknown Jira object"):
        object_name("sprints")
