"""Stable catalog views for dashboards and models, with their column comments.

The lake's tables may gain columns or change layout; these views are the interface that
stays put. Every view and column carries a comment (``duckdb_views()``,
``duckdb_columns()``), so a SQL client shows what each column means.
"""

from __future__ import annotations

import polars as pl

import backtest.views as backtest_views
import features.registry as registry
import hedge.tables as hedge_tables
from storage.schemas import Table

CM_TENORS = (30, 110, 220)

_COMMON = {
    "date": "Trading day D (New York) the row describes",
    "feature_set_version": "Version of the feature definitions that computed the row",
    "computed_at": "When the row was computed (UTC)",
    "policy_version": "Hash of the ALVH policy the recommendation used",
}

_RECOMMENDATION_COLUMNS = {
    "trade_date": "The session the recommendation is for (the one after date)",
    "schema_version": "Version of the recommendation JSON document",
    "equity": "Account equity the sizes were computed for, dollars",
    "rate": "Risk-free rate used for pricing, decimal",
    "regime": "VIX regime: calm, normal, elevated, extreme (unknown when VIX is missing)",
    "spx": "SPX close on date", "vix": "VIX close on date",
    "n_lit_signals": "Number of lit layer triggers",
    "ic_open": "True when a new iron condor is recommended",
    "ic_contracts": "Iron condor contracts (0 when none)",
    "ic_short_put": "Iron condor short put strike", "ic_short_call": "Iron condor short call "
    "strike", "ic_wing_width": "Iron condor wing width, index points",
    "ic_credit_points": "Iron condor credit, index points",
    "ic_requested_risk_pct": "Risk asked for by the regime rules, share of equity",
    "ic_risk_pct": "Risk applied after the caps, share of equity",
    "ic_max_loss": "Iron condor maximum loss, dollars",
    "ic_vega_per_contract": "Iron condor dollar vega per contract",
    "ref_vega": "Dollar vega of the reference condor the ladder covers",
    "layers_lit": "Comma-separated VIX call ladder layers bought or held (L1, L2, L3)",
    "coverage_target_pct": "Target coverage: share of the reference condor's stress loss "
                           "(or of its dollar vega under vega sizing)",
    "coverage_target_dollars": "Target coverage in the sizing's unit: dollars of stress "
                               "gain (or dollars per VIX point)",
    "coverage_reached_dollars": "Coverage reached by the ladder, in the sizing's unit",
    "coverage_within_band": "True when the coverage reached is inside the policy band",
    "hedge_debit": "Cost of the session's VIX call purchases, dollars",
}

_LEG_COLUMNS = {
    "trade_date": "The session the recommendation is for",
    "regime": "VIX regime of the recommendation",
    "kind": "iron_condor or vix_call", "layer": "Ladder layer (L1-L3); null for condor legs",
    "right": "C (call) or P (put)", "expiry": "Option expiry", "strike": "Strike",
    "price": "Model or quoted price per unit, points", "iv": "Implied volatility, decimal",
    "delta": "Delta per unit", "vega": "Vega per unit",
    "beta": "Beta of the layer's VX future to VIX (ladder legs)",
    "dollar_per_vix_point": "Dollars gained per VIX point (ladder legs)",
    "source": "Where the price came from (chain quote or model)",
}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def comments(view: str, about: str, columns: dict[str, str]) -> list[str]:
    """``COMMENT ON`` statements for a view and its columns."""
    return [f"COMMENT ON VIEW {view} IS {_quote(about)}",
            *(f'COMMENT ON COLUMN {view}."{c}" IS {_quote(text)}' for c, text in columns.items())]


def described(table: Table, extra: dict[str, str]) -> dict[str, str]:
    """A description for every column of ``table``: extra, then the table's own, then common."""
    return {c: extra.get(c) or table.descriptions.get(c) or _COMMON.get(c) or c
            for c in table.columns}


def flag_features() -> list[registry.Feature]:
    """The boolean features of features_daily: the signals of v_signals_history."""
    return [f for f in registry.FEATURES if f.dtype == registry.BOOL]


def features_view() -> list[str]:
    """v_features: features_daily, one wide row per day."""
    return ["CREATE VIEW v_features AS SELECT * FROM features_daily",
            *comments("v_features", "One row per trading day: every feature of features_daily "
                      "(definitions in feature_catalog)", described(registry.FEATURES_DAILY, {}))]


