"""Where the YAML that data teams edit lives, relative to the installed (editable) package."""

from __future__ import annotations

from pathlib import Path

INCLUDE_DIR = Path(__file__).resolve().parents[1]
PROJECT_DIR = INCLUDE_DIR.parent
SCHEMAS_DIR = INCLUDE_DIR / "schemas"
MAPPINGS_DIR = INCLUDE_DIR / "mappings"
EXPECTATIONS_DIR = INCLUDE_DIR / "expectations"
DAGS_DIR = PROJECT_DIR / "dags"
