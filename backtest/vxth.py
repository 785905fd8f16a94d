"""CBOE's VIX Tail Hedge Index (VXTH) rebuilt from its rule and the engine's VIX call prices.

VXTH (CBOE's methodology) holds the S&P 500 total return plus one-month VIX calls of about 30
delta, bought at each monthly roll (the VIX option expiration day). The calls' weight is set
by the one-month VX future F at the roll: 1% of the portfolio when 15 < F <= 30, 0.5% when
30 < F <= 50, none otherwise (``policy.backtest.vxth_*``). The calls are held to the next roll
and settle at the VIX special opening quotation, which is the expiring VX contract's final
settlement (its ``settle`` on its expiry day).

The rebuild prices the calls as the backtest does: Black-76 on the listed contract's
settlement at the fitted vol model (``hedge.vix_model.call_vol``), the strike the listed one
whose delta at its own model vol is nearest the policy's. It is judged roll to roll against
the published index: if the engine's call prices are right, the rebuilt and the published
monthly returns differ only by the S&P 500 dividends (estimated, see ``dividend_yield``) and
by timing (calls bought at the close, settled at the next roll's open).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from hedge.pricing import black76_one
from hedge.vix_model import CALENDAR_DAYS, VixModel, call_vol, vix_strike

if TYPE_CHECKING:  # the rule reads only the policy's numbers
    from hedge.policy import Policy

STRIKE_GRID = 200  # candidate strikes: forward x (0.5 + i / 50), i < 200


@dataclass(frozen=True)
class VxthResult:
    """The rebuilt VXTH against the published one, roll to roll.

    ``monthly`` has one row per roll: roll, next_roll, days, forward, weight, strike, vol,
    price, settlement, spx_return, published_return, rebuilt_return, difference.
    """

    monthly: pl.DataFrame
    growth_rebuilt: float
    growth_published: float
    tracking_error: float
    dividend_yield: float
    first: dt.date
    last: dt.date


def vxth_weight(forward: float, policy: Policy) -> float:
    """VXTH's share of the portfolio in calls for a one-month VX future at ``forward``."""
    lo, mid, hi = policy.backtest.vxth_forward_bounds
    low_w, high_w = policy.backtest.vxth_weights
    if lo < forward <= mid:
        return low_w
    if mid < forward <= hi:
        return high_w
    return 0.0


def delta_call(model: VixModel, forward: float, dte: int, rate: float, vvix: float,
               policy: Policy) -> tuple[float, float, float]:
    """(strike, vol, price) of the listed call whose delta is nearest the policy's.

    Each candidate strike is priced at its own model vol: with a call skew the wing's
    deltas are larger than one flat vol would give, and VXTH's strike follows the market's.
    """
    half, target = policy.ladder.half_point_strikes_below, policy.backtest.vxth_delta
    t = dte / CALENDAR_DAYS
    best: tuple[float, float, float, float] | None = None
    for k in sorted({vix_strike(forward * (0.5 + i / 50.0), half) for i in range(STRIKE_GRID)}):
        if k <= 0:
            continue
        vol = call_vol(model, vvix, dte, k, forward)
        g = black76_one(forward, k, t, rate, vol, True)
        gap = abs(g.delta - target)
        if best is None or gap < best[0]:
            best = (gap, k, vol, g.price)
    assert best is not None  # the grid always holds positive strikes
    return best[1], best[2], best[3]


def roll_table(spx: pl.DataFrame, settles: pl.DataFrame, vvix: pl.DataFrame,
               rates: float | pl.DataFrame, published: pl.DataFrame) -> pl.DataFrame:
    """One row per roll with everything the month needs, months lacking an input dropped.

    A roll is a monthly VX expiry; the month runs to the next one. Columns: roll, next_roll,
    days, signal (the next contract's settle on the session before the roll: it sets the
    weight), forward (its settle at the roll: it prices the calls), settlement (its final
    settlement), vvix, rate, spx_return, published_return.
    """
    rolls = settles.select(pl.col("expiry").unique().sort().alias("roll")).with_columns(
        pl.col("roll").shift(-1).alias("next_roll")).drop_nulls()
    settle = settles.select("trade_date", "expiry", "settle").drop_nulls().sort(
        "expiry", "trade_date").with_columns(pl.col("settle").shift(1).over("expiry")
                                             .alias("signal"))
    spx_close = spx.select("date", pl.col("close").alias("spx"))
    pub = published.select("date", pl.col("close").alias("pub"))
    table = (rolls
             .join(settle.rename({"trade_date": "roll", "expiry": "next_roll",
                                  "settle": "forward"}), on=["roll", "next_roll"])
             .drop_nulls("signal")
             .join(settle.filter(pl.col("trade_date") == pl.col("expiry"))
                   .select(pl.col("expiry").alias("next_roll"),
                           pl.col("settle").alias("settlement")), on="next_roll")
             .join(vvix.select(pl.col("date").alias("roll"), pl.col("close").alias("vvix")),
                   on="roll"))
    for name, frame in (("spx", spx_close), ("pub", pub)):
        table = (table.join(frame.rename({"date": "roll"}), on="roll")
                 .join(frame.rename({"date": "next_roll", name: f"{name}_next"}),
                       on="next_roll"))
    return _with_rate(table, rates).select(
        "roll", "next_roll", (pl.col("next_roll") - pl.col("roll")).dt.total_days()
        .alias("days"), "signal", "forward", "settlement", "vvix", "rate",
        (pl.col("spx_next") / pl.col("spx") - 1).alias("spx_return"),
        (pl.col("pub_next") / pl.col("pub") - 1).alias("published_return")).sort("roll")


