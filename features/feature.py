"""One feature of features_daily as one declarative row: its polars expression and metadata.

A row's ``compute`` is a function whose parameters name the columns it reads, Hamilton-style
(``lambda vix, spx_rv_20: vix - spx_rv_20``); a parameter named ``cfg`` receives the
FeatureConfig. A parameter named after the row itself reads the base column of that name
(``lambda ad_line: ad_line.cast(pl.Float64)``). features.graph orders the rows by what they
read and derives each one's lookback: its own ``bars``, written from its computation's
parameters (``rsi_lookback(cfg.indicators.rsi_period)``), plus the longest lookback among the
rows it reads.

Modules of rows import their heavy helpers (numpy's rolling windows, numba's indicators, the
expiry calendar) inside the functions that compute: importing the registry for names, types
and descriptions (``alvh features``) stays light.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from features.config import FeatureConfig

F64, BOOL, STR, I64 = pl.Float64(), pl.Boolean(), pl.String(), pl.Int64()
IDX, VX, BR, MAC, EV = "index_daily", "vx_futures", "breadth_daily", "macro_observations", "events"

Compute = Callable[..., pl.Expr]
Bars = Callable[["FeatureConfig"], int]
# window: needs its lookback in bars; recursive (RSI, MACD) and cumulative (A/D line): depends
# on the whole history. A row reading a recursive or cumulative one is so too.
Memory = str


def no_bars(cfg: FeatureConfig) -> int:
    """A row that reads only the day itself (beyond what its inputs need)."""
    return 0


def shift_bars(bars: int) -> Bars:
    """A row that reads ``bars`` earlier rows of its inputs (a shift, a change over N days)."""
    return lambda cfg: bars


def window_bars(window: int) -> int:
    """Bars before a ``window``-row statistic's first value (a full window's earlier rows)."""
    return window - 1


class _Computed:
    """What a row and a step share: the columns read, and the expression on a frame."""

    name: str
    compute: Compute

    @property
    def reads(self) -> tuple[str, ...]:
        """The columns the computation reads: its parameters other than ``cfg``."""
        return tuple(p for p in inspect.signature(self.compute).parameters if p != "cfg")

    def expr(self, cfg: FeatureConfig | None = None) -> pl.Expr:
        """The column as a polars expression on a frame holding what it reads."""
        args: dict[str, object] = {r: pl.col(r) for r in self.reads}
        if "cfg" in inspect.signature(self.compute).parameters:
            from features.config import FeatureConfig  # pydantic: only when computing

            args["cfg"] = cfg or FeatureConfig()
        return self.compute(**args).alias(self.name)


@dataclass(frozen=True)
class Feature(_Computed):
    """One column of features_daily: computation, family, meaning, unit, inputs and range."""

    name: str
    family: str
    description: str
    unit: str
    dtype: pl.DataType
    inputs: tuple[str, ...]  # the lake tables it comes from
    compute: Compute
    bars: Bars = no_bars
    memory: Memory = "window"
    valid_min: float | None = None
    valid_max: float | None = None
    version: int = 1


@dataclass(frozen=True)
class Step(_Computed):
    """An intermediate column read by several features (a MACD struct); not stored."""

    name: str
    compute: Compute
    bars: Bars = no_bars
    memory: Memory = "window"
