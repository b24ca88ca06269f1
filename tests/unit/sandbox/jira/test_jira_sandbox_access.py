"""Auth, rate limits, Data Center mode, faults and the real atlassian-python-api clients against the sandbox."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from jira_sandbox_client import http_session, rest, search

from lumina_sandbox.jira.connection import airflow_connection
from lumina_sandbox.jira.server import JiraServer


def _window_start(server: JiraServer) -> None:
    """Put the sandbox clock at the start of a minute, so that the requests of a test share one fixed window."""
    now = server.control.now()
    server.control.set_time(now.replace(second=0, microsecond=0) + timedelta(minutes=1))


def test_wrong_credentials_are_401_in_jiras_shape(server: JiraServer) -> None:
    session = http_session(server)
    session.auth = (server.credentials.email, "wrong")
    response = session.get(rest(server, "myself"))
    assert response.status_code == 401
    assert response.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    assert response.json()["errorMessages"]


def test_oauth_tokens_expire_on_the_sandbox_clock(server: JiraServer) -> None:
    creds = server.credentials
    granted = http_session(server).post(
        f"{server.base_url}/oauth/token",
        json={"grant_type": "client_credentials", "client_id": creds.client_id, "client_secret": creds.client_secret},
    )
    assert granted.status_code == 200 and granted.json()["expires_in"] == 3600
    session = http_session(server)
    session.headers["Authorization"] = f"Bearer {granted.json()['access_token']}"
    cloud_id = server.control.credentials()["cloud_id"]
    assert session.get(f"{server.base_url}/ex/jira/{cloud_id}/rest/api/3/myself").status_code == 200
    server.control.advance(3601)
    assert session.get(rest(server, "myself")).status_code == 401
    expired = session.get(f"{server.base_url}/ex/jira/{cloud_id}/rest/api/3/myself")
    assert expired.status_code == 401 and expired.json() == {"code": 401, "message": "Unauthorized"}
    refused = http_session(server).post(
        f"{server.base_url}/oauth/token",
        json={"grant_type": "client_credentials", "client_id": creds.client_id, "client_secret": "nope"},
    )
    assert refused.status_code == 403 and refused.json()["error"] == "access_denied"


def test_refresh_tokens_rotate(server: JiraServer) -> None:
    first = server.control.oauth_token(ttl=60)
    creds = server.credentials
    form = {
        "grant_type": "refresh_token",
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "refresh_token": first["refresh_token"],
    }
    again = http_session(server).post(f"{server.base_url}/oauth/token", data=form)
    assert again.status_code == 200 and again.json()["refresh_token"] != first["refresh_token"]
    assert http_session(server).post(f"{server.base_url}/oauth/token", data=form).status_code == 403


def test_rate_limit_429_with_cloud_headers(jira: requests.Session, server: JiraServer) -> None:
    _window_start(server)  # the whole test inside one rate-limit window of the sandbox clock
    server.control.set_rate_limit(3, window=60, beta=True)
    answers = [jira.get(rest(server, "myself")) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert int(refused.headers["Retry-After"]) >= 1 and refused.headers["Beta-Retry-After"]
    assert refused.headers["X-RateLimit-Remaining"] == "0" and refused.headers["RateLimit-Reason"] == "jira-burst-based"
    assert refused.headers["X-RateLimit-Reset"].endswith("Z")
    assert answers[0].headers["X-RateLimit-Limit"] == "3"
    server.control.advance(61)
    assert jira.get(rest(server, "myself")).status_code == 200


def test_injected_fault_in_jiras_shape(jira: requests.Session, server: JiraServer) -> None:
    server.control.add_fault("search", "status", status=503, retry_after=2)
    response = jira.post(rest(server, "search/jql"), json={"jql": "project = ENG"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert response.json()["errorMessages"]
    assert jira.post(rest(server, "search/jql"), json={"jql": "project = ENG"}).status_code == 200
    assert server.control.request_counts()["search"] >= 2


def test_data_center_mode_offset_search_pat_and_no_v3(server: JiraServer) -> None:
    server.control.settings(deployment="datacenter")
    creds = server.credentials
    session = http_session(server)
    session.headers["Authorization"] = f"Bearer {creds.personal_access_token}"
    page = session.post(
        rest(server, "search", 2),
        json={"jql": "project = ENG ORDER BY key ASC", "startAt": 5, "maxResults": 7, "expand": ["changelog"]},
    ).json()
    assert page["startAt"] == 5 and page["maxResults"] == 7 and len(page["issues"]) == 7
    assert page["total"] == sum(1 for r in server.control.truth("issues") if r["project"] == "ENG")
    assert "changelog" in page["issues"][0] and "name" in page["issues"][0]["fields"]["reporter"]
    assert session.post(rest(server, "search/jql", 2), json={"jql": "project = ENG"}).status_code == 404
    assert session.get(rest(server, "myself", 3)).status_code == 404
    issue_id = page["issues"][0]["id"]
    assert session.get(rest(server, f"issue/{issue_id}/changelog", 2)).status_code == 404  # Cloud only
    basic = http_session(server)
    basic.auth = (creds.username, creds.password)
    assert basic.get(rest(server, "serverInfo", 2)).json()["deploymentType"] == "Server"
    assert basic.get(rest(server, "myself", 2)).json()["name"] == creds.username


def test_atlassian_clients_unchanged(server: JiraServer) -> None:
    from atlassian import Jira
    from atlassian.jira import JiraCloud

    connection = airflow_connection(server.control.credentials(), server.ca_path)
    assert connection["conn_type"] == "jira" and connection["extra"]["verify"] == str(server.ca_path.resolve())
    # What the provider's JiraHook builds from the connection (host, login, password, verify).
    client = Jira(
        url=connection["host"],
        username=connection["login"],
        password=connection["password"],
        verify_ssl=connection["extra"]["verify"],
    )
    assert client.get_server_info()["deploymentType"] == "Cloud"
    assert client.myself()["emailAddress"] == server.credentials.email
    key = server.control.truth("issues")[0]["key"]
    assert client.issue(key)["key"] == key
    assert any(f["id"] == "customfield_10010" for f in client.get_all_fields())
    cloud = JiraCloud(
        url=connection["host"],
        username=connection["login"],
        password=connection["password"],
        verify_ssl=connection["extra"]["verify"],
    )
    found = cloud.enhanced_jql("project = OPS ORDER BY updated ASC", fields=["summary"], limit=25)
    assert len(found["issues"]) == 25 and found["nextPageToken"]
    following = cloud.enhanced_jql(
        "project = OPS ORDER BY updated ASC", fields=["summary"], limit=25, nextPageToken=found["nextPageToken"]
    )
    assert not {i["id"] for i in found["issues"]} & {i["id"] for i in following["issues"]}
    assert search(http_session_with(server), server, jql="project = OPS", maxResults=1)["issues"]


def http_session_with(server: JiraServer) -> requests.Session:
    session = http_session(server)
    session.auth = server.basic_auth
    return session


def test_the_providers_jira_hook_on_the_sandbox_connection(server: JiraServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The official provider's JiraHook, built from the connection we write, as on a real Cloud site: reads work,
    and its legacy ``jql()`` (``/rest/api/2/search``) meets the 410 of CHANGE-2046."""
    from airflow.providers.atlassian.jira.hooks.jira import JiraHook
    from requests import HTTPError

    connection = airflow_connection(server.control.credentials(), server.ca_path)
    monkeypatch.setenv("AIRFLOW_CONN_JIRA_DEFAULT", json.dumps(connection))
    client = JiraHook().get_conn()
    assert client.myself()["accountId"] == server.control.credentials()["account_id"]
    assert client.get_server_info()["deploymentType"] == "Cloud"
    with pytest.raises(HTTPError) as removed:
        client.jql("project = ENG")
    assert removed.value.response.status_code == 410


