import datetime as dt

import polars as pl
import pytest

from core.errors import SourceDataError
from sources import calendar
from storage import schemas
from tests.conftest import NOW, shared

D1, D2 = dt.date(2024, 1, 31), dt.date(2024, 3, 20)


def events(payload: bytes, name: str) -> list[tuple[dt.date, str]]:
    return calendar.parse(payload, name).rows()


@pytest.mark.parametrize(("payload", "name"), [
    (b"2024-03-20\n2024-01-31\n", "fomc.csv"),            # no header, ISO
    (b"20240131\n20240320\n", "fomc.csv"),                # no header, YYYYMMDD
    (b"date\n2024-01-31\n2024-03-20\n", "fomc.csv"),      # header, kind from the name
    (b"Date,fomc\n20240131,1\n20240320,1\n20240415,0\n", "fomc_dates.csv"),
    (b"year,meeting_start,decision_date\n2024,2024-01-30,2024-01-31\n"
     b"2024,2024-03-19,2024-03-20\n", "meetings.csv"),
    (b"Date,Type,Scheduled FOMC,Unscheduled FOMC\n1/31/2024,FOMC Statement,1,0\n"
     b"2/21/2024,Minutes,0,1\n3/20/2024,FOMC Statement,1,0\n", "actions.csv"),
    (b'id,date,title,kind\na,20240131,"FOMC statement",statement\n'
     b'b,20240221,"Minutes",minutes\nc,20240320,"FOMC statement",statement\n', "releases.csv"),
])
def test_fomc_layouts(payload, name):
    assert events(payload, name) == [(D1, "fomc"), (D2, "fomc")]


def test_events_file_with_kinds_and_cpi_ppi_files():
    got = events(b"event_date,event_name,event_type\n2024-01-31,FOMC,fomc\n"
                 b"2024-02-13,CPI Jan,CPI\n2024-02-02,Jobs,nfp\n", "events.csv")
    assert got == [(D1, "fomc"), (dt.date(2024, 2, 2), "nfp"), (dt.date(2024, 2, 13), "cpi")]
    assert events(b"date,kind\n2024-02-13,cpi\n", "events.csv") == [(dt.date(2024, 2, 13), "cpi")]
    assert events(b"20240214\n", "ppi.csv") == [(dt.date(2024, 2, 14), "ppi")]
    assert events(b"date\n2024-02-13\n", "cpi.csv") == [(dt.date(2024, 2, 13), "cpi")]


def test_output_fits_the_events_table_and_drops_repeats():
    out = calendar.parse(b"2024-01-31\n2024-01-31\n", "fomc.csv")
    assert out.height == 1
    schemas.get("events").conform(out.with_columns(ingested_at=pl.lit(NOW)))


def bad(payload: bytes, name: str) -> str:
    with pytest.raises(SourceDataError) as err:
        calendar.parse(payload, name)
    msg = str(err.value)
    assert "'calendar'" in msg and name in msg
    return msg


@pytest.mark.parametrize(("payload", "name", "problem"), [
    (b"", "fomc.csv", "empty"),
    (b"date\n", "fomc.csv", "no data rows"),
    (b"<html>404</html>", "fomc.csv", "HTML"),
    (b"2024-01-31\n", "dates.csv", "names no kind"),
    (b"2024-01-31\n", "fomc_cpi.csv", "several"),
    (b"day,kind\n2024-01-31,fomc\n", "events.csv", "no date column"),
    (b"date,kind\n2024-13-45,fomc\n", "events.csv", "bad date '2024-13-45'"),
    (b"date,kind\n2024-01-31,../etc\n", "events.csv", "bad event kind '../etc'"),
    (b"date,kind\n2024-01-31,\n", "events.csv", "bad event kind None"),
])
def test_bad_input_names_source_file_and_problem(payload, name, problem):
    assert problem in bad(payload, name)


EXPECTED = {  # rows per file; PROVENANCE.md counts, fewer where rows are not decision days
    "fomc_actions_1990_2020.csv": 283,          # flagged FOMC rows of 551 actions
    "fomc_dates_1936_2021_noheader.csv": 806,
    "fomc_dates_1978_2023.csv": 413,
    "fomc_dates_2024_2026.csv": 18,
    "fomc_meetings_2021_2025_start_decision.csv": 40,
    "fomc_probabilities_zq.csv": 4,             # distinct meetings in 59 snapshots
    "fomc_statements_2020_2026.csv": 55,        # statements among 135 releases
    "macro_events_fomc_cpi_nfp_2024_2026.csv": 70,
}


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_real_calendar_file(name):
    out = calendar.parse(shared("calendar", name).read_bytes(), name)
    assert out.height == EXPECTED[name]


@pytest.mark.realdata
def test_real_files_agree_on_decision_days():
    def fomc(name):
        out = calendar.parse(shared("calendar", name).read_bytes(), name)
        return set(out.filter(pl.col("kind") == "fomc")["date"].to_list())

    meetings = fomc("fomc_meetings_2021_2025_start_decision.csv")
    assert meetings <= fomc("fomc_statements_2020_2026.csv")
    assert {d for d in meetings if d.year >= 2024} <= fomc("fomc_dates_2024_2026.csv") | {
        d for d in meetings if d > dt.date(2026, 3, 18)}
    assert {d for d in meetings if d.year == 2021} <= fomc("fomc_dates_1936_2021_noheader.csv")
    assert dt.date(2020, 3, 3) in fomc("fomc_actions_1990_2020.csv")  # unscheduled cut
    macro = calendar.parse(shared("calendar", "macro_events_fomc_cpi_nfp_2024_2026.csv")
                           .read_bytes(), "macro_events.csv")
    assert macro.filter(pl.col("kind") == "cpi")["date"].to_list()[:2] == [
        dt.date(2025, 1, 15), dt.date(2025, 2, 12)]
