"""``Instance``: one sandbox Jira site — its data, field catalogue, clock, credentials, rate limit, faults, page
hooks and page tokens, in Cloud or Data Center mode. The HTTP layer (``app``) and the control API drive it;
tests may also use it in-process. Reads live in ``reads``; writes in ``records``.
"""

from __future__ import annotations

import random
import threading
import uuid
from typing import Any

import orjson

from lumina_sandbox.common.clock import SandboxClock, parse_iso
from lumina_sandbox.common.hooks import PageHook, PageHooks
from lumina_sandbox.common.state import SandboxState
from lumina_sandbox.jira import generator
from lumina_sandbox.jira.auth import Authenticator
from lumina_sandbox.jira.catalog import Catalog
from lumina_sandbox.jira.faults import Faults
from lumina_sandbox.jira.ratelimit import RateLimit
from lumina_sandbox.jira.records import Writer
from lumina_sandbox.jira.reference import make_users
from lumina_sandbox.jira.store import Store
from lumina_sandbox.jira.times import to_ms
from lumina_sandbox.jira.tokens import PageTokens

DEPLOYMENTS = ("cloud", "datacenter")
SETTINGS = ("deployment", "time_zone", "page_token_ttl", "inline_changelog_limit", "access_token_ttl", "max_results")
OBJECTS = ("issues", "comments", "worklogs", "changelog")


