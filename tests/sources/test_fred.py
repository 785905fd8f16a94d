import datetime as dt
import json
import re

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from core.errors import SourceDataError
from sources import config, fred
from sources.config import SeriesRule
from storage import schemas
from tests.conftest import NOW, shared

D = dt.date
ROWS = "2020-03-13,0.28\n2020-03-14,\n2020-03-16,.\n2020-03-17,0.25\n"


def parse(text: str, name: str = "DTB3.csv", **kw) -> pl.DataFrame:
    return fred.parse(text.encode(), name, **kw)


def rule(publication: str, lag: int, kind: str | None = None) -> SeriesRule:
    return SeriesRule(publication=publication, lag_days=lag, release_kind=kind, min=0, max=1)


@pytest.mark.parametrize("header", ["observation_date,DTB3", "DATE,DTB3", '"Date","DTB3"',
                                    "date,dtb3"])
def test_every_fredgraph_header_gives_the_same_rows(header):
    got = parse(f"{header}\n{ROWS}")
    want = pl.DataFrame({
        "series_id": ["DTB3", "DTB3"], "date": [D(2020, 3, 13), D(2020, 3, 17)],
        "value": [0.28, 0.25], "realtime_start": [D(2020, 3, 16), D(2020, 3, 18)],
        "available_at": [D(2020, 3, 16), D(2020, 3, 18)]})
    assert_frame_equal(got, want)
    schemas.MACRO_OBSERVATIONS.conform(got.with_columns(ingested_at=pl.lit(NOW)))


def test_crlf_without_final_newline_and_identical_repeats():
    text = "observation_date,T10Y2Y\r\n2020-03-16,0.47\r\n2020-03-16,0.47\r\n2020-03-17,0.50"
    got = parse(text, "T10Y2Y.csv")
    assert got["value"].to_list() == [0.47, 0.50]


@pytest.mark.parametrize(("text", "name", "problem"), [
    ("observation_date,DTB3,DGS2\n2020-03-16,1,2\n", "DTB3.csv", "unexpected header"),
    ("time,DTB3\n2020-03-16,1\n", "DTB3.csv", "unexpected header 'time,DTB3'"),
    ("observation_date,DTB3\n2020-03-16,abc\n", "DTB3.csv", "not a number: 'abc' at line 2"),
    ("observation_date,DTB3\n03/16/2020,1\n", "DTB3.csv", "not a YYYY-MM-DD date: '03/16/2020'"),
    ("observation_date,DTB3\n2020-03-16,1\n2020-03-16,2\n", "DTB3.csv",
     "date=2020-03-16 appears twice with different values (1.0, 2.0)"),
    ("observation_date,DTB3\n2020-03-16,1\n2020-03-1", "DTB3.csv",
     "file looks truncated: last line is '2020-03-1'"),
    ("observation_date,DTB3\n2020-03-16,1\n2020-03-17,0.", "DTB3.csv", None),
    ("observation_date,../../etc\n2020-03-16,1\n", "x.csv", "unsafe series id '../../ETC'"),
    ("observation_date,NOSUCH\n2020-03-16,1\n", "NOSUCH.csv", "no publication rule for series"),
    ("", "DTB3.csv", "empty body"),
    ("<!DOCTYPE html><html>Error</html>", "DTB3.csv", "HTML page"),
])
def test_bad_input_names_source_file_and_problem(text, name, problem):
    if problem is None:  # a number cut after its point still parses: nothing to detect
        assert parse(text, name)["value"].to_list() == [1.0, 0.0]
        return
    with pytest.raises(SourceDataError) as err:
        parse(text, name)
    message = str(err.value)
    assert message.startswith(f"source 'fred', file {name!r}: "), message
    assert problem in message, message


# -- point in time ------------------------------------------------------------------------
def test_business_day_lag_treats_weekend_dates_as_friday_and_skips_holidays():
    days = pl.Series([D(2020, 3, 13), D(2020, 3, 14), D(2020, 3, 15), D(2020, 3, 16)])
    got = fred.available_dates(days, rule("business_days", 1))
    assert got.to_list() == [D(2020, 3, 16), D(2020, 3, 16), D(2020, 3, 16), D(2020, 3, 17)]
    held = fred.available_dates(pl.Series([D(2020, 5, 22)]), rule("business_days", 1),
                                holidays=[D(2020, 5, 25)])
    assert held.to_list() == [D(2020, 5, 26)]


def test_calendar_day_lag():
    got = fred.available_dates(pl.Series([D(2020, 3, 13)]), rule("calendar_days", 7))
    assert got.to_list() == [D(2020, 3, 20)]


