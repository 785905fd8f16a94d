import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from core.errors import SourceDataError
from flows.ingest import Run
from sources import cfe, config
from storage import schemas
from storage.lake import Lake
from tests.conftest import NOW, shared

HEADER = "Trade Date,Futures,Open,High,Low,Close,Settle,Change,Total Volume,EFP,Open Interest"
DISCLAIMER = ("CFE data is compiled for the convenience of site visitors and is furnished "
              "without responsibility for accuracy.")
G18 = [
    "2018-02-05,G (Feb 2018),16.15,33.35,15.2,33.2,33.225,17.6,567407,2700,222804",
    "2018-02-06,G (Feb 2018),0.0,24.0,25.0,0.0,23.875,-9.35,0,0,172816",
    "2018-02-14,G (Feb 2018),25.25,26.5,23.8,25.35,21.87,-3.355,6217,0,69651",
]
H18 = ["2018-02-05,H (Mar 2018),15.0,25.3,14.9,25.0,25.15,9.9,150000,0,300000"]


def csv(*rows: str, header: str = HEADER, disclaimer: bool = False) -> bytes:
    lines = ([DISCLAIMER] if disclaimer else []) + [header, *rows]
    return ("\n".join(lines) + "\n").encode()


def test_parses_rows_into_vx_futures_columns():
    out = cfe.parse(csv(*G18), "VX_2018-02-14.csv")
    table = schemas.get("vx_futures")
    table.conform(out.with_columns(ingested_at=pl.lit(NOW)))
    assert out.columns == [c for c in table.columns if c != "ingested_at"]
    assert out["symbol"].unique().to_list() == ["VX/G18"]
    assert out["expiry"].unique().to_list() == [dt.date(2018, 2, 14)]
    assert out["settle"].to_list() == [33.225, 23.875, 21.87]
    assert out["volume"].to_list() == [567407, 0, 6217]


def test_no_trade_day_keeps_settle_and_nulls_prices():
    row = cfe.parse(csv(*G18), "x.csv").row(1, named=True)
    assert row["no_trade"] is True
    assert [row[c] for c in ("open", "high", "low", "close")] == [None] * 4
    assert row["settle"] == 23.875 and row["change"] == -9.35


def test_disclaimer_line_is_optional():
    assert_frame_equal(cfe.parse(csv(*G18, disclaimer=True), "CFE_G18_VX.csv"),
                       cfe.parse(csv(*G18), "CFE_G18_VX.csv"))


def test_many_contracts_in_one_file_sorted_by_expiry():
    out = cfe.parse(csv(*H18, *G18), "vix_fut.csv")
    assert out["symbol"].to_list() == ["VX/G18"] * 3 + ["VX/H18"]
    assert out["expiry"].to_list()[-1] == dt.date(2018, 3, 21)


def test_two_digit_year_labels_and_us_dates():
    rows = ["01/14/2008,F (Jan 08),24.30,24.40,22.93,23.44,23.36,-1.60,2383,0,12570",
            "01/16/2008,F (Jan 08),0.00,0.00,0.00,0.00,24.18,0.14,0,0,10165"]
    out = cfe.parse(csv(*rows), "CFE_F08_VX.csv")
    assert out["symbol"].to_list() == ["VX/F08"] * 2
    assert out["expiry"].to_list() == [dt.date(2008, 1, 16)] * 2
    assert out["no_trade"].to_list() == [False, True]


def test_old_x10_scale_divided_and_switch_day_change_recomputed():
    rows = ["03/23/2007,K (May 08),0.00,0.00,0.00,0.00,155.20,-0.40,0,0,162",
            "03/26/2007,K (May 08),15.50,15.57,15.49,15.50,15.48,-139.72,33,0,169",
            "03/27/2007,K (May 08),15.60,15.60,15.60,15.60,15.58,0.10,1,0,174"]
    out = cfe.parse(csv(*rows), "CFE_VX_K2008.csv")
    assert out["settle"].to_list() == [15.52, 15.48, 15.58]
    assert out["change"].to_list() == [-0.04, -0.04, 0.10]


