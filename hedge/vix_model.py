"""The VIX call vol model: a VVIX-scaled term structure with a call skew, fitted to real quotes.

For a call struck at K on the VX contract expiring with the option (forward F), DTE days out:

    x     = ln(K / F), held within ln(0.8) .. ln(2.0)
    level = scale * VVIX / 100 * (30 / DTE) ** term_exponent * (1 - hump * exp(-DTE / hump_days))
    tilt  = skew * (30 / max(DTE, skew_min_dte)) ** skew_term_exponent
    vol   = max(floor, level * (1 + tilt * x + curvature * x**2))

The tilt shrinks with maturity: VIX is mean-reverting, so a far expiry's distribution of VIX
is narrower in log terms and its call wing steepens less (on 2016-06-01 the smile's slope per
unit of ln(K / F) falls from ~1.4 vol at 14 days to ~0.2 at 168). The curvature (negative)
bends the wing over, as the quotes do past ~1.5 x F. Below ``skew_min_dte`` (the shortest
tenor fitted) the tilt is held: grown without bound it would price a far strike above a
near one (at one day the fitted law gives x20). For the same reason the smile is flat
outside the moneyness window the fit saw (``MONEYNESS``, 0.8-2.0 x F). Prices are Black-76
on the forward with ``t = DTE / 365`` (``hedge.pricing.black76_one``).

The half-spread model, ``max(spread_min, spread_pct x price)`` in index points, comes from
the same chain's bid/ask.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

import numpy as np

from hedge.pricing import Array, ArrayLike, black76_one

CALENDAR_DAYS = 365.0
VIX_ROOTS = ("VIX", "VIXW")  # monthly and weekly VIX options
REFERENCE_DTE = 30.0  # the tenor ``scale`` is quoted at (VVIX is a 30-day index)
MONEYNESS = (0.8, 2.0)  # K / F of the quotes fitted; the smile is held flat outside
_X_LOW, _X_HIGH = math.log(MONEYNESS[0]), math.log(MONEYNESS[1])


@dataclass(frozen=True)
class VixModel:
    """Fitted parameters of the VIX call vol model (see the module docstring for the form)."""

    scale: float
    term_exponent: float
    skew: float
    skew_term_exponent: float
    curvature: float
    hump: float
    hump_days: float
    skew_min_dte: float
    floor: float
    spread_min: float
    spread_pct: float

    def to_dict(self) -> dict[str, float]:
        """The parameters by name, as floats."""
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, float]) -> VixModel:
        """A model from ``to_dict``'s mapping.

        Raises:
            ValueError: naming the keys missing from ``d`` or unknown to the model.
        """
        names = {f.name for f in fields(cls)}
        missing, unknown = sorted(names - set(d)), sorted(set(d) - names)
        if missing or unknown:
            raise ValueError(f"VixModel parameters: missing {missing}, unknown {unknown}")
        return cls(**{k: float(d[k]) for k in names})


def vix_strike(x: float, half_point_below: float) -> float:
    """Nearest listed VIX option strike: 0.5-point grid below the threshold, 1-point above."""
    half = round(x * 2.0) / 2.0
    return half if half < half_point_below else float(round(x))


def call_vol(model: VixModel, vvix: float, dte: int, strike: float, forward: float) -> float:
    """Black-76 vol of a VIX call struck at ``strike`` on the forward ``forward``.

    Args:
        model: the fitted parameters.
        vvix: VVIX in points (95.3, not 0.953).
        dte: calendar days to the option's expiry (clamped to at least one).
        strike: the call's strike, in VIX points.
        forward: the settlement of the VX contract expiring with the option.

    Returns:
        The vol as a decimal (0.85 = 85 vol points), never below the model's floor.
    """
    days = max(dte, 1)
    x = min(max(math.log(strike / forward), _X_LOW), _X_HIGH)
    damp = 1.0 - model.hump * math.exp(-days / model.hump_days)
    level = model.scale * vvix / 100.0 * (REFERENCE_DTE / days) ** model.term_exponent * damp
    tilt = model.skew * (REFERENCE_DTE / max(days, model.skew_min_dte)) ** model.skew_term_exponent
    return max(model.floor, level * (1.0 + tilt * x + model.curvature * x * x))


def call_price(model: VixModel, vvix: float, dte: int, strike: float, forward: float,
               rate: float) -> float:
    """Black-76 price of the VIX call at the model's vol, in index points."""
    vol = call_vol(model, vvix, dte, strike, forward)
    return black76_one(forward, strike, max(dte, 1) / CALENDAR_DAYS, rate, vol, True).price


def half_spread(model: VixModel, price: float) -> float:
    """Half the bid/ask of a VIX option worth ``price`` points: max(minimum, share x price)."""
    return max(model.spread_min, model.spread_pct * price)


def call_vols(model: VixModel, vvix: ArrayLike, dte: ArrayLike, strike: ArrayLike,
              forward: ArrayLike) -> Array:
    """``call_vol`` over numpy-broadcastable arrays (for fitting and whole chains)."""
    days = np.maximum(np.asarray(dte, dtype=np.float64), 1.0)
    x = np.clip(np.log(np.asarray(strike, dtype=np.float64)
                       / np.asarray(forward, dtype=np.float64)), _X_LOW, _X_HIGH)
    damp = 1.0 - model.hump * np.exp(-days / model.hump_days)
    vvix_vol = np.asarray(vvix, dtype=np.float64) / 100.0
    level = model.scale * vvix_vol * (REFERENCE_DTE / days) ** model.term_exponent * damp
    tilt = model.skew * (REFERENCE_DTE / np.maximum(days, model.skew_min_dte)) ** (
        model.skew_term_exponent)
    return np.maximum(model.floor, level * (1.0 + tilt * x + model.curvature * x * x))
