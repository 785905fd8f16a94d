"""Volatility regime, realised vol, VRP, expected move and the RSI / VVIX MACD signals."""

from __future__ import annotations

import math

import polars as pl

from features.config import IndicatorConfig, RegimeConfig
from features.indicators import macd, rsi, segments
from features.rolling import window_mean, window_std


def vix_regime(cfg: RegimeConfig) -> pl.Expr:
    """The VIX regime: calm, normal, elevated or extreme."""
    vix = pl.col("vix")
    return (pl.when(vix.is_null()).then(None)
            .when(vix < cfg.calm_below).then(pl.lit("calm"))
            .when(vix < cfg.normal_below).then(pl.lit("normal"))
            .when(vix < cfg.extreme_from).then(pl.lit("elevated"))
            .otherwise(pl.lit("extreme")).alias("vix_regime"))


def spx_rv_20(cfg: RegimeConfig) -> pl.Expr:
    """Annualised realised vol of SPX daily log returns, in vol points."""
    ret = pl.col("spx").log().diff()
    scale = 100.0 * math.sqrt(cfg.trading_days_per_year)
    return (window_std(ret, cfg.rv_window) * scale).alias("spx_rv_20")


def vrp() -> pl.Expr:
    """VIX minus realised vol: the volatility risk premium in points."""
    return (pl.col("vix") - pl.col("spx_rv_20")).alias("vrp")


def vix_sma_200(cfg: RegimeConfig) -> pl.Expr:
    """Simple moving average of VIX."""
    return window_mean(pl.col("vix"), cfg.vix_sma_window).alias("vix_sma_200")


def vix_above_200dma() -> pl.Expr:
    """VIX above its moving average."""
    return (pl.col("vix") > pl.col("vix_sma_200")).alias("vix_above_200dma")


def spx_exp_move_1d(cfg: RegimeConfig) -> pl.Expr:
    """One-day expected SPX move in points: SPX x IV / 100 / sqrt(252), IV = VIX1D else VIX."""
    iv = pl.coalesce(pl.col("vix1d"), pl.col("vix"))
    return (pl.col("spx") * iv / 100.0 / math.sqrt(cfg.trading_days_per_year)
            ).alias("spx_exp_move_1d")


_RSI_INPUTS = (("spx", "spx_rsi_14"), ("vix", "vix_rsi_14"), ("vx_cm30", "vx_cm30_rsi_14"))


def _rsi(source: str, cfg: IndicatorConfig) -> pl.Expr:
    """RSI of a column, restarted after a hole of more than ``cfg.max_gap_sessions``."""
    x = pl.col(source)
    return rsi(x, cfg.rsi_period, by=segments(x, cfg.max_gap_sessions))


def rsis(cfg: IndicatorConfig) -> list[pl.Expr]:
    """spx_rsi_14, vix_rsi_14, vx_cm30_rsi_14."""
    return [_rsi(src, cfg).alias(name) for src, name in _RSI_INPUTS]


def vvix_macd_struct(cfg: IndicatorConfig) -> pl.Expr:
    """TA-Lib MACD of VVIX as one struct column (read by ``macd_columns``)."""
    x = pl.col("vvix")
    return macd(x, cfg.macd_fast, cfg.macd_slow, cfg.macd_signal,
                by=segments(x, cfg.max_gap_sessions)).alias("_vvix_macd")


def _warming(source: str, indicator: pl.Expr) -> pl.Expr:
    """The input is known but the indicator is not: it (re)started too few bars ago."""
    return pl.col(source).is_not_null() & indicator.is_null()


def indicator_warming() -> list[pl.Expr]:
    """spx_rsi_14_warming, vix_rsi_14_warming, vx_cm30_rsi_14_warming, vvix_macd_warming."""
    return [_warming("spx", pl.col("spx_rsi_14")).alias("spx_rsi_14_warming"),
            _warming("vix", pl.col("vix_rsi_14")).alias("vix_rsi_14_warming"),
            _warming("vx_cm30", pl.col("vx_cm30_rsi_14")).alias("vx_cm30_rsi_14_warming"),
            _warming("vvix", pl.col("_vvix_macd").struct.field("macd"))
            .alias("vvix_macd_warming")]


def macd_columns(struct_col: str, prefix: str) -> list[pl.Expr]:
    """``{prefix}``, ``{prefix}_signal``, ``{prefix}_hist`` from a MACD struct column."""
    s = pl.col(struct_col).struct
    return [s.field("macd").alias(prefix), s.field("signal").alias(f"{prefix}_signal"),
            s.field("hist").alias(f"{prefix}_hist")]


def macd_hook(struct_col: str) -> pl.Expr:
    """MACD histogram below zero and rising two days in a row."""
    h = pl.col(struct_col).struct.field("hist")
    return (h < 0) & (h > h.shift(1)) & (h.shift(1) > h.shift(2))


def macd_cross_up(struct_col: str) -> pl.Expr:
    """MACD crossed above its signal today."""
    s = pl.col(struct_col).struct
    m, sig = s.field("macd"), s.field("signal")
    return (m > sig) & (m.shift(1) <= sig.shift(1))
