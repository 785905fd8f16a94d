"""A seeded market simulator: VIX family, SPX, VX curve, breadth, FRED, calendar, SPX chains.

`simulate` returns the truth as table frames (the lake schemas minus ``ingested_at``);
`write_raw` writes the same market as raw files through the sources' own writers
(``sources.registry.ADAPTERS``), in the providers' real layouts, so the demo and the tests go
through the real parsers. Same seed and dates give byte-identical files.

Every random array comes from its own named stream (a child of the seed), drawn from the
first session on, so a longer range extends a shorter one without changing its history.
"""

from __future__ import annotations

import bisect
import datetime as dt
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.special import ndtr

from core.calendar import is_session, next_session, session_dates
from core.clock import NEW_YORK
from sources.cfe import contract_label
from sources.registry import ADAPTERS

Array = npt.NDArray[np.float64]

DEMO_START = dt.date(2023, 11, 20)
DEMO_END = dt.date(2026, 11, 20)
VIX1D_START = dt.date(2023, 4, 24)  # CBOE's first VIX1D value
INDEX_SYMBOLS = ("SPX", "VIX", "VIX9D", "VIX1D", "VIX3M", "VIX6M", "VVIX", "SKEW")
VALUE_ONLY = ("VVIX", "SKEW")  # CBOE publishes these as `DATE,<SYMBOL>` close-only files
VX_LISTED = 9  # monthly VX contracts on the board
DIV_YIELD = 0.013
FRED_DECIMALS = {
    "DFF": 2, "SOFR": 2, "IORB": 2, "DTB3": 2, "DGS2": 2, "T10Y2Y": 2, "NFCI": 5,
    "NFCILEVERAGE": 5, "BAMLH0A0HYM2": 2, "CPIAUCSL": 3, "PPIFIS": 3, "PPIACO": 3,
    "DTWEXBGS": 4,
}


# ----------------------------------------------------------------------------- randomness
def _stream(seed: int, name: str) -> np.random.Generator:
    """An independent generator for one named quantity, so draws never shift each other."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _normal(seed: int, name: str, n: int) -> Array:
    """The first ``n`` standard normals of a named stream."""
    return _stream(seed, name).standard_normal(n)


def _uniform(seed: int, name: str, n: int) -> Array:
    """The first ``n`` uniforms on [0, 1) of a named stream."""
    return _stream(seed, name).random(n)


def _ar1(shocks: Array, phi: float) -> Array:
    """An AR(1) path ``y_t = phi * y_{t-1} + shock_t`` (a tiny loop: one float per session)."""
    out = np.empty_like(shocks)
    acc = 0.0
    for i, s in enumerate(shocks):
        acc = phi * acc + s
        out[i] = acc
    return out


# ----------------------------------------------------------------------------- calendar
def _sessions_between(start: dt.date, end: dt.date) -> tuple[dt.date, ...]:
    """NYSE sessions from ``start`` to ``end`` inclusive."""
    s = session_dates()
    return s[bisect.bisect_left(s, start):bisect.bisect_right(s, end)]


def _next_session(day: dt.date) -> dt.date:
    """The first NYSE session on or after ``day``."""
    return day if is_session(day) else next_session(day)


# ----------------------------------------------------------------------------- the market
@dataclass(frozen=True)
class Market:
    """The simulated daily state, one array entry per session."""

    days: tuple[dt.date, ...]
    vix: Array
    spx: Array
    ret: Array
    stress: Array  # smoothed log excess of VIX over 20, >= 0: drives credit and funding


def _event_starts(seed: int, name: str, n: int, first: tuple[int, int], gap: float) -> list[int]:
    """Session indexes of recurring events: a first one in ``first``, then exponential gaps."""
    draws = _uniform(seed, name, 64)
    starts = [int(first[0] + draws[0] * (first[1] - first[0]))]
    for u in draws[1:]:
        starts.append(starts[-1] + 60 + int(-gap * np.log1p(-u)))
    return [s for s in starts if s < n]


def _spike_jumps(seed: int, n: int) -> Array:
    """One-day VIX jumps in log points like Feb 2018 (17 -> 37), plus small frequent pops."""
    jumps = np.zeros(n)
    sizes = 0.65 + 0.3 * _uniform(seed, "spike_size", 64)
    for i, s in enumerate(_event_starts(seed, "spike_at", n, (120, 400), 260.0)):
        jumps[s] += sizes[i]
    small = _uniform(seed, "pop_at", n) < 6 / 252
    jumps += small * _stream(seed, "pop_size").exponential(0.12, n)
    return jumps


def _crisis_jumps(seed: int, n: int) -> Array:
    """Multi-week VIX escalations in log points like Feb-Mar 2020 (15 -> ~80)."""
    jumps = np.zeros(n)
    profile = np.linspace(0.3, 1.7, 16)
    noise = _normal(seed, "crisis_noise", 64 * 16).reshape(64, 16)
    totals = 1.75 + 0.25 * _uniform(seed, "crisis_size", 64)
    for i, s in enumerate(_event_starts(seed, "crisis_at", n, (330, 620), 1100.0)):
        steps = profile / profile.sum() * totals[i] + 0.03 * noise[i]
        m = min(16, n - s)
        jumps[s:s + m] += steps[:m]
    return jumps


def _log_vix(seed: int, n: int) -> tuple[Array, Array, Array]:
    """Log VIX (OU around a slow level plus decaying spikes), its shocks, the spikes' changes."""
    eps = _normal(seed, "vix_eps", n)
    level = np.log(15.5) + 0.18 * np.tanh(_ar1(0.012 * _normal(seed, "vix_level", n), 0.997) * 4)
    fast, slow = _spike_jumps(seed, n), _crisis_jumps(seed, n)
    base, spikes = np.empty(n), np.empty(n)
    x, f, s = level[0], 0.0, 0.0
    for i in range(n):
        x = x + 0.035 * (level[i] - x) + 0.058 * eps[i]
        f, s = 0.86 * f + fast[i], 0.972 * s + slow[i]
        base[i], spikes[i] = x, f + s
    # SPX falls as a spike builds and recovers as it decays: returns follow the spikes' change.
    d_spikes = np.diff(spikes, prepend=0.0)
    level_ = np.exp(np.maximum(base + spikes, np.log(9.0)))
    # Soft ceiling: peaks bend towards ~85 like 2008 and 2020 instead of running away.
    capped = np.where(level_ > 60.0, 60.0 + 25.0 * np.tanh((level_ - 60.0) / 25.0), level_)
    return np.log(capped), eps, d_spikes


