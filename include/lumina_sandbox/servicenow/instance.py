"""``Instance``: one sandbox ServiceNow instance — its catalog, rows, clock, credentials, rate limit, faults and
page hooks. The HTTP layer (``app``) and the control API drive it; tests may also use it in-process.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from lumina_sandbox.common.clock import SandboxClock, parse_iso
from lumina_sandbox.common.hooks import PageHook, PageHooks
from lumina_sandbox.common.state import SandboxState
from lumina_sandbox.servicenow import generator
from lumina_sandbox.servicenow.auth import Authenticator
from lumina_sandbox.servicenow.faults import Faults
from lumina_sandbox.servicenow.glide import glide_datetime
from lumina_sandbox.servicenow.ids import SysIds
from lumina_sandbox.servicenow.metadata import materialize, record_field
from lumina_sandbox.servicenow.ratelimit import RateLimit
from lumina_sandbox.servicenow.records import Writer
from lumina_sandbox.servicenow.schema import Field
from lumina_sandbox.servicenow.store import CLASS, Store, physical, quote
from lumina_sandbox.servicenow.tables import build_catalog

CATALOG_AGE = timedelta(days=400)  # the out-of-box tables were installed this long before the data began
SETTINGS = ("access_token_ttl", "refresh_token_ttl", "rotate_refresh_tokens", "invalid_query", "max_limit")
DEFAULT_LIMIT = 10_000  # sysparm_limit when not given
FIELD_KEYS = {"element", "internal_type", "max_length", "label", "reference", "choice", "mandatory", "default_value"}


class Instance(SandboxState):
    """The instance's state; every method is thread-safe."""

    def __init__(self, *, seed: int = 7, counts: dict[str, int] | None = None) -> None:
        self.seed = seed
        self.counts = dict(counts or {})
        super().__init__(SandboxClock(resolution_us=1_000_000))
        self.base_url = ""
        self._lock = threading.Lock()
        self.faults = Faults()
        self.hooks = PageHooks()
        self._build()

    def _build(self) -> None:
        self.catalog = build_catalog()
        self.ids = SysIds(self.seed)
        self.store = Store()
        self.writer = Writer(self.catalog, self.store, self.ids, self.clock)
        self.auth = Authenticator(self.clock, self.seed)
        self.rate_limit = RateLimit(self.clock, self.ids.next())
        self.invalid_query = "ignore"
        self.max_limit = 100_000
        now = self.clock.now()
        materialize(self.writer, self.store, glide_datetime(now - CATALOG_AGE))
        self.writer.create(
            "sys_user",
            [
                {
                    "user_name": self.auth.credentials.username,
                    "first_name": "Lumina",
                    "last_name": "Integration",
                    "name": "Lumina Integration",
                    "email": "lumina.integration@example.com",
                }
            ],
            stamp=now - CATALOG_AGE,
            user="admin",
        )
        self.generated = generator.generate_all(self.writer, self.counts, self.seed, now)

    @classmethod
    def generate(cls, seed: int = 7, counts: dict[str, int] | None = None) -> Instance:
        return cls(seed=seed, counts=counts)

    def set_base_url(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    # -- data ------------------------------------------------------------------------------------------------

    def table(self, name: str) -> str:
        self.catalog.table(name)  # KeyError for an unknown table
        return name

    def create(self, table: str, records: list[dict[str, Any]], *, stamp: datetime | None = None) -> list[str]:
        return self.writer.create(self.table(table), records, stamp=stamp)

    def update(
        self, table: str, changes: list[dict[str, Any]], *, stamp: datetime | None = None, touch: bool = True
    ) -> int:
        return self.writer.update(self.table(table), changes, stamp=stamp, touch=touch)

    def delete(
        self, table: str, sys_ids: list[str], *, stamp: datetime | None = None, audit: bool | None = None
    ) -> int:
        return self.writer.delete(self.table(table), sys_ids, stamp=stamp, audit=audit)

    def generate_records(self, table: str, count: int) -> int:
        import random

        rng = random.Random(f"more:{self.seed}:{table}:{self.ids.next()}")
        made = generator.generate(self.writer, self.table(table), count, rng, self.clock.now())
        with self._lock:
            self.generated[table] = self.generated.get(table, 0) + made
        return made

    def add_field(self, table: str, spec: dict[str, Any], value: Any = None) -> dict[str, Any]:
        """Add a dictionary field (``spec``: element, internal_type, max_length, label, reference, choices
        ``[[value, label], ...]``); existing records get ``value`` without being touched. Returns its dictionary row."""
        from lumina_sandbox.servicenow.glide import stored_text
        from lumina_sandbox.servicenow.metadata import dictionary_row

        name = self.table(table)
        unknown = set(spec) - FIELD_KEYS - {"choices"}
        if unknown:
            raise ValueError(f"unknown field settings {sorted(unknown)}")
        choices = [tuple(c) for c in spec.get("choices", [])]
        field = Field(
            element=str(spec["element"]),
            internal_type=str(spec.get("internal_type", "string")),
            max_length=int(spec.get("max_length", 40)),
            label=str(spec.get("label") or spec["element"]),
            reference=spec.get("reference"),
            choice=int(spec.get("choice", 1 if choices else 0)),
            mandatory=bool(spec.get("mandatory", False)),
            default_value=str(spec.get("default_value") or ""),
        )
        now = glide_datetime(self.clock.now())
        field.sys_id, field.created = self.ids.next(), now
        with self.store.lock:
            self.catalog.add_field(name, field)
            self.store.add_column(self.catalog.root(name), field, stored_text(value))
            made = self.catalog.add_choices(name, field.element, [(str(v), str(lbl)) for v, lbl in choices])
            record_field(self.writer, name, field, made, now)
        return dictionary_row(name, field)

    def truth(self, table: str, fields: list[str] | None = None) -> list[dict[str, str | None]]:
        """Every record of ``table`` (its extensions' too) with stored values, ordered by sys_id."""
        known = self.catalog.fields(self.table(table))
        names = fields or list(known)
        missing = [n for n in names if n not in known]
        if missing:
            raise ValueError(f"{table} has no field(s) {', '.join(missing)}")
        where, params = self.writer.classes_sql(table)
        rows = self.store.query(
            f"SELECT {', '.join(quote(n) for n in names)} FROM {physical(self.catalog.root(table))} "
            f'WHERE {where} ORDER BY "sys_id"',
            params,
        )
        return [dict(zip(names, row, strict=True)) for row in rows]

    def ids_of(self, table: str) -> set[str]:
        where, params = self.writer.classes_sql(self.table(table))
        rows = self.store.query(f'SELECT "sys_id" FROM {physical(self.catalog.root(table))} WHERE {where}', params)
        return {r[0] for r in rows}

    def deleted_ids(self, table: str) -> set[str]:
        """Every sys_id of ``table``'s records (extensions included) deleted since the instance was generated."""
        with self.store.lock:
            return set().union(*(self.writer.graveyard.get(c, set()) for c in self.catalog.classes(self.table(table))))

    def count(self, table: str) -> int:
        where, params = self.writer.classes_sql(self.table(table))
        return int(
            self.store.scalar(f"SELECT COUNT(*) FROM {physical(self.catalog.root(table))} WHERE {where}", params)
        )

    def record_class(self, table: str, sys_id: str) -> str | None:
        where, params = self.writer.classes_sql(table)
        found = self.store.scalar(
            f'SELECT {CLASS} FROM {physical(self.catalog.root(table))} WHERE {where} AND "sys_id" = ?',
            [*params, sys_id],
        )
        return str(found) if found is not None else None

    # -- page hooks ------------------------------------------------------------------------------------------

    def add_page_hook(self, spec: dict[str, Any]) -> PageHook:
        allowed = {"table", "page", "update", "delete", "create", "stamp"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown hook settings {sorted(unknown)}")
        hook = PageHook(**spec)
        self.table(hook.table)
        return self.hooks.add(hook)

    def run_page_hooks(self, table: str) -> None:
        """Fire the hooks due at this list request on ``table`` (before its page is read)."""
        for hook in self.hooks.due(table):
            stamp = parse_iso(hook.stamp) if hook.stamp else None
            if hook.update:
                self.writer.update(table, hook.update, stamp=stamp)
            if hook.delete:
                self.writer.delete(table, hook.delete, stamp=stamp)
            if hook.create:
                self.writer.create(table, hook.create, stamp=stamp)

    # -- settings ----------------------------------------------------------------------------------

    def settings(self, **options: Any) -> dict[str, Any]:
        """``access_token_ttl``, ``refresh_token_ttl`` (seconds), ``rotate_refresh_tokens``, ``invalid_query``
        (``ignore``: conditions on unknown fields are dropped, as by default; ``no_rows``), ``max_limit``."""
        unknown = set(options) - set(SETTINGS)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}; known: {', '.join(SETTINGS)}")
        if "access_token_ttl" in options:
            self.auth.access_ttl = int(options["access_token_ttl"])
        if "refresh_token_ttl" in options:
            self.auth.refresh_ttl = int(options["refresh_token_ttl"])
        if "rotate_refresh_tokens" in options:
            self.auth.rotate_refresh_tokens = bool(options["rotate_refresh_tokens"])
        if "invalid_query" in options:
            if options["invalid_query"] not in ("ignore", "no_rows"):
                raise ValueError("invalid_query is 'ignore' or 'no_rows'")
            self.invalid_query = str(options["invalid_query"])
        if "max_limit" in options:
            self.max_limit = max(int(options["max_limit"]), 1)
        return {
            "access_token_ttl": self.auth.access_ttl,
            "refresh_token_ttl": self.auth.refresh_ttl,
            "rotate_refresh_tokens": self.auth.rotate_refresh_tokens,
            "invalid_query": self.invalid_query,
            "max_limit": self.max_limit,
            "rate_limit_per_hour": self.rate_limit.per_hour,
        }

    def expire_sessions(self) -> int:
        return self.auth.expire_all()

    def status(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "now": self.clock.now().isoformat(),
            "seed": self.seed,
            "generated": dict(self.generated),
            "tables": sorted(self.catalog.tables),
        }

    def reset(self) -> None:
        """Back to the generated state: same seed and counts, real time, no faults, hooks or rate limit."""
        base_url = self.base_url
        old = self.store
        self.clock.reset()
        self.faults.clear()
        self.hooks.clear()
        self.reset_request_counts()
        self._build()
        self.base_url = base_url
        old.close()

    def close(self) -> None:
        self.store.close()
