"""Parse throughput (rows/s) of the project's parsers on the real files in ../shared/data.

CFE VX futures: every per-contract CFE file (2008-2015), the combined 2013-2025 file and the
two 2006-2008 contracts, one by one and in total. SPX chains: the largest quotedata export,
the same chain in the delayed-quotes JSON layout (the project's own writer), and all the
quotedata files. Each figure is the best and the median of REPEATS runs, files read once.

Run: ``.venv/bin/python bench/bench_parse.py``.
"""

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from sources import cfe, chains  # noqa: E402
from storage import schemas  # noqa: E402

SHARED = Path(os.environ.get("ALVH_SHARED_DATA", ROOT.parent / "shared" / "data"))
VX = SHARED / "vx_futures"
QUOTES = SHARED / "options" / "cboe_delayed_quotes"
REPEATS = 5
Parser = Callable[[bytes, str], pl.DataFrame]


def timed(parse: Parser, files: list[tuple[str, bytes]]) -> tuple[int, list[float]]:
    """Rows parsed from ``files`` and the seconds each of REPEATS passes over them took."""
    times, rows = [], 0
    for _ in range(REPEATS):
        start = time.perf_counter()
        rows = sum(parse(payload, name).height for name, payload in files)
        times.append(time.perf_counter() - start)
    return rows, times


def report(label: str, parse: Parser, files: list[tuple[str, bytes]]) -> None:
    """One line: files, MB, rows, best/median time and rows/s."""
    rows, times = timed(parse, files)
    best, median = min(times), statistics.median(times)
    mb = sum(len(p) for _, p in files) / 1e6
    print(f"{label:<44} {len(files):>3} file(s) {mb:6.2f} MB {rows:>8,} rows  "
          f"best {best * 1e3:7.1f} ms  median {median * 1e3:7.1f} ms  "
          f"{rows / best:>11,.0f} rows/s best  {rows / median:>11,.0f} rows/s median")


def read(paths: list[Path]) -> list[tuple[str, bytes]]:
    """(name, bytes) of each path, read once before timing."""
    return [(p.name, p.read_bytes()) for p in paths]


def bench_cfe() -> None:
    """The CFE VX files: per-contract folder, combined file, the two old contracts, all."""
    per_contract = read(sorted((VX / "cfe_2008_2015").glob("CFE_*_VX.csv")))
    combined = read([VX / "cfe_vx_all_monthly_contracts_2013_2025.csv"])
    old = read(sorted(VX.glob("CFE_VX_K200*.csv")))
    report("CFE per-contract files 2008-2015", cfe.parse, per_contract)
    report("CFE combined file 2013-2025", cfe.parse, combined)
    report("CFE 2006-2008 contracts (x10 scale)", cfe.parse, old)
    report("CFE all files", cfe.parse, per_contract + combined + old)


def bench_chains() -> None:
    """The largest SPX quotedata file, the same chain as JSON, and every quotedata file."""
    paths = sorted(QUOTES.glob("spx_quotedata_*.csv"), key=lambda p: p.stat().st_size)
    largest = read(paths[-1:])
    report(f"largest SPX quotedata ({largest[0][0]})", chains.parse, largest)
    stamp = chains.snapshot_time("Date: January 5, 2024 at 4:31 PM EST")
    frame = chains.parse(largest[0][1], largest[0][0])
    as_json = chains.render_delayed_json(frame.with_columns(
        snapshot_at=pl.lit(stamp, schemas.UTC_TS)))
    report("same chain as delayed-quotes JSON", chains.parse, [("_SPX.json", as_json)])
    report("all SPX quotedata files", chains.parse, read(paths))


def main() -> int:
    """Run the benchmarks whose files are present."""
    if not VX.exists() or not QUOTES.exists():
        print(f"skip: real data not found under {SHARED}")
        return 0
    # Warm the NYSE calendar (built once per process) outside the timings.
    chains.session_of(chains.snapshot_time("Date: January 5, 2024 at 4:31 PM EST"))
    cfe.parse((VX / "CFE_VX_K2007.csv").read_bytes(), "CFE_VX_K2007.csv")
    print(f"best and median of {REPEATS} passes; polars {pl.__version__}, "
          f"{os.cpu_count()} CPU(s)")
    bench_cfe()
    bench_chains()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
