"""Every feature of features_daily, in column order, from the family modules' rows.

Each feature is one row (``features.feature.Feature``) in its family's module, holding its
polars expression and metadata: grep a column's name to find it. Lookbacks are derived from
the rows' computations (``features.graph``), never typed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from features import breadth, closes, events, graph, macro, regime, term_structure
from features.feature import BOOL as BOOL  # re-exported: flows.views picks the flags by it
from features.feature import STR, Feature, Step
from storage import schemas

if TYPE_CHECKING:
    from features.config import FeatureConfig

FEATURE_SET_VERSION = "2026.12.1"

FEATURES: tuple[Feature, ...] = (
    *closes.FEATURES, *regime.FEATURES, *term_structure.FEATURES, *breadth.FEATURES,
    *macro.FEATURES, *events.FEATURES,
)
STEPS: tuple[Step, ...] = (*regime.STEPS, *term_structure.STEPS)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)


_BY_NAME = {f.name: f for f in FEATURES}


def feature(name: str) -> Feature:
    """The row of the feature ``name``."""
    return _BY_NAME[name]


def lookbacks(cfg: FeatureConfig | None = None) -> dict[str, int]:
    """Bars of history each feature needs under ``cfg``, derived from its computation."""
    from features.config import FeatureConfig  # pydantic: not for names and types

    every = graph.lookbacks((*FEATURES, *STEPS), cfg or FeatureConfig())
    return {f.name: every[f.name] for f in FEATURES}


def memories() -> dict[str, str]:
    """window, recursive or cumulative: what each feature's value depends on."""
    every = graph.memories((*FEATURES, *STEPS))
    return {f.name: every[f.name] for f in FEATURES}


def window_lookback(cfg: FeatureConfig | None = None) -> int:
    """Bars of history the windowed features need (recursive ones need all history)."""
    bars, memory = lookbacks(cfg), memories()
    return max(bars[f.name] for f in FEATURES if memory[f.name] == "window")


def feature_catalog() -> pl.DataFrame:
    """The registry as a frame, for the catalog's ``feature_catalog`` table."""
    bars, memory = lookbacks(), memories()
    return pl.DataFrame({
        "name": [f.name for f in FEATURES],
        "family": [f.family for f in FEATURES],
        "description": [f.description for f in FEATURES],
        "unit": [f.unit for f in FEATURES],
        "dtype": [str(f.dtype) for f in FEATURES],
        "inputs": [list(f.inputs) for f in FEATURES],
        "lookback": [bars[f.name] for f in FEATURES],
        "memory": [memory[f.name] for f in FEATURES],
        "valid_min": [f.valid_min for f in FEATURES],
        "valid_max": [f.valid_max for f in FEATURES],
        "version": [f.version for f in FEATURES],
        "feature_set_version": [FEATURE_SET_VERSION] * len(FEATURES),
    }, schema_overrides={"valid_min": pl.Float64, "valid_max": pl.Float64})


FEATURES_DAILY = schemas.Table(
    "features_daily",
    {"date": pl.Date(), **{f.name: f.dtype for f in FEATURES},
     "feature_set_version": STR, "computed_at": schemas.UTC_TS},
    keys=("date",), date_col="date",
    descriptions={f.name: f.description for f in FEATURES},
)
TABLES = (FEATURES_DAILY,)  # listed in storage.schemas
