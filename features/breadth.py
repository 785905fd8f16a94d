"""NYSE breadth: the advance/decline line and its divergence from SPX."""

from __future__ import annotations

import polars as pl

from features.config import BreadthConfig


def ad_line(start: int | None = None) -> pl.Expr:
    """Cumulative advancers minus decliners since the first breadth day (plus ``start``)."""
    line = (pl.col("advancers") - pl.col("decliners")).cum_sum()
    return (line if start is None else line + start).alias("ad_line")


def _spx_near_high(cfg: BreadthConfig) -> pl.Expr:
    high = pl.col("spx").rolling_max(window_size=cfg.high_window)
    return pl.col("spx") >= high * (1.0 - cfg.spx_near_high_pct / 100.0)


def _ad_below_high(cfg: BreadthConfig) -> pl.Expr:
    high = pl.col("ad_line").rolling_max(window_size=cfg.high_window)
    return pl.col("ad_line") < high - cfg.ad_margin


def ad_divergence(cfg: BreadthConfig) -> pl.Expr:
    """SPX within pct of its N-day high while the A/D line lags its own high by the margin."""
    return (_spx_near_high(cfg) & _ad_below_high(cfg)).alias("ad_divergence")


def breadth_confirms(cfg: BreadthConfig) -> pl.Expr:
    """SPX near its high and the A/D line near its own high too."""
    return (_spx_near_high(cfg) & ~_ad_below_high(cfg)).alias("breadth_confirms")


def breadth_stale() -> pl.Expr:
    """No breadth row for the day."""
    return pl.col("advancers").is_null() | pl.col("decliners").is_null()
