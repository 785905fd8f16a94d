import datetime as dt
import json

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from core.clock import NEW_YORK
from core.errors import SourceDataError
from sources import chains
from storage import schemas
from tests.conftest import shared
from tests.sources.writers import render_quotedata

UTC = dt.UTC
QUOTEDATA = ("options", "cboe_delayed_quotes")
DATASHOP = ("options", "vix_options_datashop_UnderlyingOptionsEODCalcs_2016-06-01.csv")

# file -> (strike rows per PROVENANCE.md, expirations, quote_date, snapshot UTC or None, roots)
QUOTEDATA_FILES = {
    "spx_quotedata_2022-02-04.csv": (10257, 40, "2022-02-04", "2022-02-06 01:09", "SPX SPXW"),
    "spx_quotedata_2022-06-10.csv": (9835, 44, "2022-06-10", "2022-06-12 00:47", "SPX SPXW"),
    "spx_quotedata_2022-07-12_intraday.csv": (9689, 47, "2022-07-12", "2022-07-12 15:55",
                                              "SPX SPXW"),
    "spx_quotedata_2022-09-13_reformatted.csv": (9677, 46, "2022-09-13", None, "SPX SPXW"),
    "spx_quotedata_2023-02-07.csv": (9481, 50, "2023-02-07", "2023-02-07 22:34", "SPX SPXW"),
    "spx_quotedata_2023-06-09.csv": (8894, 49, "2023-06-09", "2023-06-09 17:40", "SPX SPXW"),
    "spx_quotedata_2023-08-18.csv": (10171, 50, "2023-08-18", "2023-08-21 02:42", "SPX SPXW"),
    "spx_quotedata_2023-09-14.csv": (9960, 53, "2023-09-14", "2023-09-14 20:31", "SPX SPXW"),
    "spx_quotedata_2024-01-05.csv": (10519, 55, "2024-01-05", "2024-01-07 15:52", "SPX SPXW"),
    # Spanish date line, 08:02 ET on Monday 11 Nov: before the open -> Friday's session.
    "spx_quotedata_2024-11-11_partial.csv": (280, 14, "2024-11-08", "2024-11-11 13:02",
                                             "SPX SPXW"),
    "spx_quotedata_2025-01-06_FEBexp.csv": (2172, 12, "2025-01-06", "2025-01-07 01:48",
                                            "SPX SPXW"),
    "spx_quotedata_2025-01-06_JANexp.csv": (4242, 19, "2025-01-06", "2025-01-07 02:26",
                                            "SPX SPXW"),
    "spy_quotedata_2023-09-14.csv": (3646, 31, "2023-09-14", "2023-09-14 20:31", "SPY"),
}
EXPECTED_COLUMNS = [c for c in schemas.get("option_chain").columns if c != "ingested_at"]


def _parse_shared(*parts: str) -> pl.DataFrame:
    path = shared(*parts)
    return chains.parse(path.read_bytes(), path.name)


def _row(frame: pl.DataFrame, root: str, expiration: str, strike: float, right: str) -> dict:
    hit = frame.filter(pl.col("root") == root, pl.col("expiration") == dt.date.fromisoformat(
        expiration), pl.col("strike") == strike, pl.col("right") == right)
    assert hit.height == 1
    return hit.row(0, named=True)


# ---------------------------------------------------------------- real quotedata files


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(QUOTEDATA_FILES))
def test_every_quotedata_file_parses_with_provenance_counts(name: str) -> None:
    strikes, expirations, quote_date, snapshot, roots = QUOTEDATA_FILES[name]
    frame = _parse_shared(*QUOTEDATA, name)
    assert frame.columns == EXPECTED_COLUMNS
    assert frame.height == 2 * strikes  # one call and one put per strike row
    assert frame["expiration"].n_unique() == expirations
    assert frame["quote_date"].unique().to_list() == [dt.date.fromisoformat(quote_date)]
    assert sorted(frame["root"].unique()) == roots.split()
    assert frame["right"].value_counts()["count"].to_list() == [strikes, strikes]
    want = None if snapshot is None else dt.datetime.fromisoformat(snapshot).replace(tzinfo=UTC)
    assert frame["snapshot_at"][0] == want
    schemas.get("option_chain").conform(frame.with_columns(
        pl.lit(dt.datetime(2026, 1, 1, tzinfo=UTC)).alias("ingested_at")))


def test_every_shared_quotedata_file_is_listed() -> None:
    folder = shared(*QUOTEDATA)
    assert sorted(p.name for p in folder.glob("*.csv")) == sorted(QUOTEDATA_FILES)


