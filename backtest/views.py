"""SQL of the backtest views: one text for the catalog and for the CLI's in-memory summary."""

from __future__ import annotations

import duckdb
import polars as pl

SCALE = ("CASE d.strategy WHEN 'static' THEN r.static_scale WHEN 'vxth' THEN r.vxth_scale "
         "ELSE 1.0 END")

DAILY = f"""
CREATE VIEW v_backtest_daily AS
WITH s AS (
  SELECT d.run_id, d.policy_version, r.feature_set_version, r.pricing_band, r.central_run_id,
         d.strategy, d.date, d.spx_close,
         d.vix_close, d.testable, d.untestable_reason, d.spx_listed, d.condor_contracts,
         d.priced_trades, d.quoted_trades, d.priced_from_later_quotes,
         d.condor_pnl, d.ref_condor_pnl, {SCALE} AS scale, r.sizing_equity,
         d.ladder_pnl * {SCALE} AS ladder_pnl, d.ladder_premium * {SCALE} AS ladder_premium,
         d.ladder_value * {SCALE} AS ladder_value,
         d.ladder_contracts * {SCALE} AS ladder_contracts, d.layers_held
  FROM backtest_daily d JOIN backtest_runs r USING (run_id)),
p AS (
  SELECT *, condor_pnl + ladder_pnl AS pnl,
         CASE WHEN spx_listed THEN condor_pnl ELSE 0 END + ladder_pnl AS pnl_listed
  FROM s),
e AS (
  SELECT *, sizing_equity + sum(coalesce(pnl, 0)) OVER w AS equity,
         sizing_equity + sum(coalesce(pnl_listed, 0)) OVER w AS equity_listed
  FROM p WINDOW w AS (PARTITION BY run_id, strategy ORDER BY date))
SELECT * EXCLUDE (sizing_equity),
       equity / max(equity) OVER w - 1 AS drawdown,
       equity_listed / max(equity_listed) OVER w - 1 AS drawdown_listed
FROM e WINDOW w AS (PARTITION BY run_id, strategy ORDER BY date)
"""

_SCOPE = """
SELECT run_id, any_value(pricing_band) AS pricing_band,
       any_value(central_run_id) AS central_run_id, strategy, '{scope}' AS scope,
       min(date) AS first_date, max(date) AS last_date,
       count(*) AS sessions, count(*) FILTER (WHERE NOT testable) AS untestable_days,
       (max(date) - min(date)) / 365.25 AS years,
       arg_max({equity}, date) AS final_equity,
       pow(arg_max({equity}, date) / (arg_max({equity}, date) - sum(coalesce({pnl}, 0))),
           365.25 / greatest(max(date) - min(date), 1)) - 1 AS cagr,
       stddev_samp({pnl} / ({equity} - {pnl})) * sqrt(252) AS volatility,
       min({drawdown}) AS max_drawdown, min({pnl}) AS worst_day_pnl,
       arg_min(date, {pnl}) AS worst_day,
       sum(ladder_premium) / greatest((max(date) - min(date)) / 365.25, 1 / 365.25)
           AS hedge_cost_per_year,
       sum(ladder_pnl) / greatest((max(date) - min(date)) / 365.25, 1 / 365.25)
           AS ladder_pnl_per_year,
       sum({condor}) AS condor_pnl, sum(ladder_pnl) AS ladder_pnl,
       sum(quoted_trades) / nullif(sum(priced_trades), 0) AS quote_share,
       count(*) FILTER (WHERE priced_from_later_quotes IS NOT NULL) AS later_quote_days,
       sum(coalesce({pnl}, 0)) / greatest((max(date) - min(date)) / 365.25, 1 / 365.25)
           AS pnl_per_year,
       avg({pnl} / r.sizing_equity) / stddev_samp({pnl} / r.sizing_equity) * sqrt(252)
           AS sharpe,
       avg({pnl} / r.sizing_equity)
           / sqrt(avg(least({pnl} / r.sizing_equity, 0) ^ 2)) * sqrt(252) AS sortino,
       avg({pnl}) FILTER (WHERE {pnl} <= q.p05) AS cvar_95,
       sum(coalesce({pnl}, 0)) / greatest((max(date) - min(date)) / 365.25, 1 / 365.25)
           / any_value(r.sizing_equity) / nullif(-min({drawdown}), 0) AS calmar
FROM v_backtest_daily JOIN (SELECT run_id, sizing_equity FROM backtest_runs) r USING (run_id)
JOIN (SELECT run_id, strategy, quantile_cont({pnl}, 0.05) AS p05 FROM v_backtest_daily
      GROUP BY run_id, strategy) q USING (run_id, strategy)
GROUP BY run_id, strategy"""

