"""The inputs shared by the steps of one recommendation, and the reasons gathered so far."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hedge.calibration import Pricing
from hedge.document import CapBound, RuleFired, Value
from hedge.policy import Policy

# (expiry, strike) -> (bid, ask) of D's VIX calls
VixQuotes = Mapping[tuple[dt.date, float], tuple[float, float]]


@dataclass
class Context:
    """One recommendation's inputs (day D, equity, rate, closes, pricing) and its reasons."""

    row: dict[str, Any]
    policy: Policy
    date: dt.date
    trade_date: dt.date
    equity: float
    rate: float
    spx: float
    vix: float
    rules: list[RuleFired]
    caps: list[CapBound]
    pricing: Pricing
    vix_quotes: VixQuotes = field(default_factory=dict)  # D's VIX call quotes, if stored

    def fire(self, rule: str, detail: str, **inputs: Value) -> None:
        """Record a rule that changed the recommendation, with its inputs."""
        self.rules.append(RuleFired(rule=rule, detail=detail, inputs=inputs))
