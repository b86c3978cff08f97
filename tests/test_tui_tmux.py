"""End to end: the real ``compliance tui`` in a real terminal (tmux), driven by keys.

Runs as a test when tmux is installed (skipped otherwise), or by hand:

    python tests/test_tui_tmux.py            # prints each screen it sees

It builds the demo database, reads the overdue list, records a visit with the keyboard,
filters, opens ``why``, quits, and checks that the database and the CLI agree.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

AS_OF = "2026-11-23"
COMPLIANCE = str(Path(sys.executable).with_name("compliance"))


FORM_FIELDS = ("Date", "By", "Notes", "Evidence", "Outcome")  # the record form's fields
BACKGROUND = re.compile(r"48;(?:5;\d+|2;\d+;\d+;\d+)")  # a background colour, any depth


class Tmux:
    def __init__(self, session: str, verbose: bool = False) -> None:
        self.session = session
        self.verbose = verbose

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout

    def start(self, command: str, env: dict[str, str]) -> None:
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        self.run(
            "new-session", "-d", "-s", self.session, "-x", "80", "-y", "24", f"{exports} {command}"
        )

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.session, *keys)

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", self.session, "-l", text)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)

    def background_after(self, text: str) -> str | None:
        """The background colour of the screen just after ``text`` (escape codes show what the
        plain screen does not: which field has the focus), at any colour depth."""
        for line in self.run("capture-pane", "-e", "-p", "-t", self.session).splitlines():
            if f"{text}\x1b" in line:
                found = BACKGROUND.search(line.split(text, 1)[1])
                return found.group(0) if found else None
        return None

    def focused(self, label: str) -> bool:
        """Whether the form field labelled ``label`` has the focus: its input is the only one
        drawn on another background than the rest of the form's fields."""
        backgrounds = [self.background_after(name) for name in FORM_FIELDS]
        mine = self.background_after(label)
        return mine is not None and backgrounds.count(mine) == 1

    def wait_for(self, ok: Callable[[str], bool], what: str, timeout: float = 30) -> str:
        end = time.monotonic() + timeout
        text = ""
        while time.monotonic() < end:
            text = self.screen()
            if ok(text):
                if self.verbose:
                    print(f"--- {what}\n{text}")
                return text
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; the screen shows:\n{text}")

    def alive(self) -> bool:
        return (
            subprocess.run(
                ["tmux", "has-session", "-t", self.session], capture_output=True
            ).returncode
            == 0
        )

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.session], capture_output=True)


def cli(db: Path, *args: str) -> str:
    return subprocess.run(
        [COMPLIANCE, "--db", str(db), *args], check=True, capture_output=True, text=True
    ).stdout


def drive(workdir: Path, verbose: bool = False) -> None:
    db = workdir / "demo.db"
    cli(db, "demo", "--as-of", AS_OF)
    due = json.loads(cli(db, "due", "--as-of", AS_OF, "--format", "json"))["items"]
    overdue = [i for i in due if i["status"] == "overdue" and i["rule"] != "action"]
    target = next(i for i in due if i["rule"] == "reg45-review")

    t = Tmux(f"compliance-e2e-{os.getpid()}", verbose)
    env = {"TZ": "Europe/London", "TERM": "xterm-256color", "HOME": str(workdir)}
    t.start(f"{COMPLIANCE} --db {db} tui --as-of {AS_OF}", env)
    try:
        # 1. the overdue list, most urgent first, in words
        screen = t.wait_for(lambda s: "OVERDUE" in s and "due" in s, "the Today list")
        assert f"{len(overdue)} OVERDUE" in screen
        assert overdue[0]["home_name"] in screen

        # 2. filter to the home of the review and record it with the keyboard
        t.keys("/")
        t.wait_for(lambda s: "escape clears" in s, "the filter box")
        t.type(f"home:{target['home']} rule:reg45-review")
        t.wait_for(lambda s: "0 OVERDUE" in s, "the filtered list")
        typed = t.background_after("reg45-review")  # the filter box, focused
        t.keys("Enter")
        # Enter's move to the list is a queued message: a key sent before it lands in the box
        t.wait_for(lambda s: t.background_after("reg45-review") != typed, "the filter to let go")
        t.keys("r")
        t.wait_for(lambda s: "Record reg45-review" in s, "the record form")
        # a key sent before the form has focused its first field would land in that field
        t.wait_for(lambda s: t.focused("Date"), "the form to focus its date")
        t.keys("Tab")
        t.wait_for(lambda s: t.focused("By"), "the focus on By")
        t.type("RM (e2e)")
        t.keys("Enter")
        t.wait_for(
            lambda s: "Recorded reg45-review" in s or "Nothing overdue or due" in s,
            "the confirmation or the emptied list",
        )

        # 3. the database and the CLI agree
        events = json.loads(
            cli(
                db,
                "history",
                target["home"],
                "--events",
                "--rule",
                "reg45-review",
                "--format",
                "json",
            )
        )["items"]
        assert any(e["date"] == AS_OF and e["by"] == "RM (e2e)" for e in events)
        after = json.loads(cli(db, "due", "--as-of", AS_OF, "--format", "json"))["items"]
        assert target["id"] not in {i["id"] for i in after}

        # 4. clear the filter, open why on the first row
        t.keys("Escape")
        t.wait_for(lambda s: f"{len(overdue)} OVERDUE" in s, "the filter cleared")
        t.keys("Enter")
        screen = t.wait_for(lambda s: "Why this date" in s, "the why panel")
        assert "Source:" in screen or "Rule:" in screen
        t.keys("Escape")

        # 5. a record made by the CLI appears without restarting
        nxt = next(i for i in after if i["status"] == "overdue" and i["rule"] == "reg45-report")
        cli(db, "record", nxt["home"], "reg45-report", "--date", AS_OF, "--as-of", AS_OF)
        t.wait_for(
            lambda s: f"{len(overdue) - 1} OVERDUE" in s, "the CLI's record to appear", timeout=20
        )

        # 6. quit
        t.keys("q")
        end = time.monotonic() + 10
        while t.alive() and time.monotonic() < end:
            time.sleep(0.2)
        assert not t.alive(), "q did not quit"
    finally:
        t.kill()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_officer_flow_in_a_real_terminal(tmp_path: Path) -> None:
    drive(tmp_path)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        drive(Path(d), verbose=True)
    print("end-to-end flow passed")
