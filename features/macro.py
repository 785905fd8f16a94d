"""The Second Engine: private leverage and funding stress, joined point in time.

A value is visible on day D only if its ``available_at`` <= D. Of the rows published by D,
the one with the latest observation date counts. A series whose latest visible observation
is older than its configured maximum age is null that day and sets ``macro_stale``.
"""

from __future__ import annotations

import polars as pl

from features.config import MacroConfig
from features.rolling import window_mean, window_std

SERIES = ("SOFR", "IORB", "DFF", "DGS2", "NFCILEVERAGE", "BAMLH0A0HYM2", "DTWEXBGS")


def _published(macro: pl.LazyFrame, series_id: str) -> pl.LazyFrame:
    """Rows that were the newest observation of the series when they were published."""
    rows = (macro.filter(pl.col("series_id") == series_id)
            .select("date", "value", "available_at").drop_nulls("value")
            .sort("available_at", "date"))
    return rows.filter(pl.col("date") >= pl.col("date").cum_max()).rename(
        {"date": f"{series_id}_obs_date", "value": series_id})


def _nfci_change(rows: pl.LazyFrame, weeks: int) -> pl.LazyFrame:
    """NFCI leverage minus its value dated ``weeks`` weeks earlier (null if that is missing)."""
    earlier = rows.select(
        (pl.col("NFCILEVERAGE_obs_date") + pl.duration(weeks=weeks)).alias("NFCILEVERAGE_obs_date"),
        pl.col("NFCILEVERAGE").alias("_earlier"))
    joined = rows.join(earlier, on="NFCILEVERAGE_obs_date", how="left", maintain_order="left")
    return joined.with_columns(
        (pl.col("NFCILEVERAGE") - pl.col("_earlier")).alias("nfci_leverage_change_4w")
    ).drop("_earlier")


def visible_series(days: pl.LazyFrame, macro: pl.LazyFrame, cfg: MacroConfig) -> pl.LazyFrame:
    """Each series as known on each day, nulled beyond its maximum age, with stale flags."""
    out = days.sort("date")
    for sid in SERIES:
        rows = _published(macro, sid)
        if sid == "NFCILEVERAGE":
            rows = _nfci_change(rows, cfg.nfci_change_weeks)
        out = out.join_asof(rows, left_on="date", right_on="available_at", strategy="backward",
                            check_sortedness=False).drop("available_at")
        age = (pl.col("date") - pl.col(f"{sid}_obs_date")).dt.total_days()
        fresh = age <= cfg.max_age_days[sid]
        value_cols = [sid] + (["nfci_leverage_change_4w"] if sid == "NFCILEVERAGE" else [])
        out = out.with_columns(
            *[pl.when(fresh).then(pl.col(c)).alias(c) for c in value_cols],
            (~fresh.fill_null(False)).alias(f"_{sid}_stale"),
        ).drop(f"{sid}_obs_date")
    return out


def funding_spread() -> pl.Expr:
    """SOFR minus IORB in basis points."""
    return ((pl.col("SOFR") - pl.col("IORB")) * 100.0).alias("funding_spread")


def funding_spread_z(cfg: MacroConfig) -> pl.Expr:
    """Z-score of funding_spread over the trailing year of trading days."""
    x, w = pl.col("funding_spread"), cfg.funding_z_window
    # Each window computed on its own, so an incremental run lands on the full run's floats.
    return ((x - window_mean(x, w)) / window_std(x, w)).alias("funding_spread_z")


def nfci_leverage() -> pl.Expr:
    """Chicago Fed NFCI leverage subindex."""
    return pl.col("NFCILEVERAGE").alias("nfci_leverage")


def hy_oas() -> pl.Expr:
    """ICE BofA US high-yield OAS in percent."""
    return pl.col("BAMLH0A0HYM2").alias("hy_oas")


def hy_oas_change_20d(cfg: MacroConfig) -> pl.Expr:
    """Change of hy_oas over 20 trading days, in basis points."""
    x = pl.col("BAMLH0A0HYM2")
    return ((x - x.shift(cfg.hy_change_days)) * 100.0).alias("hy_oas_change_20d")


def rate_diff() -> pl.Expr:
    """2-year Treasury yield minus the effective fed funds rate, in percentage points."""
    return (pl.col("DGS2") - pl.col("DFF")).alias("rate_diff")


def dollar_change_20d(cfg: MacroConfig) -> pl.Expr:
    """Percent change of the broad dollar index over 20 trading days."""
    x = pl.col("DTWEXBGS")
    return ((x / x.shift(cfg.dollar_change_days) - 1.0) * 100.0).alias("dollar_change_20d")


def second_engine_signals(cfg: MacroConfig) -> list[pl.Expr]:
    """The four lit/unlit Second Engine signals (null when their input is missing)."""
    return [
        (pl.col("funding_spread_z") > cfg.funding_z_threshold).alias("funding_stress"),
        (pl.col("nfci_leverage_change_4w") > 0).alias("nfci_leverage_rising"),
        (pl.col("hy_oas_change_20d") > cfg.hy_widening_bp).alias("hy_oas_widening"),
        (pl.col("dollar_change_20d") > cfg.dollar_rise_pct).alias("dollar_rising"),
    ]


SIGNALS = ("funding_stress", "nfci_leverage_rising", "hy_oas_widening", "dollar_rising")


def second_engine_known() -> pl.Expr:
    """How many of the Second Engine signals can be evaluated today (0-4)."""
    return pl.sum_horizontal(pl.col(s).is_not_null().cast(pl.Int64) for s in SIGNALS
                             ).alias("second_engine_known")


def second_engine_score() -> pl.Expr:
    """How many Second Engine signals are lit; null unless every one is known.

    An unknown signal is not an unlit one: a count of the known ones alone would read
    "nothing lit" on days when only one series was published.
    """
    lit = pl.sum_horizontal(pl.col(s).cast(pl.Int64) for s in SIGNALS)
    return pl.when(pl.col("second_engine_known") == len(SIGNALS)).then(lit).alias(
        "second_engine_score")


def macro_stale() -> pl.Expr:
    """Some Second Engine series is missing or older than its maximum age today."""
    return pl.any_horizontal(pl.col(f"_{s}_stale") for s in SERIES).alias("macro_stale")
