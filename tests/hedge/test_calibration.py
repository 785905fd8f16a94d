"""The calibration in force on a day: point in time, flagged before the first quote, pinned by
a policy, and moved to the ends of its error band for the backtest's band runs."""

import datetime as dt
import json

import polars as pl
import pytest

from hedge.calibration import PRICING_CALIBRATION, Calibrations, policy_pricing
from hedge.policy import load_policy, policy_from_mapping
from hedge.recommend import recommend
from tests.hedge.rows import calm_row

D = dt.date
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def stored(policy, rows):
    """pricing_calibration rows: (model, as_of, parameter overrides, p10, p90)."""
    base = {"spx_1dte": policy.pricing.spx_model, "vix_call": policy.pricing.vix_model}
    frame = pl.DataFrame([{
        "model": m, "as_of": d, "calibration_id": f"{m}:{d}", "fit_start": d, "fit_end": d,
        "quote_days": 1, "quotes": 10, "parameters": json.dumps(base[m] | over),
        "error_p10": lo, "error_median": 1.0, "error_p90": hi, "computed_at": NOW}
        for m, d, over, lo, hi in rows], schema=PRICING_CALIBRATION.schema)
    return Calibrations.of(frame)


@pytest.fixture(scope="module")
def policy():
    return load_policy()


@pytest.fixture(scope="module")
def lake_rows(policy):
    return stored(policy, [("spx_1dte", D(2022, 2, 4), {"ratio_vix": 0.5}, 0.6, 1.4),
                           ("spx_1dte", D(2023, 2, 7), {"ratio_vix": 0.7}, 0.7, 1.3),
                           ("vix_call", D(2016, 6, 1), {"scale": 1.2}, 0.9, 1.1)])


def test_the_latest_calibration_known_by_the_day_is_in_force(policy, lake_rows):
    mid = lake_rows.pricing(D(2022, 12, 30), policy)
    assert mid.source == "lake" and mid.spx_as_of == D(2022, 2, 4)
    assert mid.spx.ratio_vix == 0.5 and mid.spx_band == (0.6, 1.4)
    assert lake_rows.pricing(D(2023, 2, 7), policy).spx.ratio_vix == 0.7  # known that close
    assert mid.vix.scale == 1.2 and mid.later_quotes == ()


def test_before_the_first_quote_the_earliest_is_used_and_flagged(policy, lake_rows):
    early = lake_rows.pricing(D(2010, 1, 4), policy)
    assert early.spx.ratio_vix == 0.5 and early.later_quotes == ("spx_1dte", "vix_call")
    rec = recommend(calm_row(date=D(2010, 1, 4)), rate=0.02, pricing=early)
    fired = {r.rule: r for r in rec.rules}
    assert fired["calibration_from_later_quotes"].inputs["spx_as_of"] == "2022-02-04"
    # The calibrated level prices the condor: half of VIX against the policy's own ratio.
    policy_rec = recommend(calm_row(date=D(2010, 1, 4)), rate=0.02)
    assert rec.condor.credit_points < policy_rec.condor.credit_points


def test_no_calibration_stored_prices_with_the_policy(policy):
    got = Calibrations.of(None).pricing(D(2025, 6, 2), policy)
    assert got == policy_pricing(policy) and got.source == "policy"
    assert got.later_quotes == ()  # after the last quote of the shipped fits
    # Before it, the shipped parameters were fitted on later quotes: said so.
    early = Calibrations.of(None).pricing(D(2016, 5, 31), policy)
    assert early.later_quotes == ("spx_1dte", "vix_call") and early.spx == got.spx


def test_a_calibration_without_its_own_band_borrows_the_policys_and_says_so(policy):
    one_day = stored(policy, [("spx_1dte", D(2022, 2, 4), {}, None, None)])
    got = one_day.pricing(D(2022, 3, 1), policy)
    assert got.spx_band == policy.pricing.spx_error_band
    assert "spx_1dte" in got.later_quotes  # the policy's band was measured through 2025


def test_a_pinned_policy_ignores_the_lake(policy, lake_rows):
    data = policy.model_dump(mode="json")
    data["pricing"]["calibration"] = "pinned"
    pinned = policy_from_mapping(data)
    got = lake_rows.pricing(D(2025, 6, 2), pinned)
    assert got.source == "policy" and got.spx.ratio_vix == policy.pricing.spx_model["ratio_vix"]
    assert got.later_quotes == ()


def test_band_ends_divide_model_prices_by_the_error_percentiles(policy, lake_rows):
    central = lake_rows.pricing(D(2024, 1, 5), policy)
    lo, hi = central.at_band("lo"), central.at_band("hi")
    assert (lo.spx_scale, hi.spx_scale) == (pytest.approx(1 / 1.3), pytest.approx(1 / 0.7))
    assert (lo.vix_scale, hi.vix_scale) == (pytest.approx(1 / 1.1), pytest.approx(1 / 0.9))
    row = calm_row(date=D(2024, 1, 5))
    credit = {b: recommend(row, rate=0.02, pricing=p).condor.credit_points
              for b, p in (("lo", lo), ("central", central), ("hi", hi))}
    assert credit["lo"] == pytest.approx(credit["central"] / 1.3)
    assert credit["hi"] == pytest.approx(credit["central"] / 0.7)


def test_unknown_parameters_are_refused_naming_them(policy):
    data = policy.model_dump(mode="json")
    data["pricing"]["spx_model"] = {**data["pricing"]["spx_model"], "ratio_vix3m": 1.0}
    with pytest.raises(Exception, match="ratio_vix3m"):
        policy_from_mapping(data)
