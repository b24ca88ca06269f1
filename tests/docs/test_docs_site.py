"""The documentation site builds without a warning, and the front page's links lead somewhere.

`mkdocs build --strict` (mkdocs.yml) fails on a broken internal link or anchor, a page missing from the nav
and a nav entry without its page; this runs the same build `make docs` does, into a temporary folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lumina_integration.hooks.registry import ADAPTERS, adapter_info, options_model

ROOT = Path(__file__).resolve().parents[2]
# Markdown links and images: [text](target), not inside code spans.
LINK = re.compile(r"(?<!`)\[[^\]\n]*\]\(([^)\s]+)\)")


def markdown_links(text: str) -> list[str]:
    """Link targets outside fenced code blocks and code spans."""
    outside_fences = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return LINK.findall(re.sub(r"`[^`\n]*`", "", outside_fences))


def test_site_builds_strict_without_warnings(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,  # the snippets (bench/README.md, tests/faults/README.md) are found from the repository root
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    warnings = [line for line in output.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert done.returncode == 0 and not warnings, output
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "runbook.html").is_file()


def test_readme_links_resolve() -> None:
    readme = ROOT / "README.md"
    targets = [t for t in markdown_links(readme.read_text()) if not re.match(r"^[a-z]+:", t)]
    assert targets, "the README links into docs/"
    missing = [t for t in targets if not (ROOT / t.split("#", 1)[0]).exists()]
    assert missing == [], f"README.md links to files that do not exist: {missing}"


def test_link_finder_skips_code() -> None:
    text = "see [a](docs/a.md) and `[b](b.md)`\n```\n[c](c.md)\n```\n[d](https://x.example)"
    assert markdown_links(text) == ["docs/a.md", "https://x.example"]


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_every_source_has_its_page_naming_every_option(adapter: str) -> None:
    page = ROOT / adapter_info(adapter).page
    assert page.is_file(), f"source type {adapter!r} has no page {page.relative_to(ROOT)}"
    assert f"sources/{page.name}" in (ROOT / "mkdocs.yml").read_text(), f"{page.name} is not in the nav"
    text = page.read_text()
    unnamed = [name for name in options_model(adapter).model_fields if f"`{name}`" not in text]
    assert unnamed == [], f"{page.relative_to(ROOT)} does not describe the options {unnamed}"


def test_readme_make_targets_exist() -> None:
    """Every `make <target>` the front page names is a target of the Makefile."""
    named = set(re.findall(r"`make ([a-z][a-z-]*)", (ROOT / "README.md").read_text()))
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), flags=re.M))
    assert {"demo", "test", "docs", "bench", "soak", "faults"} <= named
    assert named - targets == set(), f"README.md names make targets the Makefile lacks: {sorted(named - targets)}"


def test_ci_runs_the_readme_test_command() -> None:
    commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "make test" in commands
    assert re.search(r"^make test\b", (ROOT / "README.md").read_text(), flags=re.M)
