"""Tests never see the developer's machine: fixed time zone, temporary data, no colour, fixed width."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

os.environ["TZ"] = "Europe/London"
time.tzset()
os.environ["NO_COLOR"] = "1"
os.environ["COLUMNS"] = "120"
os.environ.pop("COMPLIANCE_DB", None)
os.environ.pop("FORCE_COLOR", None)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the developer's data directory."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("COMPLIANCE_DB", raising=False)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "test.db"
