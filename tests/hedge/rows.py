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


def flat_vix_pricing():
    """Pricing with a flat-smile VIX call model whose vol a test writes by hand:
    VVIX / 100 x (30 / DTE) ** 0.3 (the SPX model is the policy's)."""
    from hedge.calibration import Pricing, policy_pricing
    from hedge.policy import load_policy
    from hedge.vix_model import VixModel

    flat = VixModel(scale=1.0, term_exponent=0.3, skew=0.0, skew_term_exponent=0.0,
                    curvature=0.0, hump=0.0, hump_days=30.0, floor=0.01, spread_min=0.05,
                    spread_pct=0.05, skew_min_dte=14.0)
    return Pricing(policy_pricing(load_policy()).spx, flat, "policy")


def shipped_spx():
    """The policy's shipped 1DTE SPX model ([pricing.spx_model], the fit to the real chains)."""
    from hedge.policy import load_policy
    from hedge.spx_model import SpxModel

    return SpxModel.from_dict(load_policy().pricing.spx_model)


def shipped_vix():
    """The policy's shipped VIX call model ([pricing.vix_model], fitted on 2016-06-01)."""
    from hedge.policy import load_policy
    from hedge.vix_model import VixModel

    return VixModel.from_dict(load_policy().pricing.vix_model)
