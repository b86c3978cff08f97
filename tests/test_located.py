"""Reading TOML a chunk at a time gives what the standard library's parser gives for the whole
file, values and errors alike, and every key's line is the one the eager scan found."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from compliance import located
from compliance.errors import FixtureError
from compliance.fixture import BULK

ROOT = Path(__file__).resolve().parent.parent

EV = '[[events]]\nhome = "a"\nrule = "r"\ndate = 2026-01-0{}\n'
CASES = {
    "plain": "schema = 1\n" + "".join(EV.format(i) for i in range(1, 8)),
    "bom": "\ufeffschema = 1\n" + "".join(EV.format(i) for i in range(1, 8)),
    "crlf": ("schema = 1\n" + "".join(EV.format(i) for i in range(1, 8))).replace("\n", "\r\n"),
    # a header inside a multi-line string is text, not a place to cut
    "header in a string": 'schema = 1\n[[events]]\nnotes = """\n[[events]]\nx = 1\n"""\n'
    + EV.format(2)
    + "[[events]]\nnotes = '''\n[[homes]]\n'''\n",
    "quotes in a comment": 'schema = 1\n[[events]]\nnotes = "a" # """\n'
    + EV.format(2)
    + '[[events]]\nnotes = """x\n[[events]]\n"""\n',
    # what only the whole document shows: conflicts between chunks
    "static array then array of tables": 'schema = 1\nevents = [{home = "a"}]\n' + EV.format(1),
    "table then array of tables": "schema = 1\n[events]\nx = 1\n" + EV.format(1),
    "a table after the arrays": "schema = 1\n"
    + EV.format(1)
    + '[network]\nname = "x"\n'
    + EV.format(2),
    "a table twice": 'schema = 1\n[network]\nname = "x"\n'
    + EV.format(1)
    + '[network]\nname = "y"\n',
    "a sub-table after a cut": 'schema = 1\n[network]\nname = "x"\n'
    + EV.format(1)
    + "[network.more]\nk = 1\n",
    "sub-tables of earlier entries": "schema = 1\n"
    + EV.format(1)
    + "[homes.x]\ny = 1\n"
    + EV.format(2)
    + "[events.sub]\nz = 2\n",
    "a sub-table of an array before a cut": 'schema = 1\n[[homes]]\nid="a"\n'
    + EV.format(1)
    + "[homes.extra]\nz = 2\n",
    "a syntax error late": "schema = 1\n"
    + "".join(EV.format(i) for i in range(1, 6))
    + "[[events]]\ndate = 2026-02-30\n",
    "a key twice late": "schema = 1\n"
    + "".join(EV.format(i) for i in range(1, 6))
    + "[[events]]\na = 1\na = 2\n",
    "an unterminated string": "schema = 1\n"
    + EV.format(1)
    + '[[events]]\nnotes = """\n'
    + EV.format(2),
    "arrays of arrays": "schema = 1\nx = [\n  [[1]],\n  [[2]],\n]\n" + EV.format(1),
    "arrays of arrays later": "schema = 1\n" + EV.format(1) + "x = [\n  [[1]],\n]\n" + EV.format(2),
    "empty": "",
    "comments first": '# hi\n\n[[events]]\nhome = "a"\n' + EV.format(2),
    "a header first": '[[events]]\nhome = "a"\n' + EV.format(2),
    "a quoted header": "schema = 1\n" + EV.format(1) + '[["events"]]\nhome = "q"\n' + EV.format(3),
    "arrays of sub-tables": '[[rules]]\nkey = "k"\n[[rules.examples]]\nname = "a"\n'
    '[[rules]]\nkey = "j"\n[[rules.examples]]\nname = "b"\n',
}
BINARY = {
    "bad UTF-8 late": b"schema = 1\n" + EV.format(1).encode() * 3 + b'notes = "\xff"\n',
    "bad UTF-8 first": b"\xffschema = 1\n",
}
MODES = [(1, 0), (40, 0), (40, 1 << 30), (1 << 20, 0), (1 << 20, 1 << 30)]

