"""The backtest on the real lake (../shared/data): claims, no look-ahead, untestable days."""

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from backtest.market import daily_rates, load_market
from backtest.metrics import claims, verdict, views
from backtest.run import backtest, backtest_market
from core.calendar import trading_days
from hedge.policy import load_policy
from hedge.rates import risk_free_rate
from storage.lake import Lake
from tests.conftest import NOW

D = dt.date
START, END, MID, CUT = D(2018, 1, 1), D(2018, 3, 31), D(2018, 2, 28), D(2018, 2, 5)
RUN_COLUMNS = ("run_id", "computed_at")

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def policy():
    return load_policy()


@pytest.fixture(scope="module")
def quarter(real_lake, policy):
    return backtest(real_lake, START, END, policy, NOW)


def up_to(frame, day):
    return frame.filter(pl.col("date") <= day).drop(RUN_COLUMNS).sort("strategy", "date")


def test_claims_row_for_2018_02_05(quarter, policy):
    daily, summary = views(quarter)
    table = claims(daily, summary, policy)
    row = table.filter((pl.col("date") == D(2018, 2, 5))
                       & (pl.col("strategy") == "alvh_stress")).row(0, named=True)
    assert row["spx_return"] == pytest.approx(2648.94 / 2762.13 - 1, abs=1e-5)
    assert row["condor_pnl"] < 0 and row["ladder_pnl"] is not None
    assert row["recovery"] == pytest.approx(row["ladder_pnl"] / -row["condor_pnl"])
    # Every strategy of the claims table traded the same condor that day.
    assert table.filter(pl.col("date") == D(2018, 2, 5))["condor_pnl"].n_unique() == 1
    # 2018-02-08 (SPX -3.75%) is a crash day by the policy's 3% rule.
    assert D(2018, 2, 8) in table["date"].to_list()


def test_the_verdict_tests_each_claim_per_hedged_strategy(quarter, policy):
    daily, summary = views(quarter)
    table = claims(daily, summary, policy)
    got = verdict(table, summary, policy)
    assert got["strategy"].to_list() == ["alvh_stress", "alvh_vega", "static", "vxth"]
    stress = got.row(0, named=True)
    unhedged = summary.filter((pl.col("scope") == "all") & (pl.col("strategy") == "no_hedge"))
    assert stress["drawdown_cut"] == pytest.approx(
        1 - stress["max_drawdown"] / unhedged["max_drawdown"][0])
    assert stress["drawdown_claim_holds"] == (stress["drawdown_cut"] > 0.5)
    lost = table.filter((pl.col("strategy") == "alvh_stress") & (pl.col("condor_pnl") < 0))
    assert stress["crash_days_condor_lost"] == lost.height
    assert stress["median_recovery"] == pytest.approx(lost["recovery"].median())


def test_the_future_never_changes_the_past(real_lake, quarter, policy):
    short = backtest(real_lake, START, MID, policy, NOW)
    assert_frame_equal(up_to(short.daily, MID), up_to(quarter.daily, MID))
    assert_frame_equal(up_to(short.trades, MID).sort("strategy", "seq"),
                       up_to(quarter.trades, MID).sort("strategy", "seq"))


def test_a_lake_truncated_at_2018_02_05_gives_the_same_rows(cut_lake, quarter, policy):
    assert cut_lake.scan("vx_futures").select(pl.col("trade_date").max()).collect().item() \
        == CUT
    cut = backtest(cut_lake, START, CUT, policy, NOW)
    assert_frame_equal(up_to(cut.daily, CUT), up_to(quarter.daily, CUT))


def test_the_hand_checked_condor_of_a_real_day(real_lake, quarter, policy):
    trades = quarter.trades.filter((pl.col("strategy") == "alvh_stress")
                                   & (pl.col("date") == D(2018, 2, 2)))
    ticket = trades.filter(pl.col("action") == "open").row(0, named=True)
    lp, sp, sc, lc = (float(k) for k in ticket["strikes"].split("/"))
    spx = real_lake.scan("index_daily").filter(
        (pl.col("symbol") == "SPX") & (pl.col("date") == D(2018, 2, 5))).collect()["close"][0]
    owed = max(0.0, min(sp - spx, sp - lp)) + max(0.0, min(spx - sc, lc - sc))
    assert owed == 25.0  # 2018-02-05: SPX -4.1%, through the whole put spread
    # No chain that day: filled at the model's mids less its fitted half-spread on each leg.
    spx_model = policy.pricing.spx_model
    assert ticket["pricing_source"] == "model"
    assert 4 * spx_model["spread_min"] <= ticket["haircut"] <= 4 * (
        spx_model["spread_base"] + spx_model["spread_share"] * ticket["price"]) + 1e-9
    by_hand = ticket["contracts"] * ((ticket["price"] - ticket["haircut"] - owed) * 100
                                     - 4 * 1.5)
    day2 = quarter.daily.filter((pl.col("strategy") == "alvh_stress")
                                & (pl.col("date") == D(2018, 2, 5)))
    assert day2["condor_pnl"][0] == pytest.approx(by_hand)


def test_untestable_days_are_listed_with_their_reason(real_lake, policy):
    market = load_market(real_lake, START, END, dtes=(30, 110, 220),
                         max_rate_age=policy.pricing.max_rate_age)
    gap = D(2018, 2, 6)
    # The VX settlements of one session never arrived.
    settles = {d: s for d, s in market.settles.items() if d != gap}
    run = backtest_market(type(market)(**{**vars(market), "settles": settles}), policy, START,
                          END, NOW)
    row = run.daily.filter((pl.col("strategy") == "static") & (pl.col("date") == gap))
    assert row["testable"].to_list() == [False]
    assert "no VX settlement" in row["untestable_reason"][0]
    assert row["ladder_pnl"].to_list() == [None] and row["pnl"].to_list() == [None]
    assert run.run["untestable_days"][0] >= 1


