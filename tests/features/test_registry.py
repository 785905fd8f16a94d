"""The feature rows: each found from its name in one step, ordered by what it reads, with
lookbacks derived from the computations (not typed) that move with the config."""

import datetime as dt
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import features
from features import graph, macro
from features.build import MARKET, SECOND_ENGINE, history_bars, history_start, macro_bars
from features.config import FeatureConfig, IndicatorConfig, MacroConfig, RegimeConfig
from features.registry import (
    FEATURE_NAMES,
    FEATURES,
    STEPS,
    lookbacks,
    memories,
    window_lookback,
)

SOURCES = Path(features.__file__).parent
NODES = {n.name: n for n in (*FEATURES, *STEPS)}

# The lookbacks the registry typed by hand before they were derived (features with none: 0).
# vx_cm*_beta was typed 61: a 60-row window of daily changes has its first value at bar 60
# (test_derived_lookback_is_the_first_row_with_a_value), so 60 is derived.
TYPED = {
    "spx_rv_20": 20, "vrp": 20, "vix_sma_200": 199, "vix_above_200dma": 199,
    "spx_rsi_14": 14, "vix_rsi_14": 14, "vx_cm30_rsi_14": 14, "spx_rsi_14_warming": 14,
    "vix_rsi_14_warming": 14, "vx_cm30_rsi_14_warming": 14, "vvix_macd": 33,
    "vvix_macd_signal": 33, "vvix_macd_hist": 33, "vvix_macd_hook": 35,
    "vvix_macd_cross_up": 34, "vvix_macd_warming": 33, "vx_cm30_beta": 60,
    "vx_cm110_beta": 60, "vx_cm220_beta": 60, "ts_macd": 33, "ts_macd_signal": 33,
    "ts_macd_hist": 33, "ts_macd_cross_up": 34, "ts_macd_warming": 33, "ad_divergence": 19,
    "breadth_confirms": 19, "funding_spread_z": 251, "hy_oas_change_20d": 20,
    "dollar_change_20d": 20, "funding_stress": 251, "hy_oas_widening": 20, "dollar_rising": 20,
    "second_engine_known": 251, "second_engine_score": 251,
}
RECURSIVE = {n for n in TYPED if "rsi" in n or "macd" in n}
CUMULATIVE = {"ad_line", "ad_divergence", "breadth_confirms"}


def test_grepping_a_name_lands_on_its_one_row():
    rows = re.compile(r'(?:Feature|Step)\(\s*"(\w+)"')
    defined = [m for p in sorted(SOURCES.glob("*.py")) for m in rows.findall(p.read_text())]
    assert sorted(defined) == sorted(NODES)  # each spelled out once, none generated


def test_every_feature_is_computed_on_one_frame():
    market, second = [n.name for n in MARKET], [n.name for n in SECOND_ENGINE]
    assert sorted(market + second) == sorted(NODES)
    assert {n.family for n in SECOND_ENGINE} == {"macro"}


@pytest.mark.parametrize("node", [*FEATURES, *STEPS], ids=lambda n: n.name)
def test_a_row_reads_the_rows_its_expression_uses(node):
    """The graph is built from the parameters: they must name every row the expression reads."""
    roots = set(node.expr(FeatureConfig()).meta.root_names())
    assert roots & set(NODES) - {node.name} <= set(node.reads)
    assert set(node.reads) <= roots  # no parameter left unused


def test_derived_lookbacks_and_memories_equal_the_typed_ones_for_the_default_config():
    assert lookbacks() == {n: TYPED.get(n, 0) for n in FEATURE_NAMES}
    assert memories() == {n: "recursive" if n in RECURSIVE else "cumulative"
                          if n in CUMULATIVE else "window" for n in FEATURE_NAMES}
    cfg = FeatureConfig()
    assert window_lookback(cfg) == 251
    assert history_bars(cfg) == 251 + 1000
    assert macro_bars(cfg) == 252


def test_changing_a_config_window_changes_the_lookbacks_that_read_it():
    longer = FeatureConfig(macro=MacroConfig(funding_z_window=300),
                           regime=RegimeConfig(vix_sma_window=250),
                           indicators=IndicatorConfig(rsi_period=10, macd_slow=30))
    bars, default = lookbacks(longer), lookbacks()
    changed = {n for n in FEATURE_NAMES if bars[n] != default[n]}
    assert bars["vix_sma_200"] == bars["vix_above_200dma"] == 249
    assert bars["funding_spread_z"] == bars["second_engine_score"] == 299
    assert bars["spx_rsi_14"] == bars["vx_cm30_rsi_14_warming"] == 10
    assert bars["ts_macd"] == 37 and bars["vvix_macd_hook"] == 39
    assert changed == {"vix_sma_200", "vix_above_200dma", "funding_spread_z", "funding_stress",
                       "second_engine_known", "second_engine_score"} | RECURSIVE
    assert window_lookback(longer) == 299
    assert history_bars(longer) == 299 + 1000 and macro_bars(longer) == 300
    day = dt.date(2024, 8, 5)
    start, earlier = history_start(day), history_start(day, longer)
    assert earlier is not None and start is not None and earlier < start


def _base(nodes, rows: int) -> pl.DataFrame:
    """Every frame column the rows read, gap-free: random walks, flags, counts, dates."""
    rng = np.random.default_rng(7)
    names = {r for n in nodes for r in n.reads if r not in NODES or r == n.name}
    names |= {f"_{s}_stale" for s in macro.SERIES} if nodes is SECOND_ENGINE else set()

    def column(name: str) -> pl.Series:
        if name in ("date", "next_fomc") or name.endswith(("_first", "_last")):
            day = dt.date(2000, 1, 3)  # dates: the days themselves will do
            return pl.date_range(day, day + dt.timedelta(days=rows - 1), eager=True).alias(name)
        if name.startswith(("is_", "_")) or name.endswith("_extrapolated"):
            return pl.Series(name, rng.random(rows) < 0.5)
        if name in ("advancers", "decliners", "days_to_fomc", "ad_line"):
            return pl.Series(name, rng.integers(0, 2000, rows))
        return pl.Series(name, 20.0 * np.exp(np.cumsum(rng.normal(0, 0.02, rows))))
    return pl.DataFrame([column(n) for n in sorted(names)])


@pytest.mark.parametrize("nodes", [MARKET, SECOND_ENGINE], ids=["market", "second_engine"])
def test_derived_lookback_is_the_first_row_with_a_value(nodes):
    """On gap-free inputs a number's first value sits exactly at its derived lookback."""
    out = graph.compute(_base(nodes, 400), nodes, FeatureConfig())
    bars = lookbacks()
    numbers = [n for n in nodes if n.name in bars and n.dtype == pl.Float64]
    assert len({bars[n.name] for n in numbers}) > 1  # some with a lookback, some without
    for n in numbers:
        assert out[n.name].is_not_null().arg_max() == bars[n.name], n.name