def test_zero_settle_is_missing_not_a_price():
    row = "2013-01-02,K (May 2013),20.35,20.35,19.5,19.55,0.0,0.0,9974,40,35493"
    out = cfe.parse(csv(row), "x.csv")
    assert out["settle"].to_list() == [None] and out["close"].to_list() == [19.55]


def test_exact_duplicate_rows_are_dropped():
    assert cfe.parse(csv(*G18, G18[0]), "x.csv").height == 3


def bad(payload: bytes, name: str = "VX_2018-02-14.csv") -> str:
    with pytest.raises(SourceDataError) as err:
        cfe.parse(payload, name)
    msg = str(err.value)
    assert "'cfe'" in msg and name in msg
    return msg


@pytest.mark.parametrize(("payload", "problem"), [
    (b"", "empty"),
    (b"  \n\n", "empty"),
    (csv(), "no data rows"),
    (b"<html><body>Service Unavailable</body></html>", "HTML"),
    (csv(*G18, header=HEADER.replace("Settle", "Settlement")), "missing or renamed column"),
    (csv(*(r.rsplit(",", 1)[0] for r in G18), header=HEADER.replace(",Open Interest", "")),
     "missing or renamed column(s) ['Open Interest']"),
    (csv(G18[0] + ",7"), "a row has more fields than the header"),
    (csv(G18[0].replace("33.225", "n/a")), "bad value 'n/a' in column 'Settle' at line 2"),
    (csv(G18[0], G18[0].replace("33.225", "33.3")), "different rows for trade date 2018-02-05"),
    (csv(G18[0].replace("16.15", "-16.15")), "negative Open"),
    (csv(*G18)[:-40], "incomplete row at last row, line 4 (truncated file?)"),
    (csv(G18[0].replace(",33.225,", ",,"), G18[2]), "incomplete row at line 2"),
    (csv(G18[0].replace("2018-02-05", "2018-02-31")), "bad value '2018-02-31'"),
    (csv(G18[0].replace("G (Feb 2018)", "G (Mar 2018)")), "unrecognised contract label"),
    (csv(G18[0].replace("2018-02-05", "2018-02-15")), "after the expiry"),
])
def test_bad_input_names_source_file_and_problem(payload, problem):
    assert problem in bad(payload)


def test_file_name_expiry_must_match_the_label():
    assert "not on the date in the file name" in bad(csv(*H18), "VX_2018-02-14.csv")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.decimals("0.05", "150", places=4), min_size=1, max_size=20))
def test_settles_of_any_precision_round_trip(settles):
    days = pl.date_range(dt.date(2017, 6, 1), dt.date(2018, 2, 14), eager=True)
    rows = [f"{d},G (Feb 2018),10,11,9,10,{s},0,5,0,5"
            for d, s in zip(days.to_list(), settles, strict=False)]
    out = cfe.parse(csv(*rows), "x.csv")
    assert out["settle"].to_list() == [float(s) for s in settles]


def test_plan_fetches_every_contract_listed_in_the_window(tmp_path):
    cfg = config.load(overrides={"cfe": {"url": "http://127.0.0.1:9/VX/VX_{expiry}.csv"}})
    day = cfe.plan(Run(Lake(tmp_path), cfg, dt.date(2018, 2, 14), NOW))
    assert day[:2] == [("VX_2018-02-14.csv", "http://127.0.0.1:9/VX/VX_2018-02-14.csv"),
                       ("VX_2018-03-21.csv", "http://127.0.0.1:9/VX/VX_2018-03-21.csv")]
    assert len(day) == 9  # CFE lists nine monthly contracts, the expiring one included
    window = cfe.plan(Run(Lake(tmp_path), cfg, dt.date(2018, 2, 14), NOW,
                          start=dt.date(2018, 1, 2), end=dt.date(2018, 2, 14)))
    assert window[0][0] == "VX_2018-01-17.csv" and len(window) == 10


