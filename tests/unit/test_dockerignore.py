"""``.dockerignore`` keeps local state, virtualenvs, history and caches out of images; no COPY brings them back."""

from __future__ import annotations

import re

import pytest

from lumina_integration.paths import PROJECT_DIR

KEPT_OUT = [
    ".venv/bin/python",
    ".git/config",
    ".lumina/airflow/airflow.db",
    ".lumina/servicenow/credentials.json",
    ".lumina/warehouse.duckdb",
    "airflow.db",
    "somewhere/else/warehouse.duckdb",
    "warehouse.duckdb.wal",
    "sap_erp.sqlite",
    "airflow/simple_auth_manager_passwords.json.generated",
    "include/lumina_integration/__pycache__/cli.cpython-311.pyc",
    ".pytest_cache/v/cache/nodeids",
    ".mypy_cache/3.11/x.json",
    ".ruff_cache/content",
    "bench/results/latest.json",
    ".env",
]
KEPT_IN = [
    "dags/crm/salesforce_account.dag.yaml",
    "include/lumina_integration/cli.py",
    "include/data_protection.yaml",
    "plugins/README.md",
    "requirements.txt",
    "pyproject.toml",
    "airflow_settings.yaml",
    "bench/e2e.py",
]


def _regex(pattern: str) -> re.Pattern[str]:
    """Docker's pattern syntax (moby/patternmatcher): ``**`` any folders, ``*``/``?`` within one name."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        found.append((keep, _regex(line.lstrip("!").strip("/"))))
    return found


def excluded(path: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for keep, regex in patterns:
        if any(regex.match(c) for c in candidates):
            verdict = not keep
    return verdict


PATTERNS = rules((PROJECT_DIR / ".dockerignore").read_text())


@pytest.mark.parametrize("path", KEPT_OUT)
def test_local_state_and_caches_stay_out_of_the_build_context(path: str) -> None:
    assert excluded(path, PATTERNS), f"{path} would be copied into the image"


@pytest.mark.parametrize("path", KEPT_IN)
def test_the_project_itself_is_still_in_the_build_context(path: str) -> None:
    assert not excluded(path, PATTERNS), f"{path} is needed in the image"


def copied_sources(dockerfile: str) -> list[str]:
    """The build-context sources of every COPY/ADD (``--from`` stages copy from images, not the context)."""
    sources = []
    text = re.sub(r"\\\n", " ", dockerfile)
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].upper() not in ("COPY", "ADD", "ONBUILD"):
            continue
        if words[0].upper() == "ONBUILD":
            words = words[1:]
            if not words or words[0].upper() not in ("COPY", "ADD"):
                continue
        args = [w for w in words[1:] if not w.startswith("--")]
        if any(w.startswith("--from") for w in words[1:]):
            continue
        sources += [a.strip('[]",') for a in args[:-1]]
    return sources


def test_the_dockerfile_copies_no_ignored_path_back_in() -> None:
    protected = [".venv", ".git", ".lumina", "airflow.db", "bench/results"]
    sources = copied_sources((PROJECT_DIR / "Dockerfile").read_text())
    named = [s for s in sources for p in protected if s.strip("./").startswith(p)]
    assert named == []


def test_the_dockerfile_check_sees_a_copy_of_local_state() -> None:
    assert copied_sources("FROM x\nCOPY --chown=1:1 .lumina/ requirements.txt /app/\n") == [
        ".lumina/",
        "requirements.txt",
    ]
    assert copied_sources("FROM x\nCOPY --from=build /venv /venv\n") == []