def _with_rate(table: pl.DataFrame, rates: float | pl.DataFrame) -> pl.DataFrame:
    """``table`` with the rate known at each roll: the last on or before it (a decimal)."""
    if not isinstance(rates, pl.DataFrame):
        return table.with_columns(pl.lit(float(rates)).alias("rate"))
    known = rates.select(pl.col("date").alias("roll"), "rate").drop_nulls().sort("roll")
    return table.sort("roll").join_asof(known, on="roll", strategy="backward").with_columns(
        pl.col("rate").fill_null(0.0))


def calls_bought(table: pl.DataFrame, model: VixModel, policy: Policy) -> pl.DataFrame:
    """``table`` with each roll's weight, strike, vol and price (per-roll: ~200 months)."""
    rows = []
    for r in table.iter_rows(named=True):
        # CBOE's published index follows the prior session's one-month future: months with
        # it above 15 and the roll day's below (2013-09-18, 2013-12-18, 2018-05-16) lose a
        # call premium, and the reverse months (2014-02-19, 2023-12-20) do not.
        weight = vxth_weight(r["signal"], policy)
        strike, vol, price = delta_call(model, r["forward"], r["days"], r["rate"], r["vvix"],
                                        policy)
        rows.append((weight, strike, vol, price))
    schema = {"weight": pl.Float64, "strike": pl.Float64, "vol": pl.Float64,
              "price": pl.Float64}
    return pl.concat([table, pl.DataFrame(rows, schema=schema, orient="row")],
                     how="horizontal")


def dividend_yield(table: pl.DataFrame) -> float:
    """S&P 500 dividend yield (continuous, a year) implied by VXTH's months without calls.

    In those months VXTH is the S&P 500 total return alone, so its log return over the
    S&P 500 price's, per year, is the dividend yield. The median over the months: a month
    where the published index did hold calls the rule here does not see (a forward at the
    edge of a bound) would drag a mean by a call premium. 0.0 when no month is call-free.
    """
    none = table.filter(pl.col("weight") <= 0)
    if none.is_empty():
        return 0.0
    gap = ((1 + pl.col("published_return")) / (1 + pl.col("spx_return"))).log()
    return float(none.select((gap / pl.col("days")).median()).item()) * CALENDAR_DAYS


def rebuilt_returns(table: pl.DataFrame, q: float) -> pl.DataFrame:
    """``table`` with the rebuilt VXTH's monthly return and its difference to the published.

    (1 - w) earns the S&P 500 total return (price return and dividends at yield ``q``), w
    buys calls that pay their final settlement's intrinsic value per unit of price.
    """
    payoff = (pl.col("settlement") - pl.col("strike")).clip(lower_bound=0.0)
    equity = (1 + pl.col("spx_return")) * (pl.col("days") * q / CALENDAR_DAYS).exp()
    calls = pl.when(pl.col("weight") > 0).then(payoff / pl.col("price")).otherwise(0.0)
    rebuilt = (1 - pl.col("weight")) * equity + pl.col("weight") * calls - 1
    return table.with_columns(rebuilt.alias("rebuilt_return")).with_columns(
        (pl.col("rebuilt_return") - pl.col("published_return")).alias("difference"))


def rebuild_vxth(spx: pl.DataFrame, settles: pl.DataFrame, vvix: pl.DataFrame,
                 rates: float | pl.DataFrame, model: VixModel, published: pl.DataFrame,
                 policy: Policy, start: dt.date | None = None,
                 end: dt.date | None = None) -> VxthResult:
    """VXTH rebuilt roll to roll at the model's call prices, against the published index.

    Args:
        spx: S&P 500 price closes (date, close), e.g. ``index_daily`` rows of SPX.
        settles: ``vx_futures`` rows (trade_date, expiry, settle) of the monthly contracts.
        vvix: VVIX closes (date, close).
        rates: the risk-free rate as a decimal, one value or a frame (date, rate).
        model: the VIX call vol model.
        published: the published VXTH closes (date, close).
        policy: the VXTH rule's bounds, weights and delta (``policy.backtest``).
        start: first roll kept (all when None).
        end: last roll's next roll at most this day (all when None).

    Returns:
        The monthly table, both growths over the window, the monthly tracking error (sample
        std of rebuilt minus published monthly returns) and the dividend yield used.
    """
    table = roll_table(spx, settles, vvix, rates, published).filter(
        pl.col("roll") >= (start or dt.date.min), pl.col("next_roll") <= (end or dt.date.max))
    table = calls_bought(table, model, policy)
    q = dividend_yield(table)
    monthly = rebuilt_returns(table, q)
    return VxthResult(
        monthly=monthly,
        growth_rebuilt=_growth(monthly["rebuilt_return"]),
        growth_published=_growth(monthly["published_return"]),
        tracking_error=_std(monthly["difference"]),
        dividend_yield=q,
        first=monthly["roll"].min(),  # type: ignore[arg-type]
        last=monthly["next_roll"].max(),  # type: ignore[arg-type]
    )


def _std(values: pl.Series) -> float:
    """Sample standard deviation (NaN for fewer than two values)."""
    std = values.std()
    return float(std) if isinstance(std, float) else math.nan


def _growth(returns: pl.Series) -> float:
    """Compounded growth of a series of returns (2.0 = doubled)."""
    return float((1 + returns).product())
