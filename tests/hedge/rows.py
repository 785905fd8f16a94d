import datetime as dt
import math


def calm_row(**over) -> dict:
    """A quiet day's features: nothing lit, contango, VIX 13."""
    row = {
        "date": dt.date(2021, 11, 19), "spx_close": 4697.96, "vix_close": 13.0,
        "vvix_close": 95.0, "vix1d_close": None, "spx_rsi_14": 55.0, "vix_rsi_14": 45.0,
        "vvix_macd_hook": False, "vvix_macd_cross_up": False, "ts_slope_12": 1.2,
        "ts_macd_cross_up": False, "vx_cm30": 16.5, "vx_cm110": 20.0, "vx_cm220": 22.0,
        "vx_cm30_beta": 0.8, "vx_cm110_beta": 0.5, "vx_cm220_beta": 0.35,
        "vix_sma_200": 19.0, "vix_above_200dma": False, "contango": True,
        "second_engine_score": 0, "vix_regime": "calm", "feature_set_version": "fs-test",
    }
    row.update(over)
    if "spx_exp_move_1d" not in over:
        iv = row["vix1d_close"] or row["vix_close"]
        row["spx_exp_move_1d"] = row["spx_close"] * iv / 100 / math.sqrt(252)
    return row
