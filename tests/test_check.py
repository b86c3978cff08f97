"""compliance check: fixture files validated and their deadlines checked, as a CI step would."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml

from compliance.fixture import parse_file
from compliance.rules import builtin

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "check"
AS_OF = "2026-11-01"


def check(cli, *args: str):  # type: ignore[no-untyped-def]
    return cli("check", *args, db_path=None)


def problem_markers(path: Path) -> list[tuple[int, str]]:
    """(line, expected text) of every '# PROBLEM: ...' marker in a test file."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if "# PROBLEM:" in line:
            out.append((n, line.split("# PROBLEM:", 1)[1].strip()))
    return out


def comparable(res) -> list[dict]:  # type: ignore[no-untyped-def]
    """The deadline items of a JSON report, without where they were written."""
    return [
        {k: v for k, v in it.items() if k not in ("file", "line")} for it in res.json()["items"]
    ]


# -- clean sets and exit codes -------------------------------------------------------------------


def test_the_projects_own_fixtures_pass(cli) -> None:  # type: ignore[no-untyped-def]
    res = check(cli, str(ROOT / "fixtures"), "--as-of", AS_OF)
    assert res.code == 0, res.out + res.err
    assert "0 overdue" in res.out and res.out.rstrip().endswith("OK")


def test_clean_set_exits_0_and_lists_what_falls_due(cli) -> None:  # type: ignore[no-untyped-def]
    res = check(cli, str(DATA / "clean"), "--as-of", AS_OF)
    assert res.code == 0, res.out
    assert (
        f"{DATA / 'clean' / 'network.toml'}:54: due: northgate/reg44-visit/2026-11: "
        "Independent person's visit (Reg 44) is due 2026-11-30, in 29 days"
    ) in res.out
    assert "1 due within 30 days. OK" in res.out


def test_fail_on_due_fails_on_what_falls_due_within_days(cli) -> None:  # type: ignore[no-untyped-def]
    res = check(cli, str(DATA / "clean"), "--as-of", AS_OF, "--fail-on", "due")
    assert res.code == 1
    assert "FAILED: 1 overdue or due soon (--fail-on due) (exit 1)" in res.out
    # the visit is due on 2026-11-30: outside a 7-day horizon
    res = check(cli, str(DATA / "clean"), "--as-of", AS_OF, "--fail-on", "due", "--days", "7")
    assert res.code == 0 and "0 overdue, 0 due within 7 days. OK" in res.out


def test_overdue_items_fail_with_their_line_and_explanation(cli) -> None:  # type: ignore[no-untyped-def]
    f = DATA / "late" / "network.toml"
    res = check(cli, str(f), "--as-of", AS_OF)
    assert res.code == 1
    lines = res.out.splitlines()
    # the missed month points at the last visit recorded (where the next one belongs)
    assert (
        f"{f}:48: overdue: northgate/reg44-visit/2026-10: Independent person's visit (Reg 44) "
        "was due 2026-10-31, 1 day overdue"
    ) in lines
    # an action points at its own entry's due date
    assert any(
        ln.startswith(f"{f}:78: overdue: tyddyn/action/") and "was due 2026-10-20" in ln
        for ln in lines
    )
    assert "    3. No event recorded in this period." in lines
    assert lines[-1].endswith("2 overdue, 1 due within 30 days. FAILED: 2 overdue (exit 1)")
    # the day before, October is still open: nothing is overdue but the action
    res = check(cli, str(f), "--as-of", "2026-10-31", "--format", "json")
    assert res.code == 1
    assert [i["rule"] for i in res.json()["items"] if i["status"] == "overdue"] == ["action"]


