"""The org's limits and their usage: daily API requests, Bulk 2.0 query jobs and storage, ingest batches."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from lumina_sandbox.salesforce.errors import ApiError

LIMIT_EXCEEDED = ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


@dataclass
class Limits:
    """Counters Salesforce keeps per rolling 24 hours (here: until changed through the control API)."""

    api_max: int = 100_000
    api_used: int = 0
    bulk_query_jobs_max: int = 10_000
    bulk_query_jobs_used: int = 0
    bulk_storage_mb_max: int = 976_562
    bulk_storage_bytes: int = 0
    bulk_batches_max: int = 15_000
    bulk_batches_used: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def charge_api(self) -> None:
        """Count one API request, or raise 403 REQUEST_LIMIT_EXCEEDED once the daily limit is used up."""
        with self._lock:
            if self.api_used >= self.api_max:
                raise LIMIT_EXCEEDED
            self.api_used += 1

    def header(self) -> str:
        """The ``Sforce-Limit-Info`` value."""
        with self._lock:
            return f"api-usage={self.api_used}/{self.api_max}"

    def set_api(self, maximum: int, used: int | None = None) -> None:
        with self._lock:
            self.api_max = maximum
            if used is not None:
                self.api_used = used

    def charge_bulk_query_job(self) -> None:
        with self._lock:
            if self.bulk_query_jobs_used >= self.bulk_query_jobs_max:
                raise ApiError(400, "LIMIT_EXCEEDED", "Max number of query jobs per 24 hours exceeded")
            self.bulk_query_jobs_used += 1

    def add_storage(self, size: int) -> None:
        with self._lock:
            self.bulk_storage_bytes += size

    def charge_batches(self, count: int) -> None:
        with self._lock:
            self.bulk_batches_used += count

    def reset(self) -> None:
        with self._lock:
            self.api_used = self.bulk_query_jobs_used = self.bulk_storage_bytes = self.bulk_batches_used = 0

    def as_json(self) -> dict[str, Any]:
        """``GET limits/``."""
        with self._lock:
            storage_mb = self.bulk_storage_bytes // (1024 * 1024)

            def entry(maximum: int, used: int) -> dict[str, int]:
                return {"Max": maximum, "Remaining": max(maximum - used, 0)}

            return {
                "ActiveScratchOrgs": entry(3, 0),
                "AnalyticsExternalDataSizeMB": entry(40_960, 0),
                "ConcurrentAsyncGetReportInstances": entry(200, 0),
                "ConcurrentSyncReportRuns": entry(20, 0),
                "DailyAnalyticsDataflowJobExecutions": entry(60, 0),
                "DailyApiRequests": entry(self.api_max, self.api_used),
                "DailyAsyncApexExecutions": entry(250_000, 0),
                "DailyBulkApiBatches": entry(self.bulk_batches_max, self.bulk_batches_used),
                "DailyBulkV2QueryFileStorageMB": entry(self.bulk_storage_mb_max, storage_mb),
                "DailyBulkV2QueryJobs": entry(self.bulk_query_jobs_max, self.bulk_query_jobs_used),
                "DailyGenericStreamingApiEvents": entry(10_000, 0),
                "DailyStreamingApiEvents": entry(10_000, 0),
                "DataStorageMB": entry(5, 0),
                "FileStorageMB": entry(20, 0),
                "HourlyODataCallout": entry(20_000, 0),
                "HourlyTimeBasedWorkflow": entry(50, 0),
                "MassEmail": entry(10, 0),
                "SingleEmail": entry(15, 0),
                "StreamingApiConcurrentClients": entry(20, 0),
            }