RELEASES = pl.DataFrame({
    "date": [D(2025, 1, 15), D(2025, 2, 12), D(2025, 9, 11), D(2025, 10, 24), D(2025, 12, 18),
             D(2025, 2, 13)],
    "kind": ["cpi", "cpi", "cpi", "cpi", "cpi", "ppi"]})


def test_release_day_uses_the_calendar_and_falls_back_outside_it():
    months = pl.Series([D(2024, 11, 1), D(2024, 12, 1), D(2025, 1, 1), D(2025, 8, 1),
                        D(2025, 9, 1), D(2025, 11, 1), D(2025, 12, 1)])
    got = fred.available_dates(months, rule("release_day", 50, "cpi"), releases=RELEASES)
    assert got.to_list() == [
        D(2024, 12, 21),  # before the calendar starts: fallback, 1st + 50 days
        D(2025, 1, 15),   # December CPI, released mid-January
        D(2025, 2, 12),
        D(2025, 9, 11),
        D(2025, 10, 24),  # September CPI, delayed by the 2025 shutdown
        D(2025, 12, 18),  # November CPI (October's was never published)
        D(2026, 1, 20),   # after the calendar ends: fallback
    ]


def test_release_day_filters_by_kind_and_without_calendar_uses_the_lag():
    months = pl.Series([D(2025, 1, 1)])
    ppi = fred.available_dates(months, rule("release_day", 50, "ppi"), releases=RELEASES)
    assert ppi.to_list() == [D(2025, 2, 13)]
    assert fred.available_dates(months, rule("release_day", 50, "cpi")).to_list() == [
        D(2025, 2, 20)]
    bare = RELEASES.filter(pl.col("kind") == "cpi").select("date")
    assert fred.available_dates(months, rule("release_day", 50, "cpi"),
                                releases=bare).to_list() == [D(2025, 2, 12)]


def test_parse_applies_configured_rules_and_release_calendar():
    text = "observation_date,CPIAUCSL\n2025-08-01,323.291\n2025-09-01,324.245\n2025-10-01,\n"
    got = parse(text, "CPIAUCSL.csv", releases=RELEASES)
    assert got["available_at"].to_list() == [D(2025, 9, 11), D(2025, 10, 24)]
    nfci = parse("observation_date,NFCI\n2020-03-13,0.5\n", "NFCI.csv")
    assert nfci["available_at"].to_list() == [D(2020, 3, 20)]
    own = {"NFCI": rule("calendar_days", 5)}
    assert parse("observation_date,NFCI\n2020-03-13,0.5\n", "NFCI.csv",
                 rules=own)["available_at"].to_list() == [D(2020, 3, 18)]


# -- the observations API -----------------------------------------------------------------
def api(observations: list[dict], **extra) -> bytes:
    doc = {"realtime_start": "1776-07-04", "realtime_end": "9999-12-31", "count":
           len(observations), "offset": 0, "limit": 100000, "observations": observations}
    doc.update(extra)
    return json.dumps(doc).encode()


def obs(start: str, end: str, date: str, value: str) -> dict:
    return {"realtime_start": start, "realtime_end": end, "date": date, "value": value}


def test_api_vintages_are_separate_rows_available_from_their_start():
    payload = api([
        obs("2020-04-10", "2020-05-11", "2020-03-01", "258.115"),
        obs("2020-05-12", "9999-12-31", "2020-03-01", "258.150"),
        obs("2020-05-12", "9999-12-31", "2020-04-01", "."),
    ])
    got = fred.parse(payload, "CPIAUCSL.json")
    want = pl.DataFrame({
        "series_id": ["CPIAUCSL"] * 2, "date": [D(2020, 3, 1)] * 2, "value": [258.115, 258.15],
        "realtime_start": [D(2020, 4, 10), D(2020, 5, 12)],
        "available_at": [D(2020, 4, 10), D(2020, 5, 12)]})
    assert_frame_equal(got, want)
    schemas.MACRO_OBSERVATIONS.conform(got.with_columns(ingested_at=pl.lit(NOW)))