def _market(seed: int, days: tuple[dt.date, ...]) -> Market:
    """VIX path and SPX closes whose volatility follows VIX, falling when VIX jumps."""
    n = len(days)
    x, eps, d_spikes = _log_vix(seed, n)
    vix: Array = np.round(np.exp(x), 2).astype(np.float64)
    sig = 0.82 * np.exp(np.concatenate([[x[0]], 0.5 * (x[1:] + x[:-1])])) / 100 / np.sqrt(252)
    z = -0.7 * eps + np.sqrt(1 - 0.49) * _normal(seed, "spx_eta", n)
    ret = 0.0004 - 0.5 * sig**2 + sig * z - 0.07 * d_spikes
    spx = np.round(4550.0 * np.exp(np.cumsum(ret)), 2)
    excess = np.maximum(x - np.log(20.0), 0.0)
    stress = pl.Series(excess).ewm_mean(half_life=8, adjust=False).to_numpy()
    return Market(days, vix, spx, np.diff(np.log(spx), prepend=np.log(4550.0)), stress)


# ----------------------------------------------------------------------------- indexes
def _ohlc(seed: int, name: str, close: Array, spread: float) -> tuple[Array, Array, Array]:
    """Open, high and low: open near the previous close, a range holding open and close."""
    n = len(close)
    g = _stream(seed, f"ohlc_{name}").standard_normal((n, 3)).T
    prev = np.concatenate([[close[0]], close[:-1]])
    op = np.round(prev * np.exp(spread * 0.5 * g[0]), 2)
    hi = np.round(np.maximum(op, close) * np.exp(spread * np.abs(g[1])), 2)
    lo = np.round(np.minimum(op, close) * np.exp(-spread * np.abs(g[2])), 2)
    return op, hi, lo


def _vol_family(seed: int, m: Market) -> dict[str, Array]:
    """Closes of the VIX family: short tenors amplify stress, long tenors damp it."""
    n = len(m.days)
    d = np.log(m.vix) - np.log(17.0)
    dx = np.abs(np.diff(np.log(m.vix), prepend=np.log(m.vix[0])))
    tenors = {"VIX1D": (0.55, -0.10, 0.10), "VIX9D": (0.30, -0.04, 0.035),
              "VIX3M": (-0.42, 0.09, 0.015), "VIX6M": (-0.58, 0.13, 0.012)}
    out = {k: np.round(m.vix * np.exp(a * d + b + s * _normal(seed, k, n)), 2)
           for k, (a, b, s) in tenors.items()}
    vvix_noise = _ar1(0.04 * _normal(seed, "VVIX", n), 0.93)
    out["VVIX"] = np.round(88.0 * np.exp(0.28 * d + 0.6 * dx + vvix_noise), 2)
    skew_noise = _ar1(1.6 * _normal(seed, "SKEW", n), 0.95)
    out["SKEW"] = np.round(140.0 - 9.0 * np.maximum(d, -0.5) + skew_noise, 2)
    return out