YEARLY = ("CREATE VIEW v_backtest_yearly AS SELECT run_id, strategy, year(date) AS year, "
          "sum(pnl) AS pnl, sum(condor_pnl) AS condor_pnl, sum(ladder_pnl) AS ladder_pnl, "
          "count(*) FILTER (WHERE NOT testable) AS untestable_days "
          "FROM v_backtest_daily GROUP BY ALL")

# Each figure of a central run beside its range over the run and its pricing-band runs.
RANGE_FIGURES = ("cagr", "volatility", "max_drawdown", "worst_day_pnl", "hedge_cost_per_year",
                 "ladder_pnl_per_year", "condor_pnl", "ladder_pnl")
PRICING_RANGE = (
    "CREATE VIEW v_backtest_pricing_range AS SELECT central_run_id AS run_id, strategy, scope, "
    + ", ".join(f"any_value({f}) FILTER (WHERE pricing_band = 'central') AS {f}, "
                f"min({f}) AS {f}_pricing_lo, max({f}) AS {f}_pricing_hi"
                for f in RANGE_FIGURES)
    + ", count(*) AS runs FROM v_backtest_summary GROUP BY central_run_id, strategy, scope")

BAND_FIGURES = ("cagr", "volatility", "max_drawdown", "hedge_cost_per_year",
                "ladder_pnl_per_year")
_BANDS = ("SELECT run_id, strategy, scope, "
          + ", ".join(f"max(lo) FILTER (WHERE figure = '{f}') AS {f}_lo, "
                      f"max(hi) FILTER (WHERE figure = '{f}') AS {f}_hi" for f in BAND_FIGURES)
          + " FROM backtest_bands GROUP BY run_id, strategy, scope")
SUMMARY = ("CREATE VIEW v_backtest_summary AS SELECT s.*, "
           + ", ".join(f"b.{f}_lo, b.{f}_hi" for f in BAND_FIGURES) + " FROM ("
           + _SCOPE.format(scope="all", equity="equity", pnl="pnl", drawdown="drawdown",
                           condor="condor_pnl")
           + " UNION ALL "
           + _SCOPE.format(scope="listed", equity="equity_listed", pnl="pnl_listed",
                           drawdown="drawdown_listed",
                           condor="CASE WHEN spx_listed THEN condor_pnl ELSE 0 END")
           + f") s LEFT JOIN ({_BANDS}) b USING (run_id, strategy, scope)")

_COMMENTS = {
    "v_backtest_daily": "Backtest rows per run, strategy and session; benchmarks scaled to "
                        "the ALVH stress ladder's cost; equity and drawdown for all days and "
                        "for listed-expiry days only (_listed)",
    "v_backtest_summary": "Per run and strategy: CAGR, volatility, max drawdown, worst day, "
                          "hedge cost per year, share of trades priced from quotes; scope all "
                          "days, or listed (condor only on days with a listed next-day SPX "
                          "expiry)",
    "v_backtest_yearly": "Per run, strategy and calendar year: P&L, condor and ladder P&L "
                         "(dollars, on the run's sizing equity; untestable days add nothing)",
    "v_backtest_pricing_range": "Per central run, strategy and scope: each summary figure "
                                "and its range over the runs with model prices at the "
                                "calibration's low and high error band",
}

_DAILY_COLUMNS = {
    "run_id": "Run: policy_version:start:end", "policy_version": "Hash of the policy run",
    "feature_set_version": "Feature set version(s) of the features_daily rows walked",
    "strategy": "no_hedge, alvh_stress, alvh_vega, static or vxth",
    "date": "Session D", "spx_close": "SPX close on D", "vix_close": "VIX close on D",
    "testable": "False when an input of D was missing (see untestable_reason)",
    "untestable_reason": "Why D is untestable (missing inputs); null when testable",
    "spx_listed": "D was a listed SPX/SPXW expiry (the condor settled on D was tradable)",
    "condor_contracts": "Condors opened at the close of D",
    "pricing_band": "central, or lo / hi: model prices at an end of the calibration's band",
    "central_run_id": "The central run a pricing-band run belongs to",
    "priced_trades": "Condor opens and VIX call trades of D",
    "quoted_trades": "Of those, priced from D's stored quotes",
    "priced_from_later_quotes": "Models priced on D from quotes after D (null when none)",
    "condor_pnl": "P&L of the condor settled at the close of D, dollars",
    "ref_condor_pnl": "P&L of the reference condor (base size) settled on D, dollars",
    "scale": "Multiplier applied to the ladder (benchmarks: to the ALVH stress cost)",
    "ladder_pnl": "VIX call ladder P&L of D (marks, settlements, costs), dollars",
    "ladder_premium": "Premium paid for calls bought on D, with costs, dollars",
    "ladder_value": "Held ladder at the close of D by Black-76, dollars",
    "ladder_contracts": "VIX call contracts held after D",
    "layers_held": "Ladder layers held after D",
    "pnl": "condor_pnl + ladder_pnl, dollars (null when untestable)",
    "pnl_listed": "pnl with the condor only on listed-expiry days, dollars",
    "equity": "Equity after D (untestable days add nothing), dollars",
    "equity_listed": "Equity with the condor only on listed-expiry days, dollars",
    "drawdown": "equity / its running peak - 1",
    "drawdown_listed": "equity_listed / its running peak - 1",
}

