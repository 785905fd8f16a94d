"""The stress scenario's arithmetic against Black-76 and condor payoffs computed by hand here."""

import datetime as dt
import math

import numpy as np
import pytest
import QuantLib as ql
from scipy.stats import norm

from hedge.policy import StressPolicy
from hedge.recommend import recommend
from hedge.stress import condor_loss, condor_payoff, stress_scenario, stressed_call
from tests.hedge.rows import calm_row, flat_vix_pricing

EQUITY = 10_000_000.0


def black76_call(f: float, k: float, t: float, r: float, vol: float) -> float:
    """Black-76 call written out from the formula (scipy's normal CDF)."""
    sd = vol * math.sqrt(t)
    d1 = (math.log(f / k) + 0.5 * sd * sd) / sd
    return math.exp(-r * t) * (f * norm.cdf(d1) - k * norm.cdf(d1 - sd))


def test_scenario_gap_jump_and_floor():
    p = StressPolicy()
    s = stress_scenario(4000.0, 20.0, 50.0, p, 1)
    # gap: max(5%, 2.5 x 50 / 4000 = 3.125%); VIX rise: max(8, 60% x 20 = 12)
    assert (s.spx_gap_pct, s.spx_after, s.vix_rise, s.vix_after) == (0.05, 3800.0, 12.0, 32.0)
    calm = stress_scenario(4000.0, 10.0, 25.0, p, 3)
    assert calm.vix_rise == 8.0 and calm.horizon_days == 3  # the 8-point floor
    wild = stress_scenario(2400.0, 80.0, 120.0, p, 1)
    assert wild.spx_gap_pct == pytest.approx(0.125)  # 2.5 expected moves beat 5%


def test_condor_payoff_and_loss_by_hand():
    strikes = (3700.0, 3725.0, 4100.0, 4125.0)
    assert condor_payoff(strikes, 3900.0) == 0.0
    assert condor_payoff(strikes, 3715.0) == 10.0
    assert condor_payoff(strikes, 3000.0) == 25.0  # the put spread's width, no more
    assert condor_payoff(strikes, 4110.0) == 10.0
    assert condor_loss(strikes, 1.5, 3715.0, 100.0) == pytest.approx(850.0)
    assert condor_loss(strikes, 1.5, 3000.0, 100.0) == pytest.approx(2350.0)  # max loss
    assert condor_loss(strikes, 1.5, 3724.0, 100.0) == 0.0  # keeps part of its credit


def test_stressed_call_is_black76_one_session_later_at_the_shocked_forward():
    s = stress_scenario(4000.0, 20.0, 50.0, StressPolicy(), 1)
    fwd, value = stressed_call(20.0, 23.0, 30, 0.02, 0.9, 0.8, s)
    assert fwd == pytest.approx(20.0 + 0.8 * 12.0)
    assert value == pytest.approx(black76_call(29.6, 23.0, 29 / 365, 0.02, 0.9), rel=1e-12)
    # F=29.6, K=23, 29 days, 90% vol, 2%: 7.14313 (QuantLib's BlackCalculator agrees).
    t = 29 / 365
    ql_value = ql.BlackCalculator(ql.PlainVanillaPayoff(ql.Option.Call, 23.0), 29.6,
                                  0.9 * math.sqrt(t), math.exp(-0.02 * t)).value()
    assert value == pytest.approx(ql_value, rel=1e-12) and value == pytest.approx(7.14313, abs=1e-5)
    expiring = stressed_call(20.0, 23.0, 1, 0.02, 0.9, 0.8, s)
    assert expiring == (pytest.approx(29.6), pytest.approx(6.6))  # intrinsic at expiry


def test_recommendation_stress_figures_by_hand():
    row = calm_row(vix_close=20.0, vix_rsi_14=65.0, vvix_close=120.0)
    r = recommend(row, rate=0.02, equity=EQUITY, pricing=flat_vix_pricing())
    c, lad = r.condor, r.ladder
    horizon = (r.trade_date - r.date).days  # Friday -> Monday: 3 calendar days
    assert horizon == 3 and lad.stress.horizon_days == 3
    # Reference condor at the gapped close: SPX down max(5%, 2.5 moves).
    gap = max(0.05, 2.5 * row["spx_exp_move_1d"] / row["spx_close"])
    spx_after = row["spx_close"] * (1 - gap)
    owed = min(max(c.short_put - spx_after, 0.0), c.short_put - c.long_put)
    loss = max(0.0, owed - c.fill_credit_points) * 100 * c.reference_contracts
    assert lad.stress_loss == pytest.approx(loss, rel=1e-12)
    (la,) = lad.layers
    fwd = float(np.interp(la.dte, [0, 30, 110, 220], [20.0, 16.5, 20.0, 22.0]))
    vol = 1.2 * (30 / la.dte) ** 0.3
    assert (la.forward, la.vol) == (pytest.approx(fwd), pytest.approx(vol))
    assert la.price == pytest.approx(black76_call(fwd, la.strike, la.dte / 365, 0.02, vol))
    shocked = fwd + 0.8 * max(8.0, 0.6 * 20.0)
    later = black76_call(shocked, la.strike, (la.dte - 3) / 365, 0.02, vol)
    assert la.stress_price == pytest.approx(later)
    assert la.stress_gain == pytest.approx(la.contracts * 100 * (later - la.price))
    assert lad.stress_coverage == pytest.approx(la.stress_gain / loss)
    # 40% of the loss, in whole contracts (one contract's gain is the rounding grain).
    grain = 100 * (later - la.price)
    assert la.contracts == math.floor(0.4 * loss / (4 * grain) * 4 + 0.5)


def test_vix_jump_floor_reaches_the_ladder():
    low = recommend(calm_row(vix_close=11.0, vix_rsi_14=65.0), rate=0.02, equity=EQUITY)
    (la,) = low.ladder.layers
    assert low.ladder.stress.vix_rise == 8.0
    assert la.stress_forward == pytest.approx(la.forward + 0.8 * 8.0)
    assert low.date == dt.date(2021, 11, 19)
