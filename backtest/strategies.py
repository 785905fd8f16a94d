"""Target ladders of the benchmark strategies: the static 4/4/2 ladder and CBOE's VXTH rule.

Both are priced like the ALVH ladder, on the listed contract's settlement with the documented
vol model (the calibration in force on the day), and are run at unit size (the views scale them to the ALVH stress ladder's cost).

VXTH (CBOE VIX Tail Hedge Index, methodology as published by CBOE): at each monthly VIX
option expiry the index buys one-month 30-delta VIX calls, the weight set by the one-month
VX future F on the roll day: none when F <= 15, 1.0% of the portfolio when 15 < F <= 30,
0.5% when 30 < F <= 50, none above 50; the calls are held to expiry. The bounds, weights and
delta are in the policy (``[backtest] vxth_*``).
"""

from __future__ import annotations

import datetime as dt

from backtest.accounting import CALENDAR_DAYS
from backtest.engine import HeldCall
from backtest.market import Known
from hedge.calibration import Pricing
from hedge.policy import Policy
from hedge.pricing import black76
from hedge.recommend import vix_strike
from hedge.vix_model import call_vol


def static_targets(known: Known, held: list[HeldCall], policy: Policy) -> list[HeldCall] | None:
    """The always-on 4/4/2 ladder: each layer kept until its roll, then rebought.

    Returns None when a contract to buy has no settlement (nothing is traded that day).
    """
    out = []
    roll = policy.ladder.roll_dte
    for layer in policy.ladder.layers:
        kept = [h for h in held if h.layer == layer.name
                and (h.expiry - known.date).days > roll]
        if kept:
            out.extend(kept)
            continue
        expiry = known.expiries(known.date, layer.target_dte)
        fwd = known.settle(expiry)
        if fwd is None:
            return None
        strike = vix_strike(fwd * (1.0 + policy.ladder.otm_pct),
                            policy.ladder.half_point_strikes_below)
        out.append(HeldCall(layer.name, expiry, strike, layer.weight))
    return out


def vxth_weight(forward: float, policy: Policy) -> float:
    """VXTH's share of equity in calls for a one-month VX future at ``forward``."""
    lo, mid, hi = policy.backtest.vxth_forward_bounds
    low_w, high_w = policy.backtest.vxth_weights
    if lo < forward <= mid:
        return low_w
    if mid < forward <= hi:
        return high_w
    return 0.0


def delta_strike(fwd: float, expiry: dt.date, day: dt.date, rate: float, vvix: float,
                 policy: Policy, pricing: Pricing) -> tuple[float, float]:
    """The listed strike whose Black-76 delta (at its calibrated vol) is nearest the policy's,
    and its price."""
    dte = (expiry - day).days
    half = policy.ladder.half_point_strikes_below
    grid = sorted({vix_strike(fwd * (0.5 + i / 50.0), half) for i in range(200)})
    vols = [call_vol(pricing.vix, vvix, dte, k, fwd) for k in grid]
    greeks = black76(fwd, grid, dte / CALENDAR_DAYS, rate, vols, True)
    i = int(abs(greeks.delta - policy.backtest.vxth_delta).argmin())
    return grid[i], float(greeks.price[i]) * pricing.vix_scale


def vxth_targets(known: Known, held: list[HeldCall], policy: Policy, equity: float,
                 rate: float, vvix: float | None) -> list[HeldCall] | None:
    """VXTH: at a monthly expiry, one-month 30-delta calls by the weight schedule; else hold."""
    front, expiry = known.expiries.front_two(known.date)
    if front != known.date:
        return held  # not a roll day
    fwd = known.settle(expiry)
    if fwd is None or vvix is None:
        return None
    weight = vxth_weight(fwd, policy)
    if weight <= 0:
        return []
    strike, price = delta_strike(fwd, expiry, known.date, rate, vvix, policy, known.pricing)
    contracts = weight * equity / (price * policy.ladder.multiplier) if price > 0 else 0.0
    return [HeldCall("VXTH", expiry, strike, contracts)]