_SUMMARY_COLUMNS = {
    "run_id": "Run: policy_version:start:end",
    "strategy": "no_hedge, alvh_stress, alvh_vega, static or vxth",
    "scope": "all: every day; listed: the condor only on days with a listed SPX expiry",
    "first_date": "First session", "last_date": "Last session",
    "sessions": "Sessions walked", "untestable_days": "Sessions with a missing input",
    "years": "Calendar years from first to last session",
    "final_equity": "Equity after the last session, dollars",
    "cagr": "Compound annual growth of equity", "volatility": "Annualised daily return vol",
    "max_drawdown": "Deepest fall of equity from a running peak",
    "worst_day_pnl": "Worst daily P&L, dollars", "worst_day": "Session of the worst day",
    "hedge_cost_per_year": "Premium paid for VIX calls per year, with costs, dollars",
    "ladder_pnl_per_year": "Net ladder P&L per year, dollars",
    "condor_pnl": "Total condor P&L, dollars", "ladder_pnl": "Total ladder P&L, dollars",
    "pricing_band": "central, or lo / hi: model prices at an end of the calibration's band",
    "central_run_id": "The central run a pricing-band run belongs to",
    "quote_share": "Share of the strategy's trades priced from stored quotes (the rest: "
                   "the calibrated model)",
    "later_quote_days": "Sessions priced by a model fitted on quotes after them",
    "pnl_per_year": "P&L per calendar year, dollars (the base of the ratios below: daily "
                    "P&L over the sizing equity, no compounding)",
    "sharpe": "Annualised mean / stdev of daily P&L over the sizing equity (no rate)",
    "sortino": "Annualised mean / downside deviation of daily P&L over the sizing equity",
    "cvar_95": "Mean daily P&L on the worst 5% of days, dollars",
    "calmar": "P&L per year over the sizing equity / |max drawdown|",
    **{f"{f}{end}": f"{f}: {what} of a stationary block bootstrap of the sessions "
       "(backtest_bands; null for a band run)"
       for f in BAND_FIGURES for end, what in (("_lo", "5th percentile"),
                                               ("_hi", "95th percentile"))},
}

_YEARLY_COLUMNS = {
    "run_id": "Run: policy_version:start:end", "strategy": "no_hedge, alvh_stress, alvh_vega, "
    "static or vxth", "year": "Calendar year", "pnl": "P&L of the year, dollars",
    "condor_pnl": "Condor P&L of the year, dollars",
    "ladder_pnl": "Ladder P&L of the year, dollars (benchmarks scaled)",
    "untestable_days": "Sessions of the year with a missing input"}

_RANGE_COLUMNS = {
    "run_id": "The central run", "strategy": "no_hedge, alvh_stress, alvh_vega, static or vxth",
    "scope": "all or listed (as v_backtest_summary)", "runs": "Runs in the range",
    **{f"{f}{end}": f"{_SUMMARY_COLUMNS[f]}: {what}" for f in RANGE_FIGURES
       for end, what in (("", "the central run"), ("_pricing_lo", "lowest over the pricing "
                                                    "band runs"),
                         ("_pricing_hi", "highest over the pricing band runs"))},
}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _comments(view: str, columns: dict[str, str]) -> list[str]:
    return [f"COMMENT ON VIEW {view} IS {_quote(_COMMENTS[view])}",
            *(f'COMMENT ON COLUMN {view}."{c}" IS {_quote(t)}' for c, t in columns.items())]


def view_sql() -> list[str]:
    """Statements creating and describing the backtest views."""
    return [DAILY, SUMMARY, PRICING_RANGE, YEARLY,
            *_comments("v_backtest_daily", _DAILY_COLUMNS),
            *_comments("v_backtest_yearly", _YEARLY_COLUMNS),
            *_comments("v_backtest_summary", _SUMMARY_COLUMNS),
            *_comments("v_backtest_pricing_range", _RANGE_COLUMNS)]


VIEWS = tuple(_COMMENTS)


def in_memory(run: pl.DataFrame, daily: pl.DataFrame, bands: pl.DataFrame | None,
              *queries: str) -> list[pl.DataFrame]:
    """``queries`` over the backtest views of the given rows, in an in-memory DuckDB."""
    from backtest.tables import BACKTEST_BANDS

    with duckdb.connect() as con:
        con.register("backtest_runs", run.to_arrow())
        con.register("backtest_daily", daily.to_arrow())
        con.register("backtest_bands", (BACKTEST_BANDS.empty() if bands is None
                                        else bands).to_arrow())
        for stmt in view_sql():
            con.execute(stmt)
        return [con.sql(q).pl() for q in queries]
