import datetime as dt
import re

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from core.errors import SourceDataError
from sources import cboe, config
from storage import schemas
from tests.conftest import NOW, shared

OHLC = "DATE,OPEN,HIGH,LOW,CLOSE\n"
GOOD = OHLC + "03/13/2020,71.31,77.57,55.17,57.83\n03/16/2020,57.83,83.56,57.83,82.69\n"


def parse(text: str, name: str = "VIX_History.csv", **kw) -> pl.DataFrame:
    return cboe.parse(text.encode(), name, **kw)


def test_ohlc_file():
    got = parse(GOOD)
    want = pl.DataFrame({
        "symbol": ["VIX", "VIX"], "date": [dt.date(2020, 3, 13), dt.date(2020, 3, 16)],
        "open": [71.31, 57.83], "high": [77.57, 83.56], "low": [55.17, 57.83],
        "close": [57.83, 82.69]})
    assert_frame_equal(got, want)
    schemas.INDEX_DAILY.conform(got.with_columns(ingested_at=pl.lit(NOW)))


def test_value_only_file_takes_symbol_from_header_or_name():
    text = "DATE,VVIX\n03/06/2006,71.730000\n03/15/2006,15.710000\n"
    for name in ("VVIX_History.csv", "vvix.csv"):
        got = parse(text, name)
        assert got["symbol"].to_list() == ["VVIX", "VVIX"]
        assert got["close"].to_list() == [71.73, 15.71]
        assert got.select(pl.col("open", "high", "low").is_null().all()).row(0) == (True,) * 3
        assert got.schema == pl.Schema({"symbol": pl.String, "date": pl.Date, "open": pl.Float64,
                                        "high": pl.Float64, "low": pl.Float64,
                                        "close": pl.Float64})


def test_tolerates_bom_crlf_blank_lines_spaces_and_unsorted_rows():
    text = "\ufeffDATE, OPEN,HIGH,LOW,CLOSE\r\n03/16/2020,57.83,83.56,57.83, 82.69\r\n\r\n" \
           "03/13/2020,71.31,77.57,55.17,57.83\r\n"
    assert_frame_equal(parse(text), parse(GOOD))


def test_identical_duplicate_rows_are_dropped():
    assert_frame_equal(parse(GOOD + "03/16/2020,57.83,83.56,57.83,82.69\n"), parse(GOOD))


@pytest.mark.parametrize(("text", "name", "problem"), [
    (GOOD.replace("CLOSE", "LAST"), "VIX_History.csv",
     "unexpected header 'DATE,OPEN,HIGH,LOW,LAST'"),
    (GOOD.replace(",CLOSE", ""), "VIX_History.csv", "unexpected header"),
    (GOOD.replace("DATE,", "Day,"), "VIX_History.csv", "unexpected header"),
    (GOOD.replace("82.69", "n/a"), "VIX_History.csv", "not a number: CLOSE='n/a' at line 3"),
    (GOOD.replace("82.69", "inf"), "VIX_History.csv", "not a number: CLOSE='inf' at line 3"),
    (GOOD.replace("03/16/2020", "2020-16-03"), "VIX_History.csv", "not a MM/DD/YYYY date"),
    (GOOD + "03/16/2020,57.83,83.56,57.83,80.00\n", "VIX_History.csv",
     "date 2020-03-16 appears twice with different values (line 3: close=82.69; "
     "line 4: close=80.0)"),
    (GOOD.replace("57.83\n", "0\n", 1), "VIX_History.csv", "zero or negative price at line 2"),
    (GOOD.replace("55.17", "-55.17"), "VIX_History.csv", "zero or negative price at line 2"),
    ("DATE,SKEW\n01/02/1990,-126.09\n", "SKEW_History.csv", "zero or negative price"),
    (GOOD[:-12], "VIX_History.csv",
     "file looks truncated: last line 3 is '03/16/2020,57.83,83.56,,'"),
    (GOOD.replace("83.56,", ""), "VIX_History.csv", "missing value at line 3"),
    (GOOD + "03/17/2020,1,2,3,4,5\n", "VIX_History.csv", "not a readable CSV"),
    ("DATE,SKEW\n01/02/1990,126.09\n", "VVIX_History.csv",
     "file name says VVIX but the header says SKEW"),
    (GOOD, "prices.csv", "cannot tell the symbol"),
    (GOOD, "..VIX_History.csv", "unsafe symbol '..VIX'"),
    (OHLC, "VIX_History.csv", "no data rows"),
    ("", "VIX_History.csv", "empty body"),
    ("<html><body>Service unavailable</body></html>", "VIX_History.csv", "HTML page"),
])
def test_bad_input_names_source_file_and_problem(text, name, problem):
    with pytest.raises(SourceDataError) as err:
        parse(text, name)
    message = str(err.value)
    assert message.startswith(f"source 'cboe', file {name!r}: "), message
    assert problem in message, message


