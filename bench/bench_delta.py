"""Nightly ingest + build on Delta tables against the Parquet lake it replaces, side by side.

The same workload runs on two code trees in fresh processes: this checkout (Delta Lake
tables) and the commit before the migration (hive Parquet, temp-file + rename; exported
with `git archive`, override with ALVH_BENCH_BASE=<commit>). For each: a lake holding the
history up to the day before D (ingested, features built), then three timed "nightlies":
every source's files ingested again with day D in them, and the incremental build of D.
Prints the median seconds of each and the ratio. Target: Delta within 1.2x.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from core.calendar import trading_days
from demo_market import simulator

ROOT = Path(__file__).resolve().parents[1]
START, END = dt.date(2024, 1, 2), dt.date(2025, 12, 31)
BASE = os.environ.get("ALVH_BENCH_BASE", "9c2e135")  # the last commit on Parquet tables

WORKLOAD = textwrap.dedent("""
    import datetime as dt, json, shutil, sys, time
    from pathlib import Path
    from flows.ingest import SOURCE_NAMES, Run, ingest, plan_from
    from flows.pipeline import build
    from flows.settings import Settings
    from sources.http import HttpClient
    from storage.lake import Lake

    provider, work, day = Path(sys.argv[1]), Path(sys.argv[2]), dt.date.fromisoformat(sys.argv[3])
    config = Settings().sources_config()

    def ingest_all(lake, now, end):
        with HttpClient() as client:
            for s in SOURCE_NAMES:
                ingest(s, Run(lake, config, day, now, end=end), client=client,
                       files=plan_from(s, provider / s))

    history = Lake(work / "history")
    now = dt.datetime.now(dt.UTC)
    ingest_all(history, now, day - dt.timedelta(days=1))
    build(history, day - dt.timedelta(days=1), now=now, full=True)
    times = []
    for i in range(3):
        home = work / f"nightly{i}"
        shutil.copytree(history.root, home)
        lake, now = Lake(home), dt.datetime.now(dt.UTC)
        t0 = time.perf_counter()
        ingest_all(lake, now, None)
        build(lake, day, now=now)
        times.append(time.perf_counter() - t0)
    print(json.dumps(times))
""")


def base_tree(folder: Path) -> Path:
    """The Parquet-era code, exported from git into ``folder``."""
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASE], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def nightly_times(tree: Path, provider: Path, work: Path, day: dt.date) -> list[float]:
    """Seconds of each timed nightly with the code in ``tree``."""
    work.mkdir()
    env = os.environ | {"PYTHONPATH": str(tree), "PREFECT_LOGGING_LEVEL": "WARNING"}
    res = subprocess.run([sys.executable, "-c", WORKLOAD, str(provider), str(work),
                          day.isoformat()], env=env, cwd=tree, capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError(res.stderr[-2000:])
    return list(json.loads(res.stdout.strip().splitlines()[-1]))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        provider = Path(tmp) / "provider"
        simulator.write_raw(provider, START, END, seed=3, chain_days=5)
        day = trading_days(START, END)[-1]
        parquet = nightly_times(base_tree(Path(tmp) / "base"), provider, Path(tmp) / "p", day)
        delta = nightly_times(ROOT, provider, Path(tmp) / "d", day)
    p, d = statistics.median(parquet), statistics.median(delta)
    print(f"nightly ingest + build, two years of history, day {day}:")
    print(f"  Parquet (temp file + rename, {BASE}): {p:.2f} s  {[round(t, 2) for t in parquet]}")
    print(f"  Delta Lake (this checkout):          {d:.2f} s  {[round(t, 2) for t in delta]}")
    print(f"  ratio Delta / Parquet: {d / p:.2f}x (target <= 1.2x)")


if __name__ == "__main__":
    main()