def test_data_center_through_atlassian_client_and_token_bucket_headers(server: JiraServer) -> None:
    from atlassian import Jira

    server.control.settings(deployment="datacenter")
    connection = airflow_connection(server.control.credentials(), server.ca_path)
    assert connection["login"] == server.credentials.username
    client = Jira(
        url=connection["host"],
        username=connection["login"],
        password=connection["password"],
        verify_ssl=connection["extra"]["verify"],
    )
    found = client.jql("project = WEB ORDER BY key ASC", fields=["summary"], start=0, limit=10)
    assert found["total"] == sum(1 for r in server.control.truth("issues") if r["project"] == "WEB")
    assert len(found["issues"]) == 10 and isinstance(found["issues"][0]["fields"]["summary"], str)
    _window_start(server)
    server.control.set_rate_limit(1, window=30)
    session = http_session(server)
    session.auth = (connection["login"], connection["password"])
    first, second = session.get(rest(server, "myself", 2)), session.get(rest(server, "myself", 2))
    assert first.status_code == 200 and first.headers["X-RateLimit-Interval-Seconds"] == "30"
    assert second.status_code == 429 and "X-RateLimit-FillRate" in second.headers and second.headers["Retry-After"]
    assert "RateLimit-Reason" not in second.headers  # a Cloud header
    bearer = airflow_connection(server.control.credentials(), server.ca_path, auth="bearer")
    assert bearer["password"] == server.credentials.personal_access_token and bearer["login"] is None
