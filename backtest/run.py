"""One backtest run: walk the lake, then the rows of backtest_runs, _daily and _trades."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace

import polars as pl

from backtest.bootstrap import bootstrap_bands
from backtest.listing import listed_sessions
from backtest.market import Market, load_market
from backtest.tables import (
    BACKTEST_BANDS,
    BACKTEST_DAILY,
    BACKTEST_RUNS,
    BACKTEST_TRADES,
    SCALED,
    STRATEGIES,
)
from backtest.views import in_memory
from backtest.walk import Walk, walk
from core.calendar import trading_days
from hedge.policy import Policy
from storage.lake import Lake


@dataclass(frozen=True)
class Result:
    """The three tables of one run, and its runs at the ends of the pricing error band."""

    run: pl.DataFrame
    daily: pl.DataFrame
    trades: pl.DataFrame
    bands: tuple[Result, ...] = ()
    bootstrap: pl.DataFrame | None = None  # backtest_bands rows (the central run's)

    @property
    def run_id(self) -> str:
        """The run's id."""
        return str(self.run["run_id"][0])


def run_id(policy: Policy, start: dt.date, end: dt.date) -> str:
    """policy_version:start:end."""
    return f"{policy.version}:{start}:{end}"


def _listed(start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    """SPX expiry days around the run (whole weeks, for the holiday-Friday rule)."""
    days = trading_days(start - dt.timedelta(days=7), end + dt.timedelta(days=14))
    return listed_sessions(days.to_list())


def daily_frame(w: Walk, sessions: list[dt.date], rid: str, now: dt.datetime) -> pl.DataFrame:
    """backtest_daily rows of a walk over ``sessions``."""
    listed = _listed(sessions[0], sessions[-1]) if sessions else {}
    frame = pl.DataFrame(w.rows, schema={c: t for c, t in BACKTEST_DAILY.columns.items()
                                         if c not in ("run_id", "policy_version",
                                                      "spx_listed", "computed_at")})
    return BACKTEST_DAILY.conform(frame.with_columns(
        pl.lit(rid).alias("run_id"), pl.lit(w.policy.version).alias("policy_version"),
        pl.col("date").replace_strict(listed, default=False, return_dtype=pl.Boolean)
        .alias("spx_listed"), pl.lit(now, dtype=BACKTEST_DAILY.columns["computed_at"])
        .alias("computed_at")))


def trades_frame(w: Walk, rid: str, now: dt.datetime) -> pl.DataFrame:
    """backtest_trades rows of a walk."""
    rows = [t for b in w.books.values() for t in b.trades]
    cols = {c: t for c, t in BACKTEST_TRADES.columns.items()
            if c not in ("run_id", "policy_version", "computed_at")}
    frame = pl.DataFrame(rows, schema=cols)
    return BACKTEST_TRADES.conform(frame.with_columns(
        pl.lit(rid).alias("run_id"), pl.lit(w.policy.version).alias("policy_version"),
        pl.lit(now, dtype=BACKTEST_TRADES.columns["computed_at"]).alias("computed_at")))


def cost_scales(daily: pl.DataFrame) -> dict[str, float]:
    """Multipliers that make each unit benchmark spend what the ALVH stress ladder spends."""
    spent = dict(daily.group_by("strategy").agg(pl.col("ladder_premium").sum()).iter_rows())
    target = spent.get("alvh_stress", 0.0)
    return {s: (target / spent[s] if spent.get(s) else 0.0) for s in SCALED}


def run_frame(w: Walk, market: Market, rid: str, daily: pl.DataFrame, start: dt.date,
              end: dt.date, now: dt.datetime, central: str) -> pl.DataFrame:
    """The backtest_runs row."""
    scales = cost_scales(daily)
    versions = [r.get("feature_set_version") for r in market.rows.values()]
    fsv = sorted({v for v in versions if v})
    untestable = daily.filter(~pl.col("testable"))["date"].n_unique()
    return BACKTEST_RUNS.conform(pl.DataFrame([{
        "run_id": rid, "start": start, "end": end, "policy_version": w.policy.version,
        "feature_set_version": ",".join(fsv) or None, "sizing_equity": w.equity,
        "static_scale": scales["static"], "vxth_scale": scales["vxth"],
        "sessions": len(market.sessions), "untestable_days": untestable,
        "pricing_band": w.band, "central_run_id": central,
        "policy": json.dumps(w.policy.model_dump(mode="json"), sort_keys=True),
        "computed_at": now}], schema=BACKTEST_RUNS.schema))


def backtest_market(market: Market, policy: Policy, start: dt.date, end: dt.date,
                    now: dt.datetime, strategies: tuple[str, ...] = STRATEGIES) -> Result:
    """Walk ``market`` with ``policy`` and tabulate the run (and its pricing-band runs)."""
    central = run_id(policy, start, end)
    bands = ("lo", "hi") if policy.backtest.pricing_bands else ()
    out = [_tabulated(walk(market, policy, strategies, band), market, start, end, now, central)
           for band in ("central", *bands)]
    return replace(out[0], bands=tuple(out[1:]), bootstrap=_bootstrap(out[0], policy, now))


def _bootstrap(result: Result, policy: Policy, now: dt.datetime) -> pl.DataFrame:
    """backtest_bands rows of a run: its summary figures' block-bootstrap bands."""
    daily, summary = in_memory(result.run, result.daily, None,
                               "SELECT * FROM v_backtest_daily",
                               "SELECT * FROM v_backtest_summary")
    bands = bootstrap_bands(daily, summary, policy.backtest.initial_equity)
    return BACKTEST_BANDS.conform(bands.with_columns(
        pl.lit(policy.version).alias("policy_version"),
        pl.lit(result.run["end"][0], dtype=pl.Date).alias("end"),
        pl.lit(now, dtype=BACKTEST_BANDS.columns["computed_at"]).alias("computed_at")))


def _tabulated(w: Walk, market: Market, start: dt.date, end: dt.date, now: dt.datetime,
               central: str) -> Result:
    """One walk's three tables."""
    rid = central if w.band == "central" else f"{central}:{w.band}"
    daily = daily_frame(w, market.sessions, rid, now)
    return Result(run_frame(w, market, rid, daily, start, end, now, central), daily,
                  trades_frame(w, rid, now))


def backtest(lake: Lake, start: dt.date, end: dt.date, policy: Policy,
             now: dt.datetime) -> Result:
    """One run over the lake's sessions in [start, end]."""
    market = load_market(lake, start, end, max_rate_age=policy.pricing.max_rate_age,
                         dtes=tuple(layer.target_dte for layer in policy.ladder.layers))
    return backtest_market(market, policy, start, end, now)


def backtest_each(lake: Lake, start: dt.date, end: dt.date, policies: list[Policy],
                  now: dt.datetime) -> list[Result]:
    """One run per policy (a policy given twice runs once), each exactly ``backtest``'s.

    The lake is read once per distinct market: variants with the same ladder tenors and
    rate age walk the same ``Market`` (the walk never changes it).
    """
    markets: dict[tuple[tuple[int, ...], int], Market] = {}
    runs: dict[str, Result] = {}
    for policy in policies:
        if policy.version in runs:
            continue
        key = (tuple(layer.target_dte for layer in policy.ladder.layers),
               policy.pricing.max_rate_age)
        if key not in markets:
            markets[key] = load_market(lake, start, end, dtes=key[0], max_rate_age=key[1])
        runs[policy.version] = backtest_market(markets[key], policy, start, end, now)
    return list(runs.values())


def store(lake: Lake, result: Result | list[Result]) -> None:
    """Write the runs' rows, one commit per table (a rerun of a run id replaces its rows)."""
    given = result if isinstance(result, list) else [result]
    results = [r for one in given for r in (one, *one.bands)]
    if not results:
        return
    for table, frames in (("backtest_runs", [r.run for r in results]),
                          ("backtest_daily", [r.daily for r in results]),
                          ("backtest_trades", [r.trades for r in results])):
        lake.upsert(table, pl.concat(frames))
    boot = [r.bootstrap for r in results if r.bootstrap is not None]
    if boot:
        lake.upsert("backtest_bands", pl.concat(boot))
