import datetime as dt
import json
import math

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.calendar import next_session
from hedge.policy import load_policy, policy_from_mapping
from hedge.recommend import Ask, PriorDay, recommend, recommend_each, vix_strike
from hedge.tables import RECOMMENDATION_LEGS, RECOMMENDATIONS, legs_frame, recommendation_frame
from storage import schemas
from tests.hedge.rows import calm_row

EQUITY = 10_000_000.0


def rec(equity=EQUITY, **over):
    return recommend(calm_row(**over), rate=0.02, equity=equity)


def rules(r):
    return {x.rule: x for x in r.rules}


def caps(r):
    return {c.cap: c for c in r.caps_bound}


def _variant(policy, section, key, value):
    data = policy.model_dump(mode="json")
    data[section][key] = value
    return policy_from_mapping(data)


@pytest.mark.parametrize("row", [
    calm_row(vix_rsi_14=65.0, vvix_macd_cross_up=True, ts_slope_12=3.5),  # L1 and L2 lit
    calm_row(vix_close=40.0, vx_cm30=None, vx_cm110=None, vx_cm220=None),  # no curve
    calm_row(spx_close=None, spx_exp_move_1d=None),  # nothing priced
])
def test_recommend_each_gives_each_recommend_document(policy, row):
    vega = _variant(policy, "ladder", "sizing", "vega")
    wider = _variant(policy, "condor", "wing_width", 30.0)  # does not share the day's work
    held = recommend(calm_row(vix_rsi_14=65.0), rate=0.02, equity=EQUITY,
                     policy=policy).ladder.positions
    lost = PriorDay(lost=True, risk_pct=0.001, pnl=-5_000.0)
    asks = [Ask(policy, lost, held), Ask(vega, None, ()), Ask(wider, lost, held),
            Ask(vega, lost, held)]
    got = recommend_each(row, asks, rate=0.02, equity=EQUITY)
    want = [recommend(row, rate=0.02, equity=EQUITY, policy=a.policy, prior=a.prior,
                      held=a.held) for a in asks]
    assert [r.to_json() for r in got] == [r.to_json() for r in want]
    assert got[0].to_json() != got[1].to_json()


def test_same_inputs_same_document(policy):
    a = recommend(calm_row(vix_rsi_14=65.0), rate=0.02, equity=EQUITY, policy=policy)
    b = recommend(pl.DataFrame([calm_row(vix_rsi_14=65.0)]), rate=0.02, equity=EQUITY,
                  policy=load_policy())
    assert a.to_json() == b.to_json()
    doc = json.loads(a.to_json())
    assert doc["schema_version"] == "1" and doc["policy_version"] == policy.version
    assert doc["feature_set_version"] == "fs-test"


def test_condor_for_the_next_session_on_listed_strikes():
    r = rec()
    c = r.condor
    assert r.trade_date == dt.date(2021, 11, 22)  # Friday -> Monday
    assert c.k == 1.5 and c.wing_width == 25
    em = 4697.96 * 0.13 / math.sqrt(252)
    assert c.short_put == 5 * math.floor((4697.96 - 1.5 * em) / 5)
    assert c.short_call == 5 * math.ceil((4697.96 + 1.5 * em) / 5)
    assert (c.long_put, c.long_call) == (c.short_put - 25, c.short_call + 25)
    # The trade's own figures: what the fill receives, not the mid.
    assert c.break_even_low == pytest.approx(c.short_put - c.fill_credit_points)
    assert c.max_loss_per_contract == pytest.approx((25 - c.fill_credit_points) * 100)
    assert c.vega_per_contract < 0 < c.fill_credit_points < c.credit_points
    assert c.pricing_source == "model" and c.pricing_band is not None
    assert "condor_model_priced" in rules(r)


@pytest.mark.parametrize(("vix", "k"), [(14.99, 1.5), (15.0, 1.5), (19.99, 1.5), (20.0, 2.0),
                                        (34.99, 2.0)])
def test_k_by_regime(vix, k):
    assert rec(vix_close=vix).condor.k == k


def test_hook_tightens_wing(policy):
    assert rec(vvix_macd_hook=True).condor.wing_width == 20
    unknown = rec(vvix_macd_hook=None)
    assert unknown.condor.wing_width == 25 and "wing_hook_unknown" in rules(unknown)
    data = policy.model_dump()
    data["condor"]["hook_tighten_steps"] = 2
    two = recommend(calm_row(vvix_macd_hook=True), rate=0.02, equity=EQUITY,
                    policy=policy_from_mapping(data))
    assert two.condor.wing_width == 15 and two.condor.long_put == two.condor.short_put - 15


