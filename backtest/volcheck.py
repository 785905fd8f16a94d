"""The documented VIX option vol model against a real VIX option chain.

For each VIX expiry quoted on a day: the call the ladder would buy (the quoted strike nearest
forward x (1 + otm_pct)), its market implied vol (Black-76 inverted from the quote's mid on
that expiry's VX settlement) and the model's vol and price for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl
from scipy.optimize import brentq

from backtest.accounting import CALENDAR_DAYS, vix_vol
from hedge.policy import Policy
from hedge.pricing import black76


def implied_vol(price: float, fwd: float, strike: float, t: float, rate: float) -> float | None:
    """Black-76 call vol that reprices ``price`` (None when no vol in (1%, 1000%) does)."""
    def gap(vol: float) -> float:
        return float(black76(fwd, strike, t, rate, vol, True).price) - price

    try:
        return float(brentq(gap, 0.01, 10.0))
    except ValueError:
        return None


def ladder_strike_vols(chain: pl.DataFrame, settles: Mapping[dt.date, float], day: dt.date,
                       vvix: float, rate: float, policy: Policy) -> pl.DataFrame:
    """Market vs model for the ladder's strike at every quoted VIX expiry with a settlement."""
    calls = chain.filter((pl.col("quote_date") == day) & (pl.col("right") == "C")
                         & (pl.col("bid") > 0) & (pl.col("ask") >= pl.col("bid")))
    rows = []
    for expiry in sorted(set(calls["expiration"].to_list()) & set(settles)):
        fwd, dte = settles[expiry], (expiry - day).days
        quoted = calls.filter(pl.col("expiration") == expiry)
        target = fwd * (1 + policy.ladder.otm_pct)
        # The nearest quoted strike: the chain's grid may be coarser than the engine's.
        quote = quoted.sort((pl.col("strike") - target).abs()).head(1)
        if quote.is_empty() or dte <= 0:
            continue
        want = float(quote["strike"][0])
        mid = float((quote["bid"][0] + quote["ask"][0]) / 2)
        model = vix_vol(vvix, dte, policy.pricing)
        t = dte / CALENDAR_DAYS
        rows.append({"expiry": expiry, "dte": dte, "forward": fwd, "strike": want, "mid": mid,
                     "market_vol": implied_vol(mid, fwd, want, t, rate), "model_vol": model,
                     "model_price": float(black76(fwd, want, t, rate, model, True).price)})
    return pl.DataFrame(rows).with_columns(
        (pl.col("model_price") / pl.col("mid") - 1).alias("price_error"))