def test_rates_are_risk_free_rate_for_every_day(real_lake, policy):
    days = trading_days(D(2017, 12, 1), D(2018, 6, 29))
    macro = real_lake.scan("macro_observations")
    age = policy.pricing.max_rate_age
    fast = daily_rates(macro, days, age)
    for day in days.to_list()[::5]:
        assert fast.get(day) == risk_free_rate(macro, day, age), day


def test_stored_in_the_lake_and_queried_through_the_views(tmp_path, quarter):
    from backtest.run import store
    from flows.pipeline import publish
    from storage.catalog import connect_readonly

    lake = Lake(tmp_path / "lake")
    store(lake, quarter)
    publish(lake)
    with connect_readonly(lake) as con:
        got = con.execute("SELECT strategy, scope, max_drawdown FROM v_backtest_summary "
                          "WHERE scope = 'all' AND pricing_band = 'central' ORDER BY strategy"
                          ).fetchall()
        [(fsv,)] = con.execute("SELECT DISTINCT feature_set_version FROM v_backtest_daily"
                               ).fetchall()
        ranges = con.execute(
            "SELECT strategy, runs, condor_pnl_pricing_lo, condor_pnl, condor_pnl_pricing_hi "
            "FROM v_backtest_pricing_range WHERE scope = 'all' ORDER BY strategy").fetchall()
    assert [s for s, _, _ in got] == ["alvh_stress", "alvh_vega", "no_hedge", "static", "vxth"]
    # The central run and its two pricing-band runs: the condor's P&L moves with its prices.
    assert [(s, n) for s, n, *_ in ranges] == [(s, 3) for s, _, _ in got]

    assert all(lo <= mid <= hi and lo < hi for _, _, lo, mid, hi in ranges)
    assert fsv == quarter.run["feature_set_version"][0]


def test_a_condors_trade_cash_adds_up_to_its_pnl(quarter):
    """The open receives the fill less commissions, the settlement pays what is owed: the two
    sum to the condor's P&L of the day it settles."""
    trades = quarter.trades.filter((pl.col("strategy") == "alvh_stress")
                                   & (pl.col("instrument") == "iron_condor"))
    opened = trades.filter(pl.col("action") == "open").select(
        "strikes", pl.col("cash").alias("received"), pl.col("expiry"))
    settled = trades.filter(pl.col("action") == "settle").select(
        "strikes", pl.col("cash").alias("paid"), pl.col("date").alias("expiry"))
    both = opened.join(settled, on=["strikes", "expiry"])
    daily = quarter.daily.filter(pl.col("strategy") == "alvh_stress").select(
        pl.col("date").alias("expiry"), "condor_pnl")
    got = both.join(daily, on="expiry")
    assert got.height >= 5  # the quarter's condors that passed the minimum credit
    for row in got.iter_rows(named=True):
        assert row["received"] + row["paid"] == pytest.approx(row["condor_pnl"])


def test_trader_metrics_on_the_sizing_equity(quarter):
    from backtest.metrics import views, yearly

    daily, summary = views(quarter)
    rows = summary.filter(pl.col("scope") == "all")
    equity = quarter.run["sizing_equity"][0]
    for r in rows.iter_rows(named=True):
        pnl = daily.filter(pl.col("strategy") == r["strategy"])["pnl"].drop_nulls()
        ret = pnl / equity
        assert r["sharpe"] == pytest.approx(ret.mean() / ret.std() * 252 ** 0.5)
        assert r["cvar_95"] <= pnl.quantile(0.05, "linear") + 1e-9
        assert r["cvar_95"] >= pnl.min()
    per_year = yearly(quarter).group_by("strategy").agg(pl.col("pnl").sum())
    totals = daily.group_by("strategy").agg(pl.col("pnl").sum())
    assert per_year.sort("strategy")["pnl"].to_list() == pytest.approx(
        totals.sort("strategy")["pnl"].to_list())


def test_summary_figures_carry_block_bootstrap_bands(tmp_path, quarter):
    """v_backtest_summary's figures each have a 5-95% stationary block-bootstrap band that
    holds the run's own value, stored in backtest_bands and read through the catalog."""
    import numpy as np

    from backtest.bootstrap import stationary_indices
    from backtest.run import store
    from flows.pipeline import publish
    from storage.catalog import connect_readonly

    lake = Lake(tmp_path / "lake")
    store(lake, quarter)
    publish(lake)
    figures = ("cagr", "volatility", "max_drawdown", "hedge_cost_per_year",
               "ladder_pnl_per_year")
    with connect_readonly(lake) as con:
        rows = con.execute(
            "SELECT strategy, scope, " + ", ".join(f"{f}, {f}_lo, {f}_hi" for f in figures)
            + " FROM v_backtest_summary WHERE pricing_band = 'central'").fetchall()
    assert len(rows) == 10
    for row in rows:
        for i in range(len(figures)):
            value, lo, hi = row[2 + 3 * i: 5 + 3 * i]
            assert lo <= value <= hi, (row[0], row[1], figures[i])
    stressed = next(r for r in rows if r[0] == "alvh_stress" and r[1] == "all")
    assert stressed[3] < stressed[4]  # a real band, not a point
    # The resampler keeps runs of consecutive sessions (wrapping at the end).
    idx = stationary_indices(200, 4, 63, np.random.default_rng(0))
    steps = np.diff(idx, axis=1)
    assert ((steps == 1) | (steps == -199)).mean() > 0.9