def test_check_agrees_with_load_and_due(cli) -> None:  # type: ignore[no-untyped-def]
    """check computes through an in-memory store with the same service code as 'due'."""
    demo = ROOT / "fixtures" / "demo-network.toml"
    as_of = "2026-12-15"
    res = check(cli, str(demo), "--as-of", as_of, "--days", "45", "--format", "json")
    assert res.code == 1
    assert cli("load", str(demo)).code == 0
    listed = cli("due", "--as-of", as_of, "--days", "45", "--format", "json").json()["items"]
    got = [
        {k: v for k, v in it.items() if k not in ("fails", "file", "line", "steps")}
        for it in res.json()["items"]
    ]
    assert got == listed and any(i["status"] == "overdue" for i in listed)


# -- several files -------------------------------------------------------------------------------


def test_split_include_and_directory_give_the_same_result_as_one_file(cli) -> None:  # type: ignore[no-untyped-def]
    one = check(cli, str(DATA / "clean" / "network.toml"), "--as-of", AS_OF, "--format", "json")
    split = DATA / "split"
    variants = [
        # events.toml names homes written in homes.toml, and comes first: order does not matter
        [str(split / "events.toml"), str(split / "homes.toml")],
        [str(split / "homes.toml"), str(split / "events.toml")],
        [str(split)],
        [str(DATA / "include" / "main.toml")],
        # an included file also given directly is read once
        [str(DATA / "include" / "main.toml"), str(split / "homes.toml")],
    ]
    want = comparable(one)
    assert want and one.code == 0
    for args in variants:
        res = check(cli, *args, "--as-of", AS_OF, "--format", "json")
        assert res.code == 0, (args, res.out)
        assert comparable(res) == want, args
    res = check(cli, str(DATA / "include" / "main.toml"), "--as-of", AS_OF, "--format", "json")
    assert res.json()["files"] == [
        str(split / "events.toml"),
        str(split / "homes.toml"),
        str(DATA / "include" / "main.toml"),
    ]


