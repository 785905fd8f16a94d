"""Fitting the VIX call vol model (``hedge.vix_model``) to real VIX option quotes.

``vix_points`` keeps the usable call quotes of a chain with their forward (the settlement of
the VX contract expiring with the option), VVIX and market vol; ``fit_vix`` fits the model by
least squares on log price error, each tenor weighted alike; ``vix_errors`` states the fit's
error per quote date and tenor, at the ladder's strike and over the tenor's quotes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import polars as pl
from scipy.optimize import least_squares

from hedge.pricing import Array, black76
from hedge.vix_model import CALENDAR_DAYS, MONEYNESS, VIX_ROOTS, VixModel, call_vols

MIN_DTE = 7  # the last week's quotes are dominated by the settlement's mechanics
LADDER_OTM = 1.15  # the ladder's strike: the quoted strike nearest forward x this
# Fitted: scale, term_exponent, skew, skew_term_exponent, curvature (floor is held).
FITTED = ("scale", "term_exponent", "skew", "skew_term_exponent", "curvature", "hump",
          "hump_days")
LOWER = (0.2, -1.0, 0.0, 0.0, -3.0, 0.0, 3.0)
UPPER = (5.0, 1.5, 10.0, 2.0, 3.0, 0.9, 120.0)

Settles = Mapping[dt.date, float] | pl.DataFrame


def _settle_frame(settles: Settles, days: list[dt.date]) -> pl.DataFrame:
    """(quote_date, expiration, forward): a mapping (expiry -> settle) applies to every day."""
    if isinstance(settles, pl.DataFrame):
        return settles.select(pl.col("trade_date").alias("quote_date"),
                              pl.col("expiry").alias("expiration"),
                              pl.col("settle").alias("forward")).drop_nulls()
    pairs = [(d, e, float(s)) for d in days for e, s in settles.items()]
    return pl.DataFrame(pairs, schema={"quote_date": pl.Date, "expiration": pl.Date,
                                       "forward": pl.Float64}, orient="row")


def _by_day(values: float | Mapping[dt.date, float], days: list[dt.date],
            name: str) -> pl.DataFrame:
    """(quote_date, name): a float applies to every day, a mapping gives each day's value."""
    if isinstance(values, Mapping):
        pairs = [(d, float(values[d])) for d in days if d in values]
    else:
        pairs = [(d, float(values)) for d in days]
    return pl.DataFrame(pairs, schema={"quote_date": pl.Date, name: pl.Float64}, orient="row")


def implied_vols(price: Array, fwd: Array, strike: Array, t: Array, rate: Array) -> Array:
    """Black-76 call vols repricing ``price`` (NaN where no vol in [1%, 1000%] does).

    Vectorised bisection in log vol: a call's price rises with vol, 60 halvings of the
    bracket leave ~1e-16 relative width.
    """
    lo, hi = np.full(price.shape, np.log(0.01)), np.full(price.shape, np.log(10.0))

    def value(log_vol: Array) -> Array:
        return black76(fwd, strike, t, rate, np.exp(log_vol), True).price

    ok = (value(lo) <= price) & (price <= value(hi))
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        above = value(mid) > price
        hi, lo = np.where(above, mid, hi), np.where(above, lo, mid)
    return np.where(ok, np.exp(0.5 * (lo + hi)), np.nan)


def vix_points(chain: pl.DataFrame, settles: Settles, vvix: Mapping[dt.date, float],
               rate: float | Mapping[dt.date, float]) -> pl.DataFrame:
    """The usable VIX call quotes of ``chain``, with forward, VVIX and market vol.

    Kept: calls of root VIX or VIXW with bid > 0 and ask >= bid, on an expiry with a VX
    settlement on the quote date, at least ``MIN_DTE`` days out, strike within
    ``MONEYNESS`` x forward (deep in-the-money calls carry no vol information; the model
    holds its smile flat outside), on a day with a VVIX close, whose mid a Black-76 vol reprices.

    Args:
        chain: option_chain rows (``sources.chains.datashop.parse_datashop``).
        settles: VX settlements, either ``vx_futures`` rows (trade_date, expiry, settle) or
            a mapping expiry -> settle for a chain of one quote date.
        vvix: VVIX close (points) by date.
        rate: the risk-free rate as a decimal (0.003), one value or by date.

    Returns:
        One row per quote: quote_date, expiration, dte, strike, forward, vvix, rate, mid,
        bid, ask, market_vol; sorted by quote_date, expiration, strike.
    """
    days = sorted(set(chain["quote_date"].to_list()))
    calls = chain.filter(pl.col("root").is_in(VIX_ROOTS) & (pl.col("right") == "C")
                         & (pl.col("bid") > 0) & (pl.col("ask") >= pl.col("bid")))
    frame = (calls.join(_settle_frame(settles, days), on=["quote_date", "expiration"])
             .join(_by_day(vvix, days, "vvix"), on="quote_date")
             .join(_by_day(rate, days, "rate"), on="quote_date")
             .with_columns((pl.col("expiration") - pl.col("quote_date")).dt.total_days()
                           .alias("dte"), ((pl.col("bid") + pl.col("ask")) / 2).alias("mid"))
             .filter((pl.col("dte") >= MIN_DTE)
                     & pl.col("strike").is_between(pl.col("forward") * MONEYNESS[0],
                                                   pl.col("forward") * MONEYNESS[1]))
             .select("quote_date", "expiration", "dte", "strike", "forward", "vvix", "rate",
                     "mid", "bid", "ask")
             .sort("quote_date", "expiration", "strike"))
    mid, fwd, strike, dte, rate_ = _arrays(frame, "mid", "forward", "strike", "dte", "rate")
    vols = implied_vols(mid, fwd, strike, dte / CALENDAR_DAYS, rate_)
    return frame.with_columns(pl.Series("market_vol", vols)).filter(
        pl.col("market_vol").is_not_nan())