@pytest.mark.realdata
def test_spanish_partial_file_values_match_the_raw_rows() -> None:
    # Raw: Mon Nov 11 2024,SPXW241111C05950000,50.63,25.74,71.8,77,585,0.195,0.9732,0.0016,1710,
    #      5950.00,SPXW241111P05950000,2,-2.05,0.35,0.4,6400,0.2082,-0.0268,0.0016,2883
    frame = _parse_shared(*QUOTEDATA, "spx_quotedata_2024-11-11_partial.csv")
    call = _row(frame, "SPXW", "2024-11-11", 5950.0, "C")
    assert (call["last"], call["bid"], call["ask"], call["volume"], call["iv"], call["delta"],
            call["gamma"], call["open_interest"]) == (50.63, 71.8, 77.0, 585, 0.195, 0.9732,
                                                      0.0016, 1710)
    put = _row(frame, "SPXW", "2024-11-11", 5950.0, "P")
    assert (put["last"], put["bid"], put["ask"], put["volume"], put["delta"],
            put["open_interest"]) == (2.0, 0.35, 0.4, 6400, -0.0268, 2883)
    assert put["underlying"] == 5995.54 and put["vega"] is None


@pytest.mark.realdata
def test_monthly_and_weekly_roots_are_kept_apart() -> None:
    # Raw: Fri Aug 18 2023,SPX230818C00200000,4249.1,0,0,0,0,0,0,0,34,200.00,...,411
    #      Fri Aug 18 2023,SPXW230818C00200000,4320.14,0,4146,4191.5,0,0,0,0,74,200.00,...,216
    frame = _parse_shared(*QUOTEDATA, "spx_quotedata_2023-08-18.csv")
    assert _row(frame, "SPX", "2023-08-18", 200.0, "C")["last"] == 4249.1
    assert _row(frame, "SPX", "2023-08-18", 200.0, "P")["open_interest"] == 411
    weekly = _row(frame, "SPXW", "2023-08-18", 200.0, "C")
    assert (weekly["bid"], weekly["ask"], weekly["open_interest"]) == (4146.0, 4191.5, 74)


@pytest.mark.realdata
def test_reformatted_export_reads_day_first_expirations() -> None:
    # Raw last row: 17-12-27,SPX271217C12000000,11,-2.05,1.4,20.6,10,0,0.0213,0,0,12000,...
    frame = _parse_shared(*QUOTEDATA, "spx_quotedata_2022-09-13_reformatted.csv")
    call = _row(frame, "SPX", "2027-12-17", 12000.0, "C")
    assert (call["last"], call["bid"], call["ask"], call["volume"]) == (11.0, 1.4, 20.6, 10)
    assert frame["underlying"].null_count() == frame.height


@pytest.mark.realdata
def test_unquoted_date_line_with_trailing_commas_and_intraday_time() -> None:
    # "Date: 9 June 2023, 1:40 PM EDT,Bid: ..." is not quoted, so its comma splits the cell.
    frame = _parse_shared(*QUOTEDATA, "spx_quotedata_2023-06-09.csv")
    assert frame["snapshot_at"][0] == dt.datetime(2023, 6, 9, 17, 40, tzinfo=UTC)
    assert frame["underlying"][0] == 4300.0098


# ---------------------------------------------------------------- DataShop


@pytest.mark.realdata
def test_datashop_eod_calcs_file() -> None:
    # Raw: ^VIX,2016-06-01,VIX,2016-11-16,70.000,P,...,2352,50.1000,4505,50.3000,14.2400,14.2400,
    #      19.7079,14.2400,0.7842,-0.9828,0.0041,-0.0005,0.0057,-31.9707,...,35,
    frame = _parse_shared(*DATASHOP)
    assert frame.height == 724 and frame.columns == EXPECTED_COLUMNS
    assert frame["quote_date"].unique().to_list() == [dt.date(2016, 6, 1)]
    assert frame["snapshot_at"][0] == dt.datetime(2016, 6, 1, 19, 45, tzinfo=UTC)  # 15:45 EDT
    put = _row(frame, "VIX", "2016-11-16", 70.0, "P")
    assert (put["bid"], put["ask"], put["iv"], put["delta"], put["gamma"], put["vega"],
            put["underlying"], put["open_interest"]) == (50.1, 50.3, 0.7842, -0.9828, 0.0041,
                                                         0.0057, 14.24, 35)


def test_datashop_missing_column_is_named() -> None:
    header = ("underlying_symbol,quote_date,root,expiration,strike,option_type,close,"
              "trade_volume,bid_1545,ask_1545\n")
    body = "^SPX,2020-03-16,SPX,2020-03-20,2400,P,10,5,9.5,10.5\n"
    with pytest.raises(SourceDataError, match=r"chains.*eod\.csv.*implied_volatility_1545"):
        chains.parse((header + body).encode(), "eod.csv")


