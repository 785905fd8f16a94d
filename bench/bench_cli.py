"""Whole-process speed of alvh against its peers, side by side in one run (medians of 5).

- `alvh features --as-of D` (one row, printed) vs the same row through the duckdb package
  on the published catalog (target: <= 3x).
- `alvh build --full` vs bench/peer_talib.py, a pandas + TA-Lib script of the core signals
  from the raw CSVs (target: <= 1.5x wall time and peak memory).
The lake holds the inputs the pipeline stores, read from ../shared/data by its own parsers.
Run: .venv/bin/python bench/bench_cli.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.pipeline import INPUT_TABLES  # noqa: E402
from storage.catalog import catalog_path  # noqa: E402
from storage.lake import Lake  # noqa: E402
from tests.features.feature_inputs import all_inputs  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
BIN = Path(sys.executable).parent
DAY, END = "2024-03-01", "2026-08-21"
RUNS = 5


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one process, measured by /usr/bin/time.

    Not by wait4 here: a child forked from this process (which holds the inputs) would
    report this process's memory as its peak.
    """
    t0 = time.perf_counter()
    res = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], env=env, text=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"{argv} failed: {res.stderr}")
    return wall, int(res.stderr.strip().splitlines()[-1]) / 1024


def side_by_side(label: str, ours: list[str], peer: list[str], env: dict[str, str]) -> None:
    """Alternate the two commands RUNS times; print medians and the ratios."""
    a: list[tuple[float, float]] = []
    b: list[tuple[float, float]] = []
    for _ in range(RUNS):
        a.append(run(ours, env))
        b.append(run(peer, env))
    (ta, ma), (tb, mb) = ((statistics.median(x[0] for x in r), statistics.median(x[1] for x in r))
                          for r in (a, b))
    print(f"{label}\n  alvh {ta:6.2f} s {ma:6.0f} MiB | peer {tb:6.2f} s {mb:6.0f} MiB"
          f" | ratio {ta / tb:4.1f}x time, {ma / mb:4.1f}x memory")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        lake = Lake(Path(tmp) / "lake")
        inputs = all_inputs(DATA)
        for name in INPUT_TABLES:
            lake.replace(name, inputs[name])
        env = os.environ | {"ALVH_HOME": lake.root}
        alvh = str(BIN / "alvh")
        run([alvh, "build", "--full", "--date", END], env)  # features_daily and the catalog
        # The catalog's views name files relative to the lake root, as alvh's readers set it.
        query = ("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
                 "con.execute('SET file_search_path = ?', [sys.argv[3]]); "
                 "print(con.execute('SELECT * FROM features_daily WHERE date = ?', "
                 "[sys.argv[2]]).fetchall())")
        side_by_side(f"features of {DAY} (one row)",
                     [alvh, "features", "--as-of", DAY, "--format", "json"],
                     [sys.executable, "-c", query, catalog_path(lake), DAY, lake.root], env)
        side_by_side("build --full (features from the inputs)",
                     [alvh, "build", "--full", "--date", END],
                     [sys.executable, str(ROOT / "bench" / "peer_talib.py"), str(DATA),
                      str(Path(tmp) / "peer.parquet")], env)


if __name__ == "__main__":
    main()