def test_risk_scaled_by_vix_and_hard_cap():
    calm = rec(vix_close=12.0)
    assert calm.condor.requested_risk_pct == pytest.approx(0.02)
    assert "max_total_risk_pct" in caps(calm)
    assert calm.condor.max_loss + calm.ladder.debit <= 0.015 * EQUITY
    assert rec(vix_close=24.0).condor.requested_risk_pct == pytest.approx(0.01)


@pytest.mark.parametrize(("vix", "score", "cut"), [(14.99, 0, 0.0), (14.99, 1, 0.25),
                                                   (14.99, 2, 0.40), (15.0, 1, 0.0),
                                                   (15.0, 2, 0.0)])
def test_second_engine_cut_only_below_vix_15(vix, score, cut):
    r = rec(vix_close=vix, second_engine_score=score)
    base = 0.02 * min(1, 12 / vix)
    assert r.condor.requested_risk_pct == pytest.approx(base * (1 - cut))
    assert ("second_engine_cut" in rules(r)) is (cut > 0)


@pytest.mark.parametrize(("lit", "cut"), [(0, 0.0), (1, 0.25), (2, 0.40)])
def test_second_engine_cut_follows_the_lit_signals_while_one_is_unknown(lit, cut):
    """Score null (funding unknown, as before 2021 on the real data): lit ones still cut."""
    signals = {"funding_stress": None, "nfci_leverage_rising": lit >= 1,
               "hy_oas_widening": lit >= 2, "dollar_rising": False}
    r = rec(vix_close=14.0, second_engine_score=None, **signals)
    assert r.condor.requested_risk_pct == pytest.approx(0.02 * 12 / 14 * (1 - cut))
    assert ("second_engine_cut" in rules(r)) is (cut > 0)


@pytest.mark.parametrize("vix", [35.0, 60.0])
def test_no_new_condor_in_extreme_regime_unless_allowed(policy, vix):
    r = rec(vix_close=vix)
    assert r.regime == "extreme" and not r.condor.open and r.condor.contracts == 0
    assert "no_new_condor_extreme" in rules(r)
    data = policy.model_dump()
    data["condor"]["allow_extreme"] = True
    allowed = recommend(calm_row(vix_close=vix), rate=0.02, equity=EQUITY,
                        policy=policy_from_mapping(data))
    assert "no_new_condor_extreme" not in rules(allowed)
    assert allowed.condor.requested_risk_pct > 0
    # Two expected moves out at VIX 35+ a Friday condor earns crumbs: the minimum credit rules.
    assert allowed.condor.open or "credit_below_minimum" in rules(allowed)


def test_quiet_day_has_no_ladder_but_reference_vega():
    r = rec()
    assert r.lit_signals == [] and r.ladder.layers == [] and r.ladder.debit == 0
    assert r.condor.reference_vega > 0 and r.ladder.target_pct == pytest.approx(0.4)


def vega_policy(policy):
    data = policy.model_dump()
    data["ladder"]["sizing"] = "vega"
    return policy_from_mapping(data)


def test_coverage_40_with_one_signal_60_with_two_x15_when_steep():
    one = rec(vix_rsi_14=65.0)
    assert [la.name for la in one.ladder.layers] == ["L1"]
    assert one.ladder.sizing == "stress" and one.ladder.target_coverage == pytest.approx(0.4)
    assert one.ladder.target_dollars == pytest.approx(0.4 * one.ladder.stress_loss)
    assert one.ladder.reached_dollars == pytest.approx(one.ladder.stress_gain)
    two = rec(vix_rsi_14=65.0, vix_above_200dma=True)
    assert two.ladder.target_coverage == pytest.approx(0.6)
    steep = rec(vix_rsi_14=65.0, vix_above_200dma=True, ts_slope_12=3.5)
    assert steep.ladder.target_coverage == pytest.approx(0.9)
    assert "steep_curve_coverage" in rules(steep)
    for r in (one, two, steep):
        assert r.ladder.within_band
        assert r.ladder.stress_coverage == pytest.approx(r.ladder.stress_gain
                                                         / r.ladder.stress_loss)


