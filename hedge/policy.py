"""The ALVH policy: every number of the rules, loaded from TOML and validated with pydantic."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import PipelineError

DEFAULT_POLICY_PATH = Path(__file__).with_name("policy_default.toml")

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Rsi = Annotated[float, Field(ge=0.0, le=100.0)]


class PolicyError(PipelineError):
    """A policy file that cannot be read or breaks a rule; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignalPolicy(_Section):
    """Thresholds of the warning signals.

    The VIX regime bounds and the steep-curve slope are feature thresholds: they live once, in
    features.config (RegimeConfig, TermStructureConfig), and the rules read them from there.
    """

    rsi_oversold: Rsi = 30.0
    rsi_overbought: Rsi = 70.0
    vix_rsi_high: Rsi = 60.0
    rsi_normal_low: Rsi = 40.0
    rsi_normal_high: Rsi = 60.0

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.rsi_oversold >= self.rsi_overbought:
            raise ValueError("rsi_oversold must be below rsi_overbought")
        if self.rsi_normal_low >= self.rsi_normal_high:
            raise ValueError("rsi_normal_low must be below rsi_normal_high")
        return self


class CondorPolicy(_Section):
    """The base layer: the 1DTE iron condor."""

    dte_trading_days: Annotated[int, Field(ge=1)] = 1
    k_calm: Positive = 1.5
    k_normal: Positive = 1.5
    k_elevated: Positive = 2.0
    k_extreme: Positive = 2.0
    strike_step: Positive = 5.0
    wing_width: Positive = 25.0
    hook_tighten_steps: Annotated[int, Field(ge=0, le=2)] = 1
    min_wing_width: Positive = 5.0
    risk_pct_at_ref_vix: Share = 0.02
    ref_vix: Positive = 12.0
    second_engine_vix_below: Positive = 15.0
    second_engine_cut_one: Share = 0.25
    second_engine_cut_two: Share = 0.40
    allow_extreme: bool = False
    min_credit_share: Share = 0.01
    multiplier: Positive = 100.0

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min_wing_width > self.wing_width:
            raise ValueError("min_wing_width must not exceed wing_width")
        if self.second_engine_cut_one > self.second_engine_cut_two:
            raise ValueError("second_engine_cut_one must not exceed second_engine_cut_two")
        return self


class CapPolicy(_Section):
    """Hard caps on risk and hedge cost."""

    max_total_risk_pct: Share = 0.015
    hedge_debit_pct_spx: Share = 0.015
    no_doubling: bool = True


class LayerPolicy(_Section):
    """One rung of the VIX call ladder."""

    name: str
    target_dte: Annotated[int, Field(gt=0)]
    weight: Positive
    beta_feature: str
    default_beta: Positive


class LadderPolicy(_Section):
    """The hedge: laddered long VIX calls, held from day to day."""

    sizing: Literal["stress", "vega"] = "stress"
    otm_pct: NonNegative = 0.15
    coverage_quiet: Share = 0.40
    coverage_lit: Share = 0.60
    coverage_lit_min_signals: Annotated[int, Field(ge=1)] = 2
    steep_multiplier: Annotated[float, Field(ge=1.0)] = 1.5
    max_coverage: Positive = 1.0
    roll_dte: Annotated[int, Field(ge=0)] = 7
    unlit_days: Annotated[int, Field(ge=1)] = 5
    max_curve_age: Annotated[int, Field(ge=0)] = 2
    confirm_min_signals: Annotated[int, Field(ge=1)] = 2
    layer3_vix: Positive = 35.0
    coverage_tolerance: Share = 0.25
    take_profit_multiple: Annotated[float, Field(gt=1.0)] | None = None
    trim_band: NonNegative | None = None
    half_point_strikes_below: NonNegative = 20.0
    multiplier: Positive = 100.0
    layers: Annotated[tuple[LayerPolicy, ...], Field(min_length=3, max_length=3)]

    @model_validator(mode="after")
    def _increasing(self) -> Self:
        dtes = [layer.target_dte for layer in self.layers]
        if dtes != sorted(set(dtes)):
            raise ValueError("layers must have strictly increasing target_dte")
        return self


class StressPolicy(_Section):
    """The single-session crash the stress sizing covers (ALVH.md "Hedge ladder")."""

    spx_gap_pct: Share = 0.05
    spx_gap_moves: NonNegative = 2.5
    vix_jump_pct: NonNegative = 0.60
    vix_jump_min: NonNegative = 8.0


