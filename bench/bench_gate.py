"""Cost of the validation gate per table on the real data in ../shared/data.

Each table is parsed with the project's own parsers (sources/), stamped with ingested_at,
then validated: the first run (GX suite registration, NYSE calendar load) and the median of
warm runs are reported, with the polars -> pandas hand-over measured on its own (Arrow-backed
vs NumPy-backed) and one run that also builds Data Docs. Target: <= 1 s per daily table.
"""

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from sources import breadth, calendar, cboe, cfe, chains, config, fred  # noqa: E402
from storage import schemas  # noqa: E402
from validations import Rules, build_suite, gx, validate  # noqa: E402

SHARED = Path(os.environ.get("ALVH_SHARED_DATA", ROOT.parent / "shared" / "data"))
NOW = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
WARM_RUNS = 5
CONFIG = config.load()
FRED_RULES = CONFIG.fred.rules
# The integrator's wiring: per-series bounds from the sources config become suite Rules.
RULES = {
    "macro_observations": Rules(series_bounds={k: (r.min, r.max) for k, r in FRED_RULES.items()}),
    "index_daily": Rules(series_bounds={k: (b.min, b.max) for k, b in CONFIG.cboe.bounds.items()}),
}


def _read(*parts: str) -> tuple[bytes, str]:
    path = SHARED.joinpath(*parts)
    return path.read_bytes(), path.name


def _stamped(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    frame = frame.with_columns(pl.lit(NOW).cast(schemas.UTC_TS).alias("ingested_at"))
    return schemas.get(table).conform(frame)


def index_daily() -> pl.DataFrame:
    names = ["VIX", "VIX9D", "VIX3M", "VIX6M", "VVIX", "SKEW", "SPX"]
    return pl.concat([cboe.parse(*_read("cboe", f"{n}_History.csv")) for n in names])


def vx_futures() -> pl.DataFrame:
    return cfe.parse(*_read("vx_futures", "cfe_vx_all_monthly_contracts_2013_2025.csv"))


def option_chain() -> pl.DataFrame:
    return chains.parse(*_read("options", "cboe_delayed_quotes", "spx_quotedata_2023-06-09.csv"))


def breadth_daily() -> pl.DataFrame:
    files = ["NYSE_ADV_advancing_issues.csv", "NYSE_DECL_declining_issues.csv",
             "NYSE_UCHG_unchanged_issues.csv", "NYSE_MAHN_new_highs.csv",
             "NYSE_MALN_new_lows.csv"]
    return breadth.combine([breadth.parse(*_read("breadth", f)) for f in files])


def macro_observations() -> pl.DataFrame:
    names = ["DFF.csv", "DGS10.csv", "DGS2.csv"]
    return pl.concat([fred.parse(*_read("fred", "derived_from_heliar", n), rules=FRED_RULES)
                      for n in names])


def events() -> pl.DataFrame:
    return calendar.parse(*_read("calendar", "macro_events_fomc_cpi_nfp_2024_2026.csv"))


LOADERS: dict[str, Callable[[], pl.DataFrame]] = {
    "index_daily": index_daily, "vx_futures": vx_futures, "option_chain": option_chain,
    "breadth_daily": breadth_daily, "macro_observations": macro_observations, "events": events,
}


def handover_ms(table: str, frame: pl.DataFrame, arrow: bool) -> float:
    """Median ms to prepare the inspected columns and hand them to pandas."""
    suite = build_suite(table, RULES.get(table, Rules()), published_rows=0)
    times = []
    for _ in range(WARM_RUNS):
        start = time.perf_counter()
        suite.prepare(frame).select(suite.columns()).to_pandas(use_pyarrow_extension_array=arrow)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def warm_median(table: str, frame: pl.DataFrame, arrow: bool) -> float:
    """Median seconds of a warm gate run with NumPy- or Arrow-backed pandas."""
    gx.ARROW_BACKED = arrow
    try:
        runs = [validate(table, frame, published_rows=frame.height,
                         rules=RULES.get(table)).elapsed for _ in range(WARM_RUNS)]
    finally:
        gx.ARROW_BACKED = False
    return statistics.median(runs)


def bench(table: str, frame: pl.DataFrame, docs: Path) -> None:
    rules, rows = RULES.get(table), frame.height
    first = validate(table, frame, published_rows=rows, rules=rules)
    numpy_s, arrow_s = warm_median(table, frame, False), warm_median(table, frame, True)
    with_docs = validate(table, frame, published_rows=rows, rules=rules, docs_dir=docs).elapsed
    hand_np, hand_arrow = handover_ms(table, frame, False), handover_ms(table, frame, True)
    print(f"{table:19s} {rows:6d} rows | first {first.elapsed:4.2f} s | warm {numpy_s:4.2f} s "
          f"(Arrow-backed {arrow_s:4.2f} s) | +docs {with_docs:4.2f} s | hand-over "
          f"{hand_np:4.1f} ms (Arrow {hand_arrow:4.1f} ms) | "
          f"{'PASS' if first.success else 'BLOCKED'}, {len(first.warnings)} warning(s)")
    for f in [*first.failures, *first.warnings]:
        print(f"    {'blocking' if f.blocking else 'soft':8s} {f.describe()[:150]}")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        for table, load in LOADERS.items():
            try:
                frame = _stamped(table, load())
            except Exception as e:  # a parser in flux must not hide the other tables' figures
                print(f"{table:20s} could not load real data: {type(e).__name__}: {e}")
                continue
            bench(table, frame, Path(tmp) / "reports" / "validation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