# ---------------------------------------------------------------- OCC symbols


@given(
    root=st.sampled_from(["SPX", "SPXW", "SPY", "VIX", "VIXW", "XSP", "NDXP"]),
    expiration=st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)),
    right=st.sampled_from(["C", "P"]),
    strike_thousandths=st.integers(1, 99_999_999),
)
def test_occ_symbol_round_trip(root: str, expiration: dt.date, right: str,
                               strike_thousandths: int) -> None:
    strike = strike_thousandths / 1000
    symbol = chains.occ_symbol(root, expiration, right, strike)
    assert len(symbol) == len(root) + 15
    decoded = chains.decode_occ(pl.Series([symbol])).row(0, named=True)
    assert decoded == {"root": root, "expiration": expiration, "right": right, "strike": strike}


def test_occ_decode_of_padded_and_malformed_symbols() -> None:
    decoded = chains.decode_occ(pl.Series(["SPXW  250117P05000000", "SPX250117X05000000"]))
    assert decoded.row(0) == ("SPXW", dt.date(2025, 1, 17), "P", 5000.0)
    assert decoded.row(1) == (None, None, None, None)


# ---------------------------------------------------------------- delayed-quotes JSON


def _option(symbol: str, **values: float) -> dict:
    base = {"option": symbol, "bid": 1.0, "bid_size": 10, "ask": 1.2, "ask_size": 12,
            "iv": 0.2, "open_interest": 100, "volume": 5, "delta": 0.5, "gamma": 0.001,
            "theta": -1.5, "rho": 0.3, "vega": 2.5, "theo": 1.1, "change": 0.1, "open": 1.0,
            "high": 1.3, "low": 0.9, "tick": "up", "last_trade_price": 1.15,
            "last_trade_time": "2025-01-10T15:59:58", "percent_change": 9.5,
            "prev_day_close": 1.05}
    return base | values


def _delayed_quotes(options: list[dict], timestamp: str = "2025-01-10 16:15:02") -> bytes:
    doc = {"timestamp": timestamp, "data": {
        "symbol": "_SPX", "security_type": "index", "exchange_id": 5, "current_price": 5827.04,
        "price_change": -91.21, "price_change_percent": -1.54, "bid": 0, "ask": 0,
        "bid_size": 0, "ask_size": 0, "open": 5890.66, "high": 5890.66, "low": 5800.42,
        "close": 5827.04, "prev_day_close": 5918.25, "volume": 0, "iv30": 17.45,
        "iv30_change": 1.2, "iv30_change_percent": 7.38, "seqno": 1234,
        "last_trade_time": "2025-01-10T16:59:59", "tick": "down", "options": options}}
    return json.dumps(doc).encode()


def test_delayed_quotes_json_in_the_real_layout() -> None:
    payload = _delayed_quotes([
        _option("SPXW250117P05000000", bid=2.1, ask=2.3, delta=-0.03, volume=1500),
        _option("SPX250321C06000000", open_interest=25_000, iv=0.155, vega=11.2),
        _option("SPXW250110C05825000", bid=0, ask=0.05, last_trade_price=4.2),
    ])
    frame = chains.parse(payload, "_SPX.json")
    assert frame.columns == EXPECTED_COLUMNS and frame.height == 3
    put = _row(frame, "SPXW", "2025-01-17", 5000.0, "P")
    assert (put["bid"], put["ask"], put["delta"], put["volume"], put["last"]) == (
        2.1, 2.3, -0.03, 1500, 1.15)
    call = _row(frame, "SPX", "2025-03-21", 6000.0, "C")
    assert (call["open_interest"], call["iv"], call["vega"]) == (25_000, 0.155, 11.2)
    assert call["underlying"] == 5827.04
    # Friday 16:15 New York time: after the close, so Friday's session.
    assert frame["quote_date"].unique().to_list() == [dt.date(2025, 1, 10)]
    assert frame["snapshot_at"][0] == dt.datetime(2025, 1, 10, 21, 15, 2, tzinfo=UTC)


def test_json_saturday_snapshot_belongs_to_friday() -> None:
    payload = _delayed_quotes([_option("SPXW250117P05000000")], "2025-01-11T10:00:00Z")
    assert chains.parse(payload, "_SPX.json")["quote_date"][0] == dt.date(2025, 1, 10)