def test_coverage_never_above_max(policy):
    data = policy.model_dump()
    data["ladder"]["coverage_lit"] = 0.8
    capped = recommend(calm_row(vix_rsi_14=65.0, vix_above_200dma=True, ts_slope_12=3.5),
                       rate=0.02, equity=EQUITY, policy=policy_from_mapping(data))
    assert capped.ladder.target_coverage == 1.0  # 0.8 x 1.5 = 1.2, at most 100%


def test_vega_sizing_covers_the_reference_dollar_vega(policy):
    r = recommend(calm_row(vix_rsi_14=65.0), rate=0.02, equity=EQUITY,
                  policy=vega_policy(policy))
    assert r.ladder.sizing == "vega"
    assert r.ladder.target_dollars == pytest.approx(0.4 * r.condor.reference_vega)
    assert r.ladder.reached_dollars == pytest.approx(
        sum(la.dollar_per_vix_point for la in r.ladder.layers))
    assert r.ladder.within_band


def test_ladder_layers_priced_on_listed_expiries():
    r = rec(vix_close=36.0, vix_above_200dma=True, vvix_macd_cross_up=True,
            vx_cm30=33.0, vx_cm110=28.0, vx_cm220=26.0, vvix_close=140.0)
    layers = {la.name: la for la in r.ladder.layers}
    assert list(layers) == ["L1", "L2", "L3"]
    assert layers["L1"].expiry == dt.date(2021, 12, 22)
    assert layers["L1"].strike == vix_strike(layers["L1"].forward * 1.15, 20.0)
    for la in layers.values():
        # Wednesday, or Tuesday when the reference Friday is a holiday (2022-04-15).
        assert la.expiry.weekday() in (1, 2) and la.contracts > 0
        assert la.dollar_per_vix_point == pytest.approx(
            la.contracts * 100 * la.delta * la.beta)
    assert layers["L2"].expiry == dt.date(2022, 3, 15)
    assert r.ladder.reached_dollars == pytest.approx(sum(la.stress_gain
                                                         for la in layers.values()))
    assert all(la.action == "buy" and la.cost == la.contracts * la.price * 100
               for la in layers.values())
    assert r.ladder.debit == pytest.approx(sum(la.cost for la in layers.values()))


def test_vix_strike_grid():
    assert vix_strike(17.26, 20.0) == 17.5
    assert vix_strike(17.24, 20.0) == 17.0
    assert vix_strike(23.4, 20.0) == 23.0
    assert vix_strike(19.9, 20.0) == 20.0


def test_missing_betas_use_policy_default_and_say_so():
    r = rec(vix_rsi_14=65.0, vx_cm30_beta=None)
    assert r.ladder.layers[0].beta == 0.8 and "beta_default" in rules(r)
    assert "vx_cm30_beta" in r.unknown_features
    negative = rec(vix_rsi_14=65.0, vx_cm30_beta=-0.1, vvix_close=None)
    assert negative.ladder.layers[0].beta == 0.8 and "vix_vol_default" in rules(negative)


def test_unknown_closes_give_an_empty_recommendation():
    r = recommend({"date": dt.date(2021, 11, 19), "spx_close": None}, equity=EQUITY)
    assert r.condor is None and r.regime == "unknown" and "insufficient_inputs" in rules(r)
    assert recommendation_frame(r).height == 1 and legs_frame(r).height == 0


def test_rate_default_said_so():
    r = recommend(calm_row(), equity=EQUITY)
    assert r.rate == 0.04 and "default_rate" in rules(r)


def test_no_doubling_after_a_losing_day():
    r = recommend(calm_row(vix_close=14.0), rate=0.02, equity=EQUITY,
                  prior=PriorDay(lost=True, risk_pct=0.005))
    assert caps(r)["no_doubling"].applied == 0.005
    assert r.condor.risk_pct <= 0.005


def chain_for(day: dt.date, expiry: dt.date, spx: float) -> pl.DataFrame:
    strikes = [float(k) for k in range(4400, 5005, 5)]
    rows = []
    for k in strikes:
        for right in ("C", "P"):
            otm = (k - spx) if right == "C" else (spx - k)
            mid = max(0.05, 20.0 * math.exp(-max(otm, 0) / 30.0))
            rows.append({"quote_date": day, "root": "SPXW", "expiration": expiry, "strike": k,
                         "right": right, "bid": mid - 0.05, "ask": mid + 0.05, "iv": 0.14})
    return pl.DataFrame(rows)


