"""The shipped rule packs: every rule carries source and basis, and its worked examples hold."""

from __future__ import annotations

import pytest

from compliance.examples import check_example
from compliance.model import BASES
from compliance.rules import builtin

CAT = builtin()
EXAMPLES = [(r.key, n, ex) for r in CAT.rules.values() for n, ex in enumerate(r.examples)]
REQUIRED = {
    "reg44-visit",
    "reg45-review",
    "reg45-report",
    "ofsted-full",
    "ofsted-interim",
    "ofsted-education",
    "licence-renewal",
    "yjb-monitoring",
    "yjb-review",
    "ri-visit",
    "quality-review",
    "ciw-inspection",
    "ci-inspection",
    "ofsted-other",
    "action",
}


@pytest.mark.parametrize(("key", "n", "ex"), EXAMPLES, ids=[f"{k}-{n}" for k, n, _ in EXAMPLES])
def test_worked_example(key: str, n: int, ex) -> None:  # type: ignore[no-untyped-def]
    assert check_example(CAT.rules[key], ex, CAT) == []


def test_required_keys_and_aliases() -> None:
    assert set(CAT.rules) == REQUIRED
    assert CAT.resolve("reg33-visit") == "reg44-visit"
    assert CAT.resolve("assurance") == "ofsted-interim"
    assert CAT.resolve("Assurance-Visit") == "ofsted-interim"


def test_every_rule_has_provenance() -> None:
    for r in CAT.rules.values():
        assert r.source and r.basis in BASES and r.title, r.key
        if r.key != "action" and r.cadence.kind != "record":  # a record-only rule owes nothing
            assert r.examples, f"{r.key} has no worked example"


def test_a_wrong_example_is_reported() -> None:
    from dataclasses import replace

    rule = CAT.rules["reg45-review"]
    ex = replace(rule.examples[0], expect=({"due": "2026-03-01", "status": "upcoming"},))
    problems = check_example(rule, ex, CAT)
    assert problems and "no occurrence matches" in problems[0]


def test_user_rule_file_overrides_and_adds(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    policy = Path(__file__).parent.parent / "examples" / "rules" / "provider-policy.toml"
    assert cli("load", str(Path(__file__).parent / "data" / "small.toml")).code == 0
    assert cli("load", str(policy)).code == 0
    rules = {r["key"]: r for r in cli("rules", "--format", "json").json()["items"]}
    assert rules["reg44-report"]["basis"] == "provider policy"
    cli("record", "northgate", "reg44-visit", "--date", "2026-12-22", "--as-of", "2026-12-22")
    got = cli("due", "--as-of", "2026-12-23", "--rule", "reg44-report", "--format", "json").json()[
        "items"
    ]
    # 5 working days from 23 December 2026, skipping Christmas and the Boxing Day substitute
    assert ("northgate/reg44-report/2026-12-22", "2026-12-31", "due") in [
        (i["id"], i["due"], i["status"]) for i in got
    ]
    # the policy applies to earlier visits too: each without a report is overdue
    assert ("northgate/reg44-report/2026-01-14", "2026-01-21", "overdue") in [
        (i["id"], i["due"], i["status"]) for i in got
    ]
    why = cli("why", "northgate/reg44-report/2026-12-22", "--as-of", "2026-12-23").out
    assert "Bank holiday skipped: 2026-12-25" in why and "provider policy" in why