# --- real files -------------------------------------------------------------------------

def parsed(*parts: str) -> pl.DataFrame:
    path = shared("vx_futures", *parts)
    return cfe.parse(path.read_bytes(), path.name)


def value(frame: pl.DataFrame, symbol: str, day: dt.date, col: str = "settle"):
    return frame.filter((pl.col("symbol") == symbol) & (pl.col("trade_date") == day))[col].item()


@pytest.mark.realdata
def test_combined_2013_2025_file_counts_and_known_settles():
    out = parsed("cfe_vx_all_monthly_contracts_2013_2025.csv")
    assert out.height == 27399  # PROVENANCE.md
    assert out["symbol"].n_unique() == 154
    assert out["trade_date"].n_unique() == 3067
    assert value(out, "VX/G18", dt.date(2018, 2, 5)) == 33.225
    g18 = out.filter(pl.col("symbol") == "VX/G18")
    assert g18["expiry"].unique().to_list() == [dt.date(2018, 2, 14)]
    last = g18.sort("trade_date").row(-1, named=True)
    # CFE's file shows the final settlement value (SOQ) as the settle of the expiry day.
    assert last["trade_date"] == dt.date(2018, 2, 14) and last["settle"] == 21.87
    assert value(out, "VX/H20", dt.date(2020, 3, 16)) == 72.625
    assert value(out, "VX/Q24", dt.date(2024, 8, 5)) == 32.0986
    assert (out["trade_date"] <= out["expiry"]).all()
    traded = out.filter(~pl.col("no_trade"))
    assert traded.filter(pl.col("high") < pl.col("low")).height == 0
    assert out.filter(pl.col("no_trade"))["open"].null_count() == out["no_trade"].sum()


@pytest.mark.realdata
def test_real_zero_settles_are_missing_not_prices():
    # The combined file writes Settle 0.0 on 841 rows (e.g. K (May 2013) on 2013-01-02, which
    # traded at 19.55): no settle was published, so none is stored.
    out = parsed("cfe_vx_all_monthly_contracts_2013_2025.csv")
    assert out["settle"].null_count() == 841
    assert out.filter(pl.col("settle") == 0).height == 0
    assert value(out, "VX/K13", dt.date(2013, 1, 2)) is None
    assert value(out, "VX/K13", dt.date(2013, 1, 2), "close") == 19.55


@pytest.mark.realdata
def test_per_contract_2008_2015_files():
    folder = shared("vx_futures", "cfe_2008_2015")
    frames = [cfe.parse(p.read_bytes(), p.name) for p in sorted(folder.glob("CFE_*_VX.csv"))]
    assert len(frames) == 96
    # 17208 data lines (PROVENANCE.md's 17037 undercounts these files).
    assert sum(f.height for f in frames) == 17208
    f08 = parsed("cfe_2008_2015", "CFE_F08_VX.csv")
    assert f08["expiry"].unique().to_list() == [dt.date(2008, 1, 16)]
    last = f08.row(-1, named=True)
    assert last["trade_date"] == dt.date(2008, 1, 16) and last["no_trade"]
    assert last["settle"] == 24.18


@pytest.mark.realdata
def test_2006_2008_contracts_on_the_old_scale():
    k07 = parsed("CFE_VX_K2007.csv")
    k08 = parsed("CFE_VX_K2008.csv")
    assert (k07.height, k08.height) == (290, 525)
    assert value(k07, "VX/K07", dt.date(2006, 3, 23)) == 17.16
    assert value(k07, "VX/K07", dt.date(2007, 3, 26)) == 13.79
    assert value(k07, "VX/K07", dt.date(2007, 3, 26), "change") == -0.08
    assert k07["settle"].drop_nulls().max() < 40  # nothing left on the x10 scale
    assert k08["expiry"].unique().to_list() == [dt.date(2008, 5, 21)]