def test_chain_mids_price_the_condor():
    day = dt.date(2021, 11, 19)
    chain = chain_for(day, next_session(day), 4697.96)
    r = recommend(calm_row(), chain=chain, rate=0.02, equity=EQUITY)
    c = r.condor
    assert c.pricing_source == "quote" and c.pricing_band is None
    quote = {(row["strike"], row["right"]): (row["bid"], row["ask"])
             for row in chain.iter_rows(named=True)}
    bid = {k: b for k, (b, _) in quote.items()}
    ask = {k: a for k, (_, a) in quote.items()}
    short, long_ = [(c.short_put, "P"), (c.short_call, "C")], [(c.long_put, "P"),
                                                               (c.long_call, "C")]
    mid = {k: (bid[k] + ask[k]) / 2 for k in quote}
    assert c.credit_points == pytest.approx(sum(mid[k] for k in short)
                                            - sum(mid[k] for k in long_))
    # The fill: the shorts sold at their bid, the longs bought at their ask.
    assert c.fill_credit_points == pytest.approx(sum(bid[k] for k in short)
                                                 - sum(ask[k] for k in long_))
    stale = chain.with_columns(pl.lit(day).alias("expiration"))
    assert recommend(calm_row(), chain=stale, rate=0.02,
                     equity=EQUITY).condor.pricing_source == "model"


def test_pm_settled_spxw_quotes_before_am_settled_spx():
    """On a monthly expiry day both roots quote the next session: the condor is held to the
    close, so SPXW (PM-settled) prices it, not SPX (settled at the open)."""
    day = dt.date(2021, 11, 19)
    spxw = chain_for(day, next_session(day), 4697.96)
    spx = spxw.with_columns(pl.lit("SPX").alias("root"), pl.col("bid") * 3, pl.col("ask") * 3)
    r = recommend(calm_row(), chain=pl.concat([spx, spxw]), rate=0.02, equity=EQUITY)
    alone = recommend(calm_row(), chain=spxw, rate=0.02, equity=EQUITY)
    assert r.condor.credit_points == pytest.approx(alone.condor.credit_points)


def test_no_condor_for_crumbs():
    """A fill credit below min_credit_share of the wing opens nothing, and says so."""
    day = dt.date(2021, 11, 19)
    chain = chain_for(day, next_session(day), 4697.96).with_columns(
        pl.col("bid") * 0.0, pl.col("ask") * 0.2)
    r = recommend(calm_row(), chain=chain, rate=0.02, equity=EQUITY)
    assert r.condor.requested_risk_pct > 0 and not r.condor.open and r.condor.contracts == 0
    assert r.condor.fill_credit_points < r.condor.min_credit_points == pytest.approx(0.25)
    assert "credit_below_minimum" in rules(r)


def test_tables_registered_and_frames_conform():
    assert schemas.get("recommendations") is RECOMMENDATIONS
    assert schemas.get("recommendation_legs") is RECOMMENDATION_LEGS
    r = rec(vix_rsi_14=65.0)
    top, legs = recommendation_frame(r), legs_frame(r)
    assert top.schema == RECOMMENDATIONS.schema and legs.schema == RECOMMENDATION_LEGS.schema
    assert legs["leg"].to_list() == ["IC_LP", "IC_SP", "IC_SC", "IC_LC", "L1"]
    assert legs.filter(pl.col("leg") == "IC_SP")["contracts"][0] == -r.condor.contracts
    assert json.loads(top["document"][0]) == json.loads(r.to_json())


maybe = st.one_of(st.none(), st.booleans())