def _arrays(frame: pl.DataFrame, *names: str) -> list[Array]:
    """The named columns as float64 numpy arrays."""
    return [frame[n].cast(pl.Float64).to_numpy() for n in names]


def model_prices(model: VixModel, points: pl.DataFrame) -> Array:
    """The model's Black-76 price of every quote in ``points``."""
    vvix, dte, strike, fwd, rate = _arrays(points, "vvix", "dte", "strike", "forward", "rate")
    vols = call_vols(model, vvix, dte, strike, fwd)
    return black76(fwd, strike, np.maximum(dte, 1.0) / CALENDAR_DAYS, rate, vols, True).price


def _tenor_weights(points: pl.DataFrame) -> Array:
    """1 / sqrt(quotes in the tenor): each (day, expiry)'s squared errors sum to one weight."""
    n = points.select(pl.len().over("quote_date", "expiration")).to_series()
    return 1.0 / np.sqrt(n.cast(pl.Float64).to_numpy())


def _model_of(params: Array, base: VixModel) -> VixModel:
    """``base`` with the fitted parameters replaced by ``params``."""
    return replace(base, **{k: float(v) for k, v in zip(FITTED, params, strict=True)})


def fit_vix(points: pl.DataFrame, base: VixModel) -> VixModel:
    """The model fitted to ``points`` (``vix_points``), with the half-spread from their bid/ask.

    Least squares on ln(model / mid), each tenor (quote date and expiry) weighted alike so
    the many strikes of a far expiry do not outvote the front month. The floor is ``base``'s.

    Args:
        points: quotes from ``vix_points``.
        base: the starting point and the source of the parameters not fitted (the
            policy's shipped model).

    Returns:
        The fitted ``VixModel``.
    """
    mid, weights = points["mid"].to_numpy(), _tenor_weights(points)

    def residuals(params: Array) -> Array:
        return weights * np.log(model_prices(_model_of(params, base), points) / mid)

    start = np.clip([getattr(base, k) for k in FITTED], LOWER, UPPER)
    fit = least_squares(residuals, start, bounds=(LOWER, UPPER))
    spread_min, spread_pct = fit_half_spread(points)
    return replace(_model_of(fit.x, base), spread_min=spread_min, spread_pct=spread_pct)


def fit_half_spread(points: pl.DataFrame) -> tuple[float, float]:
    """(minimum, share of price) of max(minimum, share x mid) fitted to the quotes' half-spreads.

    Least squares in points: the cheap calls set the minimum, the dear ones the share.
    """
    mid, half = points["mid"].to_numpy(), ((points["ask"] - points["bid"]) / 2).to_numpy()

    def residuals(params: Array) -> Array:
        return np.maximum(params[0], params[1] * mid) - half

    fit = least_squares(residuals, [0.025, 0.03], bounds=([0.0, 0.0], [1.0, 0.5]))
    return float(fit.x[0]), float(fit.x[1])


def vix_errors(model: VixModel, points: pl.DataFrame) -> pl.DataFrame:
    """The model's error per quote date and tenor.

    Returns:
        One row per (quote_date, expiration): dte, n (quotes), forward, ladder_strike (the
        quoted strike nearest forward x ``LADDER_OTM``), ladder_mid, ladder_model,
        ladder_ratio (model / mid), ladder_market_vol, ladder_model_vol, and
        median_abs_error (median |model / mid - 1| over the tenor's quotes).
    """
    vvix, dte, strike, fwd = _arrays(points, "vvix", "dte", "strike", "forward")
    priced = points.with_columns(
        pl.Series("model", model_prices(model, points)),
        pl.Series("model_vol", call_vols(model, vvix, dte, strike, fwd)),
        (pl.col("strike") - pl.col("forward") * LADDER_OTM).abs().alias("gap"))
    ladder = pl.col("gap") == pl.col("gap").min()
    return (priced.group_by("quote_date", "expiration", maintain_order=True).agg(
        pl.col("dte").first(), pl.len().alias("n"), pl.col("forward").first(),
        pl.col("strike").filter(ladder).first().alias("ladder_strike"),
        pl.col("mid").filter(ladder).first().alias("ladder_mid"),
        pl.col("model").filter(ladder).first().alias("ladder_model"),
        pl.col("market_vol").filter(ladder).first().alias("ladder_market_vol"),
        pl.col("model_vol").filter(ladder).first().alias("ladder_model_vol"),
        (pl.col("model") / pl.col("mid") - 1).abs().median().alias("median_abs_error"))
        .with_columns((pl.col("ladder_model") / pl.col("ladder_mid")).alias("ladder_ratio"))
        .sort("quote_date", "expiration"))
