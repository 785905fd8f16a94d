"""Volatility regime, realised vol, VRP, expected move and the RSI / VVIX MACD signals."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import polars as pl

from features.feature import BOOL, F64, IDX, STR, VX, Feature, Step, shift_bars, window_bars
from features.recursive import (
    CROSS_BARS,
    HOOK_BARS,
    macd_bars,
    macd_cross_up,
    macd_hook,
    macd_of,
    rsi_bars,
    rsi_of,
    warming,
)

if TYPE_CHECKING:
    from features.config import FeatureConfig, RegimeConfig


def regime_of(vix: pl.Expr, cfg: RegimeConfig) -> pl.Expr:
    """The VIX regime: calm, normal, elevated or extreme (hedge.rules reads the same bounds)."""
    return (pl.when(vix.is_null()).then(None)
            .when(vix < cfg.calm_below).then(pl.lit("calm"))
            .when(vix < cfg.normal_below).then(pl.lit("normal"))
            .when(vix < cfg.extreme_from).then(pl.lit("elevated"))
            .otherwise(pl.lit("extreme")))


def _annualised_rv(spx: pl.Expr, cfg: FeatureConfig) -> pl.Expr:
    """Realised vol of daily log returns, annualised, in vol points."""
    from features.rolling import window_std

    scale = 100.0 * math.sqrt(cfg.regime.trading_days_per_year)
    return window_std(spx.log().diff(), cfg.regime.rv_window) * scale


def _expected_move(spx: pl.Expr, vix1d: pl.Expr, vix: pl.Expr, cfg: FeatureConfig) -> pl.Expr:
    """SPX x IV / 100 / sqrt(252), IV = VIX1D where present, else VIX."""
    iv = pl.coalesce(vix1d, vix)
    return spx * iv / 100.0 / math.sqrt(cfg.regime.trading_days_per_year)


def _sma(vix: pl.Expr, cfg: FeatureConfig) -> pl.Expr:
    """Simple moving average of VIX."""
    from features.rolling import window_mean

    return window_mean(vix, cfg.regime.vix_sma_window)


def _rv_bars(cfg: FeatureConfig) -> int:
    return 1 + window_bars(cfg.regime.rv_window)  # a daily return, then a window of them


FAMILY = "regime"
# The VVIX MACD as one struct column, read by the six vvix_macd* features below.
STEPS = (Step("_vvix_macd", lambda vvix, cfg: macd_of(vvix, cfg), macd_bars, "recursive"),)
FEATURES = (
    Feature("regime_stale", FAMILY, "No SPX or VIX close for the day: regime features are null",
            "flag", BOOL, (IDX,), lambda spx, vix: spx.is_null() | vix.is_null()),
    Feature("vix_regime", FAMILY, "calm (VIX < 15), normal (15-20), elevated (20-35), extreme "
            "(>= 35); bounds from regime config", "category", STR, (IDX,),
            lambda vix, cfg: regime_of(vix, cfg.regime)),
    Feature("spx_rv_20", FAMILY, "Annualised 20-day realised vol of SPX log returns",
            "vol points", F64, (IDX,), _annualised_rv, _rv_bars, valid_min=0, valid_max=300),
    Feature("vrp", FAMILY, "VIX minus spx_rv_20 (volatility risk premium)", "vol points", F64,
            (IDX,), lambda vix, spx_rv_20: vix - spx_rv_20, valid_min=-300, valid_max=200),
    Feature("vix_sma_200", FAMILY, "200-day simple average of VIX", "vol points", F64, (IDX,),
            _sma,
            lambda cfg: window_bars(cfg.regime.vix_sma_window), valid_min=0, valid_max=200),
    Feature("vix_above_200dma", FAMILY, "VIX above vix_sma_200", "flag", BOOL, (IDX,),
            lambda vix, vix_sma_200: vix > vix_sma_200),
    Feature("spx_exp_move_1d", FAMILY, "SPX x IV / 100 / sqrt(252), IV = VIX1D where present, "
            "else VIX", "index points", F64, (IDX,), _expected_move, valid_min=0),
    Feature("spx_rsi_14", FAMILY, "TA-Lib RSI(14) of SPX closes", "0-100", F64, (IDX,),
            lambda spx, cfg: rsi_of(spx, cfg), rsi_bars, "recursive",
            valid_min=0, valid_max=100),
    Feature("vix_rsi_14", FAMILY, "TA-Lib RSI(14) of VIX closes", "0-100", F64, (IDX,),
            lambda vix, cfg: rsi_of(vix, cfg), rsi_bars, "recursive",
            valid_min=0, valid_max=100),
    Feature("vx_cm30_rsi_14", FAMILY, "TA-Lib RSI(14) of vx_cm30", "0-100", F64, (VX,),
            lambda vx_cm30, cfg: rsi_of(vx_cm30, cfg), rsi_bars, "recursive",
            valid_min=0, valid_max=100),
    Feature("spx_rsi_14_warming", FAMILY, "SPX close known but spx_rsi_14 null: the RSI "
            "(re)started fewer than 14 changes ago (series start, or a hole of more than "
            "indicators.max_gap_sessions sessions)", "flag", BOOL, (IDX,),
            lambda spx, spx_rsi_14: warming(spx, spx_rsi_14)),
    Feature("vix_rsi_14_warming", FAMILY, "VIX close known but vix_rsi_14 null: the RSI "
            "(re)started fewer than 14 changes ago", "flag", BOOL, (IDX,),
            lambda vix, vix_rsi_14: warming(vix, vix_rsi_14)),
    Feature("vx_cm30_rsi_14_warming", FAMILY, "vx_cm30 known but vx_cm30_rsi_14 null: the RSI "
            "(re)started fewer than 14 changes ago (e.g. after a year without a VX curve)",
            "flag", BOOL, (VX,), lambda vx_cm30, vx_cm30_rsi_14: warming(vx_cm30, vx_cm30_rsi_14)),
    Feature("vvix_macd", FAMILY, "TA-Lib MACD(12,26,9) line of VVIX", "vol points", F64, (IDX,),
            lambda _vvix_macd: _vvix_macd.struct.field("macd")),
    Feature("vvix_macd_signal", FAMILY, "Signal line of vvix_macd", "vol points", F64, (IDX,),
            lambda _vvix_macd: _vvix_macd.struct.field("signal")),
    Feature("vvix_macd_hist", FAMILY, "vvix_macd minus its signal", "vol points", F64, (IDX,),
            lambda _vvix_macd: _vvix_macd.struct.field("hist")),
    Feature("vvix_macd_hook", FAMILY, "VVIX MACD histogram below zero and rising two days in a "
            "row (flattening or hooking)", "flag", BOOL, (IDX,),
            lambda _vvix_macd: macd_hook(_vvix_macd), shift_bars(HOOK_BARS)),
    Feature("vvix_macd_cross_up", FAMILY, "VVIX MACD crossed above its signal today", "flag",
            BOOL, (IDX,), lambda _vvix_macd: macd_cross_up(_vvix_macd), shift_bars(CROSS_BARS)),
    Feature("vvix_macd_warming", FAMILY, "VVIX close known but vvix_macd null: the MACD "
            "(re)started fewer than 34 observations ago", "flag", BOOL, (IDX,),
            lambda vvix, _vvix_macd: warming(vvix, _vvix_macd.struct.field("macd"))),
)
