"""Thresholds and windows of the feature set: a pydantic model with defaults, loadable from TOML."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IndicatorConfig(_Frozen):
    """RSI and MACD periods."""

    rsi_period: int = 14
    macd_fast: int = 12
    macd_slow: int = 26
    macd_signal: int = 9
    # Bars an incremental run replays before its window so recursions reach the same floats.
    warmup_bars: int = 1000
    # A hole of more than this many sessions in an indicator's input restarts it (and it
    # re-warms) rather than treating the change across the hole as one day's.
    max_gap_sessions: int = 5


class TermStructureConfig(_Frozen):
    """Constant maturities, the steep-curve threshold and the beta regression window.

    steep_slope_points is also the hedge rules' steep curve (hedge.rules reads it here).
    """

    maturities_days: tuple[int, ...] = (30, 110, 220)
    steep_slope_points: float = 3.0
    backwardation_ratio: float = 1.0
    beta_window: int = 60
    # A listed contract expiring on the trade date is excluded from VX1/VX2 and the curve.
    drop_expiring_today: bool = True
    # Monthly expiries (CFE rule) after the trade date considered listed: CFE lists up to 9.
    listed_months: int = 9


class RegimeConfig(_Frozen):
    """VIX regime bounds, moving-average and realised-vol windows.

    The bounds are the hedge rules' regimes too (hedge.rules reads them here): one definition.
    """

    calm_below: float = 15.0
    normal_below: float = 20.0
    extreme_from: float = 35.0
    vix_sma_window: int = 200
    rv_window: int = 20
    trading_days_per_year: int = 252


class BreadthConfig(_Frozen):
    """A/D divergence: SPX near its high while the A/D line lags its own high."""

    high_window: int = 20
    spx_near_high_pct: float = 1.0
    ad_margin: float = 0.0


_MAX_AGE_DAYS = {"SOFR": 5, "IORB": 10, "DFF": 5, "DGS2": 5, "NFCILEVERAGE": 14,
                 "BAMLH0A0HYM2": 5, "DTWEXBGS": 10}


class MacroConfig(_Frozen):
    """Second Engine windows, thresholds and the maximum age of each series (calendar days)."""

    funding_z_window: int = 252
    funding_z_threshold: float = 1.0
    nfci_change_weeks: int = 4
    hy_change_days: int = 20
    hy_widening_bp: float = 50.0
    dollar_change_days: int = 20
    dollar_rise_pct: float = 2.0
    max_age_days: dict[str, int] = Field(default_factory=lambda: dict(_MAX_AGE_DAYS))

    @field_validator("max_age_days")
    @classmethod
    def _every_series_has_an_age(cls, ages: dict[str, int]) -> dict[str, int]:
        """A file that sets some series keeps the defaults for the others."""
        return {**_MAX_AGE_DAYS, **ages}


class EventsConfig(_Frozen):
    """Event calendar coverage."""

    # FOMC decisions are at most ~8 weeks apart: a longer wait means the calendar has a
    # hole (or ends), and days_to_fomc would be a wrong large number.
    max_fomc_gap_days: int = 100


class FeatureConfig(_Frozen):
    """Every tunable number of the feature set.

    Column names carry the default periods and maturities (``spx_rsi_14``, ``vx_cm30``):
    changing those is a new feature set, with a new ``FEATURE_SET_VERSION`` and registry.
    """

    indicators: IndicatorConfig = IndicatorConfig()
    term_structure: TermStructureConfig = TermStructureConfig()
    regime: RegimeConfig = RegimeConfig()
    breadth: BreadthConfig = BreadthConfig()
    macro: MacroConfig = MacroConfig()
    events: EventsConfig = EventsConfig()


def load_config(path: Path | str) -> FeatureConfig:
    """A FeatureConfig from a TOML file (missing keys keep their defaults)."""
    with open(path, "rb") as fh:
        return FeatureConfig.model_validate(tomllib.load(fh))
