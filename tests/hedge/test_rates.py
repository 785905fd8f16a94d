import datetime as dt

import polars as pl
import pytest

from hedge.rates import RateQuote, risk_free_rate

D = dt.date


def macro(rows):
    return pl.DataFrame(rows, schema=["series_id", "date", "value", "available_at"], orient="row")


def test_dtb3_preferred_and_point_in_time():
    m = macro([("SOFR", D(2020, 3, 13), 1.0, D(2020, 3, 16)),
               ("DTB3", D(2020, 3, 12), 0.5, D(2020, 3, 13)),
               ("DTB3", D(2020, 3, 13), 0.3, D(2020, 3, 17))])
    assert risk_free_rate(m, D(2020, 3, 16), 5) == RateQuote("DTB3", 0.005, D(2020, 3, 12))
    assert risk_free_rate(m, D(2020, 3, 17), 5) == RateQuote("DTB3", 0.003, D(2020, 3, 13))
    assert risk_free_rate(m.filter(pl.col("series_id") == "SOFR"), D(2020, 3, 16), 5) == (
        RateQuote("SOFR", 0.01, D(2020, 3, 13), ("DTB3",)))
    assert risk_free_rate(m, D(2020, 3, 12), 5) is None


def test_a_stale_dtb3_gives_way_to_sofr_then_dff():
    m = macro([("DTB3", D(2026, 3, 26), 4.0, D(2026, 3, 27)),
               ("SOFR", D(2026, 6, 10), 3.5, D(2026, 6, 11)),
               ("DFF", D(2026, 6, 12), 3.6, D(2026, 6, 13))])
    # DTB3 ended in March: fresh on 2026-03-30, stale (and passed over) in June.
    assert risk_free_rate(m, D(2026, 3, 30), 5).series_id == "DTB3"
    got = risk_free_rate(m, D(2026, 6, 12), 5)
    assert got == RateQuote("SOFR", pytest.approx(0.035), D(2026, 6, 10), ("DTB3",))
    later = risk_free_rate(m, D(2026, 6, 17), 5)
    assert later == RateQuote("DFF", pytest.approx(0.036), D(2026, 6, 12), ("DTB3", "SOFR"))
    assert risk_free_rate(m, D(2026, 7, 17), 5) is None  # nothing fresh: the policy default


def test_recommendation_says_which_rate_it_used():
    from hedge.recommend import recommend
    from tests.hedge.rows import calm_row

    r = recommend(calm_row(), rate=RateQuote("DFF", 0.036, D(2021, 11, 18), ("DTB3", "SOFR")))
    assert (r.rate, r.rate_source) == (0.036, "DFF")
    (fallback,) = [x for x in r.rules if x.rule == "rate_fallback"]
    assert fallback.inputs["series_id"] == "DFF" and "DTB3, SOFR" in fallback.detail
    fresh = recommend(calm_row(), rate=RateQuote("DTB3", 0.001, D(2021, 11, 18)))
    assert fresh.rate_source == "DTB3" and "rate_fallback" not in [x.rule for x in fresh.rules]