@st.composite
def feature_rows(draw):
    vix = draw(st.floats(9.0, 90.0))
    row = calm_row(
        vix_close=vix, spx_close=draw(st.floats(1500.0, 7000.0)),
        vvix_close=draw(st.one_of(st.none(), st.floats(60.0, 220.0))),
        vix1d_close=draw(st.one_of(st.none(), st.floats(5.0, 120.0))),
        spx_rsi_14=draw(st.one_of(st.none(), st.floats(5.0, 95.0))),
        vix_rsi_14=draw(st.one_of(st.none(), st.floats(5.0, 95.0))),
        vvix_macd_hook=draw(maybe), vvix_macd_cross_up=draw(maybe),
        ts_macd_cross_up=draw(maybe), contango=draw(maybe), vix_above_200dma=draw(maybe),
        ts_slope_12=draw(st.one_of(st.none(), st.floats(-10.0, 6.0))),
        second_engine_score=draw(st.one_of(st.none(), st.integers(0, 4))),
        vx_cm30=vix * draw(st.floats(0.6, 1.4)), vx_cm110=vix * draw(st.floats(0.6, 1.6)),
        vx_cm220=draw(st.one_of(st.none(), st.floats(12.0, 40.0))),
        vx_cm30_beta=draw(st.floats(0.3, 1.0)), vx_cm110_beta=draw(st.floats(0.15, 0.8)),
        date=draw(st.dates(dt.date(2010, 1, 1), dt.date(2030, 12, 31))),
    )
    return row, draw(st.floats(2e6, 5e7))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feature_rows())
def test_properties_over_generated_rows(policy, case):
    row, equity = case
    r = recommend(row, rate=0.02, equity=equity, policy=policy)
    c = r.condor
    # caps never exceeded
    assert c.max_loss + r.ladder.debit <= 0.015 * equity + 1e-6
    assert c.risk_pct <= c.requested_risk_pct + 1e-12
    assert r.ladder.debit <= 0.015 * row["spx_close"] * 100 * c.reference_contracts + 1e-6
    # strikes ordered
    assert c.long_put < c.short_put < c.short_call < c.long_call
    assert all(x % 5 == 0 for x in (c.long_put, c.short_put, c.short_call, c.long_call))
    # no new condor in the extreme regime (default policy)
    if r.regime == "extreme":
        assert not c.open and c.contracts == 0
    # every lit layer bought with at least one contract (stress sizing, no cap bound; the
    # max_coverage ceiling is a cap too: min_one_blocked says one contract would pass it)
    ladder_capped = any(cb.cap in ("hedge_debit_pct_spx",) or cb.detail.startswith("ladder")
                        for cb in r.caps_bound) or "min_one_blocked" in rules(r)
    if not ladder_capped:
        assert all(la.contracts >= 1 for la in r.ladder.layers)
    # coverage within its band when layers are lit, nothing capped and no floor of one
    if r.ladder.layers and not ladder_capped and "min_one_contract" not in rules(r):
        target, reached = r.ladder.target_dollars, r.ladder.reached_dollars
        # Whole contracts: per-layer rounding moves coverage by at most half a contract each.
        grain = 0.5 * sum(100 * (la.stress_price - la.price) for la in r.ladder.layers)
        assert abs(reached - target) <= max(policy.ladder.coverage_tolerance * target,
                                            grain) + 1e-9
        if grain <= policy.ladder.coverage_tolerance * target:
            assert r.ladder.within_band
    assert recommend(row, rate=0.02, equity=equity, policy=policy) == r


def test_chain_with_missing_strikes_still_orders_legs():
    day = dt.date(2021, 11, 19)
    chain = chain_for(day, next_session(day), 4697.96).filter(
        (pl.col("strike") >= 4600) & (pl.col("strike") <= 4790))
    c = recommend(calm_row(), chain=chain, rate=0.02, equity=EQUITY).condor
    assert c.long_put < c.short_put < c.short_call < c.long_call


def test_extrapolated_curve_is_said():
    r = rec(vix_rsi_14=65.0, vx_cm30_extrapolated=True)
    assert "forward_from_extrapolated_curve" in rules(r)


def test_frames_upsert_into_the_lake_and_rerun_replaces(lake):
    r = rec(vix_rsi_14=65.0)
    for _ in range(2):  # the same day twice: merged by key, not duplicated
        lake.upsert("recommendations", recommendation_frame(r))
        lake.upsert("recommendation_legs", legs_frame(r))
    top = lake.scan("recommendations").collect()
    legs = lake.scan("recommendation_legs").collect()
    assert top.height == 1 and top["policy_version"][0] == r.policy_version
    assert legs.height == len(r.legs) and set(legs["leg"]) == {"IC_LP", "IC_SP", "IC_SC",
                                                               "IC_LC", "L1"}
    for table in ("recommendations", "recommendation_legs"):
        assert [p.split("/")[-2] for p in lake.partitions(table)] == ["year=2021"]
