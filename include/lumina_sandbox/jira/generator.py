"""Generated issues with their changelogs, comments and worklogs: deterministic per seed, fast (bulk inserts).

What the data is made to contain: many issues sharing an ``updated`` minute (about eight per busy minute, some
on the same millisecond), every issue's last history at its ``updated``, a few issues with more changelog
histories than one inline page (over 100), ADF descriptions and comments with mentions and non-ASCII text
(accents, CJK, emoji), custom field values, and unassigned or unresolved issues (nulls).
"""

from __future__ import annotations

import random
from typing import Any

import orjson

from lumina_sandbox.jira import adf, reference
from lumina_sandbox.jira.records import Writer
from lumina_sandbox.jira.times import MINUTE_MS

DAY_MS = 86_400_000
SPAN_DAYS = 180
BIG_CHANGELOG_EVERY = 500  # every 500th issue (and the 8th) has 101-260 histories
WORDS = [
    "login",
    "checkout",
    "latency",
    "Übersetzung",
    "caché",
    "支払い",
    "dashboard",
    "export",
    "søk",
    "😀 emoji",
    "timeout",
    "retry",
    "webhook",
    "schéma",
    "billing",
]
PROJECT_WEIGHTS = [0.5, 0.3, 0.2]
STATUS_NAMES = list(reference.STATUSES)
TYPE_NAMES = ["Task", "Story", "Bug", "Epic"]
PRIORITY_NAMES = list(reference.PRIORITIES)
TEAM_NAMES = list(reference.TEAM_OPTIONS)


LABEL_SETS = [
    [],
    [],
    ["backend"],
    ["frontend"],
    ["customer"],
    ["backend", "regression"],
    ["tech-debt"],
    ["frontend", "customer"],
]
COMPONENT_SETS = [[], ["api"], ["db"], ["ui", "auth"], ["api", "db"]]
POINTS = [1.0, 2.0, 3.0, 5.0, 8.0, 13.0, None, None]
CUSTOMERS = ["ACME GmbH", "Globex", "Initech", "Umbrella Ltd.", None, None]
RESTRICTED = '{"type":"role","value":"Developers","identifier":"Developers"}'
BATCH = 20_000  # issues generated between two bulk inserts
COLUMNS = [
    ("issues", ("id", "project", "num", "created", "updated", "data")),
    ("histories", ("id", "issue_id", "created", "author", "items")),
    ("comments", ("id", "issue_id", "created", "updated", "author", "update_author", "body", "visibility")),
    (
        "worklogs",
        ("id", "issue_id", "started", "created", "updated", "author", "update_author", "seconds", "comment"),
    ),
]
POOL = 64  # distinct generated bodies and changelog items: picked per record (generation speed)


def _description(rng: random.Random, mentioned: reference.User) -> str:
    words = " ".join(rng.sample(WORDS, 3))
    return orjson.dumps(
        adf.doc(
            adf.paragraph(
                f"{words}. Steps — ",
                adf.mention(mentioned.account_id, mentioned.display_name),
                " can reproduce it « ça marche pas » 日本語テキスト ✅.",
            ),
            adf.paragraph("Expected: it works."),
        )
    ).decode()


def _comment(rng: random.Random, mentioned: reference.User) -> str:
    text = rng.choice(["Looked into this", "Deployed a fix", "Grüße aus Köln", "确认已修复", "Can't reproduce 🤷"])
    return orjson.dumps(
        adf.doc(
            adf.paragraph(f"{text}, ", adf.mention(mentioned.account_id, mentioned.display_name), " — please check.")
        )
    ).decode()


def _history_items(rng: random.Random) -> str:
    old, new = rng.sample(STATUS_NAMES, 2)
    item: dict[str, str | None] = {
        "field": "status",
        "fieldtype": "jira",
        "fieldId": "status",
        "from": reference.STATUSES[old][0],
        "fromString": old,
        "to": reference.STATUSES[new][0],
        "toString": new,
    }
    if rng.random() < 0.3:
        points = rng.sample(["1", "2", "3", "5", "8"], 2)
        item = {
            "field": "Story Points",
            "fieldtype": "custom",
            "fieldId": "customfield_10010",
            "from": None,
            "fromString": points[0],
            "to": None,
            "toString": points[1],
        }
    return orjson.dumps([item]).decode()


