"""The recommendation document: pydantic models with a stable JSON form (see hedge/SCHEMA.md)."""

from __future__ import annotations

import datetime as dt
import json

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = "1"

Value = bool | int | float | str | None


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Signal(_Doc):
    """One warning signal: whether it is lit (None = unknown input), its value and rule."""

    name: str
    layer: str | None
    lit: bool | None
    value: Value
    rule: str
    inputs: dict[str, Value]


class RuleFired(_Doc):
    """A rule that changed the recommendation, with the inputs that made it fire."""

    rule: str
    detail: str
    inputs: dict[str, Value]


class CapBound(_Doc):
    """A cap that bound: the limit, what was asked for and what was applied (dollars or %)."""

    cap: str
    limit: float
    requested: float
    applied: float
    detail: str


class Leg(_Doc):
    """One option leg; ``contracts`` is signed (negative = sold)."""

    leg: str
    kind: str
    layer: str | None
    right: str
    expiry: dt.date
    strike: float
    contracts: int
    price: float
    iv: float
    delta: float
    vega: float
    beta: float | None
    dollar_per_vix_point: float | None
    source: str


class Condor(_Doc):
    """The 1DTE iron condor for D+1; per-contract figures in dollars unless named points."""

    open: bool
    expiry: dt.date
    k: float
    expected_move: float
    wing_width: float
    short_put: float
    short_call: float
    long_put: float
    long_call: float
    credit_points: float
    max_loss_per_contract: float
    break_even_low: float
    break_even_high: float
    vega_per_contract: float
    pricing_source: str  # "quote" (D's chain: mids) or "model" (the calibrated 1DTE model)
    fill_credit_points: float  # shorts at their bid, longs at their ask (quoted or fitted)
    pricing_band: tuple[float, float] | None  # the model's error band (model / market, p10-p90)
    min_credit_points: float  # below this fill credit no condor is opened
    requested_risk_pct: float
    risk_pct: float
    contracts: int
    max_loss: float
    reference_contracts: float
    reference_vega: float


class Layer(_Doc):
    """One rung of the VIX call ladder: bought, held or sold on the session after ``date``.

    ``contracts`` is the position after the session's trade (held + bought - sold);
    ``cost`` is what the purchase costs today (only purchases count against the caps).
    """

    name: str
    target_dte: int
    expiry: dt.date
    dte: int
    forward: float
    strike: float
    vol: float
    price: float
    delta: float
    vega: float
    beta: float
    weight: float
    contracts: int
    dollar_per_vix_point: float
    cost: float
    action: str = "buy"
    held_contracts: int = 0
    buy_contracts: int = 0
    sell_contracts: int = 0
    bought_on: dt.date | None = None
    unlit_sessions: int = 0
    stress_forward: float | None = None
    stress_price: float | None = None
    stress_gain: float | None = None
    pricing_source: str = "model"  # "quote": D's VIX chain quotes the call (its mid)
    exit: str | None = None  # the rule of a sale: roll, expiry, peel_back, take_profit, trim


class Position(_Doc):
    """A VIX call layer held after a session: the next session's ``held`` input."""

    name: str
    expiry: dt.date
    strike: float
    contracts: int
    bought_on: dt.date
    entry_price: float
    unlit_sessions: int = 0


class StressScenario(_Doc):
    """The single-session crash the stress sizing covers (policy ``[stress]``)."""

    spx_gap_pct: float
    spx_after: float
    vix_rise: float
    vix_after: float
    horizon_days: int


class Ladder(_Doc):
    """The VIX call ladder held after the session, and its coverage of the reference condor.

    ``target_dollars`` and ``reached_dollars`` are in the sizing's unit: dollars of gain in
    the stress scenario (``sizing = "stress"``) or dollars per VIX point (``"vega"``).
    """

    layers: list[Layer]
    target_pct: float
    target_dollars: float
    reached_dollars: float
    reached_pct: float | None
    within_band: bool | None
    debit: float
    peel_back_allowed: bool | None
    sizing: str = "stress"
    status: str = "sized"
    target_coverage: float | None = None
    stress_loss: float | None = None
    stress_gain: float | None = None
    stress_coverage: float | None = None
    stress: StressScenario | None = None
    proceeds: float = 0.0
    positions: list[Position] = []


class PriorDay(_Doc):
    """The previous session's condor settled on its expiry's close: for no doubling."""

    lost: bool
    risk_pct: float
    pnl: float | None = None
    settled_on: dt.date | None = None
    spx_close: float | None = None


class Recommendation(_Doc):
    """The whole recommendation for the session after ``date``."""

    schema_version: str = SCHEMA_VERSION
    date: dt.date
    trade_date: dt.date
    policy_version: str
    feature_set_version: str | None
    equity: float
    rate: float
    rate_source: str | None = None
    regime: str
    spx: float | None
    vix: float | None
    lit_signals: list[str]
    signals: list[Signal]
    condor: Condor | None
    ladder: Ladder
    prior: PriorDay | None = None
    caps_bound: list[CapBound]
    rules: list[RuleFired]
    unknown_features: list[str]
    legs: list[Leg]

    def to_json(self) -> str:
        """The stable JSON document: sorted keys, ISO dates, two-space indent."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, indent=2)


def json_schema() -> dict[str, object]:
    """The JSON Schema of the recommendation document (documented in hedge/SCHEMA.md)."""
    return Recommendation.model_json_schema(mode="serialization")