_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.-]+)\s*\]\]\s*(#.*)?$")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=")


def eager_scan(text: str) -> tuple[dict[tuple[str, int, str], int], dict[tuple[str, int], int]]:
    """The scan the Locator replaced (every key's line, at once): the oracle for its lines."""
    keys: dict[tuple[str, int, str], int] = {}
    tables: dict[tuple[str, int], int] = {("", 0): 1}
    counts: dict[str, int] = {}
    current = ("", 0)
    in_multiline: str | None = None
    for n, raw in enumerate(text.split("\n"), start=1):
        raw = raw.rstrip("\r")
        if in_multiline:
            if raw.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        m = _HEADER.match(raw)
        if m:
            idx = counts.get(m.group(1), 0)
            counts[m.group(1)] = idx + 1
            current = (m.group(1), idx)
            tables[current] = n
            continue
        m = _TABLE.match(raw)
        if m:
            table = m.group(1)
            current = (table, counts.get(table, 1) - 1 if table in counts else 0)
            tables.setdefault(current, n)
            continue
        m = _KEY.match(raw)
        if m:
            keys.setdefault((current[0], current[1], m.group(1).strip('"')), n)
            for quote in ('"""', "'''"):
                if raw.count(quote) % 2 == 1:
                    in_multiline = quote
    return keys, tables


def expected(raw: bytes, name: str) -> dict[str, Any] | FixtureError:
    """What the standard library makes of the whole file, as load_path reports it."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return FixtureError(name, raw[: exc.start].count(b"\n") + 1, "", "not UTF-8 text")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"at line (\d+), column \d+", str(exc))  # ("at end of document": line 1)
        detail = re.sub(r"\(at line \d+, column \d+\)", "", str(exc)).strip().rstrip(".")
        return FixtureError(name, int(m.group(1)) if m else 1, "", f"not valid TOML: {detail}")


def inputs(tmp_path: Path) -> list[Path]:
    paths = sorted(
        p
        for d in ("fixtures", "examples", "tests/data", "src/compliance/schedules")
        for p in (ROOT / d).glob("**/*.toml")
    )
    for name, text in CASES.items():
        paths.append(tmp_path / f"{name}.toml")
        paths[-1].write_bytes(text.encode())
    for name, raw in BINARY.items():
        paths.append(tmp_path / f"{name}.toml")
        paths[-1].write_bytes(raw)
    return paths


@pytest.mark.parametrize(("chunk", "keep"), MODES)
def test_chunks_give_the_whole_document_and_its_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, keep: int
) -> None:
    monkeypatch.setattr(located, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(located, "KEEP_BYTES", keep)
    checked = 0
    for path in inputs(tmp_path):
        raw = path.read_bytes()
        want = expected(raw, str(path))
        try:
            doc = located.load_path(path, BULK)
        except FixtureError as exc:
            assert isinstance(want, FixtureError), (path, exc)
            assert (exc.file, exc.line, exc.detail) == (want.file, want.line, want.detail)
            continue
        assert not isinstance(want, FixtureError), (path, want)
        assert doc.data == want, path
        keys, tables = eager_scan(raw.decode("utf-8-sig"))
        for (table, index, key), line in keys.items():
            assert doc.loc.line(table, index, key) == line, (path, table, index, key)
        for (table, index), line in tables.items():
            assert doc.loc.line(table, index) == line, (path, table, index)
        checked += len(keys)
    assert checked > 1000  # the repo's fixtures and rule packs were among them


def test_a_large_file_is_parsed_in_parts_kept_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(located, "CHUNK_BYTES", 200)
    monkeypatch.setattr(located, "KEEP_BYTES", 0)
    path = tmp_path / "many.toml"
    path.write_text(CASES["plain"] * 1 + "".join(EV.format(i % 9 + 1) for i in range(300)))
    doc = located.load_path(path, BULK)
    assert doc.kept is None and doc.spool is not None  # nothing held but the head
    parts = list(doc.parts())
    assert len(parts) > 10
    assert sum(len(p["events"]) for p in parts) == 307
    assert [p["events"] for p in doc.parts()] == [p["events"] for p in parts]  # read again
    doc.close()


def test_a_set_of_files_shares_one_memory_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A network split into many small files holds no more parsed in memory than one file."""
    from compliance.fixture import read_tree

    text = "schema = 1\n" + "".join(EV.format(i % 9 + 1) for i in range(12))
    monkeypatch.setattr(located, "KEEP_BYTES", len(text) + 10)  # room for one file's entries
    paths = []
    for n in range(3):
        paths.append(tmp_path / f"part-{n}.toml")
        paths[-1].write_text(text)
    docs = [s.doc for s in read_tree(paths)]
    assert docs[0].kept is not None and docs[0].spool is None
    assert all(d.kept is None and d.spool is not None for d in docs[1:])
    assert [len(p["events"]) for d in docs for p in d.parts()] == [12, 12, 12]
