"""``alvh calibrate`` as a Prefect flow: the pricing models fitted to the lake's quotes.

It stores them point in time and checks the VIX model against CBOE's VXTH index.

Tasks pass the lake home and dates, never frames; each reads the lake itself.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, fields
from typing import Any

import polars as pl
from prefect import flow, get_run_logger, task

from core.clock import utc_now
from flows.settings import Settings
from hedge.policy import Policy
from storage.lake import Lake

CALIBRATION_TABLES = ("pricing_calibration", "pricing_calibration_errors")


def _lake(home: str | None) -> Lake:
    return Settings().with_options(home=home).lake()


@dataclass(frozen=True)
class CalibrationReport:
    """What a calibration run stored and how far its models are from the quotes."""

    calibration: list[dict[str, Any]]
    held_out: list[dict[str, Any]]  # the latest spx fit's leave-one-out condors
    vix_tenors: list[dict[str, Any]]  # the latest vix fit's ladder call per tenor
    vxth: dict[str, Any] | None  # None: no published VXTH in index_daily


def chain_inputs(lake: Lake, policy: Policy) -> tuple[
        pl.DataFrame, dict[dt.date, dict[str, Any]], pl.DataFrame, dict[dt.date, float]]:
    """Every stored quote, the features rows, VX settlements and rates of its days."""
    chain = lake.scan("option_chain").collect()
    days = sorted(set(chain["quote_date"].to_list()))
    rows = {r["date"]: r for r in lake.scan("features_daily").filter(
        pl.col("date").is_in(days)).collect().iter_rows(named=True)}
    settles = lake.scan("vx_futures").filter(pl.col("trade_date").is_in(days)).select(
        "trade_date", "expiry", "settle").collect()
    return chain, rows, settles, engine_rates(lake, days, policy)


def engine_rates(lake: Lake, days: list[dt.date], policy: Policy) -> dict[dt.date, float]:
    """The rate the engine uses on each day, else the policy's default rate.

    A fresh DTB3, else SOFR, else DFF (``backtest.market.daily_rates``).
    """
    from backtest.market import daily_rates

    quotes = daily_rates(lake.scan("macro_observations"), pl.Series(days, dtype=pl.Date),
                         policy.pricing.max_rate_age)
    return {d: quotes[d].value if d in quotes else policy.pricing.default_rate for d in days}


def uncalibrated_quote_days(lake: Lake) -> list[dt.date]:
    """Quote days of the lake's chains without a calibration, backfilled days included.

    A day whose chain is not whole stays here and is looked at again, without a fit.
    """
    days = lake.scan("option_chain").select(pl.col("quote_date").unique()).collect()
    done = lake.scan("pricing_calibration").select(pl.col("as_of").unique()).collect()
    return sorted(set(days["quote_date"].to_list()) - set(done["as_of"].to_list()))


def current_calibrations(old: list[pl.DataFrame]) -> list[pl.DataFrame]:
    """The stored calibration and error rows whose parameters are the current models'.

    A row of an older model form (other parameters) is dropped with its errors and refitted:
    it can no longer price.
    """
    from hedge.spx_model import SpxModel
    from hedge.vix_model import VixModel

    names = {"spx_1dte": {f.name for f in fields(SpxModel)},
             "vix_call": {f.name for f in fields(VixModel)}}
    cal = old[0].filter(pl.struct("model", "parameters").map_elements(
        lambda r: set(json.loads(r["parameters"])) == names.get(r["model"]),
        return_dtype=pl.Boolean))
    return [cal, old[1].join(cal.select("model", "as_of"), on=["model", "as_of"], how="semi")]


@task
def fit_and_store(home: str | None, policy_path: str | None,
                  now: dt.datetime | None = None) -> dict[str, int]:
    """Fit the calibrations of the quote days not yet calibrated; publish both tables.

    A stored calibration is kept as it is: it used only the quotes known by its day. The new
    rows are validated with the stored ones and committed once per table.
    """
    from hedge.calibrate import calibrate_all
    from hedge.policy import load_policy
    from validations import gate_table

    lake, now, policy = _lake(home), now or utc_now(), load_policy(policy_path)
    chain, rows, settles, rates = chain_inputs(lake, policy)
    old = current_calibrations([lake.scan(t).collect() for t in CALIBRATION_TABLES])
    stored = {m: {r["as_of"]: json.loads(r["parameters"]) for r in g.iter_rows(named=True)}
              for (m,), g in old[0].group_by("model")}
    fitted = calibrate_all(chain, rows, settles, rates, policy, now, stored)
    if fitted.calibration.is_empty():
        return {"calibrations": 0, "errors": 0}
    for name, before, new in zip(CALIBRATION_TABLES, old, (fitted.calibration, fitted.errors),
                                 strict=True):
        gate_table(lake, name, pl.concat([before, new]), at=now)
    get_run_logger().info("calibrate: %d new calibration(s), %d error row(s)",
                          fitted.calibration.height, fitted.errors.height)
    return {"calibrations": fitted.calibration.height, "errors": fitted.errors.height}


@task
def vxth_check(home: str | None, policy_path: str | None) -> dict[str, Any] | None:
    """VXTH rebuilt from the lake at the latest VIX calibration, against the published index."""
    from backtest.vxth import rebuild_vxth
    from hedge.calibration import Calibrations
    from hedge.policy import load_policy

    lake = _lake(home)
    index = lake.scan("index_daily").filter(pl.col("symbol").is_in(["SPX", "VVIX", "VXTH"])
                                            ).select("symbol", "date", "close").collect()
    published = index.filter(pl.col("symbol") == "VXTH").drop("symbol")
    if published.is_empty():
        return None
    policy = load_policy(policy_path)
    pricing = Calibrations.in_lake(lake).pricing(dt.date.max, policy)
    settles = lake.scan("vx_futures").select("trade_date", "expiry", "settle").collect()
    rolls = engine_rates(lake, settles["expiry"].unique().sort().to_list(), policy)
    rates = pl.DataFrame({"date": list(rolls), "rate": list(rolls.values())})
    got = rebuild_vxth(index.filter(pl.col("symbol") == "SPX").drop("symbol"), settles,
                       index.filter(pl.col("symbol") == "VVIX").drop("symbol"), rates,
                       pricing.vix, published, policy)
    return {"first": got.first, "last": got.last, "growth_rebuilt": got.growth_rebuilt,
            "growth_published": got.growth_published, "tracking_error": got.tracking_error,
            "dividend_yield": got.dividend_yield}


@task
def latest_errors(home: str | None) -> CalibrationReport:
    """The stored calibrations and the latest fits' errors, for the command's tables."""
    lake = _lake(home)
    cal = lake.scan("pricing_calibration").collect().sort("model", "as_of")
    err = lake.scan("pricing_calibration_errors").collect()
    latest = cal.group_by("model").agg(pl.col("as_of").max())
    mine = err.join(latest, on=["model", "as_of"]).sort("model", "quote_date", "tenor_days")
    return CalibrationReport(cal.drop("parameters", "computed_at").to_dicts(),
                             mine.filter(pl.col("model") == "spx_1dte").to_dicts(),
                             mine.filter(pl.col("model") == "vix_call").to_dicts(), None)


@flow(name="calibrate")
def calibrate_flow(home: str | None = None, policy: str | None = None) -> CalibrationReport:
    """Fit, store, check against VXTH, and report: the pricing models as the quotes say."""
    fit_and_store(home, policy)
    report = latest_errors(home)
    vxth = vxth_check(home, policy)
    return CalibrationReport(report.calibration, report.held_out, report.vix_tenors, vxth)
