"""The held ladder: bought when lit, held, rolled or sold; chained day to day like a backtest."""

import datetime as dt

import numpy as np
import pytest

from hedge.document import Position
from hedge.ladder import Curve, interp
from hedge.outcome import PriorDay, condor_pnl, prior_day
from hedge.policy import policy_from_mapping
from hedge.recommend import recommend
from tests.hedge.rows import calm_row

EQUITY = 10_000_000.0
D0 = dt.date(2021, 11, 18)  # Thursday
D1 = dt.date(2021, 11, 19)  # Friday


def day(date, held=(), prior=None, policy=None, curve=None, equity=EQUITY, **over):
    return recommend(calm_row(date=date, **over), rate=0.02, equity=equity, held=held,
                     prior=prior, policy=policy, curve=curve)


def rules(r):
    return [x.rule for x in r.rules]


def layer(r, name):
    return next(la for la in r.ladder.layers if la.name == name)


def test_lit_layer_bought_then_held_not_bought_again():
    first = day(D0, vix_rsi_14=65.0)
    bought = layer(first, "L1")
    assert bought.action == "buy" and bought.buy_contracts == bought.contracts > 0
    (pos,) = first.ladder.positions
    assert (pos.name, pos.contracts, pos.bought_on, pos.entry_price) == (
        "L1", bought.contracts, D0, bought.price)
    second = day(D1, held=first.ladder.positions, vix_rsi_14=65.0)
    kept = layer(second, "L1")
    assert kept.action == "held" and kept.buy_contracts == 0 and kept.cost == 0
    assert (kept.expiry, kept.strike, kept.contracts) == (pos.expiry, pos.strike, pos.contracts)
    assert second.ladder.debit == 0 and second.ladder.positions[0].entry_price == pos.entry_price
    assert [leg.leg for leg in second.legs][-1] == "L1"


def test_unlit_layer_sold_after_unlit_days_once_rsis_normalise(policy):
    pos = Position(name="L1", expiry=dt.date(2021, 12, 22), strike=19.0, contracts=10,
                   bought_on=D0, entry_price=1.0, unlit_sessions=policy.ladder.unlit_days - 2)
    waiting = day(D1, held=[pos])  # unlit, one session short
    assert layer(waiting, "L1").action == "held"
    assert waiting.ladder.positions[0].unlit_sessions == policy.ladder.unlit_days - 1
    last = waiting.ladder.positions[0]
    hot = day(D1, held=[last], spx_rsi_14=65.0)  # long enough, RSIs not normal: held
    assert layer(hot, "L1").action == "held" and "peel_back_held" in rules(hot)
    sold = day(D1, held=[last])
    out = layer(sold, "L1")
    assert out.action == "sell" and out.sell_contracts == 10 and out.contracts == 0
    assert sold.ladder.positions == [] and "layer_unlit_sold" in rules(sold)
    assert sold.ladder.proceeds == pytest.approx(10 * out.price * 100)
    assert [(leg.leg, leg.contracts) for leg in sold.legs[4:]] == [("L1_SOLD", -10)]


def test_unknown_trigger_never_counts_as_unlit():
    pos = Position(name="L1", expiry=dt.date(2021, 12, 22), strike=19.0, contracts=3,
                   bought_on=D0, entry_price=1.0, unlit_sessions=4)
    r = day(D1, held=[pos], vix_rsi_14=None)
    assert layer(r, "L1").action == "held" and r.ladder.positions[0].unlit_sessions == 4
    assert "layer_state_unknown" in rules(r) and "vix_rsi_14" in r.unknown_features


def test_layer_near_expiry_rolled_when_lit_sold_when_not():
    pos = Position(name="L1", expiry=dt.date(2021, 11, 24), strike=19.0, contracts=3,
                   bought_on=D0, entry_price=1.0)
    rolled = day(D1, held=[pos], vix_rsi_14=65.0)
    actions = [(la.action, la.expiry) for la in rolled.ladder.layers]
    assert actions == [("sell", pos.expiry), ("buy", dt.date(2021, 12, 22))]
    assert "layer_rolled" in rules(rolled)
    assert [p.expiry for p in rolled.ladder.positions] == [dt.date(2021, 12, 22)]
    dropped = day(D1, held=[pos])
    assert [la.action for la in dropped.ladder.layers] == ["sell"]
    assert "layer_expiring_sold" in rules(dropped) and dropped.ladder.positions == []