def test_zero_in_a_value_only_file_is_an_unpublished_value_and_is_dropped(caplog):
    got = parse("DATE,DSPX\n02/07/2018,30.1\n02/08/2018,0.0\n02/09/2018,29.5\n",
                "DSPX_History.csv")
    assert got["date"].to_list() == [dt.date(2018, 2, 7), dt.date(2018, 2, 9)]
    assert "2018-02-08" in caplog.text


def test_urls_cover_every_configured_symbol():
    got = cboe.urls(config.load())
    symbols = ["SPX", "VIX", "VIX9D", "VIX1D", "VIX3M", "VIX6M", "VVIX", "SKEW"]
    assert [n for n, _ in got] == [f"{s}_History.csv" for s in symbols]
    assert got[1][1] == "https://cdn.cboe.com/api/global/us_indices/daily_prices/VIX_History.csv"
    local = config.load(overrides={"cboe": {"url": "/data/cboe/{symbol}_History.csv",
                                            "symbols": ["VIX"]}})
    assert cboe.urls(local) == [("VIX_History.csv", "/data/cboe/VIX_History.csv")]


# -- properties ---------------------------------------------------------------------------
prices = st.floats(0.01, 20000, allow_nan=False).map(lambda x: round(x, 6))


@st.composite
def index_frames(draw) -> pl.DataFrame:
    days = sorted(draw(st.sets(st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)),
                               min_size=1, max_size=30)))
    close = draw(st.lists(prices, min_size=len(days), max_size=len(days)))
    if draw(st.booleans()):
        o, h, lo = ([None] * len(days),) * 3
    else:
        o, h, lo = (draw(st.lists(prices, min_size=len(days), max_size=len(days)))
                    for _ in range(3))
    symbol = draw(st.sampled_from(["VIX", "VVIX", "SKEW", "VIX9D"]))
    return pl.DataFrame({"symbol": symbol, "date": days, "open": o, "high": h, "low": lo,
                         "close": close}, schema=parse(GOOD).schema)


@settings(max_examples=60, deadline=None)
@given(index_frames())
def test_parse_inverts_render(frame):
    symbol = frame["symbol"][0]
    assert_frame_equal(cboe.parse(cboe.render(frame), f"{symbol}_History.csv"), frame)


# -- real files ---------------------------------------------------------------------------
def provenance_rows(prefix: str) -> dict[str, int]:
    """Row counts of the files under ``prefix`` as PROVENANCE.md lists them."""
    table = shared("PROVENANCE.md").read_text()
    rows = re.findall(rf"^\| ({re.escape(prefix)}[^ |]+) \| [^|]+ \| [^|]+ \| [^|]+ \| "
                      r"[^|]+ \| (\d+) \|", table, re.MULTILINE)
    return {path: int(n) for path, n in rows}


def history_files() -> list[str]:
    return sorted(p.name for p in shared("cboe").glob("*_History.csv"))


@pytest.mark.realdata
def test_every_cboe_history_file_parses_with_provenance_row_counts():
    counts = provenance_rows("cboe/")
    files = history_files()
    assert len(files) >= 10
    for name in files:
        got = cboe.parse(shared("cboe", name).read_bytes(), name)
        expected = counts[f"cboe/{name}"] - (1 if name == "DSPX_History.csv" else 0)
        assert got.height == expected, name
        assert got["symbol"].unique().to_list() == [name.removesuffix("_History.csv")]
        assert got["date"].is_sorted() and got["date"].is_unique().all()


@pytest.mark.realdata
def test_known_closes_on_2020_03_16():
    day = dt.date(2020, 3, 16)
    vix = cboe.parse(shared("cboe", "VIX_History.csv").read_bytes(), "VIX_History.csv")
    spx = cboe.parse(shared("cboe", "SPX_History.csv").read_bytes(), "SPX_History.csv")
    assert vix.filter(pl.col("date") == day).row(0, named=True) == {
        "symbol": "VIX", "date": day, "open": 57.83, "high": 83.56, "low": 57.83,
        "close": 82.69}
    assert spx.filter(pl.col("date") == day)["close"][0] == pytest.approx(2386.13, abs=0.005)


@pytest.mark.realdata
def test_vvix_early_2006_rows_are_kept_as_published():
    vvix = cboe.parse(shared("cboe", "VVIX_History.csv").read_bytes(), "VVIX_History.csv")
    assert vvix.filter(pl.col("date") == dt.date(2006, 3, 15))["close"][0] == 15.71
    assert vvix["date"][0] == dt.date(2006, 3, 6)


@pytest.mark.realdata
@pytest.mark.parametrize("symbol", ["VIX", "VVIX", "SKEW", "VIX3M", "VIX9D", "VIX6M"])
def test_render_reproduces_cboe_files_byte_for_byte(symbol):
    payload = shared("cboe", f"{symbol}_History.csv").read_bytes()
    assert cboe.render(cboe.parse(payload, f"{symbol}_History.csv")) == payload