def test_a_directory_is_read_recursively_in_sorted_order(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shutil.copytree(DATA / "split", tmp_path / "net" / "b")
    (tmp_path / "net" / "a").mkdir()
    (tmp_path / "net" / "a" / "policy.toml").write_bytes(
        (ROOT / "examples" / "rules" / "provider-policy.toml").read_bytes()
    )
    (tmp_path / "net" / ".hidden").mkdir()
    (tmp_path / "net" / ".hidden" / "junk.toml").write_text("not toml at all [", encoding="utf-8")
    (tmp_path / "net" / "notes.txt").write_text("ignored", encoding="utf-8")
    res = check(cli, str(tmp_path / "net"), "--as-of", AS_OF, "--format", "json")
    doc = res.json()
    assert doc["files"] == [
        str(tmp_path / "net" / "a" / "policy.toml"),
        str(tmp_path / "net" / "b" / "events.toml"),
        str(tmp_path / "net" / "b" / "homes.toml"),
    ]
    assert doc["summary"]["examples"] == 2
    # the provider policy adds a report rule: each visit needs a report within 5 working days
    assert res.code == 1
    assert {i["rule"] for i in doc["items"] if i["status"] == "overdue"} == {"reg44-report"}


def test_include_cycles_and_missing_includes_are_errors(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.toml").write_text('schema = 1\ninclude = ["b.toml"]\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('schema = 1\n\ninclude = ["a.toml"]\n', encoding="utf-8")
    (tmp_path / "c.toml").write_text('schema = 1\ninclude = ["nope.toml"]\n', encoding="utf-8")
    res = check(cli, str(tmp_path / "a.toml"), str(tmp_path / "c.toml"), "--as-of", AS_OF)
    assert res.code == 2
    assert (
        f"{tmp_path / 'b.toml'}:3: error: include: include cycle: a.toml -> b.toml -> a.toml"
        in res.out
    )
    assert f"{tmp_path / 'c.toml'}:2: error: include: 'nope.toml': no such file" in res.out
    # 'load' follows includes too, and refuses the cycle
    res = cli("load", str(tmp_path / "a.toml"))
    assert res.code == 2 and "include cycle" in res.err


def test_load_follows_includes(cli) -> None:  # type: ignore[no-untyped-def]
    res = cli("load", str(DATA / "include" / "main.toml"))
    assert res.code == 0, res.err
    assert "2 homes added" in res.out and "12 events added" in res.out


# -- problems in files ---------------------------------------------------------------------------


def test_every_known_problem_is_reported_at_its_line(cli) -> None:  # type: ignore[no-untyped-def]
    res = check(cli, str(DATA / "broken"), "--as-of", AS_OF)
    assert res.code == 2
    errors = [ln for ln in res.out.splitlines() if ": error: " in ln]
    expected = []
    for name in ("network.toml", "other.toml"):
        path = DATA / "broken" / name
        expected += [(f"{path}:{line}: error: ", text) for line, text in problem_markers(path)]
    assert len(errors) == len(expected) == 13, errors
    for (prefix, text), got in zip(expected, errors, strict=True):
        assert got.startswith(prefix), (prefix, got)
        field, _, fragment = text.partition(": ")
        assert got[len(prefix) :].startswith(field + ": "), (field, got)
        assert fragment in got, (fragment, got)
    # the entry that names the home whose own entry is wrong is not reported a second time
    assert "eastfield" not in res.out.replace("'france'", "")
    assert "deadlines are computed once every file is valid" in res.out


def test_a_user_rule_example_that_disagrees_fails_at_its_line(cli) -> None:  # type: ignore[no-untyped-def]
    f = DATA / "rules" / "wrong-example.toml"
    [(line, _)] = problem_markers(f)
    res = check(cli, str(f), "--as-of", AS_OF)
    assert res.code == 2
    assert f"{f}:{line}: error: rules[0].examples[1]: " in res.out
    assert "due is 2026-12-31, the example expects 2026-12-29" in res.out
    # the shipped example rule file agrees with the engine
    ok = check(cli, str(ROOT / "examples" / "rules" / "provider-policy.toml"), "--as-of", AS_OF)
    assert ok.code == 0 and "2 rule examples" in ok.out


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("not toml [", ":1: error: not valid TOML"),
        ("schema = 2\n", ":1: error: schema: unsupported schema 2"),
        ('[network]\nname = "x"\n', ":1: error: schema: missing"),
    ],
)
def test_unreadable_files_are_problems_too(cli, tmp_path: Path, text: str, fragment: str) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    good = DATA / "clean" / "network.toml"
    res = check(cli, str(good), str(bad), "--as-of", AS_OF)
    assert res.code == 2 and f"{bad}{fragment}" in res.out, res.out


