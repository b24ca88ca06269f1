"""Local state is private: folders 0700, files 0600 (the Makefile's recipes, settings-import, the sandboxes)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from lumina_integration.paths import PROJECT_DIR
from lumina_integration.private import private_dir, private_tree


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_dir_creates_every_missing_folder_0700_but_leaves_parents_alone(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    made = private_dir(tmp_path / "state" / "airflow")
    assert mode(made) == 0o700 and mode(tmp_path / "state") == 0o700
    assert mode(tmp_path) == 0o755, "a folder above the state folder is not ours to change"


def test_private_tree_tightens_what_libraries_created_under_the_umask(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "airflow" / "logs").mkdir(parents=True, mode=0o755)
    os.chmod(state, 0o755)
    db = state / "airflow" / "airflow.db"
    db.write_text("x")
    os.chmod(db, 0o644)
    tool = state / "tool.sh"
    tool.write_text("#!/bin/sh\n")
    os.chmod(tool, 0o755)
    assert private_tree(state) == 5
    assert mode(state) == mode(state / "airflow") == mode(state / "airflow" / "logs") == 0o700
    assert mode(db) == 0o600 and mode(tool) == 0o700
    assert private_tree(state) == 0


def test_settings_import_leaves_the_state_folder_private(
    airflow_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lumina_integration.cli import main

    state = tmp_path / "state"
    (state / "airflow").mkdir(parents=True)
    os.chmod(state, 0o755)
    left = state / "airflow" / "airflow.db"  # what `airflow db migrate` wrote under umask 022
    left.write_text("")
    os.chmod(left, 0o644)
    monkeypatch.setenv("LUMINA_STATE_DIR", str(state))
    monkeypatch.delenv("LUMINA_DUCKDB_PATH", raising=False)
    assert main(["settings-import"]) == 0
    for current, _folders, files in os.walk(state):
        assert mode(Path(current)) == 0o700, current
        for name in files:
            assert mode(Path(current) / name) & 0o077 == 0, name


def test_a_fresh_state_folder_is_created_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lumina_integration.environment import private_state_dir

    monkeypatch.setenv("LUMINA_STATE_DIR", str(tmp_path / "fresh" / ".lumina"))
    assert mode(private_state_dir()) == 0o700


def test_the_makefile_writes_state_under_umask_077(tmp_path: Path) -> None:
    """Every command of the state targets that writes state runs under ``umask 077`` (``make -n``, a dry run)."""
    state = tmp_path / "dry-state"
    commands: list[str] = []
    for target in ("settings", "demo", "ui", "ui-shell"):
        out = subprocess.run(
            ["make", "-n", "-B", target, f"LUMINA_STATE_DIR={state}"],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        commands += out.replace("\\\n", " ").splitlines()  # one command per logical line
    writers = [
        c
        for c in commands
        if str(state) in c or "settings-import" in c or "lumina_sandbox" in c or "scripts/ui.sh" in c
    ]
    writers = [c for c in writers if not c.startswith(("#", "echo ", "test -x"))]
    assert any("airflow db migrate" in c for c in writers) and any("settings-import" in c for c in writers)
    assert any("lumina_sandbox.demo" in c for c in writers) and any("scripts/ui.sh" in c for c in writers)
    assert [c for c in writers if not c.startswith("umask 077 &&")] == []
