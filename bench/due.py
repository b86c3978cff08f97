"""Benchmark for the core: time ``compliance due`` on a national-size network, as whole processes.

    python bench/due.py [--homes 3000] [--years 2 10] [--runs 7]

Builds the databases with bench/gen.py (cached in bench/out/), then times, over several runs
with medians: a bare interpreter (``python -c pass``, the baseline measured in the same run),
``compliance --help``, ``compliance due --days 30 --format json`` on the whole network and for
one home. Figures are reported as milliseconds and as ratios to the baseline, because these
machines are shared and noisy. Peak memory is the max RSS of the ``due`` process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
BIN = Path(sys.executable).parent / "compliance"


def timed(cmd: list[str], runs: int) -> tuple[float, int]:
    """Median wall time in ms over ``runs`` (after one warm-up) and the largest peak RSS in KB of
    the timed processes themselves (os.wait4 gives each child's own, not a high-water mark over
    every child so far, which would count the database builds)."""
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    times, peak = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        times.append((time.perf_counter() - t) * 1000)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}")
        peak = max(peak, usage.ru_maxrss)
    return statistics.median(times), peak


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--homes", type=int, default=3000)
    ap.add_argument("--years", type=int, nargs="+", default=[2, 10])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--as-of", default="2026-11-22")
    a = ap.parse_args()
    sys.path.insert(0, str(HERE))
    import gen

    OUT.mkdir(exist_ok=True)
    os.environ["TZ"] = "Europe/London"
    base, _ = timed([sys.executable, "-c", "pass"], a.runs)
    rows = [("python -c pass (baseline)", base, 0)]
    helpt, _ = timed([str(BIN), "--help"], a.runs)
    rows.append(("compliance --help", helpt, 0))
    for years in a.years:
        db = OUT / f"national-{a.homes}-{years}y.db"
        if not db.exists():
            h, e = gen.build(db, a.homes, years, dt.date.fromisoformat(a.as_of))
            print(f"built {db.name}: {h} homes, {e} events", file=sys.stderr)
        due = [
            str(BIN),
            "--db",
            str(db),
            "due",
            "--days",
            "30",
            "--as-of",
            a.as_of,
            "--format",
            "json",
        ]
        t, rss = timed(due, a.runs)
        rows.append((f"due --days 30 --format json ({a.homes} homes, {years} y)", t, rss))
        t, rss = timed([*due, "--home", "home-00042"], a.runs)
        rows.append((f"due --home ID ({a.homes} homes, {years} y)", t, rss))
    print("| command | median ms | × baseline | peak RSS MB |\n|---|---|---|---|")
    for name, ms, rss in rows:
        print(
            f"| {name} | {ms:.0f} | {ms / base:.1f} | {rss / 1024:.0f} |"
            if rss
            else f"| {name} | {ms:.0f} | {ms / base:.1f} | |"
        )


if __name__ == "__main__":
    main()
