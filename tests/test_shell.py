"""The fast route for plain ``due`` and ``overdue`` (no typer) gives what typer's commands give."""

from __future__ import annotations

import pytest

from compliance.shell import parse_fast


@pytest.mark.parametrize(
    "argv",
    [
        ["due"],
        ["due", "--days", "7", "--format", "json"],
        ["due", "-d", "400", "-f", "csv", "--as-of", "2026-11-22"],
        ["due", "--days=0", "--as-of=2026-12-01", "--format=table"],
        ["due", "--home", "northgate", "-H", "eastfield", "--rule", "reg33-visit", "-r", "action"],
        ["overdue", "--as-of", "2026-11-22", "--format", "json"],
        ["overdue", "--fail", "--home", "northgate"],
        # the same errors whichever route: unknown home, unknown rule, a bad date
        ["due", "--home", "nowhere"],
        ["due", "--rule", "reg99"],
        ["due", "--as-of", "2026-02-30"],
        ["due", "--as-of", "2026-W46-7"],
        ["overdue", "--as-of", "20261122"],
        ["overdue", "--as-of", "tomorrow"],
        # forms the fast route hands to typer
        ["due", "--days", "-1"],
        ["due", "--days", "x"],
        ["due", "--format", "yaml"],
        ["due", "--days", "1", "--days", "2"],
        ["due", "--help"],
        ["due", "extra"],
        ["overdue", "--days", "3"],
        ["due", "-d5"],
    ],
)
def test_fast_and_typer_routes_agree(cli, monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert cli("demo", "--as-of", "2026-11-22").code == 0
    fast = cli(*argv)
    monkeypatch.setenv("COMPLIANCE_NO_FAST_PATH", "1")
    slow = cli(*argv)
    assert (fast.code, fast.out, fast.err) == (slow.code, slow.out, slow.err)


def test_the_fast_reader_takes_only_plain_forms() -> None:
    assert parse_fast(["--db", "x.db", "due", "-d", "3", "-H", "a", "-H", "b"]) == (
        "x.db",
        "due",
        {"home": ["a", "b"], "rule": [], "days": 3},
    )
    assert parse_fast(["--db=x.db", "overdue", "--fail"]) == (
        "x.db",
        "overdue",
        {"home": [], "rule": [], "fail": True},
    )
    for argv in (
        [],
        ["--version"],
        ["--db"],
        ["--db", "a", "--db", "b", "due"],
        ["record", "h", "reg44-visit"],
        ["due", "--as-of"],
        ["due", "--home", "-x"],
        ["due", "-H=a"],
        ["due", "--days", "٣"],  # a non-ASCII digit: typer decides
        ["due", "--fail"],
        ["due", "--"],
    ):
        assert parse_fast(argv) is None, argv
