"""The REST base's loopback server (tests/unit/hooks/rest/rest_loopback.py) for the reader's paging tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rest"))

from rest_loopback import LoopbackApi


@pytest.fixture
def api() -> Iterator[LoopbackApi]:
    server = LoopbackApi()
    server.start()
    yield server
    server.stop()