@pytest.mark.parametrize(("payload", "problem"), [
    (b'{"timestamp": "2025-01-10 16:15:02", "data": {"options": [{"option": "SPXW25', "trunc"),
    (b'{"timestamp": "2025-01-10 16:15:02", "data": {"current_price": 1}}', "data.options"),
    (b'{"timestamp": "2025-01-10 16:15:02", "data": {"options": []}}', "empty"),
    (b'[{"option": "SPXW250117P05000000"}]', "no data.options"),
    (b'{"data": {"options": [{"option": "SPXW250117P05000000"}]}}', "no timestamp"),
])
def test_bad_json(payload: bytes, problem: str) -> None:
    with pytest.raises(SourceDataError, match=rf"'chains'.*'_SPX.json'.*{problem}"):
        chains.parse(payload, "_SPX.json")


def test_json_snapshot_outside_the_calendar_is_an_error() -> None:
    payload = _delayed_quotes([_option("SPXW250117P05000000")], "1979-12-31 16:15:00")
    with pytest.raises(SourceDataError, match="outside the NYSE calendar"):
        chains.parse(payload, "_SPX.json")


def test_json_missing_field_bad_symbol_and_non_numeric() -> None:
    no_iv = _option("SPXW250117P05000000")
    del no_iv["iv"]
    with pytest.raises(SourceDataError, match=r"missing column.*'iv'"):
        chains.parse(_delayed_quotes([no_iv]), "_SPX.json")
    with pytest.raises(SourceDataError, match=r"malformed option symbol 'SPXW2501P5000'"):
        chains.parse(_delayed_quotes([_option("SPXW2501P5000")]), "_SPX.json")
    nested = _option("SPXW250117P05000000", gamma={"value": 0.1})  # type: ignore[arg-type]
    with pytest.raises(SourceDataError, match=r"column 'gamma' holds Struct"):
        chains.parse(_delayed_quotes([nested]), "_SPX.json")
    text = _option("SPXW250117P05000000", bid="n/a")  # type: ignore[arg-type]
    with pytest.raises(SourceDataError, match=r"non-numeric value 'n/a' in column 'bid'"):
        chains.parse(_delayed_quotes([_option("SPXW250117C05000000"), text]), "_SPX.json")


# ---------------------------------------------------------------- date lines and sessions


@pytest.mark.parametrize(("line", "utc"), [
    ('"Date: February 5 2022, 8:09 PM EST"', "2022-02-06 01:09"),
    ('"Date: June 11, 2022, 8:47 PM EDT"', "2022-06-12 00:47"),
    ('"Date: February 7, 2023 at 5:34 PM EST"', "2023-02-07 22:34"),
    ("Date: 9 June 2023, 1:40 PM EDT", "2023-06-09 17:40"),
    ('"Date: 11 de noviembre de 2024, 8:02 GMT-5"', "2024-11-11 13:02"),
    ("Date: 11 de noviembre de 2024, 20:02 p. m.", "2024-11-12 01:02"),  # no zone -> New York
    ("Date: 11 novembre 2024 à 08:02 UTC\u22125", "2024-11-11 13:02"),
    ("Date: 7 févr. 2023, 17:34 HNE", "2023-02-07 22:34"),
    ("Date: 11. November 2024 um 08:02 GMT-5", "2024-11-11 13:02"),
    ("Date: 9. März 2023, 14:02 MEZ", "2023-03-09 13:02"),
    ("Date: mar. 12 nov. 2024, 16:31 UTC-5", "2024-11-12 21:31"),  # "mar." is mardi here
    ("Date: 11 novembre 2024 alle ore 08:02 GMT-5", "2024-11-11 13:02"),
    ("Date: 11 de novembro de 2024 às 08:02 GMT-05:00", "2024-11-11 13:02"),
    ("Date: 11/12/2024, 8:02 AM EST", "2024-11-12 13:02"),  # US: month first
    ("Date: 12/11/2024, 08:02 GMT-5", "2024-11-12 13:02"),  # 24h locales: day first
    ("Date: 11.12.2024, 08:02 GMT-5", "2024-12-11 13:02"),
    ("Date: 2024-11-12 08:02 GMT-5", "2024-11-12 13:02"),
    # Locales the old six-language table did not know.
    ("Date: 2024年11月11日 16:31", "2024-11-11 21:31"),  # no zone -> New York
    ("Date: 2024年11月11日 16:31 GMT-5", "2024-11-11 21:31"),
    ("Date: 11 ноября 2024 г., 16:31 GMT-5", "2024-11-11 21:31"),
    ("Date: 11 listopada 2024 16:31 GMT-5", "2024-11-11 21:31"),
    ("Date: 11 november 2024 om 16:31 GMT-5", "2024-11-11 21:31"),
    ("Date: 11 Kasım 2024 16:31 GMT-5", "2024-11-11 21:31"),
    ("Date: 11. marraskuuta 2024 klo 16.31 UTC-5", "2024-11-11 21:31"),
    ("Date: 2024년 11월 11일 오후 4:31 GMT-5", "2024-11-11 21:31"),
    ("Date: 11 Νοεμβρίου 2024, 4:31 μ.μ. GMT-5", "2024-11-11 21:31"),
    ("Date: 9 sept. 2023, 16:31 UTC-4", "2023-09-09 20:31"),
])
def test_locale_date_lines(line: str, utc: str) -> None:
    want = dt.datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert chains.snapshot_time(line) == want


