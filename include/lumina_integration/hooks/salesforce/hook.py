"""The Salesforce adapter hook: discovery, incremental windows over REST or Bulk 2.0, deletes.

Built on simple-salesforce for REST and plain requests (same session) for Bulk API 2.0. Keeps
the official provider's ``salesforce`` connection type. Every call goes through :meth:`_call`,
which applies the quota governor, re-authenticates once on an expired session, refuses to retry
a daily-limit error, and retries a connection dropped mid-response.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from airflow.sdk import BaseHook

from lumina_integration.hooks.base import SourceObject, SourceVersion
from lumina_integration.hooks.salesforce.options import SalesforceOptions

if TYPE_CHECKING:
    import pyarrow as pa
    import requests

    from lumina_integration.hooks.salesforce.resilience import QuotaGovernor
    from lumina_integration.hooks.salesforce.settings import SalesforceSettings
    from lumina_integration.window import Window

T = TypeVar("T")
CURSOR_PREFERENCE = ("SystemModstamp", "LastModifiedDate", "CreatedDate")
# Request line + headers must stay under 16,384 bytes; wide objects go through Bulk 2.0 instead.
MAX_REST_URL = 15_000


class SalesforceAdapterHook(BaseHook):
    """Reads sObjects incrementally by ``(SystemModstamp, Id)``.

    Args:
        salesforce_conn_id: an Airflow ``salesforce`` connection (user in login/password; extras:
            ``auth_mode``, ``client_id``, ``client_secret``, ``security_token``, ``private_key``,
            ``refresh_token``, ``version``, ``ca_bundle``; host = the login URL).
    """

    conn_name_attr = "salesforce_conn_id"
    default_conn_name = "salesforce_default"
    conn_type = "salesforce"
    hook_name = "Salesforce (Lumina adapter)"

    def __init__(self, salesforce_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.salesforce_conn_id = salesforce_conn_id
        self._client: Any = None
        self._instance_url = ""
        self._token = ""
        self.transport_used: str | None = None

    # -- connection ----------------------------------------------------------------------------
    @cached_property
    def settings(self) -> SalesforceSettings:
        from lumina_integration.hooks.salesforce.settings import settings_from_connection

        settings = settings_from_connection(self.get_connection(self.salesforce_conn_id))
        from airflow.sdk.log import mask_secret

        for secret in settings.secrets():
            mask_secret(secret)
        return settings

    @cached_property
    def http(self) -> requests.Session:
        from lumina_integration.hooks.salesforce.resilience import http_session

        return http_session(self.settings.ca_bundle)

    @cached_property
    def governor(self) -> QuotaGovernor:
        from lumina_integration.hooks.salesforce.resilience import QuotaGovernor

        return QuotaGovernor()

    def _login(self) -> None:
        from airflow.sdk.log import mask_secret
        from simple_salesforce import Salesforce

        from lumina_integration.hooks.salesforce.auth import fetch_token

        token = fetch_token(self.settings, self.http)
        # A session id is a bearer token, and Airflow's masker does not know the name.
        mask_secret(token.access_token)
        self._token, self._instance_url = token.access_token, token.instance_url.rstrip("/")
        self._client = Salesforce(
            instance_url=self._instance_url, session_id=self._token, session=self.http, version=self.settings.version
        )

    def get_conn(self) -> Any:
        if self._client is None:
            self._login()
        return self._client

    def _call(self, call: Callable[[], T]) -> T:
        """Run one API call with the governor, one re-login on expiry, and the limit rule."""
        from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceRefusedRequest

        from lumina_integration.hooks.salesforce.resilience import QuotaExhausted, retrying

        self.get_conn()
        self.governor.check()
        try:
            try:
                return retrying(call)
            except SalesforceExpiredSession:
                self.log.info("Salesforce session expired; authenticating again once")
                self._login()
                return retrying(call)
        except SalesforceRefusedRequest as exc:
            if "REQUEST_LIMIT_EXCEEDED" in str(exc.content):
                raise QuotaExhausted(
                    "Salesforce answered REQUEST_LIMIT_EXCEEDED: the org's daily API limit is used up. "
                    "Not retrying; runs resume when the limit resets."
                ) from exc
            raise
        finally:
            self.governor.calls += 1
            usage = self._client.api_usage.get("api-usage") if self._client is not None else None
            if usage is not None:
                self.governor.used, self.governor.limit = usage.used, usage.total

    def _api(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        """A raw REST/Bulk request on the same session (for endpoints simple-salesforce lacks)."""
        from simple_salesforce.util import exception_handler

        def send() -> requests.Response:
            # Built per attempt: after a re-login the token is a new one.
            request_headers = {"Authorization": f"Bearer {self._token}", **(headers or {})}
            url = f"{self._instance_url}/services/data/v{self.settings.version}/{path}"
            response = self.http.request(method, url, headers=request_headers, timeout=300, **kwargs)
            self.governor.observe(response.headers.get("Sforce-Limit-Info"))
            if response.status_code >= 300:
                exception_handler(response, path)
            return response

        return self._call(send)

    # -- protocol --------------------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        try:
            limits = self._api("GET", "limits/").json()
        except Exception as exc:  # any failure is reported to the UI, not raised
            return False, f"{type(exc).__name__}: {exc}"
        daily = limits.get("DailyApiRequests", {})
        return True, f"connected; {daily.get('Remaining')} of {daily.get('Max')} daily API requests left"

    def server_now(self) -> datetime:
        response = self._api("GET", "limits/")
        header = response.headers.get("Date")
        if not header:
            raise RuntimeError("Salesforce sent no Date header; cannot bound the window by its clock")
        return parsedate_to_datetime(header).astimezone(UTC)

    def discover(self) -> list[SourceObject]:
        described = self._call(lambda: self.get_conn().describe())
        return [
            SourceObject(name=o["name"], description=o.get("label", ""))
            for o in described["sobjects"]
            if o.get("queryable")
        ]

    def describe(self, sobject: str) -> dict[str, Any]:
        from lumina_integration.hooks.salesforce.soql import checked

        name = checked(sobject, [o.name for o in self.discover()], "sObject")
        result: dict[str, Any] = self._call(lambda: getattr(self.get_conn(), name).describe())
        return result

    def versions_read(self) -> list[SourceVersion]:
        return []  # record-level source: the watermark and the merge carry the state

    def read(
        self,
        obj: str,
        window: Window,
        options: Mapping[str, Any],
        *,
        already_loaded: frozenset[tuple[str, str]] = frozenset(),
    ) -> Iterator[pa.RecordBatch]:
        """Every record of ``obj`` whose cursor is in ``window``, deleted ones included."""
        from lumina_integration.hooks.salesforce import soql
        from lumina_integration.hooks.salesforce.typing import extract_schema

        opts = SalesforceOptions.model_validate(dict(options))
        self.governor.reserve_share, self.governor.max_calls = opts.reserve_share, opts.max_api_calls
        described = self.describe(obj)
        names = [f["name"] for f in described["fields"]]
        cursor = next((c for c in CURSOR_PREFERENCE if c in names), None)
        if cursor is None:
            raise ValueError(f"{obj} has none of {CURSOR_PREFERENCE}; it cannot be read incrementally")
        schema = extract_schema(described["fields"], opts.fields)
        allowed = {"objects": [described["name"]], "fields": names}
        query = soql.select_window(
            described["name"],
            schema.names,
            cursor,
            window.start,
            window.end,
            allowed_objects=allowed["objects"],
            allowed_fields=allowed["fields"],
        )
        transport = opts.transport
        if transport == "auto":
            too_wide = len(f"{self._instance_url}/services/data/vXX.X/queryAll/?q={quote(query)}") > MAX_REST_URL
            count = 0 if too_wide else self.count(described["name"], cursor, window, names, opts.include_deleted)
            transport = "bulk" if too_wide or count > opts.bulk_threshold else "rest"
        self.transport_used = transport
        self.log.info("Reading %s [%s, %s) by %s over %s", obj, window.start, window.end, cursor, transport)
        if transport == "rest":
            yield from self._read_rest(query, schema, opts)
        else:
            yield from self._read_bulk(query, schema, opts)

    def count(self, sobject: str, cursor: str, window: Window, names: list[str], include_deleted: bool) -> int:
        from lumina_integration.hooks.salesforce import soql

        query = soql.count_window(
            sobject, cursor, window.start, window.end, allowed_objects=[sobject], allowed_fields=names
        )
        result = self._call(lambda: self.get_conn().query(query, include_deleted=include_deleted))
        return int(result["totalSize"])

    # -- transports ------------------------------------------------------------------------------
    def _read_rest(self, query: str, schema: pa.Schema, opts: SalesforceOptions) -> Iterator[pa.RecordBatch]:
        from lumina_integration.hooks.salesforce.typing import batch_from_rest

        client = self.get_conn()
        client.headers["Sforce-Query-Options"] = f"batchSize={opts.page_size}"
        page = self._call(lambda: self.get_conn().query(query, include_deleted=opts.include_deleted))
        while True:
            if page["records"]:
                yield batch_from_rest(page["records"], schema)
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._call(
                lambda url=next_url: self.get_conn().query_more(  # type: ignore[misc]
                    url, identifier_is_url=True, include_deleted=opts.include_deleted
                )
            )

    def _read_bulk(self, query: str, schema: pa.Schema, opts: SalesforceOptions) -> Iterator[pa.RecordBatch]:
        from lumina_integration.hooks.salesforce.typing import batches_from_csv

        operation = "queryAll" if opts.include_deleted else "query"
        job = self._api("POST", "jobs/query", json={"operation": operation, "query": query}).json()
        job_id = job["id"]
        self.log.info("Bulk 2.0 %s job %s created", operation, job_id)
        delay = opts.bulk_poll_seconds
        while job["state"] not in ("JobComplete", "Failed", "Aborted"):
            time.sleep(delay)
            delay = min(delay * 1.5, 30)
            job = self._api("GET", f"jobs/query/{job_id}").json()
        if job["state"] != "JobComplete":
            raise RuntimeError(f"Bulk 2.0 job {job_id} ended {job['state']}: {job.get('errorMessage')}")
        locator: str | None = ""
        while locator is not None:
            params: dict[str, Any] = {"maxRecords": opts.bulk_page_records}
            if locator:
                params["locator"] = locator
            response = self._api("GET", f"jobs/query/{job_id}/results", params=params)
            yield from batches_from_csv(response.content, schema)
            next_locator = response.headers.get("Sforce-Locator")
            locator = None if next_locator in (None, "", "null") else next_locator
