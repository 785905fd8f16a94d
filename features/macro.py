"""The Second Engine: private leverage and funding stress, joined point in time.

A value is visible on day D only if its ``available_at`` <= D. Of the rows published by D,
the one with the latest observation date counts. A series whose latest visible observation
is older than its configured maximum age is null that day and sets ``macro_stale``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from features.feature import BOOL, F64, I64, MAC, Feature, window_bars

if TYPE_CHECKING:
    from features.config import FeatureConfig, MacroConfig

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


def _z_score(funding_spread: pl.Expr, cfg: FeatureConfig) -> pl.Expr:
    """Z-score of funding_spread over the trailing year of trading days."""
    from features.rolling import window_mean, window_std

    x, w = funding_spread, cfg.macro.funding_z_window
    # Each window computed on its own, so an incremental run lands on the full run's floats.
    return (x - window_mean(x, w)) / window_std(x, w)


def _change_bp(BAMLH0A0HYM2: pl.Expr, cfg: FeatureConfig) -> pl.Expr:
    """Change of the high-yield OAS over N trading days, in basis points."""
    x = BAMLH0A0HYM2
    return (x - x.shift(cfg.macro.hy_change_days)) * 100.0


def _change_pct(DTWEXBGS: pl.Expr, cfg: FeatureConfig) -> pl.Expr:
    """Percent change of the broad dollar index over N trading days."""
    x = DTWEXBGS
    return (x / x.shift(cfg.macro.dollar_change_days) - 1.0) * 100.0


SIGNALS = ("funding_stress", "nfci_leverage_rising", "hy_oas_widening", "dollar_rising")


def _score(funding_stress: pl.Expr, nfci_leverage_rising: pl.Expr, hy_oas_widening: pl.Expr,
           dollar_rising: pl.Expr, second_engine_known: pl.Expr) -> pl.Expr:
    """How many Second Engine signals are lit; null unless every one is known.

    An unknown signal is not an unlit one: a count of the known ones alone would read
    "nothing lit" on days when only one series was published.
    """
    signals = (funding_stress, nfci_leverage_rising, hy_oas_widening, dollar_rising)
    lit = pl.sum_horizontal(s.cast(pl.Int64) for s in signals)
    return pl.when(second_engine_known == len(SIGNALS)).then(lit)


FAMILY = "macro"
FEATURES = (
    Feature("funding_spread", FAMILY, "SOFR - IORB", "bp", F64, (MAC,),
            lambda SOFR, IORB: (SOFR - IORB) * 100.0, valid_min=-500, valid_max=500),
    Feature("funding_spread_z", FAMILY, "Z-score of funding_spread over 252 trading days", "sd",
            F64, (MAC,), _z_score, lambda cfg: window_bars(cfg.macro.funding_z_window),
            valid_min=-50, valid_max=50),
    Feature("nfci_leverage", FAMILY, "Chicago Fed NFCI nonfinancial leverage subindex", "index",
            F64, (MAC,), lambda NFCILEVERAGE: NFCILEVERAGE, valid_min=-10, valid_max=10),
    # A column of visible_series (the change between weekly observation dates, not bars).
    Feature("nfci_leverage_change_4w", FAMILY, "nfci_leverage minus its value 4 weekly "
            "observations earlier", "index", F64, (MAC,),
            lambda nfci_leverage_change_4w: nfci_leverage_change_4w, valid_min=-10, valid_max=10),
    Feature("hy_oas", FAMILY, "ICE BofA US high-yield option-adjusted spread", "percent", F64,
            (MAC,), lambda BAMLH0A0HYM2: BAMLH0A0HYM2, valid_min=0, valid_max=30),
    Feature("hy_oas_change_20d", FAMILY, "hy_oas change over 20 trading days", "bp", F64, (MAC,),
            _change_bp, lambda cfg: cfg.macro.hy_change_days, valid_min=-2000, valid_max=2000),
    Feature("rate_diff", FAMILY, "DGS2 - DFF", "percentage points", F64, (MAC,),
            lambda DGS2, DFF: DGS2 - DFF, valid_min=-10, valid_max=10),
    Feature("dollar_change_20d", FAMILY, "Broad dollar index (DTWEXBGS) change over 20 trading "
            "days", "percent", F64, (MAC,), _change_pct,
            lambda cfg: cfg.macro.dollar_change_days, valid_min=-50, valid_max=50),
    Feature("funding_stress", FAMILY, "funding_spread_z above 1", "flag", BOOL, (MAC,),
            lambda funding_spread_z, cfg: funding_spread_z > cfg.macro.funding_z_threshold),
    Feature("nfci_leverage_rising", FAMILY, "nfci_leverage_change_4w above 0", "flag", BOOL,
            (MAC,), lambda nfci_leverage_change_4w: nfci_leverage_change_4w > 0),
    Feature("hy_oas_widening", FAMILY, "hy_oas up more than 50 bp in 20 trading days", "flag",
            BOOL, (MAC,), lambda hy_oas_change_20d, cfg: hy_oas_change_20d
            > cfg.macro.hy_widening_bp),
    Feature("dollar_rising", FAMILY, "Broad dollar up more than 2% in 20 trading days", "flag",
            BOOL, (MAC,), lambda dollar_change_20d, cfg: dollar_change_20d
            > cfg.macro.dollar_rise_pct),
    Feature("second_engine_known", FAMILY, "How many of the four Second Engine signals can be "
            "evaluated today", "count", I64, (MAC,),
            lambda funding_stress, nfci_leverage_rising, hy_oas_widening, dollar_rising:
            pl.sum_horizontal(s.is_not_null().cast(pl.Int64) for s in (
                funding_stress, nfci_leverage_rising, hy_oas_widening, dollar_rising)),
            valid_min=0, valid_max=4),
    Feature("second_engine_score", FAMILY, "Number of lit Second Engine signals (funding_stress, "
            "nfci_leverage_rising, hy_oas_widening, dollar_rising); null unless all four are "
            "known", "count", I64, (MAC,), _score, valid_min=0, valid_max=4),
    Feature("macro_stale", FAMILY, "Some Second Engine series is missing or older than its "
            "configured maximum age: its features are null", "flag", BOOL, (MAC,),
            # Reads visible_series' _<series>_stale columns.
            lambda: pl.any_horizontal(pl.col(f"_{s}_stale") for s in SERIES)),
)
