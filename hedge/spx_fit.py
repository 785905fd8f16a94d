"""Fit ``hedge.spx_model.SpxModel`` to real 1DTE SPXW quotes.

The target that matters is the condor credit: differences of OTM mids 1.5-2.5 expected moves
out. So the fit is on prices (relative errors, a tick-sized floor in the denominator), weighted
towards 1-3.5 expected moves, each ATM ratio on the days its vol index exists, with the next
longer index of each row (``spx_model.long_level``) for the long-level blend.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import polars as pl
from scipy.optimize import least_squares

from core.calendar import next_session
from hedge.pricing import Array
from hedge.spx_model import DAYS_PER_YEAR, SOURCES, SpxModel, atm_and_scale, marks

TRADING_DAYS = 252.0
# The quote window in engine expected moves (SPX x IV / 100 / sqrt(252)): the condor's
# legs sit at 1.5-2 of them plus a 25-point wing, well inside 5.
Z_WINDOW = 5.0
# The condor's region gets full weight, the rest of the window a third: the shape there
# still pins the smile's curvature without letting ATM quotes dominate.
CORE_Z = (1.0, 3.5)
OUTER_WEIGHT = 1.0 / 3.0
# Relative price errors over (mid + PRICE_FLOOR): a 0.05-wide market at 0.025 says little.
PRICE_FLOOR = 0.10
Q_DEFAULT = 0.015
IV_FLOOR = 0.5
# Snapshots before the close price a longer horizon from an intraday spot the closes do
# not describe; only end-of-day chains (16:00 ET or later, or of unknown time) are used.
FIT_NAMES = ("ratio_vix1d", "ratio_vix9d", "ratio_vix", "weekend_weight", "put_slope",
             "put_curve", "call_slope", "long_weight")


def _end_of_day(chain: pl.DataFrame) -> pl.DataFrame:
    """Rows of snapshots taken from the quote day's 15:45 ET on (or of unknown time).

    15:45 is CBOE DataShop's end-of-day calc time; the intraday exports (11:55, 13:40 ET)
    are dropped: their spot is not the close and their horizon is longer.
    """
    et = pl.col("snapshot_at").dt.convert_time_zone("America/New_York")
    minute = et.dt.hour().cast(pl.Int32) * 60 + et.dt.minute()  # i8 would overflow
    closed = (et.dt.date() > pl.col("quote_date")) | (minute >= 15 * 60 + 45)
    return chain.filter(pl.col("snapshot_at").is_null() | closed)


def _next_session_quotes(chain: pl.DataFrame) -> pl.DataFrame:
    """SPXW quotes of each quote day's next-session expiry with a sane two-sided market."""
    days = chain["quote_date"].unique().to_list()
    nxt = pl.DataFrame({"quote_date": days, "expiration": [next_session(d) for d in days]},
                       schema={"quote_date": pl.Date, "expiration": pl.Date})
    return chain.join(nxt, on=["quote_date", "expiration"]).filter(
        (pl.col("root") == "SPXW") & pl.col("bid").is_not_null() & pl.col("ask").is_not_null()
        & (pl.col("bid") >= 0) & (pl.col("ask") >= pl.col("bid")) & (pl.col("ask") > 0)
    ).unique(["quote_date", "strike", "right"], keep="first")


def spx_points(chain: pl.DataFrame, levels: pl.DataFrame) -> pl.DataFrame:
    """The usable 1DTE quotes, one row per OTM option, with the day's levels and clock.

    Args:
        chain: option_chain rows (quote_date, root, expiration, strike, right, bid, ask,
            underlying, snapshot_at, ...), any number of days and expiries.
        levels: date, spx_close, vix_close, vix9d_close, vix1d_close (vol points, nulls where
            absent) and optionally ``rate`` (continuously compounded decimal).

    Returns:
        quote_date, expiration, strike, right, bid, ask, mid, spot, the three closes, rate,
        years (``settle_years``), idle (non-session days), z_em (ln(K/S) in engine expected
        moves); OTM only, |z_em| <= 5, end-of-day snapshots only.
    """
    lv = levels.rename({"date": "quote_date"})
    if "rate" not in lv.columns:
        lv = lv.with_columns(pl.lit(0.0).alias("rate"))
    lv = lv.select("quote_date", "spx_close", *SOURCES, "rate")
    q = _next_session_quotes(_end_of_day(chain)).join(lv, on="quote_date", how="left")
    days = (pl.col("expiration") - pl.col("quote_date")).dt.total_days()
    em_vol = pl.coalesce(pl.col("vix1d_close"), pl.col("vix_close")) / 100.0
    spot = pl.coalesce(pl.col("underlying"), pl.col("spx_close"))
    q = q.with_columns(spot=spot, years=days / DAYS_PER_YEAR,
                       idle=(days - 1).cast(pl.Float64), rate=pl.col("rate").fill_null(0.0),
                       mid=(pl.col("bid") + pl.col("ask")) / 2.0)
    q = q.with_columns(z_em=(pl.col("strike") / pl.col("spot")).log()
                       / (em_vol / math.sqrt(TRADING_DAYS)))
    otm = ((pl.col("right") == "P") & (pl.col("strike") <= pl.col("spot"))) | (
        (pl.col("right") == "C") & (pl.col("strike") > pl.col("spot")))
    return q.filter(otm & (pl.col("z_em").abs() <= Z_WINDOW) & pl.col("spot").is_not_null()
                    ).select("quote_date", "expiration", "strike", "right", "bid", "ask", "mid",
                             "spot", *SOURCES, "rate", "years", "idle", "z_em"
                             ).sort("quote_date", "right", "strike")