def test_usage_errors_exit_2_without_a_traceback(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = check(cli, str(tmp_path / "missing.toml"), "--as-of", AS_OF)
    assert res.code == 2 and f"{tmp_path / 'missing.toml'}:0: error: no such file" in res.out
    (tmp_path / "empty").mkdir()
    res = check(cli, str(tmp_path / "empty"), "--as-of", AS_OF)
    assert res.code == 2 and "no .toml files in this directory" in res.out
    res = check(cli, str(DATA / "clean"), "--as-of", "2026-13-01")
    assert res.code == 2 and res.err.startswith("error: --as-of") and "Traceback" not in res.err
    res = check(cli, str(DATA / "clean"), "--fail-on", "soon")
    assert res.code == 2 and "Traceback" not in res.err
    res = check(cli, str(DATA / "clean"), "--days", "-1")
    assert res.code == 2
    res = check(cli)
    assert res.code == 2 and "Missing argument" in res.err


# -- formats -------------------------------------------------------------------------------------


def test_json_report(cli) -> None:  # type: ignore[no-untyped-def]
    f = DATA / "late" / "network.toml"
    doc = check(cli, str(f), "--as-of", AS_OF, "--format", "json").json()
    assert doc["schema_version"] == 1 and doc["as_of"] == AS_OF and doc["exit_code"] == 1
    assert doc["ok"] is False and doc["computed"] is True and doc["problems"] == []
    assert doc["summary"] == {
        "files": 1,
        "homes": 2,
        "problems": 0,
        "overdue": 2,
        "due": 1,
        "failed": 2,
        "examples": 0,
    }
    visit = next(i for i in doc["items"] if i["id"] == "northgate/reg44-visit/2026-10")
    assert (visit["file"], visit["line"], visit["fails"], visit["due"]) == (
        str(f),
        48,
        True,
        "2026-10-31",
    )
    assert visit["steps"][-1].endswith("-> overdue.")
    bad = check(cli, str(DATA / "broken"), "--as-of", AS_OF, "--format", "json").json()
    assert bad["exit_code"] == 2 and bad["computed"] is False and bad["items"] == []
    assert bad["problems"][0] == {
        "file": str(DATA / "broken" / "network.toml"),
        "line": 4,
        "field": "homez",
        "message": "unknown key (did you mean 'homes'?)",
    }


def test_junit_report_is_read_by_a_junit_reader(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = DATA / "late" / "network.toml"
    out = tmp_path / "report.xml"
    res = check(cli, str(f), "--as-of", AS_OF, "--format", "junit", "--output", str(out))
    assert res.code == 1 and res.out == ""
    assert "FAILED: 2 overdue" in res.err and str(out) in res.err
    xml = JUnitXml.fromfile(str(out))
    suites = {s.name: s for s in xml}
    assert list(suites) == ["files", "deadlines: northgate", "deadlines: tyddyn"]
    assert [c.name for c in suites["files"]] == [str(f)]
    assert all(c.is_passed for c in suites["files"])
    # one case per home and rule that applies to it
    homes = {h.id: h for h in parse_file(f, catalogue=builtin()).homes}
    for hid in ("northgate", "tyddyn"):
        want = [r.key for r in builtin().for_home(homes[hid])]
        assert [c.name for c in suites[f"deadlines: {hid}"]] == want
        assert {c.classname for c in suites[f"deadlines: {hid}"]} == {hid}
    assert {"reg44-visit", "reg45-review", "reg45-report", "ofsted-full", "action"} <= set(
        r.key for r in builtin().for_home(homes["northgate"])
    )
    failed = {(c.classname, c.name): c for s in xml for c in s if not c.is_passed}
    assert set(failed) == {("northgate", "reg44-visit"), ("tyddyn", "action")}
    [fail] = failed[("northgate", "reg44-visit")].result
    assert isinstance(fail, Failure) and fail.type == "overdue"
    assert "northgate/reg44-visit/2026-10" in fail.message and "was due 2026-10-31" in fail.message
    assert "3. No event recorded in this period." in fail.text  # the 'why' steps
    assert "C1: overdue from 00:00 on 2026-11-01" in fail.text
    assert failed[("northgate", "reg44-visit")]._elem.get("line") == "48"
    total = sum(len(list(s)) for s in xml)
    root = xml._elem
    assert root.get("tests") == str(total) and root.get("failures") == "2"


def test_junit_report_of_invalid_files(cli) -> None:  # type: ignore[no-untyped-def]
    res = check(cli, str(DATA / "broken"), "--as-of", AS_OF, "--format", "junit")
    assert res.code == 2
    from junitparser import JUnitXml as Reader

    xml = Reader.fromstring(res.out)
    [files] = list(xml)
    cases = {c.name: c for c in files}
    net, other = str(DATA / "broken" / "network.toml"), str(DATA / "broken" / "other.toml")
    [fail] = cases[net].result
    assert fail.message.startswith("12 problems: ") and len(fail.text.splitlines()) == 12
    assert f"{net}:25: events[1].rule: unknown rule 'reg44-vist'" in fail.text
    assert not cases[other].is_passed


def test_github_format_annotates_the_offending_lines(cli) -> None:  # type: ignore[no-untyped-def]
    f = DATA / "late" / "network.toml"
    res = check(cli, str(f), "--as-of", AS_OF, "--format", "github")
    assert res.code == 1
    lines = res.out.splitlines()
    prop = str(f).replace(":", "%3A").replace(",", "%2C")
    visit = next(ln for ln in lines if "reg44-visit/2026-10" in ln)
    assert visit.startswith(
        f"::error file={prop},line=48,title=overdue%3A northgate/reg44-visit/2026-10::"
    )
    assert "%0A1. Independent person's visit" in visit  # the explanation, one step per line
    soon = next(ln for ln in lines if "reg44-visit/2026-11" in ln)
    assert soon.startswith(f"::warning file={prop},line=48,title=due soon%3A northgate/")
    assert lines[-1].startswith("Checked 1 file")
    assert all(ln.startswith("::") for ln in lines[:-1]) and len(lines) == 4
    # with --fail-on due, what falls due fails the build: an error, not a warning
    res = check(cli, str(f), "--as-of", AS_OF, "--format", "github", "--fail-on", "due")
    assert not any(ln.startswith("::warning") for ln in res.out.splitlines())
    bad = check(cli, str(DATA / "broken"), "--as-of", AS_OF, "--format", "github")
    first = bad.out.splitlines()[0]
    assert re.match(
        r"::error file=.*network\.toml,line=4,title=compliance%3A homez::unknown key", first
    )


def test_output_is_written_atomically(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "report.json"
    out.write_text("previous report", encoding="utf-8")
    res = check(cli, str(DATA / "clean"), "--as-of", AS_OF, "--format", "json", "-o", str(out))
    assert res.code == 0 and res.out == ""
    assert json.loads(out.read_text(encoding="utf-8"))["ok"] is True
    assert not list(tmp_path.glob(".report.json.*"))  # no temporary file left behind
    # a directory that does not exist: one line, exit 2, nothing left behind
    res = check(cli, str(DATA / "clean"), "--as-of", AS_OF, "-o", str(tmp_path / "no" / "r.txt"))
    assert res.code == 2 and res.err.startswith("error: --output: cannot write")
    assert not (tmp_path / "no").exists()
    # the report of a failing check is still written
    res = check(cli, str(DATA / "broken"), "--as-of", AS_OF, "-o", str(out))
    assert res.code == 2 and "13 problems" in out.read_text(encoding="utf-8")
    assert not list(tmp_path.glob(".report.json.*"))


def test_text_has_no_colour_under_no_color(cli) -> None:  # type: ignore[no-untyped-def]
    res = check(cli, str(DATA / "late"), "--as-of", AS_OF)
    assert "\x1b[" not in res.out


def test_help_has_examples(cli) -> None:  # type: ignore[no-untyped-def]
    res = check(cli, "--help")
    assert res.code == 0
    for text in ("--fail-on", "--format", "junit", "github", "compliance check fixtures/"):
        assert text in res.out


def test_fail_on_none_only_validates(cli) -> None:  # type: ignore[no-untyped-def]
    res = check(cli, str(DATA / "late"), "--as-of", AS_OF, "--fail-on", "none")
    assert res.code == 0 and "2 overdue, 1 due within 30 days. OK" in res.out
    res = check(cli, str(DATA / "broken"), "--as-of", AS_OF, "--fail-on", "none")
    assert res.code == 2


# -- CI examples ---------------------------------------------------------------------------------


def _check_commands(texts: list[str]) -> list[list[str]]:
    """The 'compliance check ...' command lines in CI files, as argument lists."""
    import shlex

    out = []
    for text in texts:
        for m in re.finditer(r"compliance check [^\n|]*", text):
            out.append(shlex.split(m.group(0).split(" #")[0])[2:])
    return out


def test_ci_examples_are_valid_and_their_commands_work(cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import yaml

    gh = yaml.safe_load((ROOT / "examples" / "ci" / "github-actions.yml").read_text("utf-8"))
    steps = gh["jobs"]["check"]["steps"]
    runs = [s["run"] for s in steps if "run" in s]
    assert "compliance check fixtures/ --format github" in runs
    assert gh[True]["schedule"]  # 'on:' is YAML 1.1's True
    gl = yaml.safe_load((ROOT / "examples" / "ci" / "gitlab-ci.yml").read_text("utf-8"))
    job = gl["compliance"]
    assert job["script"][-1] == "compliance check fixtures/"
    assert job["artifacts"]["reports"]["junit"] == "compliance-report.xml"
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    assert {h["id"] for h in hooks} == {"compliance-check", "compliance-validate"}
    for h in hooks:
        assert h["language"] == "python" and h["pass_filenames"] is False
        assert h["entry"].startswith("compliance check")
    # every command they run works here, on the project's fixtures (run from a copy of the root)
    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures")
    monkeypatch.chdir(tmp_path)
    commands = _check_commands([*runs, *job["script"]]) + [
        [*h["entry"].split()[2:], *h["args"]] for h in hooks
    ]
    assert len(commands) == 6
    for args in commands:
        res = check(cli, *args, "--as-of", AS_OF)
        assert res.code == 0, (args, res.out, res.err)
    assert (tmp_path / "compliance-report.xml").exists()


def test_explanations_are_those_of_why(cli, db: Path) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from compliance.service import Network, why
    from compliance.store import open_store

    demo = ROOT / "fixtures" / "demo-network.toml"
    assert cli("load", str(demo)).code == 0
    net = Network.open(open_store(db, create=False))
    for as_of, days in (("2026-11-22", "30"), ("2027-03-03", "10")):
        res = check(cli, str(demo), "--as-of", as_of, "--days", days, "--format", "json")
        items = res.json()["items"]
        assert len(items) > 10 and {i["status"] for i in items} >= {"overdue", "due"}
        for it in items:
            want = why(net, it["id"], dt.date.fromisoformat(as_of)).item.occ.steps
            assert list(want) == it["steps"], it["id"]
    net.store.close()


CORRECTIONS = """schema = 1
[[homes]]
id = "northgate"
name = "Northgate House"
nation = "england"
secure = false
since = 2026-09-01

[[events]]
id = "third"
home = "northgate"
rule = "reg44-visit"
date = 2026-10-16
supersedes = "second"

[[events]]
id = "second"
home = "northgate"
rule = "reg44-visit"
date = 2026-10-15
supersedes = "first"

[[events]]
id = "first"
home = "northgate"
rule = "reg44-visit"
date = 2026-09-15

[[events]]
home = "northgate"
rule = "reg44-visit"
date = 2026-09-20
"""


def test_corrections_in_any_order_and_their_problems(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "fixes.toml"
    f.write_text(CORRECTIONS, encoding="utf-8")
    # 'first' (September) is corrected to October, then again: September rests on the 20th
    res = check(cli, str(f), "--as-of", "2026-11-01", "--format", "json")
    assert res.code == 0, res.out
    # 'load' needs corrections after what they correct (service.load only puts them last)
    blocks = CORRECTIONS.split("\n\n")
    ordered = tmp_path / "ordered.toml"
    ordered.write_text("\n\n".join([blocks[0], blocks[3], blocks[2], blocks[1], blocks[4]]))
    assert cli("load", str(ordered)).code == 0
    listed = cli("due", "--as-of", "2026-11-01", "--format", "json").json()["items"]
    assert res.json()["items"] and [i["id"] for i in res.json()["items"]] == [
        i["id"] for i in listed
    ]
    bad = CORRECTIONS.replace('supersedes = "first"', 'supersedes = "third"').replace(
        'id = "first"', 'id = "fourth"\nsupersedes = "nowhere"'
    )
    f.write_text(bad, encoding="utf-8")
    res = check(cli, str(f), "--as-of", "2026-11-01")
    assert res.code == 2
    lines = [ln for ln in res.out.splitlines() if ": error: " in ln]
    assert lines == [
        f"{f}:14: error: events[0].supersedes: corrections form a cycle: each event supersedes another of the cycle",
        f"{f}:21: error: events[1].supersedes: corrections form a cycle: each event supersedes another of the cycle",
        f"{f}:25: error: events[2].supersedes: no event 'nowhere' to supersede (give the id of an event in these files)",
    ]


def test_a_waiver_of_no_occurrence_is_a_problem(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """As for load: a waiver must close an occurrence that exists (a month 13 does not)."""
    f = tmp_path / "w.toml"
    f.write_text(
        'schema = 1\n[[homes]]\nid = "northgate"\nname = "N"\nnation = "england"\n'
        "since = 2026-01-01\n\n[[waivers]]\n"
        'occurrence = "northgate/reg44-visit/2026-13"\nreason = "x"\ndate = 2026-02-01\n'
    )
    res = cli("check", str(f), "--as-of", "2026-03-01", db_path=None)
    assert res.code == 2
    assert (
        f"{f}:9: error: waivers[0].occurrence: '2026-13' is not a period of reg44-visit" in res.out
    )


# -- large sets: read in parts, kept on disk ------------------------------------------------------


@pytest.mark.parametrize(
    "paths",
    [
        ["broken"],
        ["clean"],
        ["include"],
        ["late"],
        ["rules"],
        ["split"],
        ["split/events.toml", "split/homes.toml"],
        ["clean", "split"],  # every home and event twice: duplicates across files
    ],
)
def test_a_set_read_in_parts_gives_the_same_report(
    paths: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A national network's files are parsed a chunk at a time and their events kept in a
    database on disk; whatever the chunks, the report is the same, byte for byte."""
    import datetime as dt

    from compliance import check as checking
    from compliance import located

    def report() -> str:
        rep = checking.run([DATA / p for p in paths], dt.date.fromisoformat(AS_OF), 400, "due")
        return checking.render_json(rep) + checking.render_text(rep)

    whole = report()
    monkeypatch.setattr(located, "CHUNK_BYTES", 64)
    monkeypatch.setattr(located, "KEEP_BYTES", 0)
    assert report() == whole
    assert '"items": []' not in whole or '"problems": []' not in whole  # it says something


def test_a_full_temporary_disk_is_one_line_that_says_what_to_do(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """check keeps a large set's parts and its throw-away database in TMPDIR: when that disk
    is full, it says so and how to move them (exit 4), rather than blaming the files."""
    import errno
    import sqlite3

    from compliance import located
    from compliance.ledger import Ledger

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(located, "KEEP_BYTES", 0)
    monkeypatch.setattr(located.pickle, "dump", full)
    res = check(cli, str(DATA / "clean"), "--as-of", AS_OF)
    assert res.code == 4, res
    assert "cannot write temporary files in" in res.err and "set TMPDIR" in res.err
    assert "No space left on device" in res.err and res.out == ""
    monkeypatch.undo()

    def fails(message: str, code: int) -> object:
        def flush(self: Ledger) -> None:
            exc = sqlite3.OperationalError(message)
            exc.sqlite_errorcode = code  # as SQLite sets it
            raise exc

        return flush

    monkeypatch.setattr(Ledger, "_flush", fails("database or disk is full", sqlite3.SQLITE_FULL))
    res = check(cli, str(DATA / "clean"), "--as-of", AS_OF)
    assert res.code == 4 and "(database or disk is full); set TMPDIR" in res.err, res
    # any other database error is a bug, and is not blamed on the disk
    monkeypatch.setattr(Ledger, "_flush", fails("no such column: x", sqlite3.SQLITE_ERROR))
    res = check(cli, str(DATA / "clean"), "--as-of", AS_OF)
    assert res.code == 70 and "TMPDIR" not in res.err, res
