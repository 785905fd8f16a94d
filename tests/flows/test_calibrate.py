"""``alvh calibrate`` on a lake of the real data: the shared SPX and VIX chains ingested with
``alvh ingest chains --from``, the models fitted and stored point in time, the error table
printed. The 1DTE model is judged the way the engine uses it: each chain day's condor (the
engine's strikes) priced by a fit that left that day out, against the chain's mid credit.
A backtest over a chain day then prices that day's condor from its quotes."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
from pathlib import Path

import polars as pl
import pytest

from backtest.run import backtest
from hedge.policy import load_policy
from storage.lake import Lake
from tests.backtest.real_lake import shared_inputs, write_lake
from tests.conftest import SHARED_DATA, shared

pytestmark = pytest.mark.realdata

ALVH = shutil.which("alvh") or os.path.join(os.path.dirname(os.sys.executable), "alvh")
NOW = dt.datetime(2026, 8, 22, tzinfo=dt.UTC)
# The chain days whose export is an end-of-day chain quoting the engine's whole condor.
CHAIN_DAYS = [dt.date(2022, 2, 4), dt.date(2022, 6, 10), dt.date(2022, 9, 13),
              dt.date(2023, 2, 7), dt.date(2023, 8, 18), dt.date(2023, 9, 14),
              dt.date(2024, 1, 5), dt.date(2025, 1, 6)]


def alvh(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"COLUMNS": "200"}
    return subprocess.run([ALVH, "--home", str(home), *args], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, str]:
    shared("options", "cboe_delayed_quotes")
    root = tmp_path_factory.mktemp("calibrate") / "lake"
    lake = write_lake(root, shared_inputs(), dt.date(2016, 1, 4), dt.date(2025, 1, 31))
    chains = tmp_path_factory.mktemp("chains")  # the files as a user downloads them
    for path in [*sorted((SHARED_DATA / "options" / "cboe_delayed_quotes").glob("spx_*")),
                 SHARED_DATA / "options"
                 / "vix_options_datashop_UnderlyingOptionsEODCalcs_2016-06-01.csv"]:
        shutil.copy(path, chains / path.name)
    ingest = alvh("ingest", "chains", "--from", str(chains), home=root)
    assert ingest.returncode == 0, ingest.stderr
    got = alvh("calibrate", home=root)
    assert got.returncode == 0, got.stderr
    return lake, got.stdout


def held_out(lake: Lake) -> pl.DataFrame:
    """The latest spx_1dte calibration's leave-one-out condors."""
    err = lake.scan("pricing_calibration_errors").filter(pl.col("model") == "spx_1dte").collect()
    return err.filter(pl.col("as_of") == err["as_of"].max()).sort("quote_date")


def test_calibrations_are_stored_per_quote_day(calibrated):
    lake, _ = calibrated
    cal = lake.scan("pricing_calibration").collect().sort("model", "as_of")
    spx = cal.filter(pl.col("model") == "spx_1dte")
    assert spx["as_of"].to_list() == CHAIN_DAYS  # one expanding fit per whole chain day
    assert spx["quote_days"].to_list() == list(range(1, 9))
    assert cal.filter(pl.col("model") == "vix_call")["as_of"].to_list() == [dt.date(2016, 6, 1)]


def test_the_held_out_condor_credits_are_printed(calibrated):
    lake, out = calibrated
    assert "each chain day left out of the fit" in out
    for row in held_out(lake).iter_rows(named=True):
        assert str(row["quote_date"]) in out and f"{row['ratio']:.3f}" in out


def test_leave_one_out_condor_credit_median_within_0_8_to_1_25(calibrated):
    lake, _ = calibrated
    ratios = held_out(lake)["ratio"].to_list()
    assert len(ratios) == 8
    assert 0.8 <= statistics.median(ratios) <= 1.25


def test_leave_one_out_condor_credit_within_0_67_to_1_5_on_all_but_one_day(calibrated):
    lake, _ = calibrated
    rows = held_out(lake)
    outside = rows.filter(~pl.col("ratio").is_between(0.67, 1.5))
    # 2022-02-04 (a Friday before VIX1D existed) stays at ~0.49: the model prices the
    # weekend from VIX9D and that day's chain priced it richer than any other day says.
    assert outside["quote_date"].to_list() == [dt.date(2022, 2, 4)]
    assert outside["ratio"][0] == pytest.approx(0.49, abs=0.03)


@pytest.mark.xfail(strict=True, reason="measured: 2022-02-04 at 0.489; the other 7 days are "
                   "within 0.72-1.37 (see the test above)")
def test_leave_one_out_condor_credit_within_0_67_to_1_5_on_every_day(calibrated):
    lake, _ = calibrated
    assert held_out(lake)["ratio"].is_between(0.67, 1.5).all()


def test_the_vix_ladder_calls_of_2016_06_01_within_15_percent(calibrated):
    lake, _ = calibrated
    err = lake.scan("pricing_calibration_errors").filter(pl.col("model") == "vix_call").collect()
    ladder = err.filter(pl.col("tenor_days").is_between(14, 168))
    assert ladder.height == 6 and ladder["ratio"].is_between(0.85, 1.15).all()


