"""CBOE's VXTH rebuilt 2008-2025 from its rule at the engine's VIX call prices
(hedge.vix_model.DEFAULT), against the published index (VXTH column of the CBOE panel)."""

import datetime as dt

import polars as pl
import pytest

from backtest.vxth import delta_call, rebuild_vxth, vxth_weight
from hedge.policy import load_policy
from tests.backtest.real_lake import history_inputs
from tests.conftest import shared
from tests.hedge.rows import shipped_vix

DEFAULT = shipped_vix()  # the policy's [pricing.vix_model]

pytestmark = pytest.mark.realdata

START, END = dt.date(2008, 1, 1), dt.date(2025, 12, 31)


def published() -> pl.DataFrame:
    path = shared("cboe", "cboe_volatility_panel_heliar.csv")
    panel = pl.read_csv(path, columns=["date", "VXTH"], schema_overrides={"VXTH": pl.Float64})
    return panel.select(pl.col("date").str.to_date(), pl.col("VXTH").alias("close")).drop_nulls()


@pytest.fixture(scope="module")
def result():
    panel = published()  # skips first when the data is absent
    inputs = history_inputs()
    index = inputs["index_daily"]
    rates = (inputs["macro_observations"].filter(pl.col("series_id") == "DTB3")
             .select("date", (pl.col("value") / 100).alias("rate")).unique("date"))
    return rebuild_vxth(index.filter(pl.col("symbol") == "SPX"), inputs["vx_futures"],
                        index.filter(pl.col("symbol") == "VVIX"), rates, DEFAULT, panel,
                        load_policy(), start=START, end=END)


def test_rebuilt_vxth_grows_like_the_published_one(result):
    print(f"VXTH {result.first}..{result.last} ({result.monthly.height} months): rebuilt "
          f"{result.growth_rebuilt:.3f}x, published {result.growth_published:.3f}x, monthly "
          f"TE {result.tracking_error:.4%}, dividend yield {result.dividend_yield:.4%}")
    assert result.first == dt.date(2008, 1, 16) and result.monthly.height >= 200
    assert abs(result.growth_rebuilt / result.growth_published - 1) <= 0.10
    assert result.tracking_error <= 0.006


def test_dividend_yield_is_the_sp500s(result):
    # Estimated from the call-free months: the S&P 500's yield was ~1.3-3% over 2008-2025.
    assert 0.012 <= result.dividend_yield <= 0.025


def test_calls_are_bought_by_the_rule(result):
    months = result.monthly
    bought = months.filter(pl.col("weight") > 0)
    assert bought["signal"].is_between(15.0, 50.0, closed="right").all()
    assert (bought["strike"] > bought["forward"]).all()  # 30 delta: out of the money
    assert months.filter(pl.col("weight") == 0)["signal"].map_elements(
        lambda f: not 15 < f <= 50, return_dtype=pl.Boolean).all()


def test_weight_schedule_and_delta_strike():
    policy = load_policy()
    assert [vxth_weight(f, policy) for f in (15.0, 15.1, 30.0, 30.1, 50.0, 50.1)] == [
        0.0, 0.01, 0.01, 0.005, 0.005, 0.0]
    strike, vol, price = delta_call(DEFAULT, 18.0, 28, 0.02, 90.0, policy)
    assert 20.0 <= strike <= 26.0 and 0.5 < vol < 2.0 and 0.2 < price < 2.0