def _known(name: str) -> pl.Expr:
    """The column where it is a usable level (> 0), else null."""
    return pl.when(pl.col(name) > 0).then(pl.col(name))


def _stack(points: pl.DataFrame) -> tuple[dict[str, Array], Array]:
    """Points repeated once per level source they have: arrays, and each row's source index.

    Each copy holds its source's ``level`` and ``long``: the next longer source known
    (``spx_model.long_level``), else the level itself.
    """
    parts, src = [], []
    for i, name in enumerate(SOURCES):
        got = points.filter(pl.col(name).is_not_null() & (pl.col(name) > 0))
        longer = [_known(s) for s in SOURCES[i + 1:]]
        parts.append(got.with_columns(pl.col(name).alias("level"),
                                      pl.coalesce(*longer, pl.col(name)).alias("long")))
        src.append(np.full(got.height, i))
    s = pl.concat(parts)
    cols = {c: s[c].to_numpy().astype(np.float64) for c in
            ("spot", "strike", "years", "idle", "level", "long", "rate", "mid", "bid", "ask",
             "z_em")}
    cols["call"] = (s["right"] == "C").to_numpy()
    return cols, np.concatenate(src)


def _model(x: Array, base: SpxModel) -> SpxModel:
    """``base`` with the fitted parameters ``x`` (``FIT_NAMES`` order)."""
    return SpxModel.from_dict(base.to_dict() | dict(zip(FIT_NAMES, map(float, x), strict=True)))


def model_mids(model: SpxModel, a: dict[str, Array], src: Array, q: float) -> Array:
    """Model mid of every stacked point at its source's level.

    Args:
        model: The model.
        a: Stacked point arrays (``_stack``).
        src: Each point's source index into ``SOURCES``.
        q: SPX dividend yield.

    Returns:
        Model mids.
    """
    ratios = np.array([model.ratio(s) for s in SOURCES])[src]
    atm, zvol = atm_and_scale(model, ratios, a["level"], a["long"], a["years"], a["idle"])
    return marks(model, a["spot"], a["strike"], a["call"], a["years"], atm, a["rate"], q,
                 zvol)[0]


def _weights(z_em: Array, bid: Array) -> Array:
    """Full weight in the condor's region, OUTER_WEIGHT elsewhere; none without a bid.

    A zero-bid quote is the market maker's one-tick floor (0.025-0.05 whatever the strike),
    not a price: fitting it bends the smile's inner wings to chase the far tail.
    """
    core = (np.abs(z_em) >= CORE_Z[0]) & (np.abs(z_em) <= CORE_Z[1])
    return np.where(bid > 0, np.where(core, 1.0, OUTER_WEIGHT), 0.0)


def _spreads(points: pl.DataFrame) -> tuple[float, float, float]:
    """(spread_min, spread_base, spread_share): half-spread = base + share x mid, floored."""
    mid = points["mid"].to_numpy()
    half = ((points["ask"] - points["bid"]) / 2.0).to_numpy()
    # Median-style robust line: least absolute deviations via soft_l1 on the linear model.
    fit = least_squares(lambda p: p[0] + p[1] * mid - half, x0=[0.05, 0.01], loss="soft_l1",
                        f_scale=0.02)
    floor = float(np.quantile(half, 0.05))
    return floor, float(fit.x[0]), float(fit.x[1])


