"""Hand-checked P&L: one condor and one ladder leg over three sessions, through the walk's
own steps; Black-76 recomputed here from its textbook formula (math.erf), not hedge.pricing."""

import datetime as dt
import math

import pytest

from backtest.accounting import CondorTicket, condor_settlement_points
from backtest.engine import HeldCall
from backtest.market import Known
from backtest.walk import Book, Day, Walk, mark_calls, settle_condor, trade_to
from hedge.policy import load_policy
from hedge.rates import RateQuote
from tests.hedge.rows import flat_vix_pricing

D1, D2, EXPIRY = dt.date(2018, 2, 1), dt.date(2018, 2, 2), dt.date(2018, 2, 5)
RATE, VVIX = RateQuote("DTB3", 0.02, D1, ()), 100.0


def n(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def black76_call(f, k, t, r, vol):
    d1 = (math.log(f / k) + 0.5 * vol * vol * t) / (vol * math.sqrt(t))
    return math.exp(-r * t) * (f * n(d1) - k * n(d1 - vol * math.sqrt(t)))


def known(day, settle, spx=None):
    """The day with a flat-smile VIX model: vol = VVIX/100 x (30/DTE)^0.3, written below."""
    return Known(date=day, row={"vvix_close": VVIX}, spx_close=spx, settles={EXPIRY: settle},
                 rate=RATE, chain=None, pricing=flat_vix_pricing())


def test_one_condor_and_one_call_over_three_days():
    policy = load_policy()
    assert policy.backtest.condor_slippage == 0.0 and policy.backtest.vix_commission == 1.5
    w = Walk(policy=policy, equity=1_000_000.0)
    book = Book("hand", 1_000_000.0, 1_000_000.0)

    # Day 1: buy 2 calls (strike 20, VX at 17, 4 days left), sell 5 condors: mid 2.00,
    # filled at 1.80 (shorts at their bid, longs at their ask).
    day1 = Day()
    trade_to(book, [HeldCall("L1", EXPIRY, 20.0, 2.0)], known(D1, 17.0), policy, day1)
    m1 = black76_call(17.0, 20.0, 4 / 365, RATE.value, 1.0 * (30 / 4) ** 0.3)
    h1 = max(0.05, 0.05 * m1)
    assert day1.ladder_pnl == pytest.approx(-2 * h1 * 100 - 2 * 1.5)
    assert day1.premium == pytest.approx(2 * (m1 + h1) * 100 + 2 * 1.5)
    book.condor = CondorTicket(2700, 2725, 2800, 2825, 2.0, 5, 8.0, 1.8)
    row1 = w.row(book, known(D1, 17.0, 2750.0), day1)

    # Day 2: SPX closes at 2715, 10 points inside the short put: the condor owes 10.
    day2 = Day()
    settle_condor(book, known(D2, 19.0, 2715.0), policy, day2)
    mark_calls(book, known(D2, 19.0, 2715.0), policy, day2)
    per_condor = (1.8 - 10.0) * 100 - 4 * 1.5  # -826
    assert day2.condor_pnl == pytest.approx(5 * per_condor) == pytest.approx(-4130.0)
    assert day2.ref_condor_pnl == pytest.approx(8 * per_condor)
    m2 = black76_call(19.0, 20.0, 3 / 365, RATE.value, 1.0 * (30 / 3) ** 0.3)
    assert day2.ladder_pnl == pytest.approx(2 * (m2 - m1) * 100)
    row2 = w.row(book, known(D2, 19.0, 2715.0), day2)

    # Day 3: the expiry; final settlement 22 pays 2 points a call, no haircut, no commission.
    day3 = Day()
    settle_condor(book, known(EXPIRY, 22.0, 2760.0), policy, day3)
    mark_calls(book, known(EXPIRY, 22.0, 2760.0), policy, day3)
    assert day3.condor_pnl == 0.0 and day3.ladder_pnl == pytest.approx(2 * (2.0 - m2) * 100)
    assert book.calls == {} and book.marks == {}
    row3 = w.row(book, known(EXPIRY, 22.0, 2760.0), day3)

    total = -2 * h1 * 100 - 3.0 - 4130.0 + 2 * (2.0 - m1) * 100
    assert row3["equity"] == pytest.approx(1_000_000.0 + total)
    assert [r["testable"] for r in (row1, row2, row3)] == [True, True, True]
    assert row2["drawdown"] < 0 and row3["ladder_value"] == 0.0
    assert [t["action"] for t in book.trades] == ["buy", "settle", "expire"]


def test_settlement_is_capped_at_the_wing():
    t = CondorTicket(2700, 2725, 2800, 2825, 2.0, 1, 1.0, 1.8)
    assert [condor_settlement_points(t, s) for s in (2600, 2712.5, 2760, 2810, 3000)] == [
        25.0, 12.5, 0.0, 10.0, 25.0]


def test_a_missing_settlement_is_untestable_not_filled():
    policy = load_policy()
    book = Book("gap", 1e6, 1e6)
    trade_to(book, [HeldCall("L1", EXPIRY, 20.0, 1.0)], known(D1, 17.0), policy, Day())
    day = Day()
    gap = Known(D2, {"vvix_close": VVIX}, 2700.0, {}, RATE, None, pricing=flat_vix_pricing())
    mark_calls(book, gap, policy, day)
    assert day.ladder_pnl is None and "no VX settlement" in day.reasons[0]
    assert book.calls  # still held, its last mark kept for the next known day


def test_two_layers_holding_the_same_listed_call_keep_their_own_counts():
    """L2 aged into L1's expiry and L1 bought the same contract: the engine must be told each
    layer's own count, or the walk tops one layer up to the other's (a held layer re-bought)."""
    from hedge.document import Position
    from hedge.recommend import recommend
    from tests.hedge.rows import calm_row

    policy = load_policy()
    rec = recommend(calm_row(vix_rsi_14=65.0), rate=0.02, policy=policy)
    same = [Position(name=name, expiry=EXPIRY, strike=20.0, contracts=n, bought_on=D1,
                     entry_price=1.0) for name, n in (("L1", 9), ("L2", 8))]
    rec = rec.model_copy(update={"ladder": rec.ladder.model_copy(update={"positions": same})})
    w = Walk(policy=policy, equity=1e6, books={s: Book(s, 1e6, 1e6)
                                               for s in ("alvh_stress", "alvh_vega")})
    book = w.books["alvh_stress"]
    book.rec = rec
    book.calls = {("L1", EXPIRY, 20.0): 9.0, ("L2", EXPIRY, 20.0): 8.0}
    ask = w.ask("alvh_stress", known(D2, 15.0, spx=2800.0))
    assert [(p.name, p.contracts) for p in ask.held] == [("L1", 9), ("L2", 8)]