def _index_frame(seed: int, m: Market, vix1d_start: dt.date) -> pl.DataFrame:
    """``index_daily`` rows for every simulated CBOE index (value-only ones without OHLC)."""
    closes = {"SPX": m.spx, "VIX": m.vix} | _vol_family(seed, m)
    frames = []
    for sym in INDEX_SYMBOLS:
        close = closes[sym]
        op, hi, lo = _ohlc(seed, sym, close, 0.004 if sym == "SPX" else 0.03)
        f = pl.DataFrame({"symbol": sym, "date": list(m.days), "open": op, "high": hi, "low": lo,
                          "close": close})
        if sym in VALUE_ONLY:
            f = f.with_columns(pl.lit(None, pl.Float64).alias(c) for c in ("open", "high", "low"))
        if sym == "VIX1D":
            f = f.filter(pl.col("date") >= vix1d_start)
        frames.append(f)
    return pl.concat(frames)


# ----------------------------------------------------------------------------- VX futures
def _vx_expiries(first: dt.date, last: dt.date) -> list[dt.date]:
    """Monthly VX expiries from ``first``'s month until ~10 months after ``last``."""
    from core.expiry import monthly_expiries  # the project's one VX expiry rule

    months = (last.year - first.year) * 12 + last.month - first.month + 12
    return sorted(set(monthly_expiries(first, months).to_list()))


def _vx_curve(m: Market) -> pl.DataFrame:
    """Day x listed contract grid with days to expiry (the listed board, expiry day included)."""
    expiries = np.array(_vx_expiries(m.days[0], m.days[-1]), dtype="datetime64[D]")
    days = np.array(m.days, dtype="datetime64[D]")
    first = np.searchsorted(expiries, days, side="left")
    idx = first[:, None] + np.arange(VX_LISTED)[None, :]
    exp = expiries[idx]
    day_i = np.repeat(np.arange(len(days)), VX_LISTED)
    return pl.DataFrame({
        "i": day_i, "trade_date": days[day_i].astype("datetime64[D]"),
        "expiry": exp.ravel(), "tau": (exp - days[:, None]).astype(np.int64).ravel(),
    }).with_columns(pl.col("trade_date").cast(pl.Date), pl.col("expiry").cast(pl.Date))


def _vx_prices(seed: int, m: Market, grid: pl.DataFrame) -> pl.DataFrame:
    """Settles from a mean-reverting forward curve: contango in calm, backwardation in stress."""
    i, tau = grid["i"].to_numpy(), grid["tau"].to_numpy().astype(float)
    v = m.vix[i]
    theta = 19.0 + 0.35 * np.maximum(v - 20.0, 0.0)
    settle = theta + (v - theta) * np.exp(-4.2 * tau / 365)
    noise = _stream(seed, "vx_noise").standard_normal(len(tau)) * 0.08 * np.sqrt(tau / 30 + 0.1)
    settle = np.round(np.maximum(settle + np.where(tau > 0, noise, 0.0), 9.5), 4)
    g = _stream(seed, "vx_ohlc").standard_normal((len(tau), 3)).T
    return grid.with_columns(
        settle=settle, close=np.round((settle + 0.05 * g[0]) / 0.05) * 0.05,
        spread=0.05 + np.abs(g[1:]).T @ np.array([0.15, 0.15]) * np.sqrt(v / 15),
        volume=np.floor(90000 * np.exp(-tau / 55) * np.exp(0.4 * g[2]) + 5).astype(np.int64),
        open_interest=np.floor(160000 * np.exp(-tau / 110) * (1 - np.exp(-tau / 40 - 0.3))
                               + 50).astype(np.int64),
        no_trade=(tau > 150) & (_stream(seed, "vx_notrade").random(len(tau)) < 0.25),
    )


