import math

import polars as pl
import pytest

from features.config import FeatureConfig
from features.registry import feature
from hedge.rules import (
    REGIME,
    evaluate_signals,
    features_row,
    lit_layers,
    lit_triggers,
    signal,
    unknown_features,
    vix_regime,
)
from tests.hedge.rows import calm_row


@pytest.mark.parametrize(("vix", "regime"), [
    (14.99, "calm"), (15.0, "normal"), (19.99, "normal"), (20.0, "elevated"),
    (34.99, "elevated"), (35.0, "extreme"), (None, "unknown"),
])
def test_regime_thresholds(vix, regime):
    assert vix_regime(vix) == regime


def test_regime_is_the_features_rule_on_every_bound():
    bounds = (REGIME.calm_below, REGIME.normal_below, REGIME.extreme_from)
    vix = sorted({0.0, 9.0, 80.0, math.inf, *(b + d for b in bounds
                                             for d in (-1e-9, 0.0, 1e-9, -1e-12))})
    vix.append(math.nan)
    regime_expr = feature("vix_regime").expr(FeatureConfig(regime=REGIME))
    features = pl.DataFrame({"vix": vix}).select(regime_expr)["vix_regime"].to_list()
    assert [vix_regime(v) for v in vix] == features


def lit(row, name, policy):
    return signal(evaluate_signals(row, policy), name).lit


@pytest.mark.parametrize(("rsi", "expected"), [(29.99, True), (30.0, False), (50.0, False),
                                               (70.0, False), (70.01, True)])
def test_spx_rsi_extremes_light_layer1_only_in_contango(policy, rsi, expected):
    assert lit(calm_row(spx_rsi_14=rsi), "spx_rsi_extreme_in_contango", policy) is expected
    assert lit(calm_row(spx_rsi_14=rsi, contango=False), "spx_rsi_extreme_in_contango",
               policy) is False


@pytest.mark.parametrize(("rsi", "expected"), [(59.99, False), (60.0, False), (60.01, True)])
def test_vix_rsi_threshold(policy, rsi, expected):
    assert lit(calm_row(vix_rsi_14=rsi), "vix_rsi_high", policy) is expected


@pytest.mark.parametrize(("slope", "expected"), [(2.99, False), (3.0, False), (3.01, True)])
def test_steep_slope_threshold(policy, slope, expected):
    assert lit(calm_row(ts_slope_12=slope), "ts_slope_steep", policy) is expected


@pytest.mark.parametrize(("score", "one", "two"), [(0, False, False), (1, True, False),
                                                   (2, True, True)])
def test_second_engine_thresholds(policy, score, one, two):
    row = calm_row(second_engine_score=score)
    assert lit(row, "second_engine_1", policy) is one
    assert lit(row, "second_engine_2", policy) is two


@pytest.mark.parametrize(("signals", "one", "two"), [
    ((None, True, True, False), True, True),  # 2020-03-16: two lit, funding unknown
    ((None, True, False, False), True, None),
    ((None, False, False, False), None, None),  # 2010-01-04: nothing lit, one unknown
])
def test_second_engine_with_an_unknown_signal(policy, signals, one, two):
    """Score null (a signal unknown): a threshold the lit signals already reach is lit."""
    names = ("funding_stress", "nfci_leverage_rising", "hy_oas_widening", "dollar_rising")
    row = calm_row(second_engine_score=None, **dict(zip(names, signals, strict=True)))
    assert lit(row, "second_engine_1", policy) is one
    assert lit(row, "second_engine_2", policy) is two


@pytest.mark.parametrize(("vix", "expected"), [(34.99, False), (35.0, True)])
def test_layer3_threshold(policy, vix, expected):
    assert lit(calm_row(vix_close=vix), "vix_extreme", policy) is expected


def test_rsi_normalised_band(policy):
    assert lit(calm_row(spx_rsi_14=40.0, vix_rsi_14=60.0), "rsi_normalised", policy) is True
    assert lit(calm_row(spx_rsi_14=39.99), "rsi_normalised", policy) is False
    assert lit(calm_row(spx_rsi_14=None), "rsi_normalised", policy) is None


def test_vix_above_200dma_falls_back_to_the_sma(policy):
    assert lit(calm_row(vix_above_200dma=None, vix_sma_200=12.0), "vix_above_200dma",
               policy) is True
    assert lit(calm_row(vix_above_200dma=None, vix_sma_200=None), "vix_above_200dma",
               policy) is None


def test_unknown_inputs_are_not_lit_and_listed(policy):
    row = features_row({"spx_close": 4000.0, "vix_close": float("nan")})
    sigs = evaluate_signals(row, policy)
    assert lit_triggers(sigs) == []
    assert signal(sigs, "vix_rsi_high").lit is None
    assert "vix_close" in unknown_features(row) and "spx_close" not in unknown_features(row)


def test_one_row_frame_is_accepted():
    frame = pl.DataFrame([calm_row()])
    assert features_row(frame)["vix_close"] == 13.0
    with pytest.raises(ValueError, match="exactly one row"):
        features_row(pl.concat([frame, frame]))


def test_layer2_needs_confirmation(policy):
    one = evaluate_signals(calm_row(vvix_macd_cross_up=True), policy)
    layers, rules = lit_layers(one, policy)
    assert layers == [] and rules[0].rule == "confirmation_blocked"
    two = evaluate_signals(calm_row(vvix_macd_cross_up=True, ts_macd_cross_up=True), policy)
    assert lit_layers(two, policy)[0] == ["L2"]
    both = evaluate_signals(calm_row(vvix_macd_cross_up=True, vix_rsi_14=70.0), policy)
    assert lit_layers(both, policy)[0] == ["L1", "L2"]


def test_layer3_only_at_extreme_vix_with_confirmation(policy):
    sigs = evaluate_signals(calm_row(vix_close=35.0, vix_above_200dma=True), policy)
    assert lit_layers(sigs, policy)[0] == ["L1", "L3"]
    alone = evaluate_signals(calm_row(vix_close=35.0), policy)
    assert lit_layers(alone, policy)[0] == []


def test_layer_states_unknown_is_not_unlit(policy):
    from hedge.rules import layer_states

    quiet = layer_states(evaluate_signals(calm_row(), policy), policy)
    assert quiet == {"L1": False, "L2": False, "L3": False}
    # L1's VIX RSI unknown and nothing else lit: L1 is unknown, never unlit.
    row = calm_row(vix_rsi_14=None)
    assert layer_states(evaluate_signals(row, policy), policy)["L1"] is None
    # L2's trigger lit but blocked while another trigger is unknown: unknown too.
    blocked = calm_row(vvix_macd_cross_up=True, vix_above_200dma=None, vix_sma_200=None)
    assert layer_states(evaluate_signals(blocked, policy), policy)["L2"] is None


def test_every_rule_input_is_listed_when_unknown(policy):
    from hedge.rules import FEATURES

    blank = features_row({"spx_close": 4000.0})
    sigs = evaluate_signals(blank, policy)
    unknown = unknown_features(blank, sigs)
    assert set(FEATURES) - {"spx_close"} <= set(unknown) and "spx_close" not in unknown
    assert {k for s in sigs for k, v in s.inputs.items() if v is None} <= set(unknown)
    assert len(unknown) == len(set(unknown))
