import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from core.errors import SourceDataError
from sources import breadth
from storage import schemas
from tests.conftest import NOW, shared

TV_HEADER = "time,open,high,low,close,Volume,Volume MA"
D1, D2 = dt.date(2020, 3, 13), dt.date(2020, 3, 16)


def tv(*rows: str) -> bytes:
    return "\n".join([TV_HEADER, *rows]).encode()


def test_tradingview_export_gives_the_column_its_name_says():
    out = breadth.parse(tv("2020-03-16,114,114,114,114,,", "2020-03-13,2500,2500,2500,2500,,"),
                        "ADV.csv")
    assert_frame_equal(out, pl.DataFrame({"date": [D1, D2], "advancers": [2500, 114]}))


@pytest.mark.parametrize(("name", "column"), [
    ("DECL.csv", "decliners"), ("UCHG.csv", "unchanged"), ("MAHN.csv", "new_highs"),
    ("MALN.csv", "new_lows"), ("NYSE_ADV_advancing_issues.csv", "advancers"),
    ("USI_DECL, 1D.csv", "decliners"),
])
def test_component_from_file_name(name, column):
    assert breadth.component_of(name) == column


def test_unix_seconds_time_and_tradingview_zero():
    out = breadth.parse(tv("1584316800,0.01,0.01,0.01,0.01,,"), "MAHN.csv")
    assert out.row(0) == (D2, 0)


def test_plain_breadth_csv_and_combine():
    plain = breadth.parse(b"date,advancers,decliners\n2020-03-16,114,2796\n", "breadth.csv")
    lows = breadth.parse(tv("2020-03-13,900,900,900,900,,", "2020-03-16,1233,1233,1233,1233,,"),
                         "MALN.csv")
    full = breadth.combine([plain, lows])
    assert full.columns == ["date", "advancers", "decliners", "unchanged", "new_highs",
                            "new_lows"]
    # D1 has new lows only: without advancers or decliners it is not a breadth day.
    assert full.rows() == [(D2, 114, 2796, None, None, 1233)]
    schemas.get("breadth_daily").conform(full.with_columns(ingested_at=pl.lit(NOW)))


def test_combine_nothing_is_an_empty_table():
    assert breadth.combine([]).height == 0


def test_placeholder_on_a_holiday_is_dropped_but_a_real_zero_kept():
    # 2025-05-26 (Memorial Day), 2025-05-24 (Saturday): TradingView's 0.01 padding.
    rows = ["2025-05-23,35,35,35,35,,", "2025-05-24,0.01,0.01,0.01,0.01,,",
            "2025-05-26,0.01,0.01,0.01,0.01,,", "2025-05-27,0.01,0.01,0.01,0.01,,"]
    out = breadth.parse(tv(*rows), "MAHN.csv")
    assert out.rows() == [(dt.date(2025, 5, 23), 35), (dt.date(2025, 5, 27), 0)]


def test_a_real_count_on_a_holiday_is_kept_for_the_gate_to_judge():
    out = breadth.parse(tv("2025-05-26,12,12,12,12,,"), "MAHN.csv")
    assert out.rows() == [(dt.date(2025, 5, 26), 12)]


def bad(payload: bytes, name: str = "ADV.csv") -> str:
    with pytest.raises(SourceDataError) as err:
        breadth.parse(payload, name)
    msg = str(err.value)
    assert "'breadth'" in msg and name in msg
    return msg


@pytest.mark.parametrize(("payload", "name", "problem"), [
    (b"", "ADV.csv", "empty"),
    (tv(), "ADV.csv", "no data rows"),
    (b"<!DOCTYPE html><html></html>", "ADV.csv", "HTML"),
    (tv("2020-03-16,1,1,1,1,,"), "SPX.csv", "cannot tell the series"),
    (b"time,open,high,low,last\n2020-03-16,1,1,1,1\n", "ADV.csv", "missing column 'close'"),
    (b"when,advancers\n2020-03-16,1\n", "breadth.csv", "missing column"),
    (b"date,adv\n2020-03-16,1\n", "breadth.csv", "none of the columns"),
    (b"date,adv,decliners\n2020-03-16,1,2\n", "breadth.csv", "unknown (renamed?) column"),
    (b"date,advancers,decliners\n2020-03-16,1,2\n2020-03-17,1", "breadth.csv", "truncated"),
    (tv("2020-03-16,1,1,1,abc,,"), "ADV.csv", "non-numeric value 'abc' in column 'close'"),
    (tv("2020-03-16,1,1,1,-5,,"), "ADV.csv", "negative count"),
    (tv("2020-03-16,1,1,1,5.5,,"), "ADV.csv", "fractional count"),
    (tv("16.03.2020,1,1,1,5,,"), "ADV.csv", "bad date '16.03.2020'"),
    (tv("2020-03-16,1,1,1,5,,", "2020-03-16,1,1,1,6,,"), "ADV.csv", "appears twice"),
    (tv("2020-03-16,1,1,1,5,,", "2020-03-17,1,1"), "ADV.csv", "incomplete row"),
])
def test_bad_input_names_source_file_and_problem(payload, name, problem):
    assert problem in bad(payload, name)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 4000), min_size=1, max_size=30))
def test_counts_round_trip(counts):
    days = pl.date_range(dt.date(2020, 1, 1), dt.date(2020, 3, 1), eager=True).to_list()
    rows = [f"{d},{c},{c},{c},{c},," for d, c in zip(days, counts, strict=False)]
    assert breadth.parse(tv(*rows), "UCHG.csv")["unchanged"].to_list() == counts


@pytest.mark.realdata
def test_real_nyse_exports_combined():
    # PROVENANCE.md row counts, less the 0.01 placeholders on 2025-05-26, 06-19 and 07-04.
    counts = {"ADV": 8515, "DECL": 8426, "UCHG": 8562, "MAHN": 5361 - 3, "MALN": 5318 - 3}
    parts = []
    for path in sorted(shared("breadth").glob("NYSE_*.csv")):
        part = breadth.parse(path.read_bytes(), path.name)
        assert part.height == counts[path.name.split("_")[1]]  # PROVENANCE.md row counts
        parts.append(part)
    full = breadth.combine(parts)
    day = full.filter(pl.col("date") == D2).row(0, named=True)
    assert (day["advancers"], day["decliners"]) == (114, 2796)
    assert day["new_highs"] == 0  # TradingView's 0.01 stand-in
    assert full["date"].min() == dt.date(1991, 12, 2)
    assert full["date"].max() == dt.date(2026, 5, 22)
    holidays = [dt.date(2025, 5, 26), dt.date(2025, 6, 19), dt.date(2025, 7, 4)]
    assert full.filter(pl.col("date").is_in(holidays)).height == 0
    assert full.filter(pl.col("advancers").is_null() & pl.col("decliners").is_null()).height == 0
