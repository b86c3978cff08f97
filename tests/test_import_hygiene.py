"""The core never imports a UI library; the hot path never imports textual or icalendar."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CORE = [
    "compliance.model",
    "compliance.dates",
    "compliance.engine",
    "compliance.rules",
    "compliance.fixture",
    "compliance.store",
    "compliance.service",
    "compliance.export",
    "compliance.demo",
    "compliance.examples",
    "compliance.check",
]


def _modules(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_core_imports_no_ui() -> None:
    mods = _modules("\n".join(f"import {m}" for m in CORE))
    for banned in ("typer", "textual", "rich", "click", "compliance.cli", "compliance.tui"):
        assert not any(m == banned or m.startswith(banned + ".") for m in mods), banned


def test_due_never_imports_textual_or_icalendar(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    code = f"""
import sys
sys.argv = ["compliance", "--db", {str(db)!r}, "demo", "--as-of", "2026-11-22"]
from compliance.cli import main
try:
    main()
except SystemExit:
    pass
for m in [m for m in sys.modules if m.startswith(("textual", "icalendar", "sqlite_utils"))]:
    del sys.modules[m]
sys.argv = ["compliance", "--db", {str(db)!r}, "due", "--as-of", "2026-11-22", "--format", "json"]
try:
    main()
except SystemExit:
    pass
"""
    mods = _modules(code)
    for banned in ("textual", "icalendar", "sqlite_utils", "pendulum"):
        assert not any(m == banned or m.startswith(banned + ".") for m in mods), banned


def test_check_never_imports_textual_or_icalendar() -> None:
    root = Path(__file__).resolve().parent.parent
    code = f"""
import sys
sys.argv = ["compliance", "check", {str(root / "fixtures")!r}, "--as-of", "2026-11-01", "--format", "junit"]
from compliance.cli import main
try:
    main()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
"""
    mods = _modules(code)
    assert "compliance.check" in mods
    for banned in ("textual", "icalendar", "pendulum"):
        assert not any(m == banned or m.startswith(banned + ".") for m in mods), banned


def test_help_is_light() -> None:
    code = """
import sys
sys.argv = ["compliance", "--help"]
from compliance.cli import main
try:
    main()
except SystemExit:
    pass
"""
    mods = _modules(code)
    for banned in ("textual", "icalendar", "sqlite_utils"):
        assert not any(m == banned or m.startswith(banned + ".") for m in mods), banned


def test_plain_due_and_overdue_do_not_import_typer(tmp_path: Path) -> None:
    """The console script takes the fast route for plain listings: no typer, no click. As of
    today the agenda answers alone (not even the scheduler is imported); as of a day before the
    demo's latest records it cannot vouch for the homes, and the service computes them."""
    db = tmp_path / "d.db"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from compliance.shell import main; main()",
            "--db",
            str(db),
            "demo",
        ],
        check=True,
        capture_output=True,
    )
    for argv, route in (
        (["due", "--days", "30", "--format", "json"], "compliance.agenda"),
        (
            ["overdue", "--as-of", "2026-11-22", "-H", "northgate", "--format", "csv"],
            "compliance.service",
        ),
    ):
        code = f"""
import sys
sys.argv = ["compliance", "--db", {str(db)!r}, *{argv!r}]
from compliance.shell import main
try:
    main()
except SystemExit:
    pass
"""
        mods = _modules(code)
        assert route in mods, argv
        if route == "compliance.agenda":
            assert "compliance.engine" not in mods and "compliance.service" not in mods
            assert "typing" not in mods and "pathlib" not in mods  # ~10 ms of ~100
        for banned in ("typer", "click", "textual", "icalendar", "sqlite_utils", "pendulum"):
            assert not any(m == banned or m.startswith(banned + ".") for m in mods), (argv, banned)