class Instance(SandboxState):
    """The site's state; every method is thread-safe."""

    def __init__(self, *, seed: int = 7, counts: dict[str, int] | None = None, deployment: str = "cloud") -> None:
        if deployment not in DEPLOYMENTS:
            raise ValueError(f"deployment is one of {', '.join(DEPLOYMENTS)}")
        self.seed = seed
        self.counts = {"issues": 500, **(counts or {})}
        self.initial_deployment = deployment
        super().__init__(SandboxClock(resolution_us=1000))
        self.base_url = ""
        self._lock = threading.Lock()
        self.faults = Faults()
        self.hooks = PageHooks()
        self._build()

    def _build(self) -> None:
        self.deployment = self.initial_deployment
        self.time_zone = "UTC"
        self.inline_changelog_limit = 100  # Cloud: expand=changelog shows one page; Data Center shows all
        self.max_results = 100  # issues per search page with fields (id/key only: up to 5000 on Cloud)
        self.users = make_users(self.seed)
        self.cloud_id = str(uuid.UUID(int=random.Random(f"cloud-id:{self.seed}").getrandbits(128), version=4))
        self.catalog = Catalog()
        self.store = Store()
        self.writer = Writer(self.store, self.catalog, self.clock, self.users)
        self.auth = Authenticator(self.clock, self.seed, self.users[0])
        self.rate_limit = RateLimit(self.clock)
        self.tokens = PageTokens()
        self.generated: dict[str, int] = {}
        self.generated["issues"] = generator.generate(
            self.writer, self.counts["issues"], random.Random(f"jira:{self.seed}"), self.now_ms()
        )

    @classmethod
    def generate(cls, seed: int = 7, counts: dict[str, int] | None = None, deployment: str = "cloud") -> Instance:
        return cls(seed=seed, counts=counts, deployment=deployment)

    @property
    def cloud(self) -> bool:
        return self.deployment == "cloud"

    def set_base_url(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def now_ms(self) -> int:
        return to_ms(self.clock.now())

    def me(self) -> str:
        return self.users[0].account_id

    def user_id(self, value: str) -> str | None:
        """The account id a JQL user value names (account id, Data Center user name, or email)."""
        wanted = value.strip().lower()
        for user in self.users:
            if wanted in (user.account_id.lower(), user.name.lower(), user.email.lower()):
                return user.account_id
        return None

    # -- data verbs (control API) ------------------------------------------------------------------------------

    def generate_issues(self, count: int) -> int:
        rng = random.Random(f"more:{self.seed}:{self.generated.get('issues', 0)}:{count}")
        made = generator.generate(self.writer, count, rng, self.now_ms())
        with self._lock:
            self.generated["issues"] = self.generated.get("issues", 0) + made
        return made

    def add_field(self, spec: dict[str, Any], value: Any = None) -> dict[str, Any]:
        """Add a custom field (``name``, ``type``: number, string, option, date, datetime, array, user;
        ``options`` for a select; optional ``id`` number); existing issues get ``value`` (default none) without
        being touched. Returns the field as ``GET /field`` lists it."""
        unknown = set(spec) - {"name", "type", "options", "id"}
        if unknown:
            raise ValueError(f"unknown field settings {sorted(unknown)}")
        definition = self.catalog.add_custom(str(spec["name"]), str(spec.get("type", "string")), spec.get("id"))
        if spec.get("options"):
            definition.extra["options"] = {str(v): str(10200 + i) for i, v in enumerate(spec["options"])}
        if value is not None:
            self.store.execute(
                f"UPDATE issues SET data = json_set(data, '$.{definition.id}', json(?))",
                (orjson.dumps(value).decode(),),
            )
        return definition.describe()

    # -- truth (compare, tests) --------------------------------------------------------------------------------

    def truth(self, kind: str) -> list[dict[str, Any]]:
        """Every live record of ``kind`` (issues, comments, worklogs, changelog) with its stored values (times as
        UNIX ms, bodies as ADF), ordered by id."""
        if kind == "issues":
            rows = self.store.query("SELECT id, project, num, created, updated, data FROM issues ORDER BY id")
            return [
                {
                    "id": str(r[0]),
                    "key": f"{r[1]}-{r[2]}",
                    "project": r[1],
                    "created": r[3],
                    "updated": r[4],
                    **orjson.loads(r[5]),
                }
                for r in rows
            ]
        if kind == "comments":
            rows = self.store.query(
                "SELECT id, issue_id, created, updated, author, update_author, body, visibility "
                "FROM comments ORDER BY id"
            )
            names: tuple[str, ...] = (
                "id",
                "issue_id",
                "created",
                "updated",
                "author",
                "update_author",
                "body",
                "visibility",
            )
        elif kind == "worklogs":
            rows = self.store.query(
                "SELECT id, issue_id, started, created, updated, author, update_author, seconds, comment "
                "FROM worklogs ORDER BY id"
            )
            names = ("id", "issue_id", "started", "created", "updated", "author", "update_author", "seconds", "comment")
        elif kind == "changelog":
            rows = self.store.query("SELECT id, issue_id, created, author, items FROM histories ORDER BY id")
            names = ("id", "issue_id", "created", "author", "items")
        else:
            raise ValueError(f"kind is one of {', '.join(OBJECTS)}")
        out = []
        for row in rows:
            record = dict(zip(names, row, strict=True))
            record["id"], record["issue_id"] = str(record["id"]), str(record["issue_id"])
            for name in ("body", "comment", "items", "visibility"):
                if isinstance(record.get(name), str):
                    record[name] = orjson.loads(record[name])
            out.append(record)
        return out

    def ids_of(self, kind: str) -> set[str]:
        table = {"issues": "issues", "comments": "comments", "worklogs": "worklogs", "changelog": "histories"}[kind]
        return {str(r[0]) for r in self.store.query(f"SELECT id FROM {table}")}

    def deleted_ids(self, kind: str) -> set[str]:
        """Ids of ``kind``'s records deleted since generation (an issue's children go with it)."""
        with self.store.lock:
            return {str(i) for i in self.writer.deleted.get(kind, set())}

    def count(self, kind: str) -> int:
        return len(self.ids_of(kind))

    # -- page hooks --------------------------------------------------------------------------------------------

    def add_page_hook(self, spec: dict[str, Any]) -> PageHook:
        allowed = {"table", "page", "update", "delete", "create", "stamp"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown hook settings {sorted(unknown)}")
        hook = PageHook(**spec)
        if hook.table not in OBJECTS:
            raise ValueError(f"a hook's table is one of {', '.join(OBJECTS)}")
        return self.hooks.add(hook)

    def run_page_hooks(self, kind: str) -> None:
        """Fire the hooks due at this list request of ``kind`` (before its page is read). Updates are
        ``{"key" or "id": ..., field: value}`` issue changes; deletes are issue ids or keys; creates are field
        values of new issues."""
        for hook in self.hooks.due(kind):
            stamp = parse_iso(hook.stamp) if hook.stamp else None
            for change in hook.update:
                values = dict(change)
                target = values.pop("key", None) or values.pop("id")
                self.writer.update_issue(target, values, stamp=stamp)
            if hook.delete:
                self.writer.delete_issues(hook.delete)
            for values in hook.create:
                self.writer.create_issue(dict(values), stamp=stamp)

    # -- settings ----------------------------------------------------------------------------------------------

    def settings(self, **options: Any) -> dict[str, Any]:
        """``deployment`` (cloud | datacenter), ``time_zone`` (the user's, for datetimes and JQL dates),
        ``page_token_ttl`` (seconds), ``inline_changelog_limit``, ``access_token_ttl``, ``max_results``."""
        unknown = set(options) - set(SETTINGS)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}; known: {', '.join(SETTINGS)}")
        if "deployment" in options:
            if options["deployment"] not in DEPLOYMENTS:
                raise ValueError(f"deployment is one of {', '.join(DEPLOYMENTS)}")
            self.deployment = str(options["deployment"])
        if "time_zone" in options:
            from zoneinfo import ZoneInfo

            ZoneInfo(str(options["time_zone"]))  # refuses an unknown zone
            self.time_zone = str(options["time_zone"])
        if "page_token_ttl" in options:
            self.tokens.ttl_seconds = int(options["page_token_ttl"])
        if "inline_changelog_limit" in options:
            self.inline_changelog_limit = max(int(options["inline_changelog_limit"]), 1)
        if "access_token_ttl" in options:
            self.auth.access_ttl = int(options["access_token_ttl"])
        if "max_results" in options:
            self.max_results = max(int(options["max_results"]), 1)
        return {
            "deployment": self.deployment,
            "time_zone": self.time_zone,
            "page_token_ttl": self.tokens.ttl_seconds,
            "inline_changelog_limit": self.inline_changelog_limit,
            "access_token_ttl": self.auth.access_ttl,
            "max_results": self.max_results,
            "rate_limit": self.rate_limit.describe(),
        }

    def expire_sessions(self) -> int:
        return self.auth.expire_all()

    def status(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "now": self.clock.now().isoformat(),
            "seed": self.seed,
            "deployment": self.deployment,
            "generated": dict(self.generated),
            "counts": {kind: self.count(kind) for kind in OBJECTS},
        }

    def reset(self) -> None:
        """Back to the generated state: same seed and counts, real time, no faults, hooks or rate limit."""
        old = self.store
        self.clock.reset()
        self.faults.clear()
        self.hooks.clear()
        self.reset_request_counts()
        self._build()
        old.close()

    def close(self) -> None:
        self.store.close()
