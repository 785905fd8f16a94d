"""ALVH rules on one features row: regime, warning signals, lit ladder layers.

A features row is a plain mapping of feature name to value. Missing or null (or NaN) values
are unknown: a signal that depends on an unknown input is neither lit nor dark (``lit=None``),
counts as not lit for decisions, and the reasons say which inputs were unknown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from features.config import RegimeConfig, TermStructureConfig
from features.macro import SIGNALS as SECOND_ENGINE_SIGNALS
from hedge.document import RuleFired, Signal, Value
from hedge.policy import Policy

# The regime bounds and the steep slope are feature thresholds: one definition, features.config.
REGIME = RegimeConfig()
TERM_STRUCTURE = TermStructureConfig()

Row = Mapping[str, Any]

# Every feature the engine reads (ALVH.md "Signals"); reported when absent.
FEATURES = (
    "spx_close", "vix_close", "vvix_close", "vix1d_close", "spx_rsi_14", "vix_rsi_14",
    "vvix_macd_hook", "vvix_macd_cross_up", "ts_slope_12", "ts_macd_cross_up", "vx_cm30",
    "vx_cm110", "vx_cm220", "vx_cm30_beta", "vx_cm110_beta", "vx_cm220_beta", "vix_sma_200",
    "vix_above_200dma", "contango", "second_engine_score", "spx_exp_move_1d", "vix_regime",
)


def features_row(features: Row | pl.DataFrame) -> dict[str, Any]:
    """A plain dict from a mapping or a one-row polars frame (nulls and NaN become None)."""
    if isinstance(features, pl.DataFrame):
        if features.height != 1:
            raise ValueError(f"features frame must have exactly one row, got {features.height}")
        features = features.row(0, named=True)
    return {k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in features.items()}


def number(row: Row, name: str) -> float | None:
    """The feature as a float, or None when unknown."""
    v = row.get(name)
    return None if v is None else float(v)


def flag(row: Row, name: str) -> bool | None:
    """The feature as a bool, or None when unknown."""
    v = row.get(name)
    return None if v is None else bool(v)


def unknown_features(row: Row, signals: Sequence[Signal] = ()) -> list[str]:
    """Engine inputs missing or null in the row, then any other null input of a signal."""
    names = [f for f in FEATURES if row.get(f) is None]
    extra = [k for s in signals for k, v in s.inputs.items() if v is None]
    return names + [k for k in dict.fromkeys(extra) if k not in names]


def vix_regime(vix: float | None, cfg: RegimeConfig = REGIME) -> str:
    """The regime of VIX by the features' own rule and bounds (features.regime); unknown if None.

    The same comparisons as ``features.regime.vix_regime`` in plain Python: a one-row polars
    query per call was a fifth of a backtest session (tests/hedge/test_rules.py checks that
    the two agree on every bound).
    """
    if vix is None:
        return "unknown"
    x = float(vix)
    if x < cfg.calm_below:
        return "calm"
    if x < cfg.normal_below:
        return "normal"
    return "elevated" if x < cfg.extreme_from else "extreme"


def _any3(values: list[bool | None]) -> bool | None:
    """Three-valued OR: True if any True, None if any unknown, else False."""
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _all3(values: list[bool | None]) -> bool | None:
    """Three-valued AND: False if any False, None if any unknown, else True."""
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _cmp(x: float | None, op: str, threshold: float) -> bool | None:
    """``x op threshold`` or None when x is unknown."""
    if x is None:
        return None
    return {">": x > threshold, ">=": x >= threshold, "<": x < threshold}[op]


def _signal(name: str, layer: str | None, lit: bool | None, value: Value, rule: str,
            **inputs: Value) -> Signal:
    return Signal(name=name, layer=layer, lit=lit, value=value, rule=rule, inputs=inputs)


def vix_above_200dma(row: Row) -> Signal:
    """Layer 1: VIX above its 200-day average (the feature, else VIX vs the SMA)."""
    vix, sma = number(row, "vix_close"), number(row, "vix_sma_200")
    lit = flag(row, "vix_above_200dma")
    if lit is None and vix is not None and sma is not None:
        lit = vix > sma
    return _signal("vix_above_200dma", "L1", lit, lit, "vix_close > vix_sma_200",
                   vix_close=vix, vix_sma_200=sma)


def vix_rsi_high(row: Row, policy: Policy) -> Signal:
    """Layer 1: VIX RSI(14) above the policy threshold."""
    rsi, thr = number(row, "vix_rsi_14"), policy.signals.vix_rsi_high
    return _signal("vix_rsi_high", "L1", _cmp(rsi, ">", thr), rsi, f"vix_rsi_14 > {thr:g}",
                   vix_rsi_14=rsi)


def second_engine_floor(row: Row) -> float | None:
    """second_engine_score, else (a signal unknown) how many are known lit, if any.

    The score is null while any of its signals is unknown, but the lit ones still count:
    the score is at least that many.
    """
    score = number(row, "second_engine_score")
    lit = sum(flag(row, s) is True for s in SECOND_ENGINE_SIGNALS)
    return score if score is not None else (float(lit) if lit else None)


def second_engine(row: Row, at_least: int, layer: str) -> Signal:
    """Second Engine: second_engine_score at or above ``at_least``.

    Known while a signal is unknown too, when the ones known to be lit already reach it.
    """
    score, floor = number(row, "second_engine_score"), second_engine_floor(row)
    known = score is not None or (floor is not None and floor >= at_least)
    value = floor if known else None
    return _signal(f"second_engine_{at_least}", layer, _cmp(value, ">=", at_least), value,
                   f"second_engine_score >= {at_least}", second_engine_score=score,
                   second_engine_lit=floor)


def spx_rsi_extreme_in_contango(row: Row, policy: Policy) -> Signal:
    """Layer 1: SPX RSI below the oversold or above the overbought level while in contango."""
    rsi, contango = number(row, "spx_rsi_14"), flag(row, "contango")
    lo, hi = policy.signals.rsi_oversold, policy.signals.rsi_overbought
    extreme = _any3([_cmp(rsi, "<", lo), _cmp(rsi, ">", hi)])
    return _signal("spx_rsi_extreme_in_contango", "L1", _all3([extreme, contango]), rsi,
                   f"(spx_rsi_14 < {lo:g} or spx_rsi_14 > {hi:g}) and contango",
                   spx_rsi_14=rsi, contango=contango)


def boolean_signal(row: Row, name: str, layer: str) -> Signal:
    """A signal that is a boolean feature of the same name."""
    lit = flag(row, name)
    return _signal(name, layer, lit, lit, f"{name} is true", **{name: lit})


def vix_extreme(row: Row, policy: Policy) -> Signal:
    """Layer 3: VIX at or above the layer-3 threshold."""
    vix, thr = number(row, "vix_close"), policy.ladder.layer3_vix
    return _signal("vix_extreme", "L3", _cmp(vix, ">=", thr), vix, f"vix_close >= {thr:g}",
                   vix_close=vix)


def ts_slope_steep(row: Row, cfg: TermStructureConfig = TERM_STRUCTURE) -> Signal:
    """Coverage modifier: term structure steeper than the features' slope (VX2 - VX1 points)."""
    slope, thr = number(row, "ts_slope_12"), cfg.steep_slope_points
    return _signal("ts_slope_steep", None, _cmp(slope, ">", thr), slope,
                   f"ts_slope_12 > {thr:g}", ts_slope_12=slope)


