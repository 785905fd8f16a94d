"""The summary and the claims table of a run, through the same SQL as the catalog's views.

Claims (ALVH.md "Claims worth testing"): on each crash day, the condor's loss, the ladder's
gain and recovery = gain / loss; the drawdown with and without the ladder; and the exit-timing
measure: sessions from the crash day until the equity is back at its pre-crash high
(``recovery_sessions``), hedged against the unhedged condor.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from backtest.run import Result
from backtest.views import in_memory
from hedge.policy import Policy

HEDGED = ("alvh_stress", "alvh_vega", "static", "vxth")


def views(result: Result) -> tuple[pl.DataFrame, pl.DataFrame]:
    """v_backtest_daily and v_backtest_summary of one run, computed in memory."""
    daily, summary, _ = _views(result)
    return daily, summary


def yearly(result: Result) -> pl.DataFrame:
    """v_backtest_yearly of one run: P&L per strategy and calendar year."""
    return _views(result)[2]


def _views(result: Result) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    daily, summary, years = in_memory(
        result.run, result.daily, result.bootstrap,
        "SELECT * FROM v_backtest_daily ORDER BY strategy, date",
        "SELECT * FROM v_backtest_summary ORDER BY scope, strategy",
        "SELECT * FROM v_backtest_yearly ORDER BY strategy, year")
    return daily, summary, years


def pricing_range(result: Result) -> pl.DataFrame:
    """v_backtest_pricing_range of one run: each figure beside its range over the band runs."""
    runs = (result, *result.bands)
    return in_memory(pl.concat([r.run for r in runs]), pl.concat([r.daily for r in runs]),
                     result.bootstrap,
                     "SELECT * FROM v_backtest_pricing_range ORDER BY scope, strategy")[0]


def crash_days(daily: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Named crash days and sessions where SPX fell more than the policy's drop, with the return."""
    spx = (daily.filter(pl.col("strategy") == "no_hedge").sort("date")
           .select("date", "vix_close", (pl.col("spx_close") / pl.col("spx_close").shift(1) - 1)
                   .alias("spx_return")))
    named = pl.col("date").is_in(list(policy.backtest.crash_days))
    return spx.filter(named | (pl.col("spx_return") < -policy.backtest.crash_drop_pct))


def recovery_sessions(daily: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """Per strategy: sessions from ``day`` until equity regains its high before ``day``."""
    before = daily.filter(pl.col("date") < day).group_by("strategy").agg(
        pl.col("equity").max().alias("high"))
    after = daily.filter(pl.col("date") >= day).join(before, on="strategy")
    back = after.group_by("strategy").agg(
        pl.col("date").filter(pl.col("equity") >= pl.col("high") - 1e-6).min().alias("back"))
    sessions = after.join(back, on="strategy").filter(
        (pl.col("date") > day) & (pl.col("date") <= pl.col("back"))
    ).group_by("strategy").len("recovery_sessions")
    return back.join(sessions, on="strategy", how="left").with_columns(
        pl.when(pl.col("back").is_not_null()).then(pl.col("recovery_sessions").fill_null(0))
        .alias("recovery_sessions")).select("strategy", "recovery_sessions")


def _ratio(gain: pl.Expr, loss: pl.Expr) -> pl.Expr:
    """Gain / loss where the loss is a loss; null otherwise (no condor, or a winning day)."""
    return pl.when(loss < 0).then(gain / -loss).otherwise(None)


def claims(daily: pl.DataFrame, summary: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """One row per crash day and hedged strategy (daily: v_backtest_daily of one run)."""
    days = crash_days(daily, policy)
    dd = summary.filter(pl.col("scope") == "all").select("strategy", "max_drawdown")
    unhedged_dd = dd.filter(pl.col("strategy") == "no_hedge")["max_drawdown"]
    parts = []
    for day, _vix, ret in days.iter_rows():
        rec = recovery_sessions(daily, day)
        base = rec.filter(pl.col("strategy") == "no_hedge")["recovery_sessions"]
        parts.append(daily.filter((pl.col("date") == day) & pl.col("strategy").is_in(HEDGED))
                     .join(rec, on="strategy", how="left").with_columns(
                         pl.lit(ret).alias("spx_return"),
                         pl.lit(base[0] if base.len() else None, dtype=pl.UInt32)
                         .alias("unhedged_recovery_sessions")))
    if not parts:
        return pl.DataFrame()
    return pl.concat(parts).join(dd, on="strategy", how="left").select(
        "date", "strategy", "spx_return", "vix_close", "condor_pnl", "ref_condor_pnl",
        "ladder_pnl", _ratio(pl.col("ladder_pnl"), pl.col("condor_pnl")).alias("recovery"),
        _ratio(pl.col("ladder_pnl"), pl.col("ref_condor_pnl")).alias("recovery_ref"),
        "recovery_sessions", "unhedged_recovery_sessions",
        (pl.col("unhedged_recovery_sessions").cast(pl.Int64)
         - pl.col("recovery_sessions").cast(pl.Int64)).alias("exit_gain_sessions"),
        pl.col("max_drawdown"),
        pl.lit(unhedged_dd[0] if unhedged_dd.len() else None).alias("unhedged_max_drawdown"),
        "testable", "untestable_reason").sort("date", "strategy")


def verdict(table: pl.DataFrame, summary: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Per hedged strategy, the three claims against the data.

    Recovery: the median of gain / loss over the testable crash days on which the condor
    lost, and the share of those days inside the claimed band. Drawdown: 1 - max drawdown /
    the unhedged one. Exit timing: the median of unhedged minus hedged recovery sessions over
    the testable crash days.
    """
    b = policy.backtest
    lo, hi = b.claim_recovery
    dd = summary.filter(pl.col("scope") == "all").select("strategy", "max_drawdown")
    unhedged = dd.filter(pl.col("strategy") == "no_hedge")["max_drawdown"]
    if table.is_empty() or unhedged.is_empty():
        return pl.DataFrame()
    table = table.filter(pl.col("testable"))  # an untestable day says nothing either way
    lost = table.filter(pl.col("condor_pnl") < 0)
    recovery = lost.group_by("strategy").agg(
        pl.len().alias("crash_days_condor_lost"),
        pl.col("recovery").median().alias("median_recovery"),
        pl.col("recovery").is_between(lo, hi).mean().alias("share_in_claimed_band"))
    exits = table.group_by("strategy").agg(
        pl.col("exit_gain_sessions").median().alias("median_exit_gain_sessions"))
    return dd.filter(pl.col("strategy").is_in(HEDGED)).join(recovery, on="strategy",
                                                            how="left").join(
        exits, on="strategy", how="left").with_columns(
        (1 - pl.col("max_drawdown") / unhedged[0]).alias("drawdown_cut")).with_columns(
        pl.col("median_recovery").is_between(lo, hi).alias("recovery_claim_holds"),
        (pl.col("drawdown_cut") > b.claim_drawdown_cut).alias("drawdown_claim_holds"),
        pl.col("median_exit_gain_sessions").is_between(*b.claim_exit_sessions)
        .alias("exit_claim_holds")).sort("strategy")