def _vx_frame(seed: int, m: Market) -> pl.DataFrame:
    """``vx_futures`` rows for every listed monthly contract on every session."""
    f = _vx_prices(seed, m, _vx_curve(m)).sort("expiry", "trade_date")
    prev = pl.col("settle").shift(1).over("expiry")
    o = (prev.fill_null(pl.col("settle")) / 0.05).round() * 0.05
    hi = pl.max_horizontal(o, pl.col("close")) + pl.col("spread")
    lo = pl.min_horizontal(o, pl.col("close")) - pl.col("spread")
    priced = {"open": o, "high": (hi / 0.05).round() * 0.05, "low": (lo / 0.05).round() * 0.05,
              "close": pl.col("close")}
    return f.select(
        "trade_date", "expiry", contract_label(pl.col("expiry")).alias("symbol"),
        *[pl.when(pl.col("no_trade")).then(None).otherwise(e.round(2)).alias(k)
          for k, e in priced.items()],
        "settle", (pl.col("settle") - prev).fill_null(0.0).round(4).alias("change"),
        pl.when(pl.col("no_trade")).then(0).otherwise(pl.col("volume")).alias("volume"),
        "open_interest", "no_trade",
    ).sort("trade_date", "expiry")


# ----------------------------------------------------------------------------- breadth
def _breadth_frame(seed: int, m: Market) -> pl.DataFrame:
    """NYSE advancers/decliners following the day's return z-score; highs/lows from the 1y range."""
    n = len(m.days)
    sig = np.maximum(m.vix / 100 / np.sqrt(252), 1e-4)
    z = (m.ret - 0.0003) / sig
    total = np.round(3000 + 40 * np.tanh(_ar1(0.02 * _normal(seed, "issues", n), 0.99))).astype(int)
    unch = np.round(total * (0.02 + 0.02 * _uniform(seed, "unch", n))).astype(int)
    p_adv = np.clip(ndtr(0.95 * z + 0.3 * _normal(seed, "adv", n)), 0.02, 0.98)
    adv = np.round((total - unch) * p_adv).astype(int)
    spx = pl.Series(m.spx)
    hi, lo = spx.rolling_max(252, min_samples=1), spx.rolling_min(252, min_samples=1)
    # Place the close in its 1y range, with a floor on the range's width so the first weeks
    # (a short window) do not read as record highs or lows.
    width = np.maximum((hi - lo).to_numpy(), 0.15 * m.spx)
    pos = np.clip(0.5 + (m.spx - ((hi + lo) / 2).to_numpy()) / width, 0.0, 1.0)
    return pl.DataFrame({
        "date": list(m.days), "advancers": adv, "decliners": total - unch - adv,
        "unchanged": unch, "new_highs": _stream(seed, "new_highs").poisson(4 + 300 * pos**6),
        "new_lows": _stream(seed, "new_lows").poisson(4 + 900 * (1 - pos) ** 10),
    }).with_columns(pl.exclude("date").cast(pl.Int64))


# ----------------------------------------------------------------------------- calendar
FOMC_RULE = {1: (2, -1), 3: (2, 2), 5: (2, 0), 6: (2, 2), 7: (2, -1), 9: (2, 2), 10: (2, -1),
             12: (2, 1)}  # month -> (weekday, n-th occurrence; -1 = last): Wednesdays


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> dt.date:
    """The ``nth`` (0-based; -1 = last) ``weekday`` of a month."""
    first = dt.date(year, month, 1)
    days = [first + dt.timedelta(days=k) for k in range(31)]
    hits = [d for d in days if d.month == month and d.weekday() == weekday]
    return hits[nth]


def _events_frame(seed: int, start: dt.date, end: dt.date) -> pl.DataFrame:
    """FOMC decision days (8 a year) and CPI/PPI release days, through the next calendar year."""
    years = range(start.year, end.year + 2)
    fomc = [_next_session(_nth_weekday(y, mo, wd, k)) for y in years
            for mo, (wd, k) in FOMC_RULE.items()]
    offsets = _stream(seed, "cpi_day").integers(0, 4, 12 * len(years))
    cpi = [_cpi_release(y, mo, int(offsets[12 * j + mo - 1])) for j, y in enumerate(years)
           for mo in range(1, 13)]
    ppi = [_next_session(d + dt.timedelta(days=1)) for d in cpi]
    frame = pl.DataFrame({"date": fomc + cpi + ppi,
                          "kind": ["fomc"] * len(fomc) + ["cpi"] * len(cpi) + ["ppi"] * len(ppi)})
    return frame.filter(pl.col("date") >= start).sort("date", "kind")


def _cpi_release(year: int, month: int, offset: int) -> dt.date:
    """CPI release day in ``month``: about the 10th-15th, a session."""
    day = _next_session(dt.date(year, month, 10))
    return _sessions_between(day, day + dt.timedelta(days=14))[offset]


# ----------------------------------------------------------------------------- FRED
FRED_DAILY = ("SOFR", "IORB", "DTB3", "DGS2", "T10Y2Y", "BAMLH0A0HYM2", "DTWEXBGS")