def rsi_normalised(row: Row, policy: Policy) -> Signal:
    """Peel-back gate: both SPX and VIX RSI(14) inside the policy's normal band."""
    lo, hi = policy.signals.rsi_normal_low, policy.signals.rsi_normal_high
    spx, vix = number(row, "spx_rsi_14"), number(row, "vix_rsi_14")
    inside = [None if x is None else lo <= x <= hi for x in (spx, vix)]
    return _signal("rsi_normalised", None, _all3(inside), None,
                   f"{lo:g} <= spx_rsi_14, vix_rsi_14 <= {hi:g}", spx_rsi_14=spx, vix_rsi_14=vix)


def evaluate_signals(row: Row, policy: Policy) -> list[Signal]:
    """Every signal of the rules, layer triggers first, then the modifiers."""
    return [
        vix_above_200dma(row),
        vix_rsi_high(row, policy),
        second_engine(row, 1, "L1"),
        spx_rsi_extreme_in_contango(row, policy),
        boolean_signal(row, "vvix_macd_cross_up", "L2"),
        boolean_signal(row, "vvix_macd_hook", "L2"),
        boolean_signal(row, "ts_macd_cross_up", "L2"),
        second_engine(row, 2, "L2"),
        vix_extreme(row, policy),
        ts_slope_steep(row),
        rsi_normalised(row, policy),
    ]


def lit_triggers(signals: list[Signal]) -> list[str]:
    """Names of lit layer triggers (the signals counted for confirmation and coverage)."""
    return [s.name for s in signals if s.layer is not None and s.lit is True]


def signal(signals: list[Signal], name: str) -> Signal:
    """The signal called ``name``."""
    return next(s for s in signals if s.name == name)


def layer_states(signals: list[Signal], policy: Policy,
                 lit: Sequence[str] | None = None) -> dict[str, bool | None]:
    """Each layer lit (True), unlit (False) or unknown (None: a trigger's input is unknown).

    ``lit``: the layers ``lit_layers`` gives, when already known.
    """
    if lit is None:
        lit, _ = lit_layers(signals, policy)
    states: dict[str, bool | None] = {}
    any_unknown = any(s.lit is None for s in signals if s.layer is not None)
    for layer in policy.ladder.layers:
        mine = [s.lit for s in signals if s.layer == layer.name]
        # A trigger blocked by confirmation might have passed had the unknown signals been known.
        unknown = None in mine or (True in mine and any_unknown)
        states[layer.name] = True if layer.name in lit else (None if unknown else False)
    return states


def lit_layers(signals: list[Signal], policy: Policy) -> tuple[list[str], list[RuleFired]]:
    """Layers lit by their triggers, with multi-signal confirmation beyond layer 1."""
    names = [layer.name for layer in policy.ladder.layers]
    lit, rules = [], []
    n_lit = len(lit_triggers(signals))
    for i, name in enumerate(names):
        triggers = [s.name for s in signals if s.layer == name and s.lit is True]
        if not triggers:
            continue
        inputs: dict[str, Value] = {"lit_signals": n_lit, "triggers": ",".join(triggers)}
        if i > 0 and n_lit < policy.ladder.confirm_min_signals:
            rules.append(RuleFired(
                rule="confirmation_blocked",
                detail=f"{name} trigger lit but only {n_lit} signal(s) lit; needs "
                       f"{policy.ladder.confirm_min_signals}", inputs=inputs))
            continue
        lit.append(name)
        rules.append(RuleFired(rule=f"layer_{name}_lit",
                               detail=f"{name} lit by {', '.join(triggers)}", inputs=inputs))
    return lit, rules
