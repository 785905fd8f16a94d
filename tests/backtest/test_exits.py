"""The ladder's exits on the real data: take-profit banks the Volmageddon spike.

2017-07-01..2018-06-30: L1 calls bought in January 2018 with VIX near 10 were worth many
times their entry on 2018-02-05. Held to their roll, the gain went back as VIX fell; with
``ladder.take_profit_multiple = 3`` they are sold for take-profit that week."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from backtest.metrics import views
from backtest.run import backtest
from hedge.policy import load_policy, policy_from_mapping
from tests.backtest.real_lake import write_lake

D = dt.date
NOW = dt.datetime(2026, 8, 22, tzinfo=dt.UTC)
START, END = D(2017, 7, 3), D(2018, 6, 29)

pytestmark = pytest.mark.realdata


def policy_with(**ladder):
    data = load_policy().model_dump(mode="json")
    data["ladder"] |= ladder
    data["backtest"]["pricing_bands"] = False
    return policy_from_mapping(data)


@pytest.fixture(scope="module")
def year_lake(real_inputs, tmp_path_factory):
    return write_lake(tmp_path_factory.mktemp("exits") / "lake", real_inputs, D(2017, 6, 1),
                      END)


@pytest.fixture(scope="module")
def runs(year_lake):
    return {name: backtest(year_lake, START, END, pol, NOW)
            for name, pol in (("held", policy_with()),
                              ("take_profit", policy_with(take_profit_multiple=3.0)))}


def max_drawdown(result, strategy="alvh_stress"):
    _, summary = views(result)
    return summary.filter((pl.col("strategy") == strategy) & (pl.col("scope") == "all")
                          )["max_drawdown"][0]


def test_take_profit_sells_calls_in_the_volmageddon_week(runs):
    sold = runs["take_profit"].trades.filter(
        (pl.col("strategy") == "alvh_stress") & (pl.col("action") == "take_profit"))
    week = sold.filter(pl.col("date").is_between(D(2018, 2, 5), D(2018, 2, 9)))
    assert week.height >= 1 and (week["contracts"] < 0).all()
    assert runs["held"].trades.filter(pl.col("action") == "take_profit").is_empty()


def test_take_profit_gives_back_less_than_holding_to_the_roll(runs):
    held, banked = max_drawdown(runs["held"]), max_drawdown(runs["take_profit"])
    print(f"alvh_stress max drawdown 2017-07..2018-06: held to roll {held:.2%}, "
          f"take-profit at 3x {banked:.2%}")
    assert banked > held
