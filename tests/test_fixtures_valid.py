"""Every file in fixtures/ loads and validates; the demo fixture is the generator's output."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from compliance import demo
from compliance.fixture import parse_file
from compliance.rules import builtin

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "fixtures").rglob("*.toml"))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_fixture_is_valid(path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    fx = parse_file(path, catalogue=builtin())
    assert fx.homes or fx.events or fx.rules
    assert cli("load", str(path)).code == 0


def test_there_are_fixtures() -> None:
    assert any(p.name == "demo-network.toml" for p in FILES)


def test_demo_fixture_is_the_generator_at_a_fixed_date() -> None:
    day = dt.date(2026, 11, 1)
    assert (ROOT / "fixtures" / "demo-network.toml").read_text(encoding="utf-8") == demo.to_toml(
        demo.build(day, mix=False), day
    )


def test_demo_fixture_is_clean_at_its_date(cli) -> None:  # type: ignore[no-untyped-def]
    cli("load", str(ROOT / "fixtures" / "demo-network.toml"))
    res = cli("overdue", "--as-of", "2026-11-01", "--format", "json")
    assert res.json()["items"] == []
    homes = cli("homes", "--format", "json").json()["items"]
    assert len(homes) == 15 and {h["nation"] for h in homes} == {"england", "wales"}
    assert sum(h["yjb"] for h in homes) >= 5


@pytest.mark.parametrize("as_of", ["2026-11-22", "2027-03-03", "2028-02-29"])
def test_demo_database_shows_a_realistic_mix(cli, as_of: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("demo", "--as-of", as_of).code == 0
    items = cli("due", "--as-of", as_of, "--days", "30", "--format", "json").json()["items"]
    statuses = [i["status"] for i in items]
    assert 1 <= statuses.count("overdue") <= 10
    assert any(i["status"] == "due" and i["days_left"] <= 7 for i in items)
    overdue_homes = {i["home"] for i in items if i["status"] == "overdue"}
    assert len(overdue_homes) <= 5  # most homes are on time
    assert cli("demo", "--as-of", as_of).code == 2  # refuses to overwrite without --force
    assert cli("demo", "--as-of", as_of, "--force").code == 0
