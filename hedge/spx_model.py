"""The 1DTE SPX option model used when no chain is stored: a fitted ATM level and smile.

ATM vol (decimal, calendar clock) = ``ratio`` of the shortest vol index available (VIX1D, else
VIX9D, else VIX) x index / 100, scaled down over non-session days by ``weekend_weight``:
a Friday-to-Monday option holds 3 calendar days, but the real chains price those 3 days at
about the variance of 1.2 sessions (ATM vol on the calendar clock is ~0.6 x VIX on Fridays
and ~0.9-1.0 x VIX midweek). The smile is a quadratic in ``z = ln(K / F) / (atm sqrt(t))``
(moneyness in expected moves), one per wing (put wing K < F, call wing K > F, both 1 at the
money so a put and a call of one strike share one vol), floored, flat beyond ``Z_CAP``.
Half-spreads: ``max(spread_min, spread_base + spread_share x mid)``.

The next longer index (VIX9D for VIX1D, VIX for VIX9D; ``long_level``) moves a one-session
option's vol: on a period without idle days the level is the geometric blend
``level^(1 - long_weight) x long^long_weight`` and the smile's moneyness is measured in
expected moves of the longer level (``ratio x long``), so a VIX1D low against VIX9D gives
a higher ATM and wings that reach further in strike. Over a weekend (idle days) the shortest
index already prices the option's own Friday-to-Monday period and is used alone. Without the
longer level (``levels`` not given, or only VIX known) the model is the shortest index alone.

Pure: Python floats and numpy; the fit lives in ``hedge.spx_fit``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

import numpy as np

from hedge.pricing import Array, black_scholes

# Shortest first: the level nearest the option's one-day horizon wins.
SOURCES = ("vix1d_close", "vix9d_close", "vix_close")
# Beyond 3.5 expected moves the smile is held flat: the condor's legs sit inside 3, quotes
# further out are mostly one-tick markets, and a wing still steepening there makes prices
# non-monotone in strike (a static arbitrage).
Z_CAP = 3.5
DAYS_PER_YEAR = 365.0


@dataclass(frozen=True)
class SpxModel:
    """Fitted parameters of the 1DTE SPX option model (see the module docstring)."""

    ratio_vix1d: float
    ratio_vix9d: float
    ratio_vix: float
    weekend_weight: float
    put_slope: float
    put_curve: float
    call_slope: float
    call_curve: float
    iv_floor: float
    spread_min: float
    spread_base: float
    spread_share: float
    long_weight: float = 0.0

    def ratio(self, source: str) -> float:
        """The ATM ratio of a level source (a ``SOURCES`` column name).

        Args:
            source: ``vix1d_close``, ``vix9d_close`` or ``vix_close``.

        Returns:
            The fitted ratio of model ATM vol to that index.
        """
        if source not in SOURCES:
            raise ValueError(f"unknown level source {source!r}; expected one of {SOURCES}")
        return float(getattr(self, "ratio_" + source.removesuffix("_close")))

    def to_dict(self) -> dict[str, float]:
        """The parameters by name, as Python floats."""
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, float]) -> SpxModel:
        """A model from ``to_dict`` output.

        Args:
            d: Every parameter by name, nothing else.

        Returns:
            The model.

        Raises:
            ValueError: Naming the missing and the unknown keys.
        """
        names = [f.name for f in fields(cls)]
        missing = sorted(set(names) - set(d))
        unknown = sorted(set(d) - set(names))
        if missing or unknown:
            raise ValueError(f"SpxModel keys: missing {missing}, unknown {unknown}")
        return cls(**{k: float(d[k]) for k in names})


def settle_years(day: dt.date, expiry: dt.date) -> float:
    """Calendar years from day D's close to the expiry's 16:00 settlement.

    Args:
        day: The quote day D.
        expiry: The expiry day (settled at its 16:00 close).

    Returns:
        ``(expiry - day).days / 365``: a Friday-to-Monday condor holds 3/365.
    """
    return (expiry - day).days / DAYS_PER_YEAR


def idle_days(years: float) -> float:
    """Non-session calendar days before a next-session expiry of ``years`` away.

    Every calendar day before the next session's is a weekend day or a holiday, so a
    ``settle_years`` of n/365 holds n - 1 of them (2 for Friday to Monday).

    Args:
        years: ``settle_years`` to the next session's expiry.

    Returns:
        The count of non-session days, at least 0.
    """
    return max(0.0, round(years * DAYS_PER_YEAR) - 1.0)


def atm_source(levels: Mapping[str, float | None]) -> tuple[str, float] | None:
    """The shortest vol index known in a features-row-like mapping.

    Args:
        levels: Holds some of ``vix1d_close``, ``vix9d_close``, ``vix_close`` (vol points);
            None, absent, NaN or <= 0 means unknown.

    Returns:
        (column name, value) of the first known one in VIX1D, VIX9D, VIX order, else None.
    """
    for name in SOURCES:
        v = levels.get(name)
        if v is not None and math.isfinite(float(v)) and float(v) > 0.0:
            return name, float(v)
    return None


def long_level(source: str, levels: Mapping[str, float | None] | None) -> float | None:
    """The next longer vol index after ``source`` known in a features-row-like mapping.

    Args:
        source: The ATM level's column name (``SOURCES``).
        levels: Holds some of ``vix1d_close``, ``vix9d_close``, ``vix_close``; None, absent,
            NaN or <= 0 means unknown. None: no mapping at all.

    Returns:
        VIX9D (else VIX) for a VIX1D source, VIX for a VIX9D source, else None.
    """
    if levels is None or source not in SOURCES:
        return None
    got = atm_source({k: levels.get(k) for k in SOURCES[SOURCES.index(source) + 1:]})
    return None if got is None else got[1]


def atm_and_scale(model: SpxModel, ratio: Array, level: Array, long: Array, years: Array,
                  idle: Array) -> tuple[Array, Array]:
    """ATM vol and the vol measuring the smile's moneyness, per option (arrays broadcast).

    Args:
        model: The fitted model.
        ratio: The ATM ratio of each option's level source.
        level: The shortest index known, vol points.
        long: The next longer index (``long_level``), vol points; ``level`` where unknown.
        years: ``settle_years`` to each expiry.
        idle: Non-session days before each expiry.

    Returns:
        (ATM vol, moneyness vol), decimals on the calendar clock: without idle days
        ratio x level^(1 - long_weight) x long^long_weight / 100 and ratio x long / 100; with
        idle days both ratio x level / 100; each scaled by ``weekend_scale``.
    """
    scale = ratio / 100.0 * weekend_scale(model.weekend_weight, years, idle)
    session = np.asarray(idle) <= 0.0
    weight = np.where(session, model.long_weight, 0.0)
    atm = scale * level * (long / level) ** weight
    return atm, scale * np.where(session, long, level)


def atm_vol(model: SpxModel, source: str, level: float, years: float,
            idle: float | None = None, long: float | None = None) -> float:
    """Model ATM vol (decimal, calendar clock) from an index level.

    Args:
        model: The fitted model.
        source: The level's column name (``SOURCES``).
        level: The index close in vol points.
        years: ``settle_years`` to the expiry.
        idle: Non-session days in the period; ``idle_days(years)`` when None.
        long: The next longer index (``long_level``), vol points; None = unknown.

    Returns:
        ratio x level (blended with ``long`` on a period without idle days) / 100, scaled
        by the weekend's share of the calendar variance.
    """
    n_idle = idle_days(years) if idle is None else idle
    atm, _ = atm_and_scale(model, np.array(model.ratio(source)), np.array(level),
                           np.array(level if long is None else long), np.array(years),
                           np.array(n_idle))
    return float(atm)


def weekend_scale(weight: float, years: Array, idle: Array) -> Array:
    """Calendar-clock vol multiplier for a period holding ``idle`` non-session days.

    Variance accrues one unit per session day and ``weight`` per idle day; the clock stays
    calendar, so the weight enters as a scale on the calendar-clock vol.

    Args:
        weight: Variance of an idle day relative to a session day.
        years: Calendar years of the period.
        idle: Non-session days in it.

    Returns:
        sqrt((session days + weight x idle days) / calendar days).
    """
    days = np.maximum(years * DAYS_PER_YEAR, 1e-9)
    return np.sqrt(np.maximum((days - idle + weight * idle) / days, 1e-9))


def smile(model: SpxModel, z: Array) -> Array:
    """IV as a multiple of ATM at moneyness ``z`` (expected moves), floored, flat beyond Z_CAP.

    Args:
        model: The fitted model.
        z: ln(K / F) / (atm sqrt(t)).

    Returns:
        iv / atm per strike.
    """
    zc = np.clip(z, -Z_CAP, Z_CAP)
    wing = np.where(zc < 0.0, 1.0 + model.put_slope * zc + model.put_curve * zc * zc,
                    1.0 + model.call_slope * zc + model.call_curve * zc * zc)
    return np.maximum(model.iv_floor, wing)


def half_spreads(model: SpxModel, mid: Array) -> Array:
    """Model half bid/ask spread in index points at each mid.

    Args:
        model: The fitted model.
        mid: Option mid prices.

    Returns:
        max(spread_min, spread_base + spread_share x mid).
    """
    return np.maximum(model.spread_min, model.spread_base + model.spread_share * mid)


def marks(model: SpxModel, spot: Array, strikes: Array, is_call: Array, years: Array,
          atm: Array, rate: Array, q: float, zvol: Array | None = None
          ) -> tuple[Array, Array, Array]:
    """Mid, IV and half-spread of options given each one's ATM vol (arrays broadcast).

    Args:
        model: The fitted model (smile and spreads).
        spot: SPX at the quote day's close.
        strikes: Option strikes.
        is_call: True for calls.
        years: ``settle_years`` to each option's expiry.
        atm: ATM vol per option (``atm_vol``), decimal.
        rate: Risk-free rate, continuously compounded decimal.
        q: SPX dividend yield, continuous decimal.
        zvol: The vol whose expected moves measure the smile's moneyness (``atm_and_scale``);
            ``atm`` when None.

    Returns:
        (mid prices, IVs as decimals, half-spreads).
    """
    fwd = spot * np.exp((rate - q) * years)
    z = np.log(strikes / fwd) / ((atm if zvol is None else zvol) * np.sqrt(years))
    iv = atm * smile(model, z)
    price = black_scholes(spot, strikes, years, rate, q, iv, is_call).price
    return price, iv, half_spreads(model, price)


def leg_marks(model: SpxModel, spot: float, strikes: np.ndarray, is_call: np.ndarray,
              years: float, source: str, level: float, rate: float, q: float,
              idle: float | None = None, levels: Mapping[str, float | None] | None = None,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model mid, IV and half-spread of each leg (Black-Scholes at the smile's IV).

    Args:
        model: The fitted model.
        spot: SPX at D's close.
        strikes: Leg strikes.
        is_call: True for calls, per leg.
        years: ``settle_years(D, expiry)``.
        source: The level's column name (from ``atm_source``).
        level: That index's close, vol points.
        rate: Risk-free rate, continuously compounded decimal.
        q: SPX dividend yield, continuous decimal.
        idle: Non-session days before the expiry; None = a next-session expiry.
        levels: The day's ``vix1d_close``, ``vix9d_close``, ``vix_close`` (a features row
            will do): the longer index after ``source`` blends into a one-session ATM and
            measures the smile (``atm_and_scale``). None: ``source`` alone, as without them.

    Returns:
        (mid prices, IVs as decimals, half-spreads), one entry per leg.
    """
    k = np.asarray(strikes, dtype=np.float64)
    call = np.asarray(is_call, dtype=bool)
    n_idle = idle_days(years) if idle is None else idle
    long = long_level(source, levels)
    atm, zvol = atm_and_scale(model, np.array(model.ratio(source)), np.array(float(level)),
                              np.array(float(level) if long is None else long),
                              np.array(float(years)), np.array(float(n_idle)))
    n = k.shape
    return marks(model, np.full(n, float(spot)), k, call, np.full(n, float(years)),
                 np.full(n, float(atm)), np.full(n, float(rate)), q, np.full(n, float(zvol)))
