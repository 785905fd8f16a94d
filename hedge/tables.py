"""Lake tables of the hedge engine and the frames a Recommendation becomes."""

from __future__ import annotations

import datetime as dt

import polars as pl

from hedge.document import Recommendation
from storage.schemas import BOOL, DATE, F64, I64, STR, UTC_TS, Table

_VERSIONS = {"policy_version": STR, "feature_set_version": STR}
_STAMP = {"computed_at": UTC_TS}

RECOMMENDATIONS = Table(
    "recommendations",
    {"date": DATE, "trade_date": DATE, **_VERSIONS, "schema_version": STR, "equity": F64,
     "rate": F64, "regime": STR, "spx": F64, "vix": F64, "lit_signals": STR,
     "n_lit_signals": I64, "ic_open": BOOL, "ic_contracts": I64, "ic_short_put": F64,
     "ic_short_call": F64, "ic_wing_width": F64, "ic_credit_points": F64,
     "ic_requested_risk_pct": F64, "ic_risk_pct": F64, "ic_max_loss": F64,
     "ic_vega_per_contract": F64, "ref_vega": F64, "layers_lit": STR,
     "coverage_target_pct": F64, "coverage_target_dollars": F64,
     "coverage_reached_dollars": F64, "coverage_within_band": BOOL, "hedge_debit": F64,
     "caps_bound": STR, "document": STR, **_STAMP},
    keys=("date", "policy_version", "feature_set_version"), date_col="date",
    descriptions={"document": "the full JSON document (hedge/SCHEMA.md)",
                  "lit_signals": "comma-separated lit layer triggers",
                  "caps_bound": "comma-separated names of caps that bound"},
)

RECOMMENDATION_LEGS = Table(
    "recommendation_legs",
    {"date": DATE, **_VERSIONS, "leg": STR, "kind": STR, "layer": STR, "right": STR,
     "expiry": DATE, "strike": F64, "contracts": I64, "price": F64, "iv": F64, "delta": F64,
     "vega": F64, "beta": F64, "dollar_per_vix_point": F64, "source": STR, **_STAMP},
    keys=("date", "policy_version", "feature_set_version", "leg"), date_col="date",
    descriptions={"contracts": "signed: negative = sold", "leg": "IC_LP/IC_SP/IC_SC/IC_LC, L1-L3"},
)

TABLES = (RECOMMENDATIONS, RECOMMENDATION_LEGS)  # listed in storage.schemas


def recommendation_frame(rec: Recommendation,
                         computed_at: dt.datetime | None = None) -> pl.DataFrame:
    """One ``recommendations`` row, stamped ``computed_at`` (the caller's clock)."""
    c, lad = rec.condor, rec.ladder
    row = {
        "date": rec.date, "trade_date": rec.trade_date, "policy_version": rec.policy_version,
        "feature_set_version": rec.feature_set_version, "schema_version": rec.schema_version,
        "equity": rec.equity, "rate": rec.rate, "regime": rec.regime, "spx": rec.spx,
        "vix": rec.vix, "lit_signals": ",".join(rec.lit_signals),
        "n_lit_signals": len(rec.lit_signals), "ic_open": c is not None and c.open,
        "ic_contracts": c.contracts if c else 0, "ic_short_put": c.short_put if c else None,
        "ic_short_call": c.short_call if c else None,
        "ic_wing_width": c.wing_width if c else None,
        "ic_credit_points": c.credit_points if c else None,
        "ic_requested_risk_pct": c.requested_risk_pct if c else None,
        "ic_risk_pct": c.risk_pct if c else 0.0, "ic_max_loss": c.max_loss if c else 0.0,
        "ic_vega_per_contract": c.vega_per_contract if c else None,
        "ref_vega": c.reference_vega if c else None,
        "layers_lit": ",".join(la.name for la in lad.layers if la.action != "sell"),
        "coverage_target_pct": lad.target_pct, "coverage_target_dollars": lad.target_dollars,
        "coverage_reached_dollars": lad.reached_dollars,
        "coverage_within_band": lad.within_band, "hedge_debit": lad.debit,
        "caps_bound": ",".join(cb.cap for cb in rec.caps_bound), "document": rec.to_json(),
        "computed_at": computed_at,
    }
    return RECOMMENDATIONS.conform(pl.DataFrame([row], schema=RECOMMENDATIONS.schema))


def legs_frame(rec: Recommendation, computed_at: dt.datetime | None = None) -> pl.DataFrame:
    """The ``recommendation_legs`` rows, one per leg, stamped ``computed_at``."""
    rows = [{"date": rec.date, "policy_version": rec.policy_version,
             "feature_set_version": rec.feature_set_version, **leg.model_dump(),
             "computed_at": computed_at} for leg in rec.legs]
    return RECOMMENDATION_LEGS.conform(
        pl.DataFrame(rows, schema=RECOMMENDATION_LEGS.schema))