def signals_history_view() -> list[str]:
    """v_signals_history: one row per flag feature per day, unknown flags kept as null."""
    flags = flag_features()
    names = ", ".join(f'"{f.name}"' for f in flags)
    families = " ".join(f"WHEN {_quote(f.name)} THEN {_quote(f.family)}" for f in flags)
    sql = (f"CREATE VIEW v_signals_history AS SELECT date, signal, CASE signal {families} END "
           "AS family, value, coalesce(value, false) AS lit "
           f"FROM (SELECT date, {names} FROM features_daily) "
           f"UNPIVOT INCLUDE NULLS (value FOR signal IN ({names}))")
    return [sql, *comments("v_signals_history", "Every flag feature of every day, long: one "
                           "row per signal per day", {
                               "date": _COMMON["date"],
                               "signal": "Flag feature name (meaning in feature_catalog)",
                               "family": "Feature family: regime, term_structure, breadth, "
                                         "macro or events",
                               "value": "The flag as computed; null when its inputs were "
                                        "unknown",
                               "lit": "True when the flag is true (unknown counts as not lit)"})]


def term_structure_view() -> list[str]:
    """v_term_structure: the constant-maturity VX curve, one row per day and tenor."""
    parts = [f"SELECT date, {d} AS tenor_days, vx_cm{d} AS price, vx_cm{d}_extrapolated AS "
             f"extrapolated FROM features_daily WHERE vx_cm{d} IS NOT NULL" for d in CM_TENORS]
    tenors = ", ".join(str(d) for d in CM_TENORS)
    return [f"CREATE VIEW v_term_structure AS {' UNION ALL '.join(parts)}",
            *comments("v_term_structure", f"Constant-maturity VX futures curve ({tenors} "
                      "calendar days) per day; days without a curve have no rows", {
                          "date": _COMMON["date"],
                          "tenor_days": "Constant maturity, calendar days",
                          "price": "Interpolated VX price at the tenor, VIX points",
                          "extrapolated": "True when no pair of expiries bracketed the tenor "
                                          "(flat from the nearest listed one)"})]


def recommendation_latest_view() -> list[str]:
    """v_recommendation_latest: the recommendation of the latest day."""
    table = hedge_tables.RECOMMENDATIONS
    return ["CREATE VIEW v_recommendation_latest AS SELECT * FROM recommendations "
            "ORDER BY date DESC, computed_at DESC NULLS LAST LIMIT 1",
            *comments("v_recommendation_latest", "The latest recommendation: of the latest "
                      "day, the one computed last (one row)",
                      described(table, _RECOMMENDATION_COLUMNS))]


def recommendation_legs_view() -> list[str]:
    """v_recommendation_legs: every leg of every recommendation, with its session and regime."""
    table = hedge_tables.RECOMMENDATION_LEGS
    columns = {**described(table, _LEG_COLUMNS), "trade_date": _LEG_COLUMNS["trade_date"],
               "regime": _LEG_COLUMNS["regime"]}
    return ["CREATE VIEW v_recommendation_legs AS SELECT l.*, r.trade_date, r.regime "
            "FROM recommendation_legs l LEFT JOIN recommendations r "
            "USING (date, policy_version, feature_set_version)",
            *comments("v_recommendation_legs", "Every option leg of every stored "
                      "recommendation (condor legs IC_*, ladder legs L1-L3)", columns)]


def view_sql() -> list[str]:
    """Every statement creating and documenting the dashboard views, in order."""
    return [*features_view(), *signals_history_view(), *term_structure_view(),
            *recommendation_latest_view(), *recommendation_legs_view(),
            *backtest_views.view_sql()]


FEATURES_ASOF = (
    "CREATE MACRO features_asof(d) AS TABLE SELECT * FROM features_daily "
    "WHERE date = (SELECT max(date) FROM features_daily WHERE date <= CAST(d AS DATE))")


def catalog_extras() -> tuple[list[str], dict[str, pl.DataFrame]]:
    """What the full catalog adds to the table views: macros, views, feature catalog.

    The nightly, ``alvh publish`` and as-of reads all build the same catalog from it.
    """
    return [FEATURES_ASOF, *view_sql()], {"feature_catalog": registry.feature_catalog()}


VIEWS = ("v_features", "v_signals_history", "v_term_structure", "v_recommendation_latest",
         "v_recommendation_legs", *backtest_views.VIEWS)