def generate(writer: Writer, count: int, rng: random.Random, now_ms: int) -> int:
    """Insert ``count`` issues (and their children) ending before ``now_ms``; returns how many."""
    if count <= 0:
        return 0
    users = list(writer.users.values())
    people = [u.account_id for u in (users[1:] or users)]
    unit = rng.random

    def pick(values: list[Any]) -> Any:
        return values[int(unit() * len(values))]

    descriptions = [_description(rng, rng.choice(users[1:] or users)) for _ in range(POOL)]
    bodies = [_comment(rng, rng.choice(users[1:] or users)) for _ in range(POOL)]
    items = [_history_items(rng) for _ in range(POOL)]
    worklog_texts = [orjson.dumps(adf.text_doc(t)).decode() for t in ("Pairing", "Code review", "Analyse — Kundenfall")]
    issue_ids = writer.next_ids("issues", count)
    # Busy minutes: ~8 issues each, so many share their updated minute (JQL's resolution).
    slots = max(1, count // 8)
    latest = now_ms - 5 * MINUTE_MS
    earliest = latest - SPAN_DAYS * DAY_MS
    minutes = sorted(rng.randrange(earliest, latest) // MINUTE_MS * MINUTE_MS for _ in range(slots))
    issues: list[tuple[Any, ...]] = []
    histories: list[tuple[Any, ...]] = []
    comments: list[tuple[Any, ...]] = []
    worklogs: list[tuple[Any, ...]] = []
    history_ids = iter(writer.next_ids("histories", count * 6 + (count // BIG_CHANGELOG_EVERY + 1) * 260))
    comment_ids = iter(writer.next_ids("comments", count * 3))
    worklog_ids = iter(writer.next_ids("worklogs", count * 2))
    projects = [p[1] for p in reference.PROJECTS]
    project_pick = [projects[0]] * 5 + [projects[1]] * 3 + [projects[2]] * 2
    history_counts = [0, 1, 1, 2, 2, 3, 4, 6]
    comment_counts = [0, 0, 1, 1, 1, 2, 3]
    worklog_counts = [0, 0, 0, 1, 1, 2]
    previous_updated = 0
    for index, issue_id in enumerate(issue_ids):
        project = pick(project_pick)
        number = writer.next_number(project)
        # 5 % share the very millisecond of the issue before (a bulk edit), the rest a busy minute
        bulk = unit() < 0.05 and previous_updated
        updated = previous_updated if bulk else pick(minutes) + int(unit() * MINUTE_MS)
        previous_updated = updated
        created = max(updated - 1 - int(unit() * 60 * DAY_MS), earliest - 30 * DAY_MS)
        status = pick(STATUS_NAMES)
        reporter = pick(people)
        words = pick(WORDS)
        data: dict[str, Any] = {
            "summary": f"{words[0].upper()}{words[1:]} {pick(WORDS)} #{number}",
            "description": None,
            "issuetype": pick(TYPE_NAMES),
            "status": status,
            "priority": pick(PRIORITY_NAMES),
            "resolution": "Done" if status == "Done" else None,
            "resolutiondate": updated if status == "Done" else None,
            "assignee": pick(people) if unit() < 0.8 else None,
            "reporter": reporter,
            "creator": reporter,
            "labels": pick(LABEL_SETS),
            "duedate": None,
            "customfield_10010": pick(POINTS),
            "customfield_10011": pick(TEAM_NAMES) if unit() < 0.8 else None,
            "customfield_10012": None,
            "customfield_10013": pick(CUSTOMERS),
            "customfield_10014": pick(COMPONENT_SETS),
        }
        text = orjson.dumps(data).decode()
        if unit() < 0.9:  # the ADF description spliced in as JSON text (it is already encoded)
            text = text.replace('"description":null', '"description":' + pick(descriptions), 1)
        issues.append((issue_id, project, number, created, updated, text))
        # Changelog: the last history is what moved `updated`.
        big = index % BIG_CHANGELOG_EVERY == 7
        histories_here = 101 + int(unit() * 160) if big else pick(history_counts)
        span = max(updated - created, 1)
        for h in range(histories_here):
            moment = updated if h == histories_here - 1 else created + span * (h + 1) // (histories_here + 1)
            histories.append((next(history_ids), issue_id, moment, pick(people), pick(items)))
        for _ in range(pick(comment_counts)):
            moment = created + int(unit() * span)
            edited = moment + int(unit() * (updated - moment)) if unit() < 0.2 else moment
            author = pick(people)
            shown = RESTRICTED if unit() < 0.1 else None  # a tenth are restricted to a project role
            comments.append((next(comment_ids), issue_id, moment, edited, author, author, pick(bodies), shown))
        for _ in range(pick(worklog_counts)):
            moment = created + int(unit() * span)
            author = pick(people)
            seconds = (1 + int(unit() * 32)) * 900
            worklogs.append(
                (
                    next(worklog_ids),
                    issue_id,
                    moment - int(unit() * 8) * 3_600_000,
                    moment,
                    moment,
                    author,
                    author,
                    seconds,
                    pick(worklog_texts),
                )
            )
        if len(issues) >= BATCH:
            _flush(writer, issues, histories, comments, worklogs)
    _flush(writer, issues, histories, comments, worklogs)
    return count


def _flush(writer: Writer, *batches: list[tuple[Any, ...]]) -> None:
    """Insert what was generated so far and empty the lists (memory stays flat for a million issues)."""
    for (table, columns), rows in zip(COLUMNS, batches, strict=True):
        writer.store.insert(table, columns, rows)
        rows.clear()