def test_a_backtest_prices_a_chain_day_from_its_quotes(calibrated):
    """2023-09-14 (a stored chain): the condor's credit is the chain's SPXW mids and its fill
    the bid/ask, by hand; the days around it are priced by the calibration in force."""
    lake, _ = calibrated
    day = dt.date(2023, 9, 14)
    result = backtest(lake, dt.date(2023, 9, 11), dt.date(2023, 9, 19), load_policy(), NOW)
    opens = result.trades.filter((pl.col("strategy") == "alvh_stress")
                                 & (pl.col("action") == "open"))
    ticket = opens.filter(pl.col("date") == day).row(0, named=True)
    assert ticket["pricing_source"] == "quote"
    assert set(opens.filter(pl.col("date") != day)["pricing_source"]) == {"model"}
    lp, sp, sc, lc = (float(k) for k in ticket["strikes"].split("/"))
    chain = lake.scan("option_chain").filter(
        (pl.col("quote_date") == day) & (pl.col("root") == "SPXW")
        & (pl.col("expiration") == dt.date(2023, 9, 15))).collect()

    def quote(strike: float, right: str) -> tuple[float, float]:
        row = chain.filter((pl.col("strike") == strike) & (pl.col("right") == right))
        return float(row["bid"][0]), float(row["ask"][0])

    (lpb, lpa), (spb, spa), (scb, sca), (lcb, lca) = (quote(lp, "P"), quote(sp, "P"),
                                                      quote(sc, "C"), quote(lc, "C"))
    mid = (spb + spa) / 2 + (scb + sca) / 2 - (lpb + lpa) / 2 - (lcb + lca) / 2
    fill = spb + scb - lpa - lca
    assert ticket["price"] == pytest.approx(mid)
    assert ticket["price"] - ticket["haircut"] == pytest.approx(fill)
    summary = result.daily.filter(pl.col("strategy") == "alvh_stress")
    assert summary["quoted_trades"].sum() == 1


def test_the_vix_chain_day_prices_the_ladder_from_its_quotes(calibrated):
    """2016-06-01 (the stored VIX chain): the engine's L1 call is the chain's mid, and a
    backtest buys it at the ask (half the quoted spread over the mid)."""
    lake, _ = calibrated
    day = dt.date(2016, 6, 1)
    result = backtest(lake, day, day, load_policy(), NOW)
    buys = result.trades.filter((pl.col("strategy") == "static") & (pl.col("action") == "buy"))
    quoted = buys.filter(pl.col("pricing_source") == "quote")
    assert quoted.height >= 1
    chain = lake.scan("option_chain").filter(
        (pl.col("quote_date") == day) & (pl.col("root") == "VIX") & (pl.col("right") == "C")
    ).collect()
    for row in quoted.iter_rows(named=True):
        q = chain.filter((pl.col("expiration") == row["expiry"])
                         & (pl.col("strike") == float(row["strikes"]))).row(0, named=True)
        assert row["price"] == pytest.approx((q["bid"] + q["ask"]) / 2)
        assert row["haircut"] == pytest.approx((q["ask"] - q["bid"]) / 2)


def test_an_incremental_calibration_equals_one_run_over_all_days(calibrated):
    """Calibrating the first days, then the rest, stores what one run over all of them does:
    a stored calibration is kept, and the next fit starts from it."""
    from flows.calibrate import chain_inputs
    from hedge.calibrate import calibrate_all

    lake, _ = calibrated
    policy = load_policy()
    chain, rows, settles, rates = chain_inputs(lake, policy)
    whole = calibrate_all(chain, rows, settles, rates, policy, NOW)
    first = whole.calibration.filter(pl.col("as_of") <= dt.date(2023, 2, 7))
    stored = {m: {r["as_of"]: json.loads(r["parameters"]) for r in g.iter_rows(named=True)}
              for (m,), g in first.group_by("model")}
    rest = calibrate_all(chain, rows, settles, rates, policy, NOW, stored)
    assert rest.calibration["as_of"].to_list() == CHAIN_DAYS[4:]
    later = whole.calibration.filter(pl.col("as_of") > dt.date(2023, 2, 7))
    assert rest.calibration.sort("model", "as_of").equals(later.sort("model", "as_of"))
    assert (lake.scan("pricing_calibration").collect().sort("model", "as_of")
            .drop("computed_at").equals(whole.calibration.sort("model", "as_of")
                                        .drop("computed_at")))


def test_a_second_calibrate_with_no_new_quotes_changes_nothing(calibrated):
    lake, _ = calibrated
    before = lake.delta("pricing_calibration").version()
    again = alvh("calibrate", home=Path(lake.root))
    assert again.returncode == 0, again.stderr
    assert lake.delta("pricing_calibration").version() == before


def test_rows_of_an_older_model_form_are_dropped_for_a_refit(calibrated):
    from flows.calibrate import current_calibrations

    lake, _ = calibrated
    cal, err = (lake.scan(t).collect() for t in ("pricing_calibration",
                                                  "pricing_calibration_errors"))
    first = cal.filter(pl.col("model") == "spx_1dte").sort("as_of").row(1, named=True)
    old = {k: v for k, v in json.loads(first["parameters"]).items() if k != "long_weight"}
    stale = cal.with_columns(pl.when(pl.col("as_of") == first["as_of"])
                             .then(pl.lit(json.dumps(old))).otherwise(pl.col("parameters"))
                             .alias("parameters"))
    kept, kept_err = current_calibrations([stale, err])
    assert kept.height == cal.height - 1 and first["as_of"] not in kept["as_of"].to_list()
    assert first["as_of"] not in kept_err["as_of"].to_list()
    assert kept_err.height < err.height
