"""NYSE breadth: the advance/decline line and its divergence from SPX."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from features.feature import BOOL, BR, F64, IDX, Feature, window_bars

if TYPE_CHECKING:
    from features.config import FeatureConfig


def ad_line_sum(start: int | None = None) -> pl.Expr:
    """Cumulative advancers minus decliners since the first breadth day (plus ``start``).

    The market base's ``ad_line`` column (integers), summed over the breadth rows.
    """
    line = (pl.col("advancers") - pl.col("decliners")).cum_sum()
    return (line if start is None else line + start).alias("ad_line")


def _spx_near_high(spx: pl.Expr, cfg: FeatureConfig) -> pl.Expr:
    high = spx.rolling_max(window_size=cfg.breadth.high_window)
    return spx >= high * (1.0 - cfg.breadth.spx_near_high_pct / 100.0)


def _ad_below_high(ad_line: pl.Expr, cfg: FeatureConfig) -> pl.Expr:
    high = ad_line.rolling_max(window_size=cfg.breadth.high_window)
    return ad_line < high - cfg.breadth.ad_margin


def _high_bars(cfg: FeatureConfig) -> int:
    return window_bars(cfg.breadth.high_window)


FAMILY = "breadth"
FEATURES = (
    Feature("ad_line", FAMILY, "Cumulative NYSE advancers minus decliners since the first "
            "breadth day", "issues", F64, (BR,), lambda ad_line: ad_line.cast(pl.Float64),
            memory="cumulative"),
    Feature("ad_divergence", FAMILY, "SPX within 1% of its 20-day high while ad_line is below "
            "its own 20-day high by the policy margin", "flag", BOOL, (BR, IDX),
            lambda spx, ad_line, cfg: _spx_near_high(spx, cfg) & _ad_below_high(ad_line, cfg),
            _high_bars),
    Feature("breadth_confirms", FAMILY, "SPX within 1% of its 20-day high and ad_line at its "
            "own 20-day high (within the margin)", "flag", BOOL, (BR, IDX),
            lambda spx, ad_line, cfg: _spx_near_high(spx, cfg) & ~_ad_below_high(ad_line, cfg),
            _high_bars),
    Feature("breadth_stale", FAMILY, "No breadth row for the day: breadth features are null",
            "flag", BOOL, (BR,), lambda advancers, decliners: advancers.is_null()
            | decliners.is_null()),
)
