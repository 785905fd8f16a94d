"""Parse throughput of sources.chains on the largest SPX quotedata file in ../shared/data."""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from sources import chains  # noqa: E402
from storage import schemas  # noqa: E402

SHARED = Path(os.environ.get("ALVH_SHARED_DATA", ROOT.parent / "shared" / "data"))
FOLDER = SHARED / "options" / "cboe_delayed_quotes"
REPEATS = 10


def _best_of(payload: bytes, name: str) -> tuple[int, float, float]:
    """Rows parsed, best and median seconds over REPEATS runs."""
    times, rows = [], 0
    for _ in range(REPEATS):
        start = time.perf_counter()
        rows = chains.parse(payload, name).height
        times.append(time.perf_counter() - start)
    return rows, min(times), sorted(times)[len(times) // 2]


def _report(label: str, payload: bytes, name: str) -> None:
    rows, best, median = _best_of(payload, name)
    print(f"{label}: {name} ({len(payload) / 1e6:.2f} MB, {rows} option rows)")
    print(f"  best {best * 1e3:.1f} ms, median {median * 1e3:.1f} ms over {REPEATS} runs; "
          f"{rows / best:,.0f} rows/s best, {rows / median:,.0f} rows/s median, "
          f"{len(payload) / 1e6 / median:.1f} MB/s median")


def main() -> int:
    files = sorted(FOLDER.glob("spx_quotedata_*.csv"), key=lambda p: p.stat().st_size)
    if not files:
        print(f"skip: no SPX quotedata files under {FOLDER}")
        return 0
    chains.session_of(chains.snapshot_time("Date: January 5, 2024 at 4:31 PM EST"))  # warm cal
    largest = files[-1]
    payload = largest.read_bytes()
    _report("largest SPX quotedata file", payload, largest.name)
    # The same chain in the delayed-quotes JSON layout, written by the project's own writer.
    as_json = chains.render_delayed_json(chains.parse(payload, largest.name).with_columns(
        snapshot_at=pl.lit(chains.snapshot_time("Date: January 5, 2024 at 4:31 PM EST"),
                                  schemas.UTC_TS)))
    _report("same chain as delayed-quotes JSON", as_json, "_SPX.json")
    start, total = time.perf_counter(), 0
    for path in files:
        total += chains.parse(path.read_bytes(), path.name).height
    spent = time.perf_counter() - start
    print(f"all {len(files)} SPX quotedata files: {total} rows in {spent * 1e3:.0f} ms "
          f"({total / spent:,.0f} rows/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