@pytest.mark.parametrize(("line", "problem"), [
    ("Date: mañana, 8:02", "no recognisable date"),
    ("Date: 11 de noviembre, 8:02 GMT-5", "no recognisable date"),  # no year
    ("Date: 11 de noviembre de 2024", "no time of day"),
])
def test_unreadable_date_line_is_named(line: str, problem: str) -> None:
    text = ("\nS&P 500 INDEX,Last: 5995.54,Change:  0\n"
            f'"{line}",Bid: 5960.52,Ask: 6045.21,Size: 1*1,Volume: 0\n'
            + ",".join(chains.QUOTEDATA_HEADER) + "\n" + _QUOTEDATA_ROW)
    with pytest.raises(SourceDataError, match=rf"'chains'.*'q.csv'.*unrecognised date line "
                                              rf"'{line}' \({problem}\)"):
        chains.parse(text.encode(), "q.csv")


def test_date_line_after_the_chain_s_nearest_expiry_is_refused() -> None:
    ok = _quotedata().replace(b"November 11, 2024 at 4:31 PM EST", b"11.11.2024, 16:31 GMT-5")
    assert chains.parse(ok, "q.csv")["quote_date"][0] == dt.date(2024, 11, 11)
    # Day and month swapped: on a US page 12/11/2024 is December 11, a month after the only
    # expiration the option symbols name.
    swapped = _quotedata().replace(b"November 11, 2024 at 4:31 PM EST",
                                   b"12/11/2024, 4:31 PM EST")
    with pytest.raises(SourceDataError, match=r"'chains', file 'q.csv': quote date 2024-12-11 "
                       r"\(from the date line 'Date: 12/11/2024, 4:31 PM EST'\) is after the "
                       r"nearest expiration the option symbols name \(2024-11-11\)"):
        chains.parse(swapped, "q.csv")


@pytest.mark.realdata
@pytest.mark.parametrize("line", [
    "Date: 2024年11月11日 8:02 GMT-5",
    "Date: 11 ноября 2024 г., 8:02 GMT-5",
    "Date: 11 listopada 2024 08:02 GMT-5",
    "Date: 2024년 11월 11일 오전 8:02 GMT-5",
])
def test_real_export_with_its_date_line_in_another_locale(line: str) -> None:
    path = shared("options", "cboe_delayed_quotes", "spx_quotedata_2024-11-11_partial.csv")
    payload = path.read_bytes()
    spanish = b'"Date: 11 de noviembre de 2024, 8:02 GMT-5"'
    assert spanish in payload
    translated = payload.replace(spanish, f'"{line}"'.encode())
    assert_frame_equal(chains.parse(translated, path.name), chains.parse(payload, path.name))


@pytest.mark.parametrize(("new_york", "session"), [
    ("2025-01-11 14:00", "2025-01-10"),  # Saturday -> Friday
    ("2025-01-13 08:00", "2025-01-10"),  # Monday before the open -> Friday
    ("2025-01-15 17:00", "2025-01-15"),  # Wednesday after the close -> Wednesday
    ("2025-01-15 11:55", "2025-01-15"),  # intraday
    ("2025-01-15 09:30", "2025-01-15"),  # at the open
    ("2024-07-04 12:00", "2024-07-03"),  # Independence Day -> the (early-close) day before
    ("2025-01-21 06:00", "2025-01-17"),  # before the open after the MLK long weekend
])
def test_quote_date_session_mapping(new_york: str, session: str) -> None:
    at = dt.datetime.fromisoformat(new_york).replace(tzinfo=NEW_YORK)
    assert chains.session_of(at) == dt.date.fromisoformat(session)


# ---------------------------------------------------------------- bad quotedata input

_QUOTEDATA_ROW = ("Mon Nov 11 2024,SPXW241111C05950000,50.63,25.74,71.8,77,585,0.195,0.9732,"
                  "0.0016,1710,5950.00,SPXW241111P05950000,2,-2.05,0.35,0.4,6400,0.2082,"
                  "-0.0268,0.0016,2883\n")


