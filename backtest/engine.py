"""The one door from the backtest to the hedge engine: the nightly run's own recommendation.

A thin adapter over ``hedge.recommend.recommend`` (the signature of issue 13's API commit):
day D's features row, the policy with the strategy's sizing, the ladder held after the
session before, that session's condor outcome (``hedge.outcome.prior_day``), D's rate, the
last VX curve when D has none. The engine's document comes back unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from hedge.calibration import Pricing
from hedge.document import Position, Recommendation
from hedge.ladder import Curve, curve_of
from hedge.outcome import PriorDay, prior_day
from hedge.policy import Policy, policy_from_mapping
from hedge.rates import RateQuote
from hedge.recommend import Ask, ExpiryRule, recommend_each


@dataclass(frozen=True)
class HeldCall:
    """A VIX call the strategy holds after a close."""

    layer: str
    expiry: dt.date
    strike: float
    contracts: float


def with_sizing(policy: Policy, sizing: str) -> Policy:
    """``policy`` with its ladder sized by ``sizing`` ("stress" or "vega")."""
    if policy.ladder.sizing == sizing:
        return policy
    data = policy.model_dump(mode="json")
    data["ladder"]["sizing"] = sizing
    return policy_from_mapping(data, f"{policy.version} with ladder.sizing = {sizing}")


def outcome(previous: Recommendation | None, day: dt.date, spx_close: float | None,
            policy: Policy) -> PriorDay | None:
    """The previous recommendation's condor settled on D's close (None when unknown)."""
    if previous is None or previous.trade_date != day:
        return PriorDay(lost=False, risk_pct=0.0, pnl=0.0)  # no condor expired on D
    if spx_close is None:
        return None
    return prior_day(previous, spx_close, policy.condor.multiplier)


def held_positions(previous: Recommendation | None,
                   holding: Mapping[tuple[str, dt.date, float], float]) -> list[Position]:
    """The engine's positions after the session before, as the strategy really holds them.

    ``holding``: contracts held by (layer, expiry, strike). Two layers can hold the same
    listed call (a layer aged into the next one's expiry); each keeps its own count. A
    purchase that could not be priced (no settlement for its contract) was not made.
    """
    if previous is None:
        return []
    out = []
    for p in previous.ladder.positions:
        n = int(holding.get((p.name, p.expiry, p.strike), 0))
        if n > 0:
            out.append(p if n == p.contracts else p.model_copy(update={"contracts": n}))
    return out


def last_curve(row: Mapping[str, Any], policy: Policy) -> Curve | None:
    """D's VX constant-maturity curve at the ladder's tenors (the engine's own reading)."""
    day = row.get("date")
    if not isinstance(day, dt.date):
        return None
    return curve_of(row, day, 0, [la.target_dte for la in policy.ladder.layers])


def recommend_sizings(row: Mapping[str, Any], asks: Sequence[Ask], *, rate: RateQuote | None,
                      equity: float, chain: pl.DataFrame | None, curve: Curve | None,
                      expiries: ExpiryRule, pricing: Pricing) -> list[Recommendation]:
    """The engine's recommendation for the session after the row's day, for each ask.

    The day's work is shared (``hedge.recommend.recommend_each``: the same documents as one
    ``recommend`` call per ask), priced with the calibration in force on the day.
    """
    return recommend_each(row, asks, chain=chain, rate=rate, equity=equity, curve=curve,
                          expiries=expiries, pricing=pricing)