def _policy_upper(seed: int, m: Market, fomc: list[dt.date]) -> Array:
    """Upper bound of the fed funds target per session: moves only the session after an FOMC."""
    days = np.array(m.days, dtype="datetime64[D]")
    u = np.full(len(days), 4.75)
    draws = _uniform(seed, "fomc_move", 256)
    level = 4.75
    for k, day in enumerate(fomc):
        at = int(np.searchsorted(days, np.datetime64(day), side="right"))
        if at >= len(days):
            break
        recent = float(m.stress[max(0, at - 20):at].mean()) if at else 0.0
        move = -0.5 if recent > 0.9 else -0.25 if recent > 0.35 else \
            (-0.25 if draws[k] < 0.22 else 0.25 if draws[k] > 0.85 else 0.0)
        level = float(np.clip(level + move, 0.25, 6.0))
        u[at:] = level
    return u


def _fred_daily(seed: int, m: Market, upper: Array) -> dict[str, Array]:
    """Funding, rates, credit and dollar series per session; stress lifts spreads together."""
    n = len(m.days)
    s = m.stress
    rw = {k: _ar1(0.02 * _normal(seed, f"fred_{k}", n), 0.995) for k in FRED_DAILY}
    month_end = np.array([(d + dt.timedelta(days=3)).month != d.month for d in m.days])
    dff = upper - 0.12 + 0.01 * np.round(_normal(seed, "dff", n) * 0.6)
    return {
        "DFF": dff, "IORB": upper - 0.10,
        "SOFR": dff - 0.02 + 0.01 * _normal(seed, "sofr", n) + 0.06 * month_end + 0.25 * s,
        "DTB3": upper - 0.30 - 0.4 * s + 0.5 * rw["DTB3"],
        "DGS2": upper - 0.45 - 0.7 * s + 2.0 * rw["DGS2"],
        "T10Y2Y": 0.35 + 0.4 * s + 2.0 * rw["T10Y2Y"],
        "BAMLH0A0HYM2": 3.1 * np.exp(0.55 * s + 0.5 * rw["BAMLH0A0HYM2"]),
        "DTWEXBGS": 121.0 * np.exp(0.03 * s + 0.15 * rw["DTWEXBGS"]),
    }


def _weekday_grid(start: dt.date, end: dt.date, sessions: tuple[dt.date, ...]) -> pl.DataFrame:
    """Weekdays with the index of the latest session on or before each (-1 before the first)."""
    n = (end - start).days + 1
    days = [start + dt.timedelta(days=k) for k in range(n)]
    sess = np.array(sessions, dtype="datetime64[D]")
    at = np.searchsorted(sess, np.array(days, dtype="datetime64[D]"), side="right") - 1
    is_session = np.isin(np.array(days, dtype="datetime64[D]"), sess)
    return pl.DataFrame({"date": days, "i": at, "session": is_session})


def _macro_daily(seed: int, m: Market, upper: Array) -> pl.DataFrame:
    """Daily FRED rows: DFF every calendar day, the others on weekdays ('.' on holidays)."""
    series = _fred_daily(seed, m, upper)
    grid = _weekday_grid(m.days[0], m.days[-1], m.days).filter(pl.col("i") >= 0)
    i = grid["i"].to_numpy()
    frames = []
    for sid, values in series.items():
        f = grid.with_columns(series_id=pl.lit(sid), value=values[i])
        if sid == "DFF":
            f = f.with_columns(available_at=pl.col("date") + dt.timedelta(days=1))
        else:
            f = f.filter(pl.col("date").dt.weekday() <= 5).with_columns(
                value=pl.when(pl.col("session")).then("value"),
                available_at=pl.col("date").dt.add_business_days(1))
        frames.append(f.with_columns(pl.col("value").round(FRED_DECIMALS[sid])))
    return pl.concat(f.select("series_id", "date", "value", "available_at") for f in frames)


def _macro_weekly(seed: int, m: Market) -> pl.DataFrame:
    """NFCI and its leverage subindex on Fridays, published the following Wednesday."""
    grid = _weekday_grid(m.days[0], m.days[-1], m.days).filter(
        (pl.col("date").dt.weekday() == 5) & (pl.col("i") >= 0))
    i, n = grid["i"].to_numpy(), len(grid)
    week_stress = m.stress[i]
    level = {"NFCI": (-0.50, 0.55), "NFCILEVERAGE": (-0.30, 0.30)}
    frames = [grid.with_columns(
        series_id=pl.lit(sid),
        value=np.round(a + b * week_stress + _ar1(0.02 * _normal(seed, sid, n), 0.97), 5),
        available_at=pl.col("date") + dt.timedelta(days=5)) for sid, (a, b) in level.items()]
    return pl.concat(f.select("series_id", "date", "value", "available_at") for f in frames)


