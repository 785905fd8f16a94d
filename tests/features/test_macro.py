import datetime as dt

import polars as pl

from core.calendar import trading_days
from features import graph, macro
from features.config import FeatureConfig, MacroConfig

D = dt.date


def observations(series_id: str, dates: list[dt.date], values: list[float],
                 lag_days: int = 1) -> pl.DataFrame:
    return pl.DataFrame({
        "series_id": series_id, "date": dates, "value": values,
        "available_at": [d + dt.timedelta(days=lag_days) for d in dates],
    })


def engine(obs: pl.DataFrame, days: pl.Series, cfg: MacroConfig) -> pl.DataFrame:
    seen = macro.visible_series(days.to_frame().lazy(), obs.lazy(), cfg)
    return graph.compute(seen, macro.FEATURES, FeatureConfig(macro=cfg)).collect()


def daily(series_id: str, days: pl.Series, values: list[float]) -> pl.DataFrame:
    return observations(series_id, days.to_list(), values)


def test_thresholds_light_each_signal_and_the_score_counts_them():
    # Values move on the day before the last; published a day later, they count on the last.
    days = trading_days(D(2024, 1, 1), D(2024, 3, 29))
    n = len(days)
    cfg = MacroConfig(funding_z_window=20)
    spread = ([0.0, 0.01] * n)[:n]
    spread[-2] = 0.10  # a 10 bp funding spike
    fridays = [d for d in days.to_list() if d.weekday() == 4]
    obs = pl.concat([
        daily("SOFR", days, [5.30 + s for s in spread]),
        daily("IORB", days, [5.30] * n),
        daily("DFF", days, [5.33] * n),
        daily("DGS2", days, [4.20] * n),
        daily("BAMLH0A0HYM2", days, [3.00] * (n - 2) + [3.51] * 2),  # +51 bp
        daily("DTWEXBGS", days, [100.0] * (n - 2) + [102.5] * 2),  # +2.5%
        observations("NFCILEVERAGE", fridays, [0.1 * i for i in range(len(fridays))], 5),
    ])
    out = engine(obs, days, cfg)
    before, last = out.row(-2, named=True), out.row(-1, named=True)
    assert abs(last["rate_diff"] + 1.13) < 1e-12
    assert abs(last["hy_oas_change_20d"] - 51.0) < 1e-9 and last["hy_oas_widening"]
    assert abs(last["dollar_change_20d"] - 2.5) < 1e-9 and last["dollar_rising"]
    assert last["nfci_leverage_rising"]
    assert last["funding_spread_z"] > cfg.funding_z_threshold and last["funding_stress"]
    assert last["second_engine_score"] == 4 and not last["macro_stale"]
    assert last["second_engine_known"] == 4
    assert before["second_engine_score"] == 1  # only NFCI leverage rising yet


def test_below_thresholds_nothing_lit():
    days = trading_days(D(2024, 1, 1), D(2024, 3, 29))
    n = len(days)
    cfg = MacroConfig(funding_z_window=20)
    obs = pl.concat([
        daily("BAMLH0A0HYM2", days, [3.00] * (n - 1) + [3.50]),  # exactly 50 bp: not > 50
        daily("DTWEXBGS", days, [100.0] * (n - 1) + [101.9]),
    ])
    last = engine(obs, days, cfg).row(-1, named=True)
    assert last["hy_oas_widening"] is False and last["dollar_rising"] is False
    # Two of four known, both unlit: the score is unknown, not 0 (funding and NFCI could be).
    assert last["second_engine_known"] == 2 and last["second_engine_score"] is None
    assert last["macro_stale"]  # SOFR, IORB, ... never published
    assert last["funding_spread"] is None


def test_value_invisible_before_its_release_day():
    days = trading_days(D(2024, 3, 1), D(2024, 3, 29))
    obs = observations("DGS2", [D(2024, 3, 1)], [4.5], lag_days=11)  # public 2024-03-12
    obs = pl.concat([obs, observations("DFF", days.to_list(), [5.33] * len(days))])
    out = engine(obs, days, MacroConfig(max_age_days={**MacroConfig().max_age_days,
                                                      "DGS2": 30}))
    by_day = dict(zip(out["date"].to_list(), out["rate_diff"].to_list(), strict=True))
    assert by_day[D(2024, 3, 11)] is None
    assert abs(by_day[D(2024, 3, 12)] - (4.5 - 5.33)) < 1e-12


def test_stale_series_is_nulled_not_forward_filled():
    days = trading_days(D(2024, 3, 1), D(2024, 3, 29))
    obs = pl.concat([observations("DGS2", [D(2024, 3, 1)], [4.5]),
                     observations("DFF", days.to_list(), [5.33] * len(days))])
    out = engine(obs, days, MacroConfig())  # DGS2 max age 5 days
    by_day = dict(zip(out["date"].to_list(), out["rate_diff"].to_list(), strict=True))
    assert by_day[D(2024, 3, 6)] is not None
    assert by_day[D(2024, 3, 7)] is None
    assert out.filter(pl.col("date") == D(2024, 3, 7))["macro_stale"].item()