def _quotedata(rows: str = _QUOTEDATA_ROW, header: str = ",".join(chains.QUOTEDATA_HEADER)
               ) -> bytes:
    return ("\nS&P 500 INDEX,Last: 5995.54,Change:  0\n"
            '"Date: November 11, 2024 at 4:31 PM EST",Bid: 5960.52,Ask: 6045.21,Size: 1*1\n'
            + header + "\n" + rows).encode()


def test_small_quotedata_fixture_parses() -> None:
    frame = chains.parse(_quotedata(), "q.csv")
    assert frame.height == 2 and frame["quote_date"][0] == dt.date(2024, 11, 11)
    assert frame["right"].to_list() == ["C", "P"]


def test_quoted_thousands_separators_are_numbers() -> None:
    row = _QUOTEDATA_ROW.replace(",6400,", ',"6,400",').replace(",1710,", ',"1,710",')
    frame = chains.parse(_quotedata(_QUOTEDATA_ROW.replace("5950", "5955") + row), "q.csv")
    assert frame.filter(pl.col("strike") == 5950)["volume"].to_list() == [585, 6400]
    assert frame.filter(pl.col("strike") == 5950)["open_interest"].to_list() == [1710, 2883]


def test_crossed_quote_is_not_a_parse_error() -> None:
    crossed = _QUOTEDATA_ROW.replace(",71.8,77,", ",78,77,")
    assert chains.parse(_quotedata(crossed), "q.csv").filter(pl.col("right") == "C")["bid"][0] == 78


@pytest.mark.parametrize(("payload", "problem"), [
    (b"", "empty payload"),
    (b"  \r\n ", "empty payload"),
    (b"<!DOCTYPE html><html><body>Access Denied</body></html>", "HTML page"),
    (b"date,value\n2024-01-01,1\n", "unknown chain layout"),
    (_quotedata(_QUOTEDATA_ROW * 2 + _QUOTEDATA_ROW[:60]), "truncated"),
    (_quotedata(header=",".join(chains.QUOTEDATA_HEADER).replace("Bid", "Bid Price", 1)),
     "header column 5 is 'Bid Price', expected 'Bid'"),
    (_quotedata(header=",".join(chains.QUOTEDATA_HEADER[:-1])),
     "header column 22 is None, expected 'Open Interest'"),
    (_quotedata(_QUOTEDATA_ROW.replace(",585,", ",lots,")), "non-numeric value 'lots'.*volume"),
    (_quotedata(_QUOTEDATA_ROW.replace(",0.35,0.4,", ",-0.35,0.4,")), "negative bid -0.35"),
    (_quotedata(_QUOTEDATA_ROW.replace("Mon Nov 11 2024", "Tue Nov 12 2024")),
     "disagrees with the option symbol"),
    (_quotedata(_QUOTEDATA_ROW.replace("Mon Nov 11 2024", "someday")),
     "unreadable expiration 'someday'"),
    (_quotedata(_QUOTEDATA_ROW * 2), "repeat a contract"),
    (_quotedata(_QUOTEDATA_ROW.replace(",5950.00,", ",5900.00,")),
     "strike 5900.0 disagrees with the option symbol 'SPXW241111C05950000'"),
])
def test_bad_quotedata(payload: bytes, problem: str) -> None:
    with pytest.raises(SourceDataError, match=rf"source 'chains', file 'q.csv': .*{problem}"):
        chains.parse(payload, "q.csv")


def test_reformatted_export_without_date_in_name_is_an_error() -> None:
    body = ",".join(chains.QUOTEDATA_HEADER) + "\n" + _QUOTEDATA_ROW
    with pytest.raises(SourceDataError, match="no metadata date line"):
        chains.parse(body.encode(), "spx_quotedata.csv")
    frame = chains.parse(body.encode(), "spx_quotedata_2024-11-11_reformatted.csv")
    assert frame["quote_date"][0] == dt.date(2024, 11, 11) and frame["snapshot_at"][0] is None


@pytest.mark.realdata
def test_truncated_real_file() -> None:
    path = shared(*QUOTEDATA, "spx_quotedata_2024-01-05.csv")
    cut = path.read_bytes()[:700_000]
    cut = cut[: cut.rindex(b",SPXW")]  # stop mid-row, right after an expiration cell
    with pytest.raises(SourceDataError, match=r"'spx_quotedata_2024-01-05.csv'.*truncated"):
        chains.parse(cut, path.name)


# ---------------------------------------------------------------- writers round-trip