class PricingPolicy(_Section):
    """Inputs of the pricing models that are not market data, and their pinned parameters.

    ``calibration = "lake"`` prices with the lake's ``pricing_calibration`` in force on the
    day (``alvh calibrate``), falling back to ``spx_model`` / ``vix_model`` where the lake has
    none; ``"pinned"`` always uses these parameters.
    """

    dividend_yield: Annotated[float, Field(ge=0.0, le=0.2)] = 0.015
    default_rate: Annotated[float, Field(ge=-0.05, le=0.5)] = 0.04
    vix_vol_default: Positive = 1.0
    max_rate_age: Annotated[int, Field(ge=0)] = 5
    calibration: Literal["lake", "pinned"] = "lake"
    spx_model: dict[str, float]
    vix_model: dict[str, float]
    spx_error_band: tuple[Positive, Positive]
    vix_error_band: tuple[Positive, Positive]
    spx_fitted_through: dt.date  # the last quote day of the fits above: a day before it
    vix_fitted_through: dt.date  # priced with them is priced from later quotes (flagged)

    @model_validator(mode="after")
    def _models(self) -> Self:
        from hedge.spx_model import SpxModel  # noqa: PLC0415 (the models import no policy)
        from hedge.vix_model import VixModel  # noqa: PLC0415

        SpxModel.from_dict(self.spx_model)
        VixModel.from_dict(self.vix_model)
        return self


class BacktestPolicy(_Section):
    """Costs and conventions of the backtest (``alvh backtest``); the engine never reads them."""

    initial_equity: Positive = 1_000_000.0
    pricing_bands: bool = True
    condor_slippage: NonNegative = 0.0
    condor_commission: NonNegative = 1.50
    vix_half_spread_min: NonNegative = 0.05
    vix_half_spread_pct: Share = 0.05
    vix_commission: NonNegative = 1.50
    crash_drop_pct: Share = 0.03
    crash_days: tuple[dt.date, ...] = (
        dt.date(2018, 2, 5), dt.date(2020, 2, 24), dt.date(2020, 3, 16), dt.date(2024, 8, 5),
        dt.date(2025, 4, 4))
    vxth_forward_bounds: tuple[float, float, float] = (15.0, 30.0, 50.0)
    vxth_weights: tuple[Share, Share] = (0.01, 0.005)
    vxth_delta: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.30
    claim_recovery: tuple[Share, Share] = (0.35, 0.55)
    claim_drawdown_cut: Share = 0.50
    claim_exit_sessions: tuple[NonNegative, NonNegative] = (2.0, 4.0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        lo, mid, hi = self.vxth_forward_bounds
        if not lo < mid < hi:
            raise ValueError("vxth_forward_bounds must increase")
        return self


class Policy(_Section):
    """A whole ALVH policy; ``version`` is a short hash of its canonical content."""

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    signals: SignalPolicy = SignalPolicy()
    condor: CondorPolicy = CondorPolicy()
    caps: CapPolicy = CapPolicy()
    ladder: LadderPolicy
    stress: StressPolicy = StressPolicy()
    pricing: PricingPolicy
    backtest: BacktestPolicy = BacktestPolicy()

    @cached_property
    def version(self) -> str:
        """First 12 hex digits of sha256 over the canonical (sorted-key JSON) content."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True,
                               separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _error_text(err: ValidationError) -> str:
    """One line per problem, each naming its dotted key."""
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "<policy>"
        lines.append(f"{key}: {e['msg']}")
    return "; ".join(lines)


def policy_from_mapping(data: dict[str, Any], source: str = "<mapping>") -> Policy:
    """Validate a parsed policy mapping, raising PolicyError naming the offending key."""
    try:
        return Policy.model_validate(data)
    except ValidationError as e:
        raise PolicyError(f"policy {source}: {_error_text(e)}") from e


def load_policy(path: Path | str | None = None) -> Policy:
    """Load and validate a policy TOML file (the shipped defaults when ``path`` is None)."""
    p = Path(path) if path is not None else DEFAULT_POLICY_PATH
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise PolicyError(f"policy {p}: cannot read: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise PolicyError(f"policy {p}: not valid TOML: {e}") from e
    return policy_from_mapping(data, str(p))


def policy_version(policy: Policy) -> str:
    """The policy's content hash (12 hex digits)."""
    return policy.version


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    """Dotted (key, value) pairs of a nested dump, layers indexed by name."""
    if isinstance(value, dict):
        return [kv for k, v in value.items() for kv in _flatten(f"{prefix}.{k}".lstrip("."), v)]
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return [kv for item in value for kv in _flatten(f"{prefix}.{item.get('name')}", item)]
    return [(prefix, value)]


def policy_items(policy: Policy) -> list[tuple[str, Any]]:
    """Every policy number as (dotted key, value), in file order."""
    return _flatten("", policy.model_dump(mode="json"))


def render_policy(policy: Policy) -> str:
    """The policy as text for ``alvh policy show``: version line, then one ``key = value`` each."""
    rows = [f"policy_version = {policy.version}"]
    rows += [f"{k} = {json.dumps(v)}" for k, v in policy_items(policy)]
    return "\n".join(rows)
