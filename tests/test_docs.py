"""Docs checked against code: every command has help and appears in the README."""

from __future__ import annotations

from pathlib import Path

from compliance.cli import app

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    import typer.main

    group = typer.main.get_group(app)
    out = []
    for name, cmd in group.commands.items():
        sub = getattr(cmd, "commands", None)
        if sub:
            out += [f"{name} {s}" for s in sub]
        else:
            out.append(name)
    return out


def test_every_command_is_documented() -> None:
    cmds = _commands()
    assert "due" in cmds and "action add" in cmds
    for c in cmds:
        assert f"compliance {c}" in README, f"'compliance {c}' is not in the README"


def test_every_command_has_help(cli) -> None:  # type: ignore[no-untyped-def]
    for c in _commands():
        res = cli(*c.split(), "--help", db_path=None)
        assert res.code == 0 and len(res.out) > 100, c


def test_readme_has_the_two_commands_and_exit_codes() -> None:
    assert "make demo" in README and "make test" in README
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 4 |"):
        assert code in README
