import datetime as dt

import polars as pl

from hedge.rates import risk_free_rate

D = dt.date


def macro(rows):
    return pl.DataFrame(rows, schema=["series_id", "date", "value", "available_at"], orient="row")


def test_dtb3_preferred_and_point_in_time():
    m = macro([("SOFR", D(2020, 3, 13), 1.0, D(2020, 3, 16)),
               ("DTB3", D(2020, 3, 12), 0.5, D(2020, 3, 13)),
               ("DTB3", D(2020, 3, 13), 0.3, D(2020, 3, 17))])
    assert risk_free_rate(m, D(2020, 3, 16)) == ("DTB3", 0.005)
    assert risk_free_rate(m, D(2020, 3, 17)) == ("DTB3", 0.003)
    assert risk_free_rate(m.filter(pl.col("series_id") == "SOFR"), D(2020, 3, 16)) == (
        "SOFR", 0.01)
    assert risk_free_rate(m, D(2020, 3, 12)) is None