@pytest.mark.parametrize(("payload", "problem"), [
    (json.dumps({"error_code": 400, "error_message": "Bad Request. The series does not exist."})
     .encode(), "FRED error 400: Bad Request"),
    (api([obs("2020-04-10", "9999-12-31", "2020-03-01", "1")], count=5), "partial page: 1 of 5"),
    (api([obs("2020-04-10", "9999-12-31", "2020-03-01", "x")]), "not a number (observation)"),
    (api([obs("2020-04-10", "9999-12-31", "2020-03-01", "1"),
          obs("2020-04-10", "9999-12-31", "2020-03-01", "2")]),
     "date=2020-03-01 realtime_start=2020-04-10 appears twice"),
    (b'{"observations": [', "not valid JSON"),
])
def test_api_bad_answers(payload, problem):
    with pytest.raises(SourceDataError, match=re.escape(problem)):
        fred.parse(payload, "DFF.json")


def test_urls_fredgraph_without_key_and_api_with_vintages_when_keyed():
    cfg = config.load()
    plain = fred.urls(cfg)
    assert plain[0] == ("DFF.csv", "https://fred.stlouisfed.org/graph/fredgraph.csv?id=DFF")
    assert [n for n, _ in plain] == [f"{s}.csv" for s in cfg.fred.series]
    keyed = fred.urls(cfg, api_key="abcdef0123456789", start=D(2020, 1, 1), end=D(2020, 12, 31))
    name, url = keyed[0]
    assert name == "DFF.json"
    assert url.startswith("https://api.stlouisfed.org/fred/series/observations?series_id=DFF&")
    for part in ("api_key=abcdef0123456789", "realtime_start=1776-07-04",
                 "realtime_end=9999-12-31", "observation_start=2020-01-01",
                 "observation_end=2020-12-31", "file_type=json"):
        assert part in url


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.dates(D(1950, 1, 1), D(2030, 12, 31)),
                       st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=40),
       st.sampled_from(["observation_date", "DATE", "date"]))
def test_parse_inverts_render(values, header):
    frame = pl.DataFrame({"series_id": "DTB3", "date": list(values), "value": list(
        values.values())}).sort("date")
    got = fred.parse(fred.render(frame, header=header), "DTB3.csv")
    assert_frame_equal(got.select("series_id", "date", "value"), frame)


# -- real files ---------------------------------------------------------------------------
def single_series_files() -> list[str]:
    """Every provider-layout FRED file (the wide heliar tables and OFR's FSI are not)."""
    root = shared("fred")
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.csv")
                  if not p.name.startswith("heliar_") and p.name != "ofr_fsi.csv")


def provenance_rows() -> dict[str, int]:
    table = shared("PROVENANCE.md").read_text()
    rows = re.findall(r"^\| fred/([^ |]+) \| [^|]+ \| [^|]+ \| [^|]+ \| [^|]+ \| (\d+) \|",
                      table, re.MULTILINE)
    return {path: int(n) for path, n in rows}


@pytest.mark.realdata
def test_every_single_series_fred_file_parses_with_provenance_row_counts():
    counts = provenance_rows()
    files = single_series_files()
    assert len(files) >= 40
    for rel in files:
        payload = shared("fred", rel).read_bytes()
        got = fred.parse(payload, rel.rsplit("/", 1)[-1])
        missing = len(re.findall(rb",\s*\.?\s*$", payload, re.MULTILINE))
        assert got.height == counts[rel] - missing, rel
        assert got["date"].is_unique().all() and got["date"].is_sorted(), rel
        assert (got["available_at"] >= got["date"]).all(), rel


@pytest.mark.realdata
def test_known_values_and_release_days_from_the_real_calendar():
    vix = fred.parse(shared("fred", "derived_from_heliar", "VIXCLS.csv").read_bytes(),
                     "VIXCLS.csv")
    assert vix.filter(pl.col("date") == D(2020, 3, 16))["value"][0] == 82.69
    events = pl.read_csv(shared("calendar", "macro_events_fomc_cpi_nfp_2024_2026.csv"),
                         try_parse_dates=True).select(pl.col("event_date").alias("date"),
                                                      pl.col("event_type").alias("kind"))
    cpi = fred.parse(shared("fred", "derived_from_heliar", "CPIAUCSL.csv").read_bytes(),
                     "CPIAUCSL.csv", releases=events)
    sep = cpi.filter(pl.col("date") == D(2025, 9, 1)).row(0, named=True)
    assert sep["available_at"] == D(2025, 10, 24)
    assert cpi.filter(pl.col("date") == D(2025, 10, 1)).is_empty()  # never published


@pytest.mark.realdata
def test_default_fred_bounds_hold_on_real_files():
    rules = config.load().fred.rules
    for rel in single_series_files():
        got = fred.parse(shared("fred", rel).read_bytes(), rel.rsplit("/", 1)[-1])
        r = rules[got["series_id"][0]]
        assert r.min <= got["value"].min() and got["value"].max() <= r.max, rel