def test_only_purchases_count_against_the_cap():
    big = Position(name="L1", expiry=dt.date(2022, 1, 19), strike=18.0, contracts=2000,
                   bought_on=D0, entry_price=2.0)
    r = day(D1, held=[big], vix_rsi_14=65.0, vix_close=14.0)
    assert layer(r, "L1").cost == 0 and r.ladder.debit == 0
    fresh = day(D1, vix_rsi_14=65.0, vix_close=14.0)
    assert r.condor.contracts >= fresh.condor.contracts  # the held ladder takes no room
    assert r.ladder.stress_gain > fresh.ladder.stress_gain


def test_held_layers_reduce_what_a_new_layer_buys():
    held = day(D0, vix_rsi_14=65.0).ladder.positions
    both = day(D1, held=held, vix_rsi_14=65.0, vix_close=36.0, vix_above_200dma=True)
    assert layer(both, "L1").action == "held" and layer(both, "L3").action == "buy"
    alone = day(D1, vix_rsi_14=65.0, vix_close=36.0, vix_above_200dma=True)
    assert layer(both, "L3").contracts <= layer(alone, "L3").contracts


def test_two_days_a_losing_condor_forbids_a_larger_size():
    first = day(D0, vix_close=19.0)
    c = first.condor
    assert c.open and c.contracts > 0
    crash = c.short_put - 10.0  # the next close settles the condor 10 points in the money
    pnl = condor_pnl(first.legs, crash, 100.0)
    assert pnl == pytest.approx((c.credit_points - 10.0) * 100 * c.contracts)
    prior = prior_day(first, crash, 100.0)
    assert prior == PriorDay(lost=True, risk_pct=c.risk_pct, pnl=pnl, settled_on=D1,
                             spx_close=crash)
    calmer = day(D1, vix_close=15.0)  # lower VIX: would size up
    assert calmer.condor.risk_pct > c.risk_pct
    held_back = day(D1, prior=prior, vix_close=15.0)
    assert held_back.condor.risk_pct <= c.risk_pct
    assert [x.cap for x in held_back.caps_bound] == ["no_doubling"]
    assert held_back.prior == prior  # recorded in the document
    won = prior_day(first, c.short_put + 50.0, 100.0)
    assert not won.lost and won.pnl == pytest.approx(c.credit_points * 100 * c.contracts)
    assert day(D1, prior=won, vix_close=15.0).condor.risk_pct == calmer.condor.risk_pct


def test_no_curve_for_d_leaves_the_ladder_unknown_not_guessed(policy):
    stale = {"vx_cm30": None, "vx_cm110": None, "vx_cm220": None}
    pos = Position(name="L1", expiry=dt.date(2021, 12, 22), strike=19.0, contracts=3,
                   bought_on=D0, entry_price=1.0)
    r = day(D1, held=[pos], vix_rsi_14=65.0, **stale)
    assert r.ladder.status == "unknown" and r.ladder.layers == [] and r.ladder.debit == 0
    assert r.ladder.positions == [pos] and "ladder_unknown" in rules(r)
    assert r.ladder.stress_gain is None and r.ladder.stress_coverage is None
    last = Curve(as_of=D0, points={30: 16.5, 110: 20.0, 220: 22.0}, age_sessions=1)
    used = day(D1, vix_rsi_14=65.0, curve=last, **stale)
    assert used.ladder.status == "sized" and "curve_stale_used" in rules(used)
    assert used.ladder.layers[0].forward == pytest.approx(
        day(D1, vix_rsi_14=65.0).ladder.layers[0].forward)
    old = Curve(as_of=D0, points=last.points, age_sessions=policy.ladder.max_curve_age + 1)
    assert day(D1, vix_rsi_14=65.0, curve=old, **stale).ladder.status == "unknown"


def test_vega_sizing_rounds_to_zero_where_stress_buys(policy):
    data = policy.model_dump()
    data["ladder"]["sizing"] = "vega"
    vega = policy_from_mapping(data)
    row = {"vix_close": 80.0, "vix_rsi_14": 70.0, "vix_above_200dma": True, "vvix_close": 200.0,
           "vx_cm30": 60.0, "vx_cm110": 38.0, "vx_cm220": 31.0}
    by_vega = day(D1, policy=vega, equity=1_000_000.0, **row)
    assert by_vega.ladder.layers and all(la.contracts == 0 for la in by_vega.ladder.layers)
    by_stress = day(D1, equity=1_000_000.0, **row)
    assert layer(by_stress, "L1").contracts >= 1
    assert 0.35 <= by_stress.ladder.stress_coverage <= 1.0
    # One more contract of L3 would cover more than the whole stress loss: it stays at none.
    assert layer(by_stress, "L3").contracts == 0 and "min_one_blocked" in rules(by_stress)