def _chain() -> pl.DataFrame:
    snapshot = dt.datetime(2025, 1, 10, 21, 15, tzinfo=UTC)  # Friday 16:15 New York
    rows = [("SPX", "2025-03-21", 6000.0, "C", 25.1, 25.6, 24.9, 12, 25_000, 0.155, 0.31, 0.0012,
             11.2), ("SPX", "2025-03-21", 6000.0, "P", 190.2, 191.4, 0.0, 0, 8_000, 0.161,
                     -0.69, 0.0012, 11.3),
            ("SPXW", "2025-03-21", 6000.0, "C", 25.2, 25.7, 25.0, 3, 900, 0.156, 0.31, 0.0012,
             11.2), ("SPXW", "2025-03-21", 6000.0, "P", 190.0, 191.5, 190.5, 1, 40, 0.16, -0.69,
                     0.0012, 11.3),
            ("SPXW", "2025-01-17", 5002.5, "C", 820.0, 830.5, 0.0, 0, 0, 0.42, 0.99, 0.0, 0.1),
            ("SPXW", "2025-01-17", 5002.5, "P", 0.0, 0.05, 0.05, 7, 1500, 0.38, -0.001, 0.0,
             0.02)]
    frame = pl.DataFrame(rows, orient="row", schema=["root", "expiration", "strike", "right",
                                                     "bid", "ask", "last", "volume",
                                                     "open_interest", "iv", "delta", "gamma",
                                                     "vega"])
    return frame.with_columns(
        pl.col("expiration").str.to_date(), quote_date=dt.date(2025, 1, 10),
        underlying=5827.04, snapshot_at=pl.lit(snapshot, schemas.UTC_TS),
    ).select(EXPECTED_COLUMNS)


def test_delayed_json_writer_round_trips() -> None:
    chain = _chain()
    assert_frame_equal(chains.parse(chains.render_delayed_json(chain), "_SPX.json"),
                       chain.sort("root", "expiration", "strike", "right"))


def test_datashop_writer_round_trips_at_its_1545_snapshot() -> None:
    at = dt.datetime(2025, 1, 10, 20, 45, tzinfo=UTC)  # 15:45 New York, DataShop's calcs
    chain = _chain().with_columns(snapshot_at=pl.lit(at, schemas.UTC_TS))
    payload = chains.render_datashop(chain)
    assert b",5002.500," in payload  # strikes keep their fraction
    assert_frame_equal(chains.parse(payload, "UnderlyingOptionsEODCalcs_2025-01-10.csv"),
                       chain.sort("root", "expiration", "strike", "right"))


def test_quotedata_writer_round_trips_without_vega() -> None:
    chain = _chain()
    payload = render_quotedata(chain)
    assert payload.splitlines()[2] == (b'"Date: January 10, 2025 at 4:15 PM EST",Bid: 5827.04,'
                                       b"Ask: 5827.04,Size: 1*1,Volume: 0")
    assert_frame_equal(chains.parse(payload, "spx_quotedata.csv"),
                       chain.with_columns(vega=pl.lit(None, pl.Float64))
                       .sort("root", "expiration", "strike", "right"))


@pytest.mark.realdata
def test_vix_options_are_stored_like_spx_ones_in_both_layouts() -> None:
    """The real VIX chain (DataShop, root VIX: no weeklys in 2016) parses to option_chain
    rows, and the same rows written as a quotedata export parse back equal: the calibration
    reads either."""
    path = shared("options", "vix_options_datashop_UnderlyingOptionsEODCalcs_2016-06-01.csv")
    vix = chains.parse(path.read_bytes(), path.name)
    assert set(vix["root"]) == {"VIX"} and vix["quote_date"].n_unique() == 1  # monthlies only
    two_sided = vix.filter(pl.col("bid") > 0).join(
        vix.filter(pl.col("bid") > 0).group_by("root", "expiration", "strike").len()
        .filter(pl.col("len") == 2).drop("len"), on=["root", "expiration", "strike"])
    payload = render_quotedata(two_sided, title="CBOE Volatility Index")
    back = chains.parse(payload, "vix_quotedata_2016-06-01.csv")
    assert back.height == two_sided.height and set(back["root"]) == {"VIX"}
    assert_frame_equal(back.select("root", "expiration", "strike", "right", "bid", "ask")
                       .sort("root", "expiration", "strike", "right"),
                       two_sided.select("root", "expiration", "strike", "right", "bid", "ask")
                       .sort("root", "expiration", "strike", "right"))


# ---------------------------------------------------------------- locations and HTTP


def test_urls_for_snapshot_and_history() -> None:
    from sources import config

    cfg = config.load(None, overrides={"chains": {"history_url": "/data/chains/spx_{date}.json"}})
    got = chains.urls(cfg, [dt.date(2024, 1, 5)])
    assert got[0] == ("_SPX.json", cfg.chains.snapshot_url)
    assert got[1] == ("spx_chain_2024-01-05.json", "/data/chains/spx_2024-01-05.json")


