"""Does the warehouse hold exactly what the sandbox site holds? Record for record, per Jira pipeline.

For ``make demo`` and the integration tests. Independent of the mappings' code: each pipeline names which
canonical column must equal which value of the site's stored record (``JiraControl.truth``: times as UNIX ms,
bodies as ADF, users as account ids), computed here. Changelog rows are one per history item, keyed
``<history id>.<item index>`` as the adapter keys them. A warehouse row belongs to a pipeline when its
``source_id`` is a live or deleted record of the pipeline's kind.

The column names below follow the pipelines' mappings (include/mappings/jira_*.yaml); when a mapping changes,
change it here in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, text

from lumina_sandbox.common.compare import Comparison, ExactComparison, Known, header
from lumina_sandbox.common.compare import exact as common_exact
from lumina_sandbox.common.compare import normal as common_normal
from lumina_sandbox.common.protected import Protection
from lumina_sandbox.jira import adf
from lumina_sandbox.jira.times import from_ms, parse_jira_text

Record = dict[str, Any]
Column = Callable[[Record], Any]
SOURCE_SYSTEM = "jira"
HEADER = header("jira live")


def _ms(name: str) -> Column:
    return lambda record: from_ms(record[name]) if record.get(name) is not None else None


def _value(name: str) -> Column:
    return lambda record: record.get(name)


def _text(name: str) -> Column:
    return lambda record: adf.to_text(record.get(name))


@dataclass(frozen=True)
class Pipeline:
    kind: str  # what JiraControl.truth reads: issues, comments, worklogs, changelog
    canonical: str
    columns: dict[str, Column]


PIPELINES: dict[str, Pipeline] = {
    "jira_issues": Pipeline(
        "issues",
        "work_item",
        {
            "key": _value("key"),
            "project_key": _value("project"),
            "summary": _value("summary"),
            "status": _value("status"),
            "priority": _value("priority"),
            "assignee_source_id": _value("assignee"),
            "story_points": _value("customfield_10010"),
            "created_at": _ms("created"),
            "source_updated_at": _ms("updated"),
        },
    ),
    "jira_comments": Pipeline(
        "comments",
        "work_item_comment",
        {
            "work_item_source_id": _value("issue_id"),
            "author_source_id": _value("author"),
            "body": _text("body"),
            "created_at": _ms("created"),
            "source_updated_at": _ms("updated"),
        },
    ),
    "jira_worklogs": Pipeline(
        "worklogs",
        "work_item_worklog",
        {
            "work_item_source_id": _value("issue_id"),
            "time_spent_seconds": _value("seconds"),
            "started_at": _ms("started"),
            "source_updated_at": _ms("updated"),
        },
    ),
    "jira_changelog": Pipeline(
        "changelog",
        "work_item_history",
        {
            "work_item_source_id": _value("issue_id"),
            "history_id": _value("history_id"),
            "field_id": _value("fieldId"),
            "from_text": _value("fromString"),
            "to_text": _value("toString"),
            "changed_at": _ms("created"),
        },
    ),
}


class SiteTruth(Protocol):
    """An ``Instance`` in-process or a ``JiraControl`` over HTTP."""

    def truth(self, kind: str) -> list[Record]: ...

    def deleted_ids(self, kind: str) -> set[str]: ...


def _text_datetime(value: str) -> datetime | None:
    try:
        return parse_jira_text(value) if len(value) >= 16 and value[4] == "-" and value[10] in "T " else None
    except ValueError:
        return None


def normal(value: Any) -> Any:
    """One comparable form for a warehouse value and a site value (an empty string is an empty value)."""
    return None if value == "" else common_normal(value, _text_datetime)


def records(pipeline: Pipeline, site: SiteTruth) -> dict[str, Record]:
    """The site's live records of the pipeline by the warehouse's ``source_id``."""

    def rows() -> Iterator[tuple[str, Record]]:
        for record in site.truth(pipeline.kind):
            if pipeline.kind != "changelog":
                yield str(record["id"]), record
                continue
            for index, item in enumerate(record.get("items") or []):
                yield (
                    f"{record['id']}.{index}",
                    {
                        **item,
                        "issue_id": record["issue_id"],
                        "history_id": record["id"],
                        "created": record["created"],
                        "author": record.get("author"),
                    },
                )

    return dict(rows())


def compare(engine: Engine, schema: str, site: SiteTruth, pipeline_id: str) -> Comparison:
    """Compare one pipeline's canonical rows with the site's live records of its kind."""
    pipeline = PIPELINES[pipeline_id]
    truth = records(pipeline, site)
    gone = site.deleted_ids(pipeline.kind if pipeline.kind != "changelog" else "issues")
    columns = list(pipeline.columns)
    with engine.connect() as conn:
        quote = conn.dialect.identifier_preparer.quote_identifier
        listed = ", ".join(quote(c) for c in columns)
        found = conn.execute(
            text(
                f"SELECT source_id, _is_deleted, {listed} FROM {quote(schema)}.{quote(pipeline.canonical)} "
                "WHERE source_system = :system"
            ),
            {"system": SOURCE_SYSTEM},
        ).all()
    # A changelog row is gone with its issue; others by their own id.
    index = columns.index("work_item_source_id") + 2 if "work_item_source_id" in columns else None

    def deleted(row: Any) -> bool:
        if pipeline.kind == "changelog":
            return index is not None and str(row[index]) in gone
        return str(row[0]) in gone

    mine = [r for r in found if str(r[0]) in truth or deleted(r)]
    live = {str(r[0]): r[2 : 2 + len(columns)] for r in mine if not r[1]}
    result = Comparison(
        pipeline=pipeline_id,
        source_live=len(truth),
        warehouse_live=len(live),
        duplicates=len(mine) - len({r[0] for r in mine}),
        missing=sorted(set(truth) - set(live)),
        not_deleted=sorted(k for k in live if k not in truth),
    )
    view = Protection(pipeline.canonical)
    for key in sorted(set(live) & set(truth)):
        stored = {c: normal(view.stored(c, v)) for c, v in zip(columns, live[key], strict=True)}
        expected = {c: normal(view.expected(c, source(truth[key]))) for c, source in pipeline.columns.items()}
        if stored != expected:
            result.differing.append((key, stored, expected))
    return result


# -- exact comparison by hashes (the fault tests) ----------------------------------------------------------------

# The stored time each kind's window is on (changelog entries never change: they are read by their issue's).
STAMPS = {"issues": "updated", "comments": "updated", "worklogs": "updated", "changelog": "created"}


def exact(
    engine: Engine,
    schema: str,
    site: SiteTruth,
    pipeline_id: str,
    *,
    below: datetime | None = None,
    ignore_gone: bool = False,
    skip_columns: tuple[str, ...] = (),
    skip_ids: frozenset[str] = frozenset(),
) -> ExactComparison:
    """Row count, no duplicate keys and a hash per key of the compared columns, warehouse against site
    (``common.compare.exact``). Jira has no deleted feed: every deleted record is one the source no longer
    knows, which only a reconcile finds (``ignore_gone`` until one has run)."""
    pipeline = PIPELINES[pipeline_id]
    compared = {c: f for c, f in pipeline.columns.items() if c not in skip_columns}
    stamp = _ms(STAMPS[pipeline.kind])
    known = {
        key: Known(stamp(record), False, {c: source(record) for c, source in compared.items()})
        for key, record in records(pipeline, site).items()
    }
    gone = site.deleted_ids(pipeline.kind if pipeline.kind != "changelog" else "issues")
    columns = list(compared)
    with engine.connect() as conn:
        quote = conn.dialect.identifier_preparer.quote_identifier
        # The record's issue beside it: a changelog row is gone with its issue.
        parent = quote("work_item_source_id") if pipeline.kind == "changelog" else "NULL"
        listed = ", ".join(quote(c) for c in columns)
        rows = conn.execute(
            text(
                f"SELECT source_id, _is_deleted, {parent}, {listed} FROM {quote(schema)}.{quote(pipeline.canonical)} "
                "WHERE source_system = :system"
            ),
            {"system": SOURCE_SYSTEM},
        ).all()
    mine = [
        (str(r[0]), r[1], *r[3:])
        for r in rows
        if str(r[0]) in known or str(r[2] if pipeline.kind == "changelog" else r[0]) in gone
    ]
    return common_exact(
        pipeline_id,
        known,
        mine,
        columns,
        normal,
        below=below,
        ignore_gone=ignore_gone,
        skip_ids=skip_ids,
        entity=pipeline.canonical,
    )