def _macro_monthly(seed: int, start: dt.date, end: dt.date, cpi: list[dt.date]) -> pl.DataFrame:
    """CPI and PPI index levels per month, each known only from its release day."""
    months = [dt.date(d.year, d.month, 1) - dt.timedelta(days=1) for d in cpi]
    months = [dt.date(d.year, d.month, 1) for d in months]
    n = len(months)
    cpi_lvl = 315.0 * np.cumprod(1 + 0.0024 + 0.0015 * _normal(seed, "cpi", n))
    ppi_lvl = 146.0 * np.cumprod(1 + 0.0020 + 0.0040 * _normal(seed, "ppi", n))
    commodities = 255.0 * np.cumprod(1 + 0.0015 + 0.0080 * _normal(seed, "ppiaco", n))
    levels = {"CPIAUCSL": cpi_lvl, "PPIFIS": ppi_lvl, "PPIACO": commodities}
    frames = [pl.DataFrame({"series_id": sid, "date": months, "value": np.round(v, 3),
                            "available_at": cpi}).with_columns(
        pl.col("available_at").dt.add_business_days(int(sid != "CPIAUCSL")))
        for sid, v in levels.items()]
    return pl.concat(frames).filter(
        (pl.col("date") >= start.replace(day=1)) & (pl.col("available_at") <= end))


def _macro_frame(seed: int, m: Market, events: pl.DataFrame) -> pl.DataFrame:
    """``macro_observations`` truth; ``realtime_start`` is the first day a value was known."""
    fomc = events.filter(pl.col("kind") == "fomc")["date"].to_list()
    cpi = _events_all_cpi(seed, m.days[0], m.days[-1])
    upper = _policy_upper(seed, m, fomc)
    frame = pl.concat([_macro_daily(seed, m, upper), _macro_weekly(seed, m),
                       _macro_monthly(seed, m.days[0], m.days[-1], cpi)])
    return frame.with_columns(realtime_start=pl.col("available_at")).select(
        "series_id", "date", "value", "realtime_start", "available_at").sort("series_id", "date")


def _events_all_cpi(seed: int, start: dt.date, end: dt.date) -> list[dt.date]:
    """Every CPI release day from a year before ``start`` (the months before the range too)."""
    ev = _events_frame(seed, dt.date(start.year, 1, 1), end)
    return [d for d in ev.filter(pl.col("kind") == "cpi")["date"].to_list() if d <= end]


# ----------------------------------------------------------------------------- SPX chains
def _atm_vol(days_to_exp: Array, vix1d: float, vix9d: float, vix: float) -> Array:
    """ATM implied vol per expiry, interpolated in log tenor between VIX1D, VIX9D and VIX."""
    points = np.log([1.0, 9.0, 30.0])
    levels = 0.86 * np.array([vix1d, vix9d, vix]) / 100  # VIX carries the skew premium
    return np.interp(np.log(np.clip(days_to_exp, 1.0, 30.0)), points, levels)


def _black_scholes(s: float, k: Array, t: Array, r: float, iv: Array, call: Array
                   ) -> dict[str, Array]:
    """Black-Scholes price and greeks (vega and rho per vol/rate point, theta per day)."""
    q, sq = DIV_YIELD, np.sqrt(t)
    d1 = (np.log(s / k) + (r - q + 0.5 * iv**2) * t) / (iv * sq)
    d2 = d1 - iv * sq
    dq, dr = np.exp(-q * t), np.exp(-r * t)
    pdf = np.exp(-0.5 * d1**2) / np.sqrt(2 * np.pi)
    sign = np.where(call, 1.0, -1.0)
    price = sign * (s * dq * ndtr(sign * d1) - k * dr * ndtr(sign * d2))
    theta = (-s * dq * pdf * iv / (2 * sq) - sign * r * k * dr * ndtr(sign * d2)
             + sign * q * s * dq * ndtr(sign * d1)) / 365
    return {"price": np.maximum(price, 0.0), "delta": sign * dq * ndtr(sign * d1),
            "gamma": dq * pdf / (s * iv * sq), "vega": s * dq * pdf * sq / 100,
            "theta": theta, "rho": sign * k * t * dr * ndtr(sign * d2) / 100}


