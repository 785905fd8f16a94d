import datetime as dt
import glob
import io
import re

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import exchange_holidays
from core.expiry import (
    listed_expiries,
    nearest_expiries,
    nearest_expiry,
    vx_expiries,
    vx_expiry,
)
from tests.conftest import shared

MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)


def next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


@pytest.mark.parametrize(("year", "month", "expected"), [
    (2018, 2, dt.date(2018, 2, 14)),   # Volmageddon contract
    (2008, 1, dt.date(2008, 1, 16)),
    (2007, 5, dt.date(2007, 5, 16)),
    (2014, 3, dt.date(2014, 3, 18)),   # Good Friday 2014-04-18: 30 days before Thursday
    (2024, 6, dt.date(2024, 6, 18)),   # Wednesday 2024-06-19 is Juneteenth
    (2020, 3, dt.date(2020, 3, 18)),
    (2025, 1, dt.date(2025, 1, 22)),
])
def test_known_expiries(year, month, expected):
    assert vx_expiry(year, month) == expected


def test_listed_expiries_include_the_expiry_day_then_roll():
    assert listed_expiries(dt.date(2018, 2, 14), 3) == [
        dt.date(2018, 2, 14), dt.date(2018, 3, 21), dt.date(2018, 4, 18)]
    assert listed_expiries(dt.date(2018, 2, 15), 2) == [dt.date(2018, 3, 21),
                                                        dt.date(2018, 4, 18)]
    assert len(listed_expiries(dt.date(2020, 12, 31), 9)) == 9


def test_nearest_expiry_picks_closest_on_or_after():
    on = dt.date(2020, 3, 16)
    assert nearest_expiry(on, 30) == dt.date(2020, 4, 15)
    assert nearest_expiry(on, 110) == dt.date(2020, 6, 17)  # 17 d before 07-04; July: 18 after
    assert nearest_expiry(on, 0) == dt.date(2020, 3, 18)
    # 2020-03-19: the March expiry passed yesterday; 0 DTE takes the April one.
    assert nearest_expiry(dt.date(2020, 3, 19), 0) == dt.date(2020, 4, 15)


def test_nearest_expiries_vectorised_equals_scalar():
    days = pl.date_range(dt.date(2019, 12, 20), dt.date(2020, 4, 10), eager=True)
    got = nearest_expiries(days, 220).to_list()
    assert got == [nearest_expiry(d, 220) for d in days.to_list()]
    assert all(e >= d for d, e in zip(days.to_list(), got, strict=True))


def test_holidays_come_from_the_nyse_calendar():
    hol = set(exchange_holidays().to_list())
    assert {dt.date(2018, 12, 5), dt.date(2012, 10, 30), dt.date(2025, 1, 9),
            dt.date(2014, 4, 18)} <= hol
    assert dt.date(2018, 2, 14) not in hol


@settings(max_examples=200, deadline=None)
@given(st.integers(2004, 2044), st.integers(1, 12))
def test_expiry_is_wednesday_or_business_day_before(year, month):
    exp = vx_expiry(year, month)
    hol = set(exchange_holidays().to_list())
    assert exp.weekday() < 5 and exp not in hol
    ny, nm = next_month(year, month)
    friday = third_friday(ny, nm)
    wednesday = friday - dt.timedelta(days=30)
    assert exp == wednesday or exp < wednesday
    # Moved only by holidays: every weekday between it and the Wednesday is a holiday
    # (or the Friday itself was one).
    if exp != wednesday:
        skipped = [exp + dt.timedelta(days=i) for i in range(1, (wednesday - exp).days + 1)]
        assert friday in hol or all(d in hol or d.weekday() >= 5 for d in skipped)
    assert 28 <= (friday - exp).days <= 37
    assert (exp.year, exp.month) == (year, month)


@settings(max_examples=100, deadline=None)
@given(st.integers(2004, 2043))
def test_expiries_strictly_increase_by_month(year):
    years = pl.Series([year] * 12 + [year + 1])
    months = pl.Series([*range(1, 13), 1])
    exps = vx_expiries(years, months).to_list()
    assert all(a < b for a, b in zip(exps, exps[1:], strict=False))


def last_trade_dates(path) -> dict[str, dt.date]:
    text = path.read_text()
    if not text.startswith("Trade Date"):
        text = text.split("\n", 1)[1]
    frame = pl.read_csv(io.StringIO(text), infer_schema_length=0).select(
        pl.col("Futures"),
        pl.coalesce(pl.col("Trade Date").str.to_date("%m/%d/%Y", strict=False),
                    pl.col("Trade Date").str.to_date("%Y-%m-%d", strict=False)).alias("d"),
    )
    last = frame.group_by("Futures").agg(pl.col("d").max())
    return dict(last.iter_rows())


def label_month(label: str) -> tuple[int, int]:
    m = re.match(r"\w \((\w{3}) (\d+)\)", label)
    assert m, label
    year = int(m.group(2))
    return (year + 2000 if year < 100 else year), MONTHS.index(m.group(1)) + 1


@pytest.mark.realdata
def test_rule_reproduces_every_last_trade_date_in_the_data():
    folder = shared("vx_futures")
    files = {folder / "cfe_vx_all_monthly_contracts_2013_2025.csv": dt.date(2025, 3, 7),
             folder / "CFE_VX_K2007.csv": None, folder / "CFE_VX_K2008.csv": None}
    files.update({p: dt.date(2015, 4, 1) for p in
                  map(type(folder), glob.glob(str(folder / "cfe_2008_2015" / "*.csv")))})
    checked = 0
    for path, data_end in files.items():
        for label, last in last_trade_dates(path).items():
            if data_end is not None and last >= data_end:
                continue  # still trading when the file was saved
            assert vx_expiry(*label_month(label)) == last, (path.name, label)
            checked += 1
    # 98 contracts 2013-01..2025-02 in the combined file, 134 of the 2008-2015 files
    # (some months appear in both), and the two 2006-2008 contracts.
    assert checked >= 230