def test_snapshot_over_http(httpserver) -> None:  # type: ignore[no-untyped-def]
    from sources.http import HttpClient

    chain = _chain()
    httpserver.expect_request("/api/global/delayed_quotes/options/_SPX.json").respond_with_data(
        chains.render_delayed_json(chain), content_type="application/json")
    httpserver.expect_request("/maintenance").respond_with_data(
        "<html><body>Down for maintenance</body></html>", content_type="text/html")
    with HttpClient(retries=0) as client:
        got = client.fetch(httpserver.url_for("/api/global/delayed_quotes/options/_SPX.json"),
                           source="chains")
        page = client.fetch(httpserver.url_for("/maintenance"), source="chains")
    assert_frame_equal(chains.parse(got.payload, "_SPX.json"),
                       chain.sort("root", "expiration", "strike", "right"))
    with pytest.raises(SourceDataError, match="'chains'.*'_SPX.json'.*HTML page"):
        chains.parse(page.payload, "_SPX.json")


_LOCALE_LINES = {
    "en": "Date: {month} {d}, {y} at {h12}:{mi} {ampm} GMT-5",
    "es": "Date: {d} de {month} de {y}, {h}:{mi} GMT-5",
    "fr": "Date: {d} {month} {y} à {h}:{mi} UTC\u22125",
    "de": "Date: {d}. {month} {y} um {h}:{mi} GMT-5",
    "it": "Date: {d} {month} {y} alle ore {h}:{mi} GMT-5",
    "pt": "Date: {d} de {month} de {y} às {h}:{mi} GMT-05:00",
}


_MONTH_NAMES = {
    "en": "january february march april may june july august september october november "
          "december",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
          "diciembre",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre "
          "décembre",
    "de": "januar februar märz april mai juni juli august september oktober november dezember",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre "
          "novembre dicembre",
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro "
          "dezembro",
}


@given(lang=st.sampled_from(sorted(_LOCALE_LINES)),
       at=st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2035, 12, 31)))
def test_locale_date_lines_round_trip(lang: str, at: dt.datetime) -> None:
    month = _MONTH_NAMES[lang].split()[at.month - 1]
    line = _LOCALE_LINES[lang].format(
        month=month.capitalize() if lang in ("en", "de") else month, d=at.day, y=at.year,
        h=at.hour, h12=at.hour % 12 or 12, mi=f"{at.minute:02d}",
        ampm="PM" if at.hour >= 12 else "AM")
    local = at.replace(second=0, microsecond=0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert chains.snapshot_time(line) == local.astimezone(UTC), line


def test_zero_iv_its_zero_greeks_and_a_zero_ask_are_not_computed() -> None:
    frame = pl.DataFrame({"iv": [0.0, 0.0, 0.2, None], "delta": [0.0, 1.0, 0.0, 0.5],
                          "gamma": [0.0, 0.0, 0.0, 0.01], "vega": [0.0, None, 1.0, 2.0],
                          "bid": [5.0, 0.0, 0.0, 1.0], "ask": [0.0, 0.0, 0.05, 1.1]})
    out = chains.not_computed_as_null(frame)
    assert out["iv"].to_list() == [None, None, 0.2, None]
    assert out["delta"].to_list() == [None, 1.0, 0.0, 0.5]  # +-1 beside IV 0: intrinsic delta
    assert out["gamma"].to_list() == [None, None, 0.0, 0.01]  # a computed 0 is kept
    assert out["vega"].to_list() == [None, None, 1.0, 2.0]
    assert out["bid"].to_list() == [5.0, 0.0, 0.0, 1.0]  # a zero bid is a real quote
    assert out["ask"].to_list() == [None, None, 0.05, 1.1]


@pytest.mark.realdata
def test_real_zero_iv_rows_read_as_not_computed() -> None:
    # Raw (2022-06-10, spot 3900.86): deep in-the-money 800 C with IV 0 and delta 0.
    frame = _parse_shared(*QUOTEDATA, "spx_quotedata_2022-06-10.csv")
    call = _row(frame, "SPXW", "2022-06-10", 800.0, "C")
    assert (call["iv"], call["delta"], call["gamma"]) == (None, None, None)
    assert frame.filter(pl.col("iv") == 0).height == 0
    assert frame.filter(pl.col("ask") == 0).height == 0


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["spx_quotedata_2022-02-04.csv", "spx_quotedata_2024-01-05.csv"])
def test_real_one_sided_quotes_are_not_crossed(name: str) -> None:
    frame = _parse_shared(*QUOTEDATA, name)
    assert frame.filter(pl.col("bid") > pl.col("ask")).height == 0