def fit_spx(points: pl.DataFrame, q: float = Q_DEFAULT,
            start: SpxModel | None = None) -> SpxModel:
    """Least-squares fit of the ATM ratios, weekend weight, smile, long weight and spreads.

    Args:
        points: ``spx_points`` output (one or more days).
        q: SPX dividend yield used for the forward.
        start: Where the search starts (a previous fit: fewer steps); a parameter the points
            cannot identify (the ratio of a vol index no day has) keeps its value here.

    Returns:
        The fitted model; without ``start`` an unidentified ratio stays 1.0.
    """
    a, src = _stack(points)
    smin, sbase, sshare = _spreads(points)
    base = (SpxModel(1.0, 1.0, 1.0, 0.2, -0.2, 0.0, -0.1, 0.0, IV_FLOOR, smin, sbase, sshare,
                     0.3) if start is None else
            replace(start, spread_min=smin, spread_base=sbase, spread_share=sshare))
    w = _weights(a["z_em"], a["bid"])
    # Days with only Fridays or only weekdays cannot separate the weekend weight: keep it
    # within [0, 1] (an idle day carries no more variance than a session).
    # The call wing is linear and non-rising (call_curve stays 0, call_slope <= 0): a
    # curving call wing fitted to these days makes call prices rise with strike beyond ~3
    # expected moves (a static arbitrage), and the credit is no better for it.
    # The long weight is a blend share: 0 (the shortest index alone) to 1 (the longer alone).
    lo = [0.2, 0.2, 0.2, 0.0, -3.0, -1.0, -3.0, 0.0]
    hi = [3.0, 3.0, 3.0, 1.0, 3.0, 1.0, 0.0, 1.0]

    def resid(x: Array) -> Array:
        m = model_mids(_model(x, base), a, src, q)
        return w * (m - a["mid"]) / (a["mid"] + PRICE_FLOOR)

    x0 = np.clip([getattr(base, n) for n in FIT_NAMES], lo, hi)
    fit = least_squares(resid, x0, bounds=(lo, hi), loss="soft_l1", f_scale=0.3)
    return _model(fit.x, base)


def _day_ratio(model: SpxModel, a: dict[str, Array], src: Array, q: float) -> float:
    """The ATM ratio that alone reproduces one day's quotes at ``model``'s smile."""
    name = "ratio_" + SOURCES[int(src[0])].removesuffix("_close")
    w = _weights(a["z_em"], a["bid"])

    def resid(x: Array) -> Array:
        m = model_mids(SpxModel.from_dict(model.to_dict() | {name: float(x[0])}), a, src, q)
        return w * (m - a["mid"]) / (a["mid"] + PRICE_FLOOR)

    return float(least_squares(resid, [model.ratio(SOURCES[int(src[0])])], bounds=(0.05, 5.0),
                               loss="soft_l1", f_scale=0.3).x[0])


def _day_error(model: SpxModel, day: pl.DataFrame, q: float) -> dict[str, object]:
    """One day's row of ``spx_errors``: source, own ratio, median relative error."""
    first = day.row(0, named=True)
    source = next(s for s in SOURCES if first[s] is not None and first[s] > 0)
    stacked, every = _stack(day)
    own = every == SOURCES.index(source)
    a, src = {k: v[own] for k, v in stacked.items()}, every[own]
    rel = np.abs(model_mids(model, a, src, q) - a["mid"]) / a["mid"]
    core = (np.abs(a["z_em"]) >= CORE_Z[0]) & (np.abs(a["z_em"]) <= CORE_Z[1])
    return {"quote_date": first["quote_date"], "n": day.height, "source": source,
            "level": float(first[source]), "model_ratio": model.ratio(source),
            "day_ratio": _day_ratio(model, a, src, q),
            "median_abs_rel_err": float(np.median(rel)),
            "median_abs_rel_err_core": float(np.median(rel[core])) if core.any() else None}


def spx_errors(model: SpxModel, points: pl.DataFrame, q: float = Q_DEFAULT) -> pl.DataFrame:
    """Per quote day: the model's fit to that day's quotes at the day's shortest vol index.

    Args:
        model: The model.
        points: ``spx_points`` output.
        q: SPX dividend yield.

    Returns:
        quote_date, n (quotes), source, level, model_ratio, day_ratio (the ratio reproducing
        that day's quotes alone at the model's smile), median_abs_rel_err (all quotes) and
        median_abs_rel_err_core (1-3.5 expected moves).
    """
    rows = [_day_error(model, d, q) for _, d in points.group_by("quote_date",
                                                                maintain_order=True)]
    return pl.DataFrame(rows).sort("quote_date")

