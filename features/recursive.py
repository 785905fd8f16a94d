"""RSI and MACD as the features use them: restarted after long holes, with their lookbacks.

Also the readings of a MACD struct (hook, cross-up) and the warming flags.

features.indicators loads numba (~0.4 s), so it is imported where an indicator is computed
or its lookback asked for: reading the registry (names, types, descriptions) stays light.
"""

from __future__ import annotations

import polars as pl

from features.config import FeatureConfig


def rsi_of(x: pl.Expr, cfg: FeatureConfig) -> pl.Expr:
    """RSI of a column, restarted after a hole of more than ``max_gap_sessions``."""
    from features.indicators import rsi, segments

    ind = cfg.indicators
    return rsi(x, ind.rsi_period, by=segments(x, ind.max_gap_sessions))


def macd_of(x: pl.Expr, cfg: FeatureConfig) -> pl.Expr:
    """TA-Lib MACD of a column as one struct (macd, signal, hist), restarted like ``rsi_of``."""
    from features.indicators import macd, segments

    ind = cfg.indicators
    return macd(x, ind.macd_fast, ind.macd_slow, ind.macd_signal,
                by=segments(x, ind.max_gap_sessions))


def rsi_bars(cfg: FeatureConfig) -> int:
    """Bars before the RSI's first value."""
    from features.indicators import rsi_lookback

    return rsi_lookback(cfg.indicators.rsi_period)


def macd_bars(cfg: FeatureConfig) -> int:
    """Bars before the MACD's first value."""
    from features.indicators import macd_lookback

    return macd_lookback(cfg.indicators.macd_slow, cfg.indicators.macd_signal)


def warming(source: pl.Expr, indicator: pl.Expr) -> pl.Expr:
    """The input is known but the indicator is not: it (re)started too few bars ago."""
    return source.is_not_null() & indicator.is_null()


# Bars the hook and the cross-up read before the MACD's own lookback (their shifts).
HOOK_BARS, CROSS_BARS = 2, 1


def macd_hook(m: pl.Expr) -> pl.Expr:
    """MACD histogram (of a MACD struct) below zero and rising two days in a row."""
    h = m.struct.field("hist")
    return (h < 0) & (h > h.shift(1)) & (h.shift(1) > h.shift(2))


def macd_cross_up(m: pl.Expr) -> pl.Expr:
    """MACD (a MACD struct) crossed above its signal today."""
    s = m.struct
    line, sig = s.field("macd"), s.field("signal")
    return (line > sig) & (line.shift(1) <= sig.shift(1))
