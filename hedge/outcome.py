"""The previous session's outcome: its condor settled on the close (for no doubling)."""

from __future__ import annotations

from collections.abc import Sequence

from hedge.document import Leg, PriorDay, Recommendation

__all__ = ["PriorDay", "condor_pnl", "leg_payoff", "prior_day", "settled"]


def leg_payoff(leg: Leg, spx: float) -> float:
    """One option's intrinsic value at expiry with SPX at ``spx`` (points)."""
    return max(0.0, spx - leg.strike) if leg.right == "C" else max(0.0, leg.strike - spx)


def condor_pnl(legs: Sequence[Leg], spx_close: float, multiplier: float) -> float:
    """Dollar P&L at expiry of the condor legs (signed contracts, entry at ``price``)."""
    return sum(leg.contracts * (leg_payoff(leg, spx_close) - leg.price)
               for leg in legs if leg.kind == "iron_condor") * multiplier


def prior_day(previous: Recommendation, spx_close: float, multiplier: float) -> PriorDay:
    """The previous recommendation's condor settled on its expiry's SPX close."""
    return settled(previous, previous.legs, spx_close, multiplier)


def settled(previous: Recommendation, legs: Sequence[Leg], spx_close: float,
            multiplier: float) -> PriorDay:
    """``previous``'s condor, from ``legs`` (strikes, entry prices, signed contracts), settled."""
    c = previous.condor
    risk = c.risk_pct if c is not None else 0.0
    pnl = condor_pnl(legs, spx_close, multiplier)
    return PriorDay(lost=pnl < 0, risk_pct=risk, pnl=pnl, settled_on=previous.trade_date,
                    spx_close=spx_close)
