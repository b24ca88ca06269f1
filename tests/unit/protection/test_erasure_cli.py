"""``lumina erase``: an empty subject is refused before anything is recorded or touched."""

from __future__ import annotations

import io

import pytest

from lumina_integration.cli import main


def test_an_empty_subject_is_refused(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["erase", "--subject", "   "]) == 1
    assert "erase: the subject is empty" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert main(["erase", "--subject", "-"]) == 1, "stdin gave an empty line"


def test_the_subject_forms_searched() -> None:
    from lumina_integration.protection.erasure import subject_forms

    assert subject_forms("  Jane@Example.org ") == ["Jane@Example.org", "jane@example.org"]
    assert subject_forms("jane@example.org") == ["jane@example.org"]