def _quotes(mid: Array) -> tuple[Array, Array]:
    """Bid and ask on CBOE's SPX ticks (0.05 below 3.00, 0.10 above) around a model mid."""
    tick = np.where(mid < 3.0, 0.05, 0.10)
    half = 0.5 * np.maximum(tick, np.minimum(0.03 * mid + 0.05, 6.0))
    bid = np.maximum(np.floor((mid - half) / tick + 1e-9) * tick, 0.0)
    ask = np.maximum(np.ceil((mid + half) / tick - 1e-9) * tick, bid + tick)
    return np.round(bid, 2), np.round(ask, 2)


def _chain_day(g: np.random.Generator, day: dt.date, spot: float, vols: dict[str, float],
               rate: float) -> pl.DataFrame:
    """One session's SPXW chain: 0-7 DTE expiries, 5-point strikes within +/-8% of spot."""
    expiries = np.array(_sessions_between(day, day + dt.timedelta(days=7)), dtype="datetime64[D]")
    strikes = np.arange(np.ceil(spot * 0.92 / 5) * 5, np.floor(spot * 1.08 / 5) * 5 + 1, 5.0)
    e, k, c = (a.ravel() for a in np.meshgrid(expiries, strikes, [True, False], indexing="ij"))
    dte = (e - np.datetime64(day)).astype(np.int64).astype(float)
    t = (dte + 0.25 / 24) / 365  # quotes at 15:45 ET, expiry at the 16:00 close
    atm = _atm_vol(dte + 0.25 / 24, vols["VIX1D"], vols["VIX9D"], vols["VIX"])
    fwd = spot * np.exp((rate - DIV_YIELD) * t)
    m = np.clip(np.log(k / fwd) / (atm * np.sqrt(t)), -3.5, 3.5)
    slope = 0.10 + (vols["SKEW"] - 140.0) / 500
    iv = np.round(atm * np.maximum(1 - slope * m + 0.025 * m**2, 0.3), 4)
    bs = _black_scholes(spot, k, t, rate, iv, c)
    bid, ask = _quotes(bs["price"])
    shape = np.exp(-0.5 * (m / 1.5) ** 2) * (1 + (k % 25 == 0) + 2 * (k % 100 == 0))
    oi = np.floor(g.lognormal(7.0, 0.8, len(k)) * shape * np.exp(-dte / 10)).astype(np.int64)
    volume = g.poisson(np.maximum(oi, 50) * 0.4 * shape * (1 + 2 * (dte == 0)))
    traded_at = np.maximum(np.round((bid + ask) / 2 / 0.05) * 0.05, 0.05)
    last = np.where(volume > 0, np.round(traded_at, 2), 0.0)
    return pl.DataFrame({
        "quote_date": day, "root": "SPXW", "expiration": e, "strike": k,
        "right": c, "bid": bid, "ask": ask, "last": last,
        "volume": volume.astype(np.int64), "open_interest": oi, "iv": iv,
        "delta": np.round(bs["delta"], 4), "gamma": np.round(bs["gamma"], 4),
        "vega": np.round(bs["vega"], 4), "theta": np.round(bs["theta"], 4),
        "rho": np.round(bs["rho"], 4), "underlying": spot,
    }).with_columns(pl.col("expiration").cast(pl.Date),
                    pl.when(pl.col("right")).then(pl.lit("C")).otherwise(pl.lit("P")).alias("right"))


def _snapshot_at(day: dt.date, last: bool) -> dt.datetime:
    """The chain's instant in UTC: DataShop's 15:45 ET calcs, or the 16:15 ET JSON snapshot."""
    at = dt.time(16, 15) if last else dt.time(15, 45)
    return dt.datetime.combine(day, at, NEW_YORK).astimezone(dt.UTC)


def _chain_frame(seed: int, m: Market, index: pl.DataFrame, macro: pl.DataFrame,
                 chain_days: int) -> pl.DataFrame:
    """Chains for the last ``chain_days`` sessions, each from its own per-day stream."""
    closes = index.pivot("symbol", index="date", values="close").sort("date")
    closes = closes.with_columns(pl.col("VIX1D").fill_null(pl.col("VIX9D") * 0.9)) \
        if "VIX1D" in closes.columns else closes.with_columns(VIX1D=pl.col("VIX9D") * 0.9)
    bills = macro.filter(pl.col("series_id") == "DTB3").drop_nulls("value")
    frames = []
    last_day = m.days[-1]
    for row in closes.tail(max(chain_days, 0)).iter_rows(named=True):
        day = row["date"]
        rate = bills.filter(pl.col("date") <= day)["value"].tail(1).to_list() or [4.0]
        g = _stream(seed, f"chain_{day.isoformat()}")
        frames.append(_chain_day(g, day, row["SPX"], row, rate[0] / 100).with_columns(
            snapshot_at=pl.lit(_snapshot_at(day, day == last_day), pl.Datetime("us", "UTC"))))
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames)


