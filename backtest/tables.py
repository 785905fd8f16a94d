"""Lake tables of the backtest: one row per run, per strategy and day, per trade."""

from __future__ import annotations

from storage.schemas import BOOL, DATE, F64, I64, STR, UTC_TS, Table

STRATEGIES = ("no_hedge", "alvh_stress", "alvh_vega", "static", "vxth")
# Benchmarks stored at unit size and scaled in the views to the ALVH stress ladder's cost.
SCALED = ("static", "vxth")

BACKTEST_RUNS = Table(
    "backtest_runs",
    {"run_id": STR, "start": DATE, "end": DATE, "policy_version": STR,
     "feature_set_version": STR, "sizing_equity": F64, "static_scale": F64, "vxth_scale": F64,
     "sessions": I64, "untestable_days": I64, "pricing_band": STR, "central_run_id": STR,
     "policy": STR, "computed_at": UTC_TS},
    keys=("run_id",), date_col="start", partition_by=("policy_version",),
    descriptions={
        "run_id": "policy_version:start:end (a rerun of the same span replaces its rows); "
                  "a pricing-band run adds :lo or :hi",
        "pricing_band": "central (the calibrated prices), lo or hi (every model price divided "
                        "by the calibration's p90 or p10 of model / market)",
        "central_run_id": "the central run a band run belongs to (itself when central)",
        "static_scale": "multiplier of the unit static 4/4/2 ladder that spends what the "
                        "ALVH stress ladder spends",
        "vxth_scale": "multiplier of the unit VXTH calls that spends what the ALVH stress "
                      "ladder spends",
        "policy": "the policy as JSON"},
)

BACKTEST_DAILY = Table(
    "backtest_daily",
    {"run_id": STR, "policy_version": STR, "strategy": STR, "date": DATE, "spx_close": F64,
     "vix_close": F64, "testable": BOOL, "untestable_reason": STR, "spx_listed": BOOL,
     "condor_contracts": I64, "priced_trades": I64, "quoted_trades": I64,
     "priced_from_later_quotes": STR,
     "condor_pnl": F64, "ref_condor_pnl": F64, "ladder_pnl": F64, "ladder_premium": F64,
     "ladder_value": F64, "ladder_contracts": F64, "layers_held": STR, "pnl": F64,
     "equity": F64, "drawdown": F64, "computed_at": UTC_TS},
    keys=("run_id", "strategy", "date"), date_col="date", partition_by=("policy_version",),
    descriptions={
        "testable": "false when an input of the day is missing (see untestable_reason)",
        "spx_listed": "the condor's expiry (the next session) had a listed SPX/SPXW expiry",
        "condor_contracts": "condors opened at this day's close (settled next session)",
        "priced_trades": "condor opens and VIX call buys and sells of the day",
        "quoted_trades": "of those, priced from the day's stored quotes (the rest: the "
                         "calibrated model)",
        "priced_from_later_quotes": "models (spx_1dte, vix_call) whose parameters or error "
                                    "band that day were fitted on later quotes (no earlier "
                                    "quote in the lake); null when none",
        "condor_pnl": "P&L of the condor opened the session before, settled at this close, $",
        "ref_condor_pnl": "the same for the reference condor (base size, before regime cuts)",
        "ladder_pnl": "VIX call ladder P&L: marks, settlements and trading costs of the day, $",
        "ladder_premium": "premium paid for calls bought this day, with haircut and "
                          "commission, $",
        "ladder_value": "the held ladder at this close, marked by Black-76, $",
        "pnl": "condor_pnl + ladder_pnl ($; null when untestable)",
        "equity": "equity after the day (unit size for static and vxth: see the views)"},
)

BACKTEST_TRADES = Table(
    "backtest_trades",
    {"run_id": STR, "policy_version": STR, "strategy": STR, "date": DATE, "seq": I64,
     "instrument": STR, "action": STR, "layer": STR, "expiry": DATE, "strikes": STR,
     "contracts": F64, "price": F64, "haircut": F64, "commission": F64, "cash": F64,
     "pricing_source": STR, "computed_at": UTC_TS},
    keys=("run_id", "strategy", "date", "seq"), date_col="date",
    partition_by=("policy_version",),
    descriptions={
        "instrument": "iron_condor or vix_call",
        "action": "open, settle, buy, expire; a sale is named after its rule: roll, expiry "
                  "(sold before expiry, not rolled), peel_back, take_profit, trim, or sell "
                  "(a benchmark's roll)",
        "strikes": "long put/short put/short call/long call for a condor, the strike for a call",
        "price": "points per unit before the haircut (condor: mid credit; call: Black-76 "
                 "mark or final settlement)",
        "haircut": "points per unit given up to the bid/ask and slippage (condor: mid credit "
                   "- fill credit + slippage)",
        "pricing_source": "quote (the day's chain) or model (the calibrated model) for an "
                          "open, buy or sell; null for settlements and expiries",
        "cash": "dollars received (+) or paid (-), after haircut and commission"},
)

BACKTEST_BANDS = Table(
    "backtest_bands",
    {"run_id": STR, "policy_version": STR, "end": DATE, "strategy": STR, "scope": STR,
     "figure": STR, "value": F64, "lo": F64, "hi": F64, "computed_at": UTC_TS},
    keys=("run_id", "strategy", "scope", "figure"), date_col="end",
    partition_by=("policy_version",),
    descriptions={
        "figure": "cagr, volatility, max_drawdown, hedge_cost_per_year, ladder_pnl_per_year",
        "end": "the run's last session", "value": "the run's own figure",
        "lo": "5th percentile over stationary block-bootstrap resamples of the run's "
              "sessions (mean block 63 sessions, 500 draws, fixed seed), at most the value",
        "hi": "95th percentile, at least the value"},
)

TABLES = (BACKTEST_RUNS, BACKTEST_DAILY, BACKTEST_TRADES, BACKTEST_BANDS)  # in storage.schemas
