"""National-scale benchmark (``make bench``): the real Ofsted register plus ten years of history.

    python bench/run.py [--runs 7] [--data DIR] [--years 10] [--as-of 2026-11-22] [--rebuild]

Builds, once (cached in bench/out/ until its inputs change), the database a national network
would have: every children's home of Ofsted's provider-level files (/work/shared/data/ofsted if
present, else the excerpt in tests/data/ofsted) imported with ``compliance import ofsted``, plus
ten years of generated monthly Reg 44 visits, Reg 45 reviews and reports, inspections and actions
for every home (bench/gen.py). Then times whole processes, several runs each, medians:

- ``python -c pass`` (the floor) and Taskwarrior answering the same question over the same open
  obligations (imported as pending tasks with due dates into a temporary TASKDATA), measured in
  the same run: machines are shared and noisy, so figures are reported as ratios to both;
- ``compliance --help``, ``due --days 30 --format json``, ``due --home ID``, ``export`` of the
  database and ``check`` of that fixture, ``ical`` for one home and for all, the TUI to its
  first paint (under a pseudo-terminal), and ``import ofsted`` throughput (rows per second);
- peak memory: the largest ru_maxrss of the timed children.

Results go to bench/out/results.md and results.json. A command that does not exist yet in this
build is reported as "n/a".
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
BIN = str(Path(sys.executable).parent / "compliance")
SHARED = Path("/work/shared/data/ofsted")
EXCERPT = ROOT / "tests" / "data" / "ofsted"
TASK = shutil.which("task")
GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else None
SLOW = 15.0  # seconds: a command slower than this is timed once
LIMIT = 150.0  # seconds: a command slower than this is stopped


@dataclass
class Timing:
    name: str
    ms: float | None  # median wall time; None: not available in this build
    runs: int = 0
    rss_mb: float | None = None
    note: str = ""


def run_once(
    cmd: list[str],
    env: dict[str, str],
    *,
    pty_size: tuple[int, int] | None = None,
    stdout: Any = subprocess.DEVNULL,
) -> tuple[float, int, float, str]:
    """Run ``cmd`` once: (wall ms, exit code, its own peak RSS in MB, last line of stderr).
    Its standard output goes to ``stdout`` (a file), or nowhere.

    os.wait4 gives the child's own rusage (RUSAGE_CHILDREN is a high-water mark over every child
    so far). With ``pty_size`` the command runs on a pseudo-terminal of that many rows and
    columns, whose output is drained as it comes. Stopped (exit -9) after LIMIT seconds.
    """
    master = -1
    err = tempfile.TemporaryFile()  # noqa: SIM115  (closed below, after reading)
    if pty_size is not None:
        import fcntl
        import pty
        import struct
        import termios

        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", *pty_size, 0, 0))
        streams: dict[str, Any] = {"stdin": slave, "stdout": slave, "stderr": slave}
    else:
        streams = {"stdout": stdout, "stderr": err}
    rss_file = None
    if GNU_TIME:
        # The child's own peak: a child forked from this (large) process would otherwise count
        # this process's pages until its exec; GNU time is small and forks it cleanly.
        rss_file = tempfile.NamedTemporaryFile(delete=False)  # noqa: SIM115
        rss_file.close()
        cmd = [GNU_TIME, "-f", "%M", "-o", rss_file.name, *cmd]
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, close_fds=True, **streams)
    if master >= 0:
        os.close(slave)
    timer = threading.Timer(LIMIT, p.kill)
    timer.start()
    try:
        if master >= 0:
            while True:
                r, _, _ = select.select([master], [], [], 0.05)
                if r:
                    try:
                        if not os.read(master, 65536):
                            break
                    except OSError:
                        break  # the child closed the terminal: it has exited
        _, status, usage = os.wait4(p.pid, 0)
    finally:
        timer.cancel()
        if master >= 0:
            os.close(master)
    ms = (time.perf_counter() - t) * 1000
    p.returncode = os.waitstatus_to_exitcode(status)
    err.seek(0)
    lines = err.read().decode(errors="replace").strip().splitlines()
    err.close()
    rss = usage.ru_maxrss / 1024
    if rss_file is not None:
        text = Path(rss_file.name).read_text().strip().splitlines()
        Path(rss_file.name).unlink()
        rss = int(text[-1]) / 1024 if text and text[-1].isdigit() else 0.0
        if p.returncode == 1 and text and text[0].startswith("Command exited with non-zero"):
            p.returncode = int(text[0].rsplit(" ", 1)[-1])
    return ms, p.returncode, rss, lines[-1] if lines else ""


def timed(
    name: str,
    cmd: list[str],
    runs: int,
    *,
    ok: tuple[int, ...] = (0,),
    env: dict[str, str] | None = None,
    note: str = "",
    pty_size: tuple[int, int] | None = None,
) -> Timing:
    """Median wall time over ``runs`` whole-process runs after a warm-up, and the peak RSS.

    A command slower than SLOW seconds is measured once (its warm-up) so that ``make bench``
    stays within minutes; one slower than LIMIT seconds is stopped and reported as such.
    """
    e = {**os.environ, **(env or {})}
    times: list[float] = []
    peak = 0.0
    for n in range(runs + 1):
        ms, code, rss, last = run_once(cmd, e, pty_size=pty_size)
        if code == -9:
            return Timing(name, None, note=f"stopped after {LIMIT:.0f} s")
        if code not in ok:
            return Timing(name, None, note=f"failed (exit {code}): {last}")
        peak = max(peak, rss)
        if n == 0 and ms > SLOW * 1000:
            times = [ms]
            note = (note + "; " if note else "") + "slow: one run"
            break
        if n:
            times.append(ms)
    return Timing(name, statistics.median(times), len(times), peak, note)


def available(*sub: str) -> bool:
    r = subprocess.run([BIN, *sub, "--help"], capture_output=True)
    return r.returncode == 0


# -- the national database ------------------------------------------------------------------------


def data_files(data: Path) -> list[Path]:
    return sorted(data.glob("provider-level-in-year-*.csv"))


def _key(files: list[Path], years: int, as_of: dt.date) -> str:
    h = hashlib.sha256(f"{years} {as_of} v1".encode())
    for f in files:
        h.update(f"{f.name} {f.stat().st_size}".encode())
    for f in (HERE / "gen.py", ROOT / "src" / "compliance" / "ofsted.py"):
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def import_throughput(files: list[Path], since: dt.date, runs: int) -> tuple[Timing, int, Path]:
    """Time ``import ofsted`` of every file into fresh databases, with each run's peak memory;
    return the last database."""
    times, peak, rows, db = [], 0.0, 0, Path()
    tmp = Path(tempfile.mkdtemp(prefix="bench-import-", dir=OUT))
    for n in range(runs):
        db = tmp / f"import-{n}.db"
        cmd = [BIN, "--db", str(db), "import", "ofsted", "--since", str(since), "--format", "json"]
        with tempfile.TemporaryFile() as out:
            ms, code, rss, last = run_once([*cmd, *map(str, files)], dict(os.environ), stdout=out)
            if code != 0:
                sys.exit(f"import ofsted failed (exit {code}): {last}")
            out.seek(0)
            rows = json.loads(out.read())["total"]["data_rows"]
        times.append(ms)
        peak = max(peak, rss)
    ms = statistics.median(times)
    note = f"{rows} rows, {len(files)} files: {rows / (ms / 1000):,.0f} rows/s"
    return Timing("import ofsted (all files, fresh database)", ms, runs, peak, note), rows, db


def build_national(
    files: list[Path], years: int, as_of: dt.date, imported: Path, rebuild: bool
) -> tuple[Path, dict[str, int]]:
    sys.path.insert(0, str(HERE))
    import gen

    from compliance.store import open_store

    db = OUT / "national.db"
    meta = OUT / "national.json"
    key = _key(files, years, as_of)
    if not rebuild and db.exists() and meta.exists():
        info = json.loads(meta.read_text())
        if info.get("key") == key:
            return db, info["counts"]
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    shutil.copy(imported, db)
    t = time.perf_counter()
    store = open_store(db)
    homes = store.homes()
    events, actions = gen.history_for(homes, years, as_of)
    with store.transaction():
        store.put_network({"name": f"England: Ofsted register + {years} years of history"})
        store.put_actions(actions)
        store.append_events_bulk(events, origin="bench/gen.py")
    store.conn.execute("ANALYZE")
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    counts = store.counts()
    store.close()
    print(f"built {db.name}: {counts} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    meta.write_text(json.dumps({"key": key, "counts": counts}))
    for stale in ("national.toml", "taskdata"):
        p = OUT / stale
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    return db, counts


# -- Taskwarrior on the same open set -------------------------------------------------------------


def taskwarrior(db: Path, as_of: dt.date, days: int, runs: int) -> tuple[Timing, int, int]:
    """Import every open obligation as a pending task with its due date, then time the query."""
    if TASK is None:
        return (
            Timing("task due.before:as-of+30d export", None, note="taskwarrior not installed"),
            0,
            0,
        )
    data = OUT / "taskdata"
    rc = OUT / "taskrc"
    rc.write_text(
        f"data.location={data}\nconfirmation=off\nverbose=nothing\ngc=off\nhooks=off\n"
        "recurrence=off\njson.array=on\n"
    )
    env = {"TASKRC": str(rc), "TASKDATA": str(data)}
    src = OUT / "tasks.json"
    # The pending set is recomputed each run; Taskwarrior's data only when it changed.
    # What a Taskwarrior user would hold as pending: every overdue obligation and the next
    # open one of each home's rule (every open action), as instances of recurring tasks.
    items, seen = [], set()
    for i in _json([BIN, "--db", str(db), "due", "--days", "1200", "--as-of", str(as_of)]):
        key = i["id"] if i["rule"] == "action" else (i["home"], i["rule"])
        if i["status"] == "overdue":
            items.append(i)
        elif key not in seen:
            items.append(i)
            seen.add(key)
    tasks = [
        {
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, i["id"])),
            "status": "pending",
            "description": f"{i['title']} ({i['id']})",
            "project": i["home"],
            "tags": [i["rule"]],
            "entry": "20260101T000000Z",
            "due": i["due"].replace("-", "") + "T000000Z",
        }
        for i in items
    ]
    text = "\n".join(json.dumps(t) for t in tasks)
    if not (data / "pending.data").exists() or not src.exists() or src.read_text() != text:
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        src.write_text(text)
        t = time.perf_counter()
        subprocess.run(
            [TASK, "import", str(src)], env={**os.environ, **env}, capture_output=True, check=True
        )
        print(
            f"taskwarrior: imported {len(tasks)} tasks in {time.perf_counter() - t:.0f} s",
            file=sys.stderr,
        )
    until = as_of + dt.timedelta(days=days + 1)  # due.before is exclusive; 'due' includes the day
    cmd = [TASK, f"due.before:{until}", "status:pending", "export"]
    out = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, check=True)
    n = len(json.loads(out.stdout or "[]"))
    pending = sum(1 for ln in (data / "pending.data").read_text().splitlines() if ln)
    tm = timed(f"task due.before:as-of+{days}d export ({pending} pending)", cmd, runs, env=env)
    return tm, n, pending


def _json(cmd: list[str]) -> list[dict[str, object]]:
    out = subprocess.run([*cmd, "--format", "json"], capture_output=True, text=True, check=True)
    items: list[dict[str, object]] = json.loads(out.stdout)["items"]
    return items


# -- the TUI to first paint, under a pseudo-terminal ----------------------------------------------


def tui_first_paint(db: Path, as_of: dt.date, runs: int, mode: str) -> Timing:
    """The TUI under a 120x40 pseudo-terminal until it exits after its first paint: ``shell``
    (tabs and "Loading"), ``1`` (the first paint with the data)."""
    what = "the shell" if mode == "shell" else "the data"
    name = f"tui to first paint of {what} (pty 120x40)"
    if not available("tui"):
        return Timing(name, None, note="n/a: no tui command")
    env = {"COMPLIANCE_TUI_EXIT_AFTER_PAINT": mode, "TERM": "xterm-256color"}
    cmd = [BIN, "--db", str(db), "tui", "--as-of", str(as_of)]
    return timed(name, cmd, runs, env=env, pty_size=(40, 120))


# -- imports on the hot path ----------------------------------------------------------------------


def heavy_imports(args: list[str]) -> list[str]:
    code = "import sys\nsys.argv = ['compliance', *sys.argv[1:]]\nfrom compliance.shell import main\nmain()\n"
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *args], capture_output=True, text=True
    )
    mods = {ln.rsplit("|", 1)[-1].strip() for ln in r.stderr.splitlines() if "|" in ln}
    return sorted(
        {
            m.split(".")[0]
            for m in mods
            if m.split(".")[0] in ("textual", "icalendar", "rich", "typer", "click")
        }
    )


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--as-of", default="2026-11-22")
    ap.add_argument("--data", type=Path, default=SHARED if SHARED.exists() else EXCERPT)
    ap.add_argument("--rebuild", action="store_true", help="rebuild the cached database")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="leave out the slow rows (export, check, ical of all homes)",
    )
    a = ap.parse_args()
    as_of = dt.date.fromisoformat(a.as_of)
    OUT.mkdir(exist_ok=True)
    os.environ.update(TZ="Europe/London", NO_COLOR="1", COLUMNS="120")
    files = data_files(a.data)
    if not files:
        sys.exit(f"no provider-level-in-year-*.csv files in {a.data}")
    from compliance.dates import add_years

    since = add_years(as_of.replace(day=1), -a.years)
    started = time.perf_counter()
    imp, _rows, imported = import_throughput(files, since, 3)
    db, counts = build_national(files, a.years, as_of, imported, a.rebuild)
    shutil.rmtree(imported.parent, ignore_errors=True)
    # As installed: bytecode compiled (pip does it on install; this checkout's editable install
    # would otherwise recompile every module on every run where PYTHONDONTWRITEBYTECODE is set).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    # 'init' brings the pending index up to date (a cached database may predate this code).
    t = time.perf_counter()
    subprocess.run([BIN, "--db", str(db), "init"], check=True, capture_output=True)
    print(f"index up to date in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    d = ["--db", str(db)]
    day = ["--as-of", str(as_of)]
    secure = next(
        str(h["id"]) for h in _json([BIN, *d, "homes"]) if h["secure"] and h["nation"] == "england"
    )
    r = a.runs
    base = timed("python -c pass (baseline)", [sys.executable, "-c", "pass"], r)
    tw, tw_n, pending = taskwarrior(db, as_of, 30, r)
    rows_out: list[Timing] = [base, tw]
    rows_out.append(timed("compliance --help", [BIN, "--help"], r))
    due = timed(
        "due --days 30 --format json", [BIN, *d, "due", "--days", "30", *day, "--format", "json"], r
    )
    ours_n = len(_json([BIN, *d, "due", "--days", "30", *day]))
    due.note = f"{ours_n} items (taskwarrior: {tw_n})"
    rows_out.append(due)
    rows_out.append(
        timed(
            f"due --home {secure} --format json",
            [BIN, *d, "due", "--home", secure, "--days", "30", *day, "--format", "json"],
            r,
        )
    )
    if a.quick:
        rows_out.append(Timing("export and check national.toml", None, note="left out (--quick)"))
    elif available("check"):
        fixture = OUT / "national.toml"
        # the fixture check reads is the export of the same database (timed: it streams too)
        rows_out.append(
            timed("export (whole database)", [BIN, *d, "export", "--output", str(fixture)], 1)
        )
        rows_out.append(
            timed(
                "check national.toml (exported fixture)",
                [BIN, "check", str(fixture), *day, "--format", "json"],
                max(3, r // 2),
                ok=(0, 1),
            )
        )
    else:
        rows_out.append(Timing("check national.toml", None, note="n/a: no check command"))
    if available("ical"):
        rows_out.append(
            timed(
                f"ical --home {secure}",
                [BIN, *d, "ical", "--home", secure, *day, "--output", "-"],
                r,
            )
        )
        if a.quick:
            rows_out.append(Timing("ical (all homes)", None, note="left out (--quick)"))
        else:
            rows_out.append(
                timed("ical (all homes)", [BIN, *d, "ical", *day, "--output", "-"], max(3, r // 2))
            )
    else:
        rows_out.append(Timing("ical", None, note="n/a: no ical command"))
    for mode in ("shell", "1"):
        rows_out.append(tui_first_paint(db, as_of, max(3, r // 2), mode))
    rows_out.append(imp)
    hygiene = {
        "compliance --help": heavy_imports(["--help"]),
        "due": heavy_imports([*d, "due", *day, "--format", "json"]),
    }
    report(
        rows_out, base, tw, due, counts, pending, hygiene, files, a, time.perf_counter() - started
    )


def report(
    rows: list[Timing],
    base: Timing,
    tw: Timing,
    due: Timing,
    counts: dict[str, int],
    pending: int,
    hygiene: dict[str, list[str]],
    files: list[Path],
    a: argparse.Namespace,
    elapsed: float,
) -> None:
    def ratio(ms: float | None, ref: Timing) -> str:
        return f"{ms / ref.ms:.2f}" if ms is not None and ref.ms else "n/a"

    lines = [
        f"Data: {len(files)} Ofsted files from {a.data}; database {counts['homes']} homes, "
        f"{counts['events']:,} events, {counts['actions']:,} actions; as of {a.as_of}; "
        f"{a.runs} runs, medians; Taskwarrior {pending:,} pending tasks.",
        "",
        "| command | median ms | × python -c pass | × taskwarrior | peak RSS MB | note |",
        "|---|---|---|---|---|---|",
    ]
    for t in rows:
        lines.append(
            f"| {t.name} | {f'{t.ms:.0f}' if t.ms is not None else 'n/a'} | {ratio(t.ms, base)} | "
            f"{ratio(t.ms, tw)} | {f'{t.rss_mb:.0f}' if t.rss_mb else ''} | {t.note} |"
        )
    ours = [t.rss_mb for t in rows if t.rss_mb and t is not tw and t is not base]
    peak = max(ours, default=0.0)
    checks = [
        (
            "due --days 30 at most 1/4 of Taskwarrior's time",
            due.ms is not None and tw.ms is not None and due.ms <= tw.ms / 4,
        ),
        ("due --days 30 under 250 ms", due.ms is not None and due.ms < 250),
        ("due --days 30 peak memory under 200 MB", due.rss_mb is not None and due.rss_mb < 200),
        ("peak memory of every compliance command under 200 MB", peak < 200),
        (
            "--help and due import neither textual nor icalendar (due: nor typer, click)",
            not {"textual", "icalendar", "rich"} & set(hygiene["compliance --help"])
            and not hygiene["due"],
        ),
    ]
    lines += ["", "| target | met |", "|---|---|"]
    lines += [f"| {name} | {'yes' if ok else 'NO'} |" for name, ok in checks]
    lines.append(
        f"\nPeak RSS of our commands: {peak:.0f} MB. Heavy imports: {hygiene}. Bench took {elapsed:.0f} s."
    )
    text = "\n".join(lines)
    print(text)
    (OUT / "results.md").write_text(text + "\n")
    (OUT / "results.json").write_text(
        json.dumps(
            {
                "as_of": a.as_of,
                "counts": counts,
                "rows": [asdict(t) for t in rows],
                "targets": dict(checks),
                "hygiene": hygiene,
                "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