# ----------------------------------------------------------------------------- truth
TABLE_COLUMNS = {
    "option_chain": ("quote_date", "root", "expiration", "strike", "right", "bid", "ask",
                     "last", "volume", "open_interest", "iv", "delta", "gamma", "vega",
                     "underlying", "snapshot_at"),
}


def simulate(start: dt.date = DEMO_START, end: dt.date = DEMO_END, seed: int = 7, *,
             chain_days: int = 20, vix1d_start: dt.date = VIX1D_START
             ) -> dict[str, pl.DataFrame]:
    """Simulate the market and return the truth as table frames (without ``ingested_at``).

    Args:
        start: first calendar day of the history.
        end: last calendar day; the last NYSE session on or before it is the snapshot day.
        seed: the seed; the same seed and dates give the same market.
        chain_days: number of most recent sessions that get an SPX option chain.
        vix1d_start: first day VIX1D exists (CBOE's real first day by default).

    Returns:
        ``index_daily``, ``vx_futures``, ``option_chain``, ``breadth_daily``,
        ``macro_observations`` and ``events`` frames in the lake's column order, plus
        ``option_chain_full`` (the chain with theta and rho, for the raw writers).
    """
    days = _sessions_between(start, end)
    if not days:
        raise ValueError(f"simulator: no NYSE session between {start} and {end}")
    m = _market(seed, days)
    index = _index_frame(seed, m, vix1d_start)
    events = _events_frame(seed, start, end)
    macro = _macro_frame(seed, m, events)
    chain = _chain_frame(seed, m, index, macro, chain_days)
    return {
        "index_daily": index, "vx_futures": _vx_frame(seed, m),
        "option_chain": chain.select(TABLE_COLUMNS["option_chain"]) if chain.height else chain,
        "option_chain_full": chain, "breadth_daily": _breadth_frame(seed, m),
        "macro_observations": macro, "events": events,
    }


def sources_overrides(base: str) -> dict[str, dict[str, str]]:
    """Sources-config overrides that point every provider at a tree written by `write_raw`.

    Args:
        base: the tree's root as an ``http(s)://`` URL, a ``file://`` URL or a path.

    Returns:
        A mapping to merge over the default sources config (``sources.config.load``).
    """
    root = base.rstrip("/")
    return {name: a.located(f"{root}/{name}") for name, a in ADAPTERS.items()}


def write_raw(out_dir: str | Path, start: dt.date = DEMO_START, end: dt.date = DEMO_END,
              seed: int = 7, *, chain_days: int = 20, vix1d_start: dt.date = VIX1D_START
              ) -> dict[str, Any]:
    """Simulate a market and write its raw files in the providers' layouts under ``out_dir``.

    Layout: ``cboe/{SYMBOL}_History.csv``, ``cfe/VX_{YYYY-MM-DD}.csv``, ``fred/{ID}.csv``,
    ``breadth/breadth.csv``, ``calendar/{fomc,cpi,ppi}.csv``, ``chains/_SPX.json`` (last
    session, snapshot 16:15 ET) and ``chains/UnderlyingOptionsEODCalcs_{YYYY-MM-DD}.csv``
    (every chain session, DataShop's 15:45 ET calcs; the same quotes as the JSON on the last
    day). The truth's ``snapshot_at`` is the JSON's on the last day, 15:45 ET before it.

    Args:
        out_dir: folder to write into (created; existing files of the same names replaced).
        start: first calendar day of the history.
        end: last calendar day (its last session is the snapshot day).
        seed: the seed; the same arguments give byte-identical files.
        chain_days: how many recent sessions get an SPX chain (a year: ~252).
        vix1d_start: first day of VIX1D.

    Returns:
        A manifest: seed, first and last session, session count, files per source (paths
        relative to ``out_dir``) and row counts per table.
    """
    out = Path(out_dir)
    truth = simulate(start, end, seed, chain_days=chain_days, vix1d_start=vix1d_start)
    rows = truth | {"option_chain": truth["option_chain_full"]}  # the files carry theta, rho
    files = {name: a.write(rows[a.table], out / name) for name, a in ADAPTERS.items()}
    days = truth["breadth_daily"]["date"]
    return {
        "seed": seed, "first_session": days.min(), "last_session": days.max(),
        "sessions": days.len(),
        "files": {k: [p.relative_to(out).as_posix() for p in v] for k, v in files.items()},
        "rows": {k: v.height for k, v in truth.items() if k != "option_chain_full"},
    }