def test_unknown_ladder_drops_only_expired_positions():
    stale = {"vx_cm30": None, "vx_cm110": None, "vx_cm220": None}
    gone = Position(name="L1", expiry=D1, strike=19.0, contracts=3, bought_on=D0,
                    entry_price=1.0)
    kept = gone.model_copy(update={"name": "L3", "expiry": dt.date(2022, 6, 15)})
    r = day(D1, held=[gone, kept], **stale)
    assert r.ladder.positions == [kept] and "layer_expired" in rules(r)


def test_curve_of_a_features_row():
    from hedge.ladder import curve_of

    row = calm_row(vx_cm110=None)
    assert curve_of(row, D1, 2) == Curve(as_of=D1, points={30: 16.5, 220: 22.0},
                                         age_sessions=2)
    assert curve_of(calm_row(vx_cm30=None, vx_cm110=None, vx_cm220=None), D1) is None


def test_interp_is_numpy_interp_bit_for_bit():
    rng = np.random.default_rng(16)
    for _ in range(20_000):
        points = sorted({0: rng.uniform(9, 80), 30: rng.uniform(9, 60), 110: rng.uniform(9, 40),
                         220: rng.uniform(9, 40)}.items())
        xs, ys = zip(*points[: rng.integers(2, 5)], strict=True)
        x = int(rng.integers(0, 400))
        assert interp(x, xs, ys) == float(np.interp(x, xs, ys))


def with_exits(policy, **exits):
    data = policy.model_dump(mode="json")
    data["ladder"] |= exits
    return policy_from_mapping(data)


def test_exits_are_off_by_default(policy):
    assert policy.ladder.take_profit_multiple is None and policy.ladder.trim_band is None
    pos = Position(name="L1", expiry=dt.date(2021, 12, 22), strike=14.0, contracts=10,
                   bought_on=D0, entry_price=0.10)  # worth many times its entry today
    kept = layer(day(D1, held=[pos], vix_rsi_14=65.0), "L1")
    assert kept.action == "held" and kept.exit is None


def test_a_call_at_the_take_profit_multiple_is_sold_and_says_why(policy):
    tp = with_exits(policy, take_profit_multiple=3.0)
    pos = Position(name="L1", expiry=dt.date(2021, 12, 22), strike=14.0, contracts=10,
                   bought_on=D0, entry_price=0.10)
    r = day(D1, held=[pos], policy=tp, vix_rsi_14=65.0)  # still lit: banked all the same
    out = layer(r, "L1")
    assert out.action == "sell" and out.exit == "take_profit" and out.sell_contracts == 10
    fired = next(x for x in r.rules if x.rule == "layer_take_profit")
    assert fired.inputs["price"] >= 3.0 * fired.inputs["entry_price"] == pytest.approx(0.3)
    assert [leg.leg for leg in r.legs if leg.layer == "L1"] == ["L1_SOLD"]
    cheap = Position(**{**pos.model_dump(), "entry_price": out.price / 2.9})
    assert layer(day(D1, held=[cheap], policy=tp, vix_rsi_14=65.0), "L1").exit is None


def test_a_ladder_over_its_trim_band_is_sold_back_to_its_target(policy):
    trim = with_exits(policy, trim_band=0.25)
    big = Position(name="L1", expiry=dt.date(2021, 12, 22), strike=19.0, contracts=400,
                   bought_on=D0, entry_price=1.0)
    r = day(D1, held=[big], policy=trim, vix_rsi_14=65.0)
    out, lad = layer(r, "L1"), r.ladder
    assert out.exit == "trim" and out.action == "held" and 0 < out.sell_contracts < 400
    assert out.contracts == 400 - out.sell_contracts
    # What stays covers at least the target, and less than one contract more than it.
    unit = out.stress_gain / out.contracts
    assert lad.target_dollars <= lad.reached_dollars < lad.target_dollars + unit
    assert "ladder_trimmed" in rules(r)
    sold = next(leg for leg in r.legs if leg.leg == "L1_SOLD")
    assert sold.contracts == -out.sell_contracts
    untouched = layer(day(D1, held=[big], policy=policy, vix_rsi_14=65.0), "L1")
    assert untouched.contracts == 400 and untouched.exit is None
