"""The previous session's outcome: its condor settled on the close (for no doubling)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hedge.document import Leg, Recommendation


@dataclass(frozen=True)
class PriorDay:
    """What the previous session's condor did: its risk (% of equity) and P&L at expiry."""

    lost: bool
    risk_pct: float
    pnl: float | None = None


def leg_payoff(leg: Leg, spx: float) -> float:
    """One option's intrinsic value at expiry with SPX at ``spx`` (points)."""
    return max(0.0, spx - leg.strike) if leg.right == "C" else max(0.0, leg.strike - spx)


def condor_pnl(legs: Sequence[Leg], spx_close: float, multiplier: float) -> float:
    """Dollar P&L at expiry of the condor legs (signed contracts, entry at ``price``)."""
    return sum(leg.contracts * (leg_payoff(leg, spx_close) - leg.price)
               for leg in legs if leg.kind == "iron_condor") * multiplier


def prior_day(previous: Recommendation, spx_close: float, multiplier: float) -> PriorDay:
    """The previous recommendation's condor settled on its expiry's SPX close."""
    c = previous.condor
    if c is None or c.contracts == 0:
        return PriorDay(lost=False, risk_pct=0.0, pnl=0.0)
    pnl = condor_pnl(previous.legs, spx_close, multiplier)
    return PriorDay(lost=pnl < 0, risk_pct=c.risk_pct, pnl=pnl)
