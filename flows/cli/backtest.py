"""``alvh backtest``: the policy walked through history, strategies side by side."""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from core.errors import PipelineError
from flows.cli.app import Format, State, app, emit, fail, out, parse_day

if TYPE_CHECKING:
    import polars as pl

    from backtest.run import Result
    from storage.lake import Lake


class BacktestFormat(StrEnum):
    """Output formats of a backtest."""

    table = "table"
    json = "json"


SUMMARY_COLUMNS = ("strategy", "scope", "cagr", "volatility", "max_drawdown", "worst_day",
                   "worst_day_pnl", "hedge_cost_per_year", "ladder_pnl_per_year",
                   "untestable_days", "quote_share")
RANGE_COLUMNS = ("cagr", "max_drawdown", "hedge_cost_per_year", "ladder_pnl_per_year",
                 "condor_pnl")
CLAIM_COLUMNS = ("date", "strategy", "spx_return", "condor_pnl", "ref_condor_pnl", "ladder_pnl",
                 "recovery", "recovery_ref", "recovery_sessions", "unhedged_recovery_sessions")


def _cell(v: object) -> object:
    return f"{v:,.4g}" if isinstance(v, float) else v


@app.command(name="backtest")
def backtest_cmd(
    start: Annotated[str, typer.Option(help="First session (YYYY-MM-DD)")],
    end: Annotated[str, typer.Option(help="Last session (YYYY-MM-DD)")],
    policy: Annotated[str | None, typer.Option(help="Policy TOML [env: ALVH_POLICY]")] = None,
    sweep: Annotated[str | None, typer.Option(
        help="Grid TOML: run every variant as one Prefect flow on Dask")] = None,
    format: Annotated[BacktestFormat, typer.Option("--format", "-f")] = BacktestFormat.table,
    report: Annotated[bool, typer.Option(
        "--report", help="Write <home>/reports/backtest_<policy>_<start>_<end>.html")] = False,
    workers: Annotated[int, typer.Option(
        help="Dask workers of a sweep (local cluster), and the tasks it is split into")] = 2,
    dask_address: Annotated[str | None, typer.Option(
        help="An existing Dask scheduler for a sweep, e.g. tcp://host:8786")] = None,
) -> None:
    """Walk the policy through [start, end]: no hedge, ALVH stress and vega, static, VXTH."""
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    assert first is not None and last is not None
    if last < first:
        raise fail("--end is before --start", 2)
    if sweep:
        _sweep(first, last, policy, sweep, workers, dask_address)
        return
    _single(first, last, policy, format, report)


def _single(first: dt.date, last: dt.date, policy: str | None, fmt: BacktestFormat,
            report: bool) -> None:
    from backtest.metrics import claims, pricing_range, verdict, views
    from backtest.run import backtest as run_backtest
    from backtest.run import store
    from core.clock import utc_now
    from flows.pipeline import publish
    from hedge.policy import load_policy

    lake = State.lake()
    try:
        pol = load_policy(policy or State.settings.policy)
        result = run_backtest(lake, first, last, pol, utc_now())
        store(lake, result)
        if lake.local:
            publish(lake)
    except (PipelineError, ValueError) as e:
        raise fail(str(e)) from None
    daily, summary = views(result)
    ranges = pricing_range(result)
    ranges = ranges.filter(ranges["scope"] == "all")
    table = claims(daily, summary, pol)
    claimed = verdict(table, summary, pol)
    if report:
        _write_report(lake, result, daily, summary, table, claimed)
    if fmt is BacktestFormat.json:
        untestable = result.daily.filter(~result.daily["testable"]).select(
            "date", "strategy", "untestable_reason")
        sys.stdout.write(json.dumps({"run_id": result.run_id,
                                     "run": result.run.drop("policy").to_dicts(),
                                     "summary": summary.to_dicts(), "claims": table.to_dicts(),
                                     "verdict": claimed.to_dicts(),
                                     "pricing_range": ranges.to_dicts(),
                                     "untestable": untestable.to_dicts()},
                                    default=str, indent=1) + "\n")
        return
    emit(list(SUMMARY_COLUMNS), [tuple(_cell(v) for v in r) for r in
                                 summary.select(SUMMARY_COLUMNS).iter_rows()],
         Format.table, title=f"backtest {result.run_id}")
    if result.bands:
        emit(["strategy", *RANGE_COLUMNS], [
            (r["strategy"], *(f"{_cell(r[c])} [{_cell(r[c + '_pricing_lo'])}, "
                              f"{_cell(r[c + '_pricing_hi'])}]" for c in RANGE_COLUMNS))
            for r in ranges.iter_rows(named=True)], Format.table,
            title="central [range] with model prices at the calibration's low and high error "
                  "band (runs :lo, :hi)")
    if table.height:
        named = table.filter(table["date"].is_in(list(pol.backtest.crash_days))
                             | (table["spx_return"] < -2 * pol.backtest.crash_drop_pct))
        emit(list(CLAIM_COLUMNS), [tuple(_cell(v) for v in r) for r in
                                   named.select(CLAIM_COLUMNS).iter_rows()], Format.table,
             title=f"claims: named crash days and SPX falls over "
                   f"{2 * pol.backtest.crash_drop_pct:.0%} ({table['date'].n_unique()} crash "
                   "days in all: --format json)")
        emit(claimed.columns, [tuple(_cell(v) for v in r) for r in claimed.iter_rows()],
             Format.table, title="the claims against the data")


def _write_report(lake: Lake, result: Result, daily: pl.DataFrame, summary: pl.DataFrame,
                  table: pl.DataFrame, claimed: pl.DataFrame) -> None:
    from core.clock import utc_now
    from flows.backtest_report import page

    name = result.run_id.replace(":", "_")
    path = lake.path("reports", f"backtest_{name}.html")
    lake.put_bytes(path, page(result.run, daily, summary, table, claimed, utc_now()).encode())
    out.print(f"report written: {path}", highlight=False, soft_wrap=True)


def _sweep(first: dt.date, last: dt.date, policy: str | None, sweep: str, workers: int,
           dask_address: str | None) -> None:
    from flows.run_backtest import backtest_flow

    try:
        ids = backtest_flow(start=first, end=last, policy=policy, sweep=sweep,
                            home=State.settings.home, workers=workers,
                            dask_address=dask_address)
    except PipelineError as e:
        raise fail(str(e)) from None
    out.print(f"{len(ids)} run(s) stored: alvh sql \"SELECT * FROM v_backtest_summary\"",
              highlight=False)
