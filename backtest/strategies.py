"""Target ladders of the benchmark strategies: the static 4/4/2 ladder and CBOE's VXTH rule.

Both are priced like the ALVH ladder, on the listed contract's settlement with the calibrated
vol model in force on the day, and are run at unit size (the views scale them to the ALVH
stress ladder's cost).

VXTH (CBOE VIX Tail Hedge Index): the rule of ``backtest.vxth`` (the rebuild checked against
the published index), traded day by day: at each monthly VIX option expiry one-month
30-delta calls, the weight set by the one-month VX future of the session before: none at or
below 15, 1.0% of the portfolio to 30, 0.5% to 50, none above; held to expiry. The bounds,
weights and delta are in the policy (``[backtest] vxth_*``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from backtest.engine import HeldCall
from backtest.market import Known
from backtest.vxth import delta_call, vxth_weight
from hedge.policy import Policy
from hedge.vix_model import vix_strike


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


def vxth_targets(known: Known, held: list[HeldCall], policy: Policy, equity: float,
                 rate: float, vvix: float | None,
                 signal: Mapping[dt.date, float]) -> list[HeldCall] | None:
    """VXTH: at a monthly expiry, one-month 30-delta calls by the weight schedule; else hold.

    The weight follows the one-month contract's settlement of the session before the roll
    (``signal``: the previous session's settlements), as the published index does
    (``backtest.vxth``); the calls are priced at the roll's close.
    """
    front, expiry = known.expiries.front_two(known.date)
    if front != known.date:
        return held  # not a roll day
    fwd, before = known.settle(expiry), signal.get(expiry)
    if fwd is None or before is None or vvix is None or known.pricing is None:
        return None
    weight = vxth_weight(before, policy)
    if weight <= 0:
        return []
    strike, _, price = delta_call(known.pricing.vix, fwd, (expiry - known.date).days, rate,
                                  vvix, policy)
    price *= known.pricing.vix_scale
    contracts = weight * equity / (price * policy.ladder.multiplier) if price > 0 else 0.0
    return [HeldCall("VXTH", expiry, strike, contracts)]
