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


def _description(rng: random.Random, number: int, mentioned: reference.User) -> dict[str, Any]:
    words = " ".join(rng.sample(WORDS, 3))
    return adf.doc(
        adf.paragraph(
            f"Issue {number}: {words}. Steps — ",
            adf.mention(mentioned.account_id, mentioned.display_name),
            " can reproduce it « ça marche pas » 日本語テキスト ✅.",
        ),
        adf.paragraph("Expected: it works."),
    )


def _comment(rng: random.Random, mentioned: reference.User) -> bytes:
    text = rng.choice(["Looked into this", "Deployed a fix", "Grüße aus Köln", "确认已修复", "Can't reproduce 🤷"])
    return orjson.dumps(
        adf.doc(
            adf.paragraph(f"{text}, ", adf.mention(mentioned.account_id, mentioned.display_name), " — please check.")
        )
    )


def generate(writer: Writer, count: int, rng: random.Random, now_ms: int) -> int:
    """Insert ``count`` issues (and their children) ending before ``now_ms``; returns how many."""
    if count <= 0:
        return 0
    users = list(writer.users.values())
    people = users[1:] or users
    issue_ids = writer.next_ids("issues", count)
    # Busy minutes: ~8 issues each, so many share their updated minute (JQL's resolution).
    slots = max(1, count // 8)
    latest = now_ms - 5 * MINUTE_MS
    earliest = latest - SPAN_DAYS * DAY_MS
    minutes = sorted(rng.randrange(earliest, latest) // MINUTE_MS * MINUTE_MS for _ in range(slots))
    issues, histories, comments, worklogs = [], [], [], []
    history_ids = iter(writer.next_ids("histories", count * 4 + count // BIG_CHANGELOG_EVERY * 260 + 300))
    comment_ids = iter(writer.next_ids("comments", count * 3))
    worklog_ids = iter(writer.next_ids("worklogs", count * 2))
    previous_updated = 0
    for index, issue_id in enumerate(issue_ids):
        project = reference.PROJECTS[rng.choices(range(3), PROJECT_WEIGHTS)[0]][1]
        number = writer.next_number(project)
        if rng.random() < 0.05 and previous_updated:
            updated = previous_updated  # the same millisecond as another issue (a bulk edit)
        else:
            updated = rng.choice(minutes) + rng.randrange(MINUTE_MS)
        previous_updated = updated
        created = max(updated - rng.randrange(1, 60 * DAY_MS), earliest - 30 * DAY_MS)
        status = rng.choice(STATUS_NAMES)
        assignee = rng.choice(people).account_id if rng.random() < 0.8 else None
        reporter = rng.choice(people).account_id
        data: dict[str, Any] = {
            "summary": f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} #{number}",
            "description": _description(rng, number, rng.choice(people)) if rng.random() < 0.9 else None,
            "issuetype": rng.choice(TYPE_NAMES),
            "status": status,
            "priority": rng.choice(PRIORITY_NAMES),
            "resolution": "Done" if status == "Done" else None,
            "resolutiondate": updated if status == "Done" else None,
            "assignee": assignee,
            "reporter": reporter,
            "creator": reporter,
            "labels": rng.sample(["backend", "frontend", "customer", "regression", "tech-debt"], rng.randrange(3)),
            "duedate": None,
            "customfield_10010": float(rng.choice([1, 2, 3, 5, 8, 13])) if rng.random() < 0.7 else None,
            "customfield_10011": rng.choice(TEAM_NAMES) if rng.random() < 0.8 else None,
            "customfield_10012": None,
            "customfield_10013": rng.choice(["ACME GmbH", "Globex", "Initech", "Umbrella Ltd."])
            if rng.random() < 0.5
            else None,
            "customfield_10014": rng.sample(["api", "db", "ui", "auth"], rng.randrange(3)),
        }
        issues.append((issue_id, project, number, created, updated, orjson.dumps(data).decode()))
        # Changelog: the last history is what moved `updated`.
        big = index % BIG_CHANGELOG_EVERY == 7
        histories_here = rng.randrange(101, 261) if big else rng.choice([0, 1, 1, 2, 2, 3, 4, 6])
        span = max(updated - created, 1)
        for h in range(histories_here):
            moment = updated if h == histories_here - 1 else created + span * (h + 1) // (histories_here + 1)
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
            if h % 3 == 1:
                item = {
                    "field": "Story Points",
                    "fieldtype": "custom",
                    "fieldId": "customfield_10010",
                    "from": None,
                    "fromString": str(h),
                    "to": None,
                    "toString": str(h + 1),
                }
            histories.append(
                (next(history_ids), issue_id, moment, rng.choice(people).account_id, orjson.dumps([item]).decode())
            )
        for _ in range(rng.choice([0, 0, 1, 1, 1, 2, 3])):
            moment = created + rng.randrange(span)
            edited = moment + rng.randrange(max(updated - moment, 1)) if rng.random() < 0.2 else moment
            author = rng.choice(people).account_id
            comments.append(
                (
                    next(comment_ids),
                    issue_id,
                    moment,
                    edited,
                    author,
                    author,
                    _comment(rng, rng.choice(people)).decode(),
                )
            )
        for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
            moment = created + rng.randrange(span)
            author = rng.choice(people).account_id
            comment = orjson.dumps(adf.text_doc(rng.choice(["Pairing", "Code review", "Analyse — Kundenfall"])))
            worklogs.append(
                (
                    next(worklog_ids),
                    issue_id,
                    moment - rng.randrange(8) * 3_600_000,
                    moment,
                    moment,
                    author,
                    author,
                    rng.randrange(1, 33) * 900,
                    comment.decode(),
                )
            )
    writer.store.insert("issues", ("id", "project", "num", "created", "updated", "data"), issues)
    writer.store.insert("histories", ("id", "issue_id", "created", "author", "items"), histories)
    writer.store.insert(
        "comments", ("id", "issue_id", "created", "updated", "author", "update_author", "body"), comments
    )
    writer.store.insert(
        "worklogs",
        ("id", "issue_id", "started", "created", "updated", "author", "update_author", "seconds", "comment"),
        worklogs,
    )
    return count
