"""The one door from the backtest to the hedge engine: the nightly run's own recommendation.

A thin adapter so the walk does not depend on the engine's signature: it passes day D's
features row, the policy (with the strategy's sizing), the ladder held after D and D's condor
outcome, and returns the engine's document unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from hedge.document import Recommendation
from hedge.policy import Policy
from hedge.recommend import ExpiryRule, PriorDay, recommend


@dataclass(frozen=True)
class HeldCall:
    """A VIX call the strategy holds after a close."""

    layer: str
    expiry: dt.date
    strike: float
    contracts: float


def with_sizing(policy: Policy, sizing: str) -> Policy:
    """``policy`` with the ladder sized by ``sizing`` ("stress" or "vega"), where supported."""
    if "sizing" not in type(policy).model_fields:
        return policy  # an engine without the choice: both ALVH strategies run its one sizing
    return policy.model_copy(update={"sizing": sizing})


def prior_day(lost: bool | None, risk_pct: float, held: Sequence[HeldCall]) -> PriorDay | None:
    """D's outcome as the engine's no-doubling and peel-back input (None when unknown)."""
    if lost is None:
        return None
    return PriorDay(lost=lost, risk_pct=risk_pct,
                    layers=tuple(sorted({h.layer for h in held if h.contracts > 0})))


def recommend_next(row: Mapping[str, Any], *, policy: Policy, held: Sequence[HeldCall],
                   prior: PriorDay | None, rate: float | None, equity: float,
                   chain: pl.DataFrame | None, expiries: ExpiryRule) -> Recommendation:
    """The engine's recommendation for the session after the row's day."""
    # The engine of this branch takes no held ladder yet: its target is the whole ladder.
    return recommend(row, chain=chain, rate=rate, equity=equity, policy=policy, prior=prior,
                     expiries=expiries)
