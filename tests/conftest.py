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


class CLIResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> dict:  # type: ignore[type-arg]
        import json

        return json.loads(self.out)  # type: ignore[no-any-return]


@pytest.fixture
def cli(db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run the real console entry point in-process: ``cli("due", "--as-of", "2026-11-22")``."""
    import sys

    from compliance.cli import STATE, main

    def run(*args: str, db_path: Path | None = db) -> CLIResult:
        argv = ["compliance"] + (["--db", str(db_path)] if db_path is not None else []) + list(args)
        monkeypatch.setattr(sys, "argv", argv)
        STATE.db = None
        capsys.readouterr()
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return CLIResult(code, out, err)

    return run
