"""Fit the pricing models to every quote the lake holds, one calibration per quote day.

An expanding fit: the calibration of quote day d uses the quotes of days <= d only, so a
backtest or a recommendation on D reads the one fitted on quotes known by D. Its error is
measured the way the engine is used: the 1DTE model prices each fitted day's engine condor
with that day left out of the fit (leave-one-out), against the chain's mid credit; the VIX
model prices the ladder's call of every tenor (in sample: the lake holds few VIX chains).
Each day is priced at the rate the engine would use on it (a fresh DTB3, else SOFR, else DFF,
else the policy's default rate: ``flows.calibrate.chain_inputs``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import polars as pl

from hedge.calibration import (
    PRICING_CALIBRATION,
    PRICING_CALIBRATION_ERRORS,
    Pricing,
    policy_pricing,
)
from hedge.policy import Policy
from hedge.recommend import SPX_ROOTS, condor_check
from hedge.spx_fit import fit_spx, spx_points
from hedge.spx_model import SOURCES, SpxModel
from hedge.vix_fit import fit_vix, vix_errors, vix_points
from hedge.vix_model import VIX_ROOTS, VixModel

Row = Mapping[str, Any]
LADDER_TENORS = (14, 168)  # days: the ladder's calls, from a rolled L1 to a new L3
# A calibration's error is measured on its latest chain days, each left out of a fit of the
# others (started from the calibration's own fit): a refit per day, so the window bounds a
# night's work as chains accumulate.
HELD_OUT_DAYS = 20


@dataclass(frozen=True)
class Fitted:
    """``pricing_calibration`` and ``pricing_calibration_errors`` rows of one run."""

    calibration: pl.DataFrame
    errors: pl.DataFrame


def levels(rows: Mapping[dt.date, Row], rates: Mapping[dt.date, float]) -> pl.DataFrame:
    """date, spx_close, the three vol levels and the rate of each features row."""
    out = [{"date": d, "spx_close": r.get("spx_close"), **{s: r.get(s) for s in SOURCES},
            "rate": rates.get(d)} for d, r in sorted(rows.items())]
    schema = {"date": pl.Date, "spx_close": pl.Float64, **dict.fromkeys(SOURCES, pl.Float64),
              "rate": pl.Float64}
    return pl.DataFrame(out, schema=schema)


def _calibration_row(model: str, as_of: dt.date, params: dict[str, float], days: list[dt.date],
                     quotes: int, ratios: list[float]) -> dict[str, Any]:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    p10, med, p90 = (np.percentile(ratios, [10, 50, 90]).tolist() if ratios
                     else (None, None, None))
    return {"model": model, "as_of": as_of, "calibration_id": f"{model}:{as_of}:{digest}",
            "fit_start": days[0], "fit_end": days[-1], "quote_days": len(days),
            "quotes": quotes, "parameters": json.dumps(params, sort_keys=True),
            "error_p10": p10, "error_median": med, "error_p90": p90}


def held_out_condors(chain: pl.DataFrame, rows: Mapping[dt.date, Row],
                     rates: Mapping[dt.date, float], points: pl.DataFrame,
                     days: list[dt.date], policy: Policy,
                     fit: Callable[[pl.DataFrame], SpxModel]) -> list[dict[str, Any]]:
    """For each of ``days``: the engine's condor priced by a fit on the other days.

    Args:
        chain: option_chain rows of (at least) ``days``.
        rows: features_daily rows by date.
        rates: The rate of each day (decimal; the policy's default where none was fresh).
        points: ``spx_points`` of the fit's days (each check fits them all but its day).
        days: The days to check.
        policy: The policy (the engine's strike rules and dividend yield).
        fit: The fitting function (``fit_spx`` with its start and dividend yield).

    Returns:
        One row per day whose condor the chain quotes: quote_date, market and model credit,
        ratio, strikes, the vol level used.
    """
    out = []
    for day in days:
        others = points.filter(pl.col("quote_date") != day)
        if others.is_empty() or day not in rows:
            continue
        pricing = Pricing(fit(others), VixModel.from_dict(policy.pricing.vix_model), "lake")
        got = condor_check(rows[day], chain.filter(pl.col("quote_date") == day), policy=policy,
                           pricing=pricing, rate=rates[day])
        if got is None or got.market <= 0:
            continue
        out.append({"quote_date": day, "tenor_days": round(got.years * 365), "quotes": 4,
                    "market": got.market, "model_value": got.model,
                    "ratio": got.model / got.market, "held_out": True,
                    "detail": "/".join(f"{k:g}" for k in got.strikes)
                    + f" at {got.vol_source.removesuffix('_close').upper()} {got.vol_level:g}"})
    return out


def quotes_the_condor(chain: pl.DataFrame, rows: Mapping[dt.date, Row],
                      rates: Mapping[dt.date, float], policy: Policy, day: dt.date) -> bool:
    """Whether ``day``'s chain quotes every leg of the engine's condor (a whole chain)."""
    return day in rows and condor_check(
        rows[day], chain.filter(pl.col("quote_date") == day), policy=policy,
        pricing=policy_pricing(policy), rate=rates[day]) is not None


def spx_calibrations(chain: pl.DataFrame, rows: Mapping[dt.date, Row],
                     rates: Mapping[dt.date, float], policy: Policy,
                     stored: Mapping[dt.date, dict[str, float]] | None = None
                     ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One spx_1dte calibration per SPX chain day (fitted on the days up to it).

    A day is fitted only when its chain quotes the engine's whole condor: a partial export
    (a few strikes, or a pre-market snapshot of the next session) is not the day's market.
    Each fit starts from the one before (the policy's model for the first), so a run that
    finds days in ``stored`` (their parameters: a calibration never changes, it used only
    the quotes known by its day) fits the new ones exactly as one run over all of them.
    """
    spx = chain.filter(pl.col("root").is_in(SPX_ROOTS))
    points = spx_points(spx, levels(rows, rates))
    days = [d for d in sorted(set(points["quote_date"].to_list()))
            if quotes_the_condor(spx, rows, rates, policy, d)]
    points = points.filter(pl.col("quote_date").is_in(days))
    q = policy.pricing.dividend_yield
    model = SpxModel.from_dict(policy.pricing.spx_model)  # what no day identifies stays so
    calibrations, errors = [], []
    for i, as_of in enumerate(days):
        if stored and as_of in stored:
            model = SpxModel.from_dict(stored[as_of])
            continue
        known = days[: i + 1]
        used = points.filter(pl.col("quote_date").is_in(known))
        model = fit_spx(used, q, start=model)
        held = held_out_condors(spx, rows, rates, used, known[-HELD_OUT_DAYS:], policy,
                                partial(fit_spx, q=q, start=model))
        calibrations.append(_calibration_row("spx_1dte", as_of, model.to_dict(), known,
                                             used.height, [h["ratio"] for h in held]))
        errors += [{"model": "spx_1dte", "as_of": as_of, **h} for h in held]
    return calibrations, errors


def vix_calibrations(chain: pl.DataFrame, settles: pl.DataFrame, vvix: Mapping[dt.date, float],
                     rates: Mapping[dt.date, float], base: VixModel,
                     stored: Mapping[dt.date, dict[str, float]] | None = None
                     ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One vix_call calibration per VIX chain day (fitted on the days up to it)."""
    calls = chain.filter(pl.col("root").is_in(VIX_ROOTS))
    if calls.is_empty():
        return [], []
    points = vix_points(calls, settles, vvix, {d: rates[d] for d in vvix if d in rates})
    days = sorted(set(points["quote_date"].to_list()))
    calibrations, errors = [], []
    for i, as_of in enumerate(days):
        if stored and as_of in stored:
            continue
        used = points.filter(pl.col("quote_date").is_in(days[: i + 1]))
        model = fit_vix(used, base)
        err = vix_errors(model, used).filter(pl.col("dte").is_between(*LADDER_TENORS))
        calibrations.append(_calibration_row("vix_call", as_of, model.to_dict(), days[: i + 1],
                                             used.height, err["ladder_ratio"].to_list()))
        errors += [{"model": "vix_call", "as_of": as_of, "quote_date": r["quote_date"],
                    "tenor_days": r["dte"], "quotes": r["n"], "market": r["ladder_mid"],
                    "model_value": r["ladder_model"], "ratio": r["ladder_ratio"],
                    "held_out": False, "detail": f"strike {r['ladder_strike']:g} on forward "
                    f"{r['forward']:g}"} for r in err.iter_rows(named=True)]
    return calibrations, errors


def calibrate_all(chain: pl.DataFrame, rows: Mapping[dt.date, Row], settles: pl.DataFrame,
                  rates: Mapping[dt.date, float], policy: Policy, now: dt.datetime,
                  stored: Mapping[str, Mapping[dt.date, dict[str, float]]] | None = None
                  ) -> Fitted:
    """Every calibration the lake's quotes allow and ``stored`` lacks, as the tables' rows.

    Args:
        chain: Every option_chain row (SPX/SPXW and VIX/VIXW roots).
        rows: features_daily rows of the chain days (closes, vol levels, VVIX).
        settles: vx_futures rows (trade_date, expiry, settle) of the VIX chain days.
        rates: The rate in force on each chain day (decimal).
        policy: The policy (strike rules, dividend yield).
        now: The run's clock (``computed_at``).
        stored: Per model, the days already calibrated and their parameters (not refitted).

    Returns:
        The calibrations and their errors, stamped ``computed_at``.
    """
    have = stored or {}
    spx_cal, spx_err = spx_calibrations(chain, rows, rates, policy, have.get("spx_1dte"))
    vvix = {d: float(r["vvix_close"]) for d, r in rows.items() if r.get("vvix_close")}
    vix_cal, vix_err = vix_calibrations(chain, settles, vvix, rates,
                                        VixModel.from_dict(policy.pricing.vix_model),
                                        have.get("vix_call"))
    stamp = pl.lit(now, dtype=PRICING_CALIBRATION.columns["computed_at"]).alias("computed_at")
    return Fitted(_frame(PRICING_CALIBRATION, spx_cal + vix_cal, stamp),
                  _frame(PRICING_CALIBRATION_ERRORS, spx_err + vix_err, stamp))


def _frame(table: Any, rows: list[dict[str, Any]], stamp: pl.Expr) -> pl.DataFrame:
    cols = {c: t for c, t in table.columns.items() if c != "computed_at"}
    return table.conform(pl.DataFrame(rows, schema=cols).with_columns(stamp))
