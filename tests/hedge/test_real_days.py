"""Real days: features_daily built from ../shared/data by features.build, then recommended."""

import datetime as dt

import polars as pl
import pytest

from features.build import build_features
from hedge.policy import load_policy, policy_from_mapping
from hedge.rates import risk_free_rate
from hedge.recommend import recommend
from tests.conftest import SHARED_DATA, shared
from tests.features.feature_inputs import NOW, all_inputs

D = dt.date
DAYS = [D(2018, 2, 5), D(2020, 3, 16), D(2021, 11, 19), D(2024, 8, 5)]
EQUITY = 10_000_000.0

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def built():
    shared("cboe", "SPX_History.csv")

    inputs = all_inputs(SHARED_DATA)
    features = build_features({k: v.lazy() for k, v in inputs.items()}, start=DAYS[0],
                              end=DAYS[-1], computed_at=NOW)
    return features, inputs["macro_observations"]


def recommend_on(built, day, policy=None, equity=EQUITY):
    features, macro = built
    pol = policy or load_policy()
    return recommend(features.filter(pl.col("date") == day), equity=equity, policy=pol,
                     rate=risk_free_rate(macro, day, pol.pricing.max_rate_age))


def vega_sizing():
    data = load_policy().model_dump()
    data["ladder"]["sizing"] = "vega"
    return policy_from_mapping(data)


def within_caps(r):
    return r.condor.max_loss + r.ladder.debit <= 0.015 * EQUITY + 1e-6


def test_2018_02_05_volmageddon(built):
    r = recommend_on(built, D(2018, 2, 5))
    assert r.regime == "extreme" and r.vix == pytest.approx(37.32)
    assert {"vix_above_200dma", "vix_rsi_high", "vix_extreme"} <= set(r.lit_signals)
    assert [la.name for la in r.ladder.layers] == ["L1", "L3"]
    assert not r.condor.open and "no_new_condor_extreme" in {x.rule for x in r.rules}
    # No DTB3 in the shared data and SOFR starts in April 2018: the fed funds rate, said so.
    assert (r.rate_source, r.rate) == ("DFF", pytest.approx(0.0142))
    assert all(la.contracts > 0 for la in r.ladder.layers)
    assert 0.35 <= r.ladder.stress_coverage <= 1.0
    assert within_caps(r)


def test_2020_03_16_covid_crash(built):
    r = recommend_on(built, D(2020, 3, 16))
    assert r.regime == "extreme" and r.vix == pytest.approx(82.69)
    assert [la.name for la in r.ladder.layers] == ["L1", "L2", "L3"]
    assert {"second_engine_1", "second_engine_2", "vix_extreme"} <= set(r.lit_signals)
    assert not r.condor.open and r.ladder.target_coverage == pytest.approx(0.6)
    assert r.ladder.sizing == "stress" and all(la.contracts > 0 for la in r.ladder.layers)
    # The reference condor (k = 2, 25-point wings) loses its max in the 13% gap (2.5 moves).
    assert r.ladder.stress_loss == pytest.approx(r.condor.reference_contracts
                                                 * r.condor.max_loss_per_contract)
    assert 0.35 <= r.ladder.stress_coverage <= 1.0
    assert within_caps(r)


def test_2020_03_16_vega_sizing_rounds_to_nothing(built):
    r = recommend_on(built, D(2020, 3, 16), policy=vega_sizing(), equity=1_000_000.0)
    assert r.ladder.sizing == "vega" and [la.name for la in r.ladder.layers] == ["L1", "L2",
                                                                                 "L3"]
    assert all(la.contracts == 0 for la in r.ladder.layers) and r.ladder.debit == 0
    assert r.ladder.stress_coverage == 0.0


def test_2024_08_05_yen_carry_unwind(built):
    r = recommend_on(built, D(2024, 8, 5))
    assert r.regime == "extreme" and [la.name for la in r.ladder.layers] == ["L1", "L3"]
    assert all(la.contracts > 0 for la in r.ladder.layers)
    assert 0.35 <= r.ladder.stress_coverage <= 1.0 and within_caps(r)


def test_2021_11_19_quiet_day(built):
    r = recommend_on(built, D(2021, 11, 19))
    assert r.regime == "normal" and r.lit_signals == [] and r.ladder.layers == []
    assert r.ladder.target_coverage == pytest.approx(0.40)
    c = r.condor
    assert c.k == 1.5 and c.wing_width == 25
    assert c.long_put < c.short_put < 4697.96 < c.short_call < c.long_call
    assert c.requested_risk_pct == pytest.approx(0.02 * 12 / 17.91)
    # The Friday before Thanksgiving week: VIX9D 12.45 against VIX 17.91, three calendar days
    # to Monday's close. The strikes sit 1.5 VIX-moves out (80 points), where the calibrated
    # model prices the condor at 0.18 and its fill at nothing: no condor for crumbs.
    assert c.pricing_source == "model" and c.credit_points == pytest.approx(0.18, abs=0.02)
    assert not c.open and "credit_below_minimum" in {x.rule for x in r.rules}
    assert r.caps_bound == [] and within_caps(r)
    assert r.feature_set_version is not None
