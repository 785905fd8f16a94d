"""Parse throughput of sources.chains on the largest SPX quotedata file in ../shared/data."""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sources import chains  # noqa: E402

SHARED = Path(os.environ.get("ALVH_SHARED_DATA", ROOT.parent / "shared" / "data"))
FOLDER = SHARED / "options" / "cboe_delayed_quotes"
REPEATS = 10


def main() -> int:
    files = sorted(FOLDER.glob("spx_quotedata_*.csv"), key=lambda p: p.stat().st_size)
    if not files:
        print(f"skip: no SPX quotedata files under {FOLDER}")
        return 0
    chains.session_of(chains.snapshot_time("Date: January 5, 2024 at 4:31 PM EST"))  # warm cal
    largest = files[-1]
    payload = largest.read_bytes()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        rows = chains.parse(payload, largest.name).height
        times.append(time.perf_counter() - start)
    best, median = min(times), sorted(times)[len(times) // 2]
    print(f"largest SPX quotedata file: {largest.name} ({len(payload) / 1e6:.2f} MB, "
          f"{rows} option rows)")
    print(f"  best {best * 1e3:.1f} ms, median {median * 1e3:.1f} ms over {REPEATS} runs")
    print(f"  {rows / best:,.0f} rows/s best, {rows / median:,.0f} rows/s median, "
          f"{len(payload) / 1e6 / median:.1f} MB/s median")
    start, total = time.perf_counter(), 0
    for path in files:
        total += chains.parse(path.read_bytes(), path.name).height
    spent = time.perf_counter() - start
    print(f"all {len(files)} SPX quotedata files: {total} rows in {spent * 1e3:.0f} ms "
          f"({total / spent:,.0f} rows/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
