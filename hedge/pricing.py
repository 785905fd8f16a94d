"""Vectorised option pricing: Black-Scholes (SPX, continuous dividend) and Black-76 (VIX).

Every function takes numpy-broadcastable arrays (or floats) and returns float64 arrays.
Conventions: ``t`` in years, ``r`` and ``q`` continuously compounded, ``sigma`` as a decimal
(0.20 = 20 vol points), ``is_call`` a boolean array (True = call, False = put).
Greeks: ``delta`` per 1.0 of the underlying (spot for BS, forward for Black-76), ``gamma`` per
1.0 squared, ``vega`` per 1.0 of volatility (divide by 100 for one vol point), ``theta`` per
year of calendar time passing (negative for a long option that decays).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

Array = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike


class Greeks(NamedTuple):
    """Price and first/second-order sensitivities of a vector of options."""

    price: Array
    delta: Array
    gamma: Array
    vega: Array
    theta: Array


_SQRT_2PI = float(np.sqrt(2.0 * np.pi))


class OneGreeks(NamedTuple):
    """``Greeks`` of a single option, as Python floats."""

    price: float
    delta: float
    gamma: float
    vega: float
    theta: float


def _pdf(x: Array) -> Array:
    """Standard normal density."""
    return np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)


def _d1_d2(fwd: Array, k: Array, t: Array, sigma: Array) -> tuple[Array, Array]:
    """Black d1 and d2 on a forward."""
    sd = sigma * np.sqrt(t)
    d1 = (np.log(fwd / k) + 0.5 * sd * sd) / sd
    return d1, d1 - sd


def _arrays(*xs: ArrayLike) -> list[Array]:
    """Broadcast inputs to float64 arrays of one shape (views, only where shapes differ)."""
    arrays = [np.asarray(a, dtype=np.float64) for a in xs]
    shape = arrays[0].shape
    if any(a.shape != shape for a in arrays):
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
        return [a if a.shape == shape else np.broadcast_to(a, shape) for a in arrays]
    return arrays


def black76(
    fwd: ArrayLike, k: ArrayLike, t: ArrayLike, r: ArrayLike, sigma: ArrayLike, is_call: ArrayLike
) -> Greeks:
    """Black-76 price and greeks of options on a futures price ``fwd`` (greeks w.r.t. ``fwd``)."""
    f, kk, tt, rr, sg = _arrays(fwd, k, t, r, sigma)
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), f.shape)
    disc = np.exp(-rr * tt)
    d1, d2 = _d1_d2(f, kk, tt, sg)
    sign = np.where(call, 1.0, -1.0)
    price = disc * sign * (f * ndtr(sign * d1) - kk * ndtr(sign * d2))
    delta = disc * sign * ndtr(sign * d1)
    gamma = disc * _pdf(d1) / (f * sg * np.sqrt(tt))
    vega = disc * f * _pdf(d1) * np.sqrt(tt)
    theta = -disc * f * _pdf(d1) * sg / (2.0 * np.sqrt(tt)) + rr * price
    return Greeks(price, delta, gamma, vega, theta)


def black76_one(fwd: float, k: float, t: float, r: float, sigma: float,
                is_call: bool = True) -> OneGreeks:
    """``black76`` of one option, in Python floats, bit for bit the same numbers.

    The same operations in the same order; exp, log and the normal CDF are numpy's and
    scipy's own (``math.exp`` and ``math.log`` differ from numpy's in the last bit on some
    inputs), square roots are correctly rounded either way. Outside the pricer's domain
    (t, sigma, fwd or k not positive and finite) the vectorised function answers. The
    backtest prices a call this way several times a session; the array machinery of
    ``black76`` cost ~50 us a call.
    """
    f, kk, tt, rr, sg = float(fwd), float(k), float(t), float(r), float(sigma)
    if not (0.0 < tt < math.inf and 0.0 < sg < math.inf and 0.0 < f < math.inf
            and 0.0 < kk < math.inf and math.isfinite(rr)):
        g = black76(f, kk, tt, rr, sg, is_call)
        return OneGreeks(*(float(x) for x in g))
    disc = float(np.exp(-rr * tt))
    sqrt_t = math.sqrt(tt)
    sd = sg * sqrt_t
    d1 = (float(np.log(f / kk)) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    sign = 1.0 if is_call else -1.0
    nd1, nd2 = float(ndtr(sign * d1)), float(ndtr(sign * d2))
    pdf = float(np.exp(-0.5 * d1 * d1)) / _SQRT_2PI
    price = disc * sign * (f * nd1 - kk * nd2)
    delta = disc * sign * nd1
    gamma = disc * pdf / (f * sg * sqrt_t)
    vega = disc * f * pdf * sqrt_t
    theta = -disc * f * pdf * sg / (2.0 * sqrt_t) + rr * price
    return OneGreeks(price, delta, gamma, vega, theta)


def black_scholes(
    s: ArrayLike,
    k: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> Greeks:
    """Black-Scholes-Merton price and greeks (w.r.t. spot ``s``) with dividend yield ``q``."""
    ss, kk, tt, rr, qq, sg = _arrays(s, k, t, r, q, sigma)
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), ss.shape)
    dq, dr = np.exp(-qq * tt), np.exp(-rr * tt)
    d1, d2 = _d1_d2(ss * dq / dr, kk, tt, sg)
    sign = np.where(call, 1.0, -1.0)
    nd1, nd2 = ndtr(sign * d1), ndtr(sign * d2)
    price = sign * (ss * dq * nd1 - kk * dr * nd2)
    delta = sign * dq * nd1
    gamma = dq * _pdf(d1) / (ss * sg * np.sqrt(tt))
    vega = ss * dq * _pdf(d1) * np.sqrt(tt)
    decay = -ss * dq * _pdf(d1) * sg / (2.0 * np.sqrt(tt))
    theta = decay + sign * (qq * ss * dq * nd1 - rr * kk * dr * nd2)
    return Greeks(price, delta, gamma, vega, theta)


def black_scholes_one(s: float, k: float, t: float, r: float, q: float, sigma: float,
                      is_call: bool) -> OneGreeks:
    """``black_scholes`` of one option in Python floats, bit for bit (see ``black76_one``)."""
    ss, kk, tt, rr, qq, sg = float(s), float(k), float(t), float(r), float(q), float(sigma)
    if not (0.0 < tt < math.inf and 0.0 < sg < math.inf and 0.0 < ss < math.inf
            and 0.0 < kk < math.inf and math.isfinite(rr) and math.isfinite(qq)):
        g = black_scholes(ss, kk, tt, rr, qq, sg, is_call)
        return OneGreeks(*(float(x) for x in g))
    dq, dr = float(np.exp(-qq * tt)), float(np.exp(-rr * tt))
    sqrt_t = math.sqrt(tt)
    sd = sg * sqrt_t
    d1 = (float(np.log(ss * dq / dr / kk)) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    sign = 1.0 if is_call else -1.0
    nd1, nd2 = float(ndtr(sign * d1)), float(ndtr(sign * d2))
    pdf = float(np.exp(-0.5 * d1 * d1)) / _SQRT_2PI
    price = sign * (ss * dq * nd1 - kk * dr * nd2)
    delta = sign * dq * nd1
    gamma = dq * pdf / (ss * sg * sqrt_t)
    vega = ss * dq * pdf * sqrt_t
    decay = -ss * dq * pdf * sg / (2.0 * sqrt_t)
    theta = decay + sign * (qq * ss * dq * nd1 - rr * kk * dr * nd2)
    return OneGreeks(price, delta, gamma, vega, theta)
