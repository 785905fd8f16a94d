"""Backtest figures: the whole 2006-2025 run of one policy against one full features build,
and a 32-variant sweep on 1 and on 2 Dask workers.

Inputs: ../shared/data into a temporary lake (VX settlements from 2006: CFE's per-contract
files before 2013, the combined file after). Prints:
- `alvh build --full` (pipeline.build, gate included) and the 2006-01-03..2025-03-31
  backtest of the default policy (all five strategies, stored), measured in the same run,
  and their ratio (target: the backtest <= 3x the build);
- the run's summary and claims table;
- a 32-variant sweep (ten years each, as sweeps are run in earnest) as one Prefect flow on
  Dask with 1 and 2 workers (one thread each, polars and numba included), and
  the speed-up (target >= 1.7x; a 2-core machine shared with other work will show less):
  once as `alvh backtest --sweep` runs it (the flow starts and stops its own local cluster,
  which costs seconds of process start-up and shut-down whatever the sweep), and once on a
  local cluster started beforehand (`--dask-address`), which times the sweep alone.
Run: .venv/bin/python bench/bench_backtest.py [--no-sweep | --sweep-only]
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backtest.metrics import claims, pricing_range, verdict, views  # noqa: E402
from backtest.run import backtest, store  # noqa: E402
from flows.nightly import ONE_THREAD_WORKER  # noqa: E402
from flows.pipeline import build  # noqa: E402
from hedge.policy import load_policy, policy_from_mapping  # noqa: E402
from storage.lake import Lake  # noqa: E402
from tests.backtest.real_lake import history_inputs  # noqa: E402

NOW = dt.datetime(2026, 8, 22, tzinfo=dt.UTC)
BUILD_END = dt.date(2026, 8, 21)
START, END = dt.date(2006, 1, 3), dt.date(2025, 3, 31)
SWEEP_START, SWEEP_END = dt.date(2010, 1, 1), dt.date(2019, 12, 31)
SUMMARY = ("strategy", "cagr", "volatility", "max_drawdown", "worst_day", "worst_day_pnl",
           "hedge_cost_per_year", "ladder_pnl_per_year", "condor_pnl", "untestable_days",
           "quote_share")
RANGE = ("cagr", "max_drawdown", "ladder_pnl_per_year", "condor_pnl")
CLAIMS = ("date", "strategy", "spx_return", "condor_pnl", "ref_condor_pnl", "ladder_pnl",
          "recovery", "recovery_ref", "recovery_sessions", "unhedged_recovery_sessions",
          "testable")
GRID = ('[grid]\n"ladder.coverage_quiet" = [0.2, 0.4, 0.6, 0.8]\n'
        '"ladder.coverage_lit" = [0.4, 0.6, 0.8, 1.0]\n'
        '"backtest.vix_half_spread_pct" = [0.02, 0.05]\n')


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def lake_of_shared_data(root: Path) -> Lake:
    lake = Lake(root)
    for name, frame in history_inputs().items():
        lake.replace(name, frame)
    return lake


def bench_run(lake: Lake) -> None:
    _, t_build = timed(build, lake, BUILD_END, now=NOW, full=True)
    policy = load_policy()
    central = policy_from_mapping(policy.model_dump(mode="json")
                                  | {"backtest": policy.backtest.model_dump(mode="json")
                                     | {"pricing_bands": False}})
    _, t_central = timed(backtest, lake, START, END, central, NOW)
    result, t_run = timed(backtest, lake, START, END, policy, NOW)
    _, t_store = timed(store, lake, result)
    total = t_run + t_store
    print(f"alvh build --full:             {t_build:7.1f} s")
    print(f"backtest {START}..{END}: {total:7.1f} s  (three walks: central and the two "
          f"pricing bands, {t_run:.1f} s; store {t_store:.1f} s; {result.daily.height} daily "
          f"rows, {result.trades.height} trades)")
    print(f"ratio backtest / build:        {total / t_build:7.2f}x  (target <= 3x)")
    print(f"central walk alone:            {t_central:7.1f} s  ({t_central / t_build:.2f}x)")
    daily, summary = views(result)
    table = claims(daily, summary, policy)
    with pl.Config(tbl_rows=100, tbl_cols=40, tbl_width_chars=400, tbl_formatting="MARKDOWN",
                   tbl_hide_column_data_types=True, tbl_hide_dataframe_shape=True,
                   float_precision=3, thousands_separator=","):
        print(result.run.drop("policy", "computed_at"))
        print(summary.filter(pl.col("scope") == "all").select(SUMMARY))
        print(pricing_range(result).filter(pl.col("scope") == "all").select(
            "strategy", *(f"{f}{e}" for f in RANGE for e in ("", "_pricing_lo",
                                                              "_pricing_hi"))))
        print(table.filter(pl.col("date").is_in(list(policy.backtest.crash_days)))
              .select(CLAIMS))
        print(verdict(table, summary, policy))


def bench_sweep(lake: Lake, tmp: Path) -> None:
    from distributed import LocalCluster
    from prefect.testing.utilities import prefect_test_harness

    from flows.run_backtest import backtest_flow

    grid = tmp / "grid.toml"
    grid.write_text(GRID)
    with prefect_test_harness(server_startup_timeout=120):
        for started in (False, True):
            times = {}
            for workers in (1, 2):
                if started:
                    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                      dashboard_address=":0", env=ONE_THREAD_WORKER) as cluster:
                        ids, times[workers] = timed(
                            backtest_flow, start=SWEEP_START, end=SWEEP_END, sweep=str(grid),
                            home=lake.root, workers=workers, dask_address=cluster.scheduler_address)
                else:
                    ids, times[workers] = timed(backtest_flow, start=SWEEP_START, end=SWEEP_END,
                                                sweep=str(grid), home=lake.root, workers=workers)
                how = "cluster started before" if started else "flow's own cluster"
                print(f"sweep, {len(ids)} variants x {SWEEP_START.year}, {workers} worker(s), "
                      f"{how}: {times[workers]:.1f} s")
            print(f"speed-up 2 vs 1 workers ({how}): {times[1] / times[2]:.2f}x  "
                  "(target >= 1.7x)")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        lake = lake_of_shared_data(Path(tmp) / "lake")
        if "--sweep-only" in sys.argv:
            build(lake, BUILD_END, now=NOW, full=True)  # the features the sweep walks
        else:
            bench_run(lake)
        if "--no-sweep" not in sys.argv:
            bench_sweep(lake, Path(tmp))


if __name__ == "__main__":
    main()
