import datetime as dt
import math

import polars as pl
import pytest

from features import breadth, events, graph
from features.config import BreadthConfig, EventsConfig, FeatureConfig, RegimeConfig, load_config
from features.indicators import macd
from features.recursive import macd_cross_up, macd_hook
from features.registry import feature

D = dt.date


def with_events(days: pl.LazyFrame, cal: pl.LazyFrame,
                cfg: FeatureConfig | None = None) -> pl.DataFrame:
    """The event features on a grid of days."""
    grid = events.with_calendars(days, cal)
    return graph.compute(grid, events.FEATURES, cfg or FeatureConfig()).collect().sort("date")


def test_vix_regime_bounds_come_from_config():
    frame = pl.DataFrame({"vix": [12.0, 15.0, 19.99, 20.0, 34.99, 35.0, None]})
    got = frame.select(feature("vix_regime").expr())["vix_regime"].to_list()
    assert got == ["calm", "normal", "normal", "elevated", "elevated", "extreme", None]
    strict = frame.select(feature("vix_regime").expr(
        FeatureConfig(regime=RegimeConfig(extreme_from=30.0))))
    assert strict["vix_regime"][4] == "extreme"


def test_expected_move_uses_vix1d_when_present_else_vix():
    frame = pl.DataFrame({"spx": [5000.0, 5000.0], "vix": [16.0, 16.0], "vix1d": [10.0, None]})
    got = frame.select(feature("spx_exp_move_1d").expr())["spx_exp_move_1d"].to_list()
    assert got == pytest.approx([5000 * 0.10 / math.sqrt(252), 5000 * 0.16 / math.sqrt(252)])


def test_macd_hook_and_cross_up_on_a_literal_histogram():
    frame = pl.DataFrame({"m": [
        {"macd": -3.0, "signal": -1.0, "hist": -2.0},
        {"macd": -2.5, "signal": -1.0, "hist": -1.5},
        {"macd": -2.0, "signal": -1.0, "hist": -1.0},  # below zero, rising twice: hook
        {"macd": -0.5, "signal": -1.0, "hist": 0.5},  # crosses above: cross up
        {"macd": 0.0, "signal": -1.0, "hist": 1.0},
    ]})
    got = frame.select(macd_hook(pl.col("m")).alias("hook"),
                       macd_cross_up(pl.col("m")).alias("up"))
    assert got["hook"].to_list() == [None, None, True, False, False]
    assert got["up"].to_list() == [False, False, False, True, False]  # False & null is False


def test_macd_struct_fields():
    frame = pl.DataFrame({"x": [float(i % 7) for i in range(40)]})
    out = frame.select(macd(pl.col("x")).alias("m")).unnest("m")
    assert out.columns == ["macd", "signal", "hist"]
    assert out["macd"].null_count() == 33


def test_ad_divergence_and_breadth_confirms():
    cfg = FeatureConfig(breadth=BreadthConfig(high_window=3, spx_near_high_pct=1.0,
                                              ad_margin=10.0))
    frame = pl.DataFrame({
        "spx": [100.0, 101.0, 102.0, 101.5, 95.0],
        "advancers": [100, 100, 50, 10, 10], "decliners": [0, 0, 100, 100, 10],
    }).with_columns(breadth.ad_line_sum())
    got = frame.select(feature("ad_divergence").expr(cfg), feature("breadth_confirms").expr(cfg))
    # ad_line: 100, 200, 150, 60, 60. Day 3: SPX at its high, A/D 50 below its high.
    assert got["ad_divergence"].to_list() == [None, None, True, True, False]
    assert got["breadth_confirms"].to_list() == [None, None, False, False, False]


def test_event_flags_and_days_to_fomc():
    days = pl.LazyFrame({"date": [D(2024, 9, 16), D(2024, 9, 17), D(2024, 9, 18),
                                  D(2024, 9, 19)]})
    cal = pl.LazyFrame({"date": [D(2024, 9, 18), D(2024, 9, 11), D(2024, 11, 7),
                                 D(2024, 9, 16), D(2024, 7, 31), D(2024, 10, 10),
                                 D(2024, 10, 11)],
                        "kind": ["fomc", "cpi", "fomc", "ppi", "fomc", "cpi", "ppi"]})
    out = with_events(days, cal)
    assert out["is_fomc_day"].to_list() == [False, False, True, False]
    assert out["is_cpi_day"].to_list() == [False] * 4
    assert out["is_ppi_day"].to_list() == [True, False, False, False]
    assert out["days_to_fomc"].to_list() == [2, 1, 0, 49]


def test_event_flags_are_unknown_outside_each_calendars_range():
    days = pl.LazyFrame({"date": [D(2023, 6, 1), D(2024, 9, 16), D(2024, 9, 17),
                                  D(2025, 3, 3)]})
    cal = pl.LazyFrame({"date": [D(2020, 1, 29), D(2024, 9, 18), D(2024, 11, 7),
                                 D(2024, 1, 11), D(2024, 9, 11), D(2024, 12, 11)],
                        "kind": ["fomc", "fomc", "fomc", "cpi", "cpi", "cpi"]})
    out = with_events(days, cal)
    # CPI listed 2024-01-11..2024-12-11: unknown in 2023 and 2025, False inside. No PPI
    # calendar at all: never False. FOMC ends 2024-11-07: unknown in 2025.
    assert out["is_cpi_day"].to_list() == [None, False, False, None]
    assert out["is_ppi_day"].to_list() == [None] * 4
    assert out["is_fomc_day"].to_list() == [False, False, False, None]
    assert out["days_to_fomc"].to_list() == [None, 2, 1, None]  # 2023: 3 years to the next
    assert out["events_stale"].all()  # the PPI calendar is missing every day


def test_config_loads_from_toml_and_keeps_defaults(tmp_path):
    path = tmp_path / "features.toml"
    path.write_text("[term_structure]\nsteep_slope_points = 2.5\n[macro]\nhy_widening_bp = 75\n"
                    "max_age_days = { DGS2 = 3 }\n[indicators]\nmax_gap_sessions = 10\n")
    cfg = load_config(path)
    assert cfg.indicators.max_gap_sessions == 10
    assert FeatureConfig().indicators.max_gap_sessions == 5
    assert cfg.term_structure.steep_slope_points == 2.5
    assert cfg.macro.hy_widening_bp == 75
    assert cfg.macro.max_age_days["DGS2"] == 3 and cfg.macro.max_age_days["SOFR"] == 5
    assert cfg.regime == FeatureConfig().regime


def test_days_to_fomc_is_null_where_the_calendar_has_a_hole():
    days = pl.LazyFrame({"date": [D(1995, 1, 3), D(2024, 1, 2), D(2024, 9, 19)]})
    cal = pl.LazyFrame({"date": [D(1994, 12, 20), D(2023, 12, 13), D(2024, 1, 31),
                                 D(2024, 9, 18)], "kind": ["fomc"] * 4})
    out = with_events(days, cal)
    # 1995: the next listed decision is 29 years away (calendar hole) -> unknown, not 10,000.
    # 2024-09-19: no later decision listed -> unknown.
    assert out["days_to_fomc"].to_list() == [None, 29, None]
    tight = with_events(days, cal, FeatureConfig(events=EventsConfig(max_fomc_gap_days=20)))
    assert tight["days_to_fomc"].to_list() == [None, None, None]
