"""Bad input end to end: simulator files served over real HTTP, ingested by flows.ingest.

Each case breaks one file the way providers do (an HTML error page with status 200, a cut
transfer, a renamed column, a 404, a hang, a 429...) and checks what the issue promises:
the report names source, file and problem; a received payload is quarantined; what the lake
already held is byte-for-byte untouched; the other sources of the run go on.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from core.errors import DataValidationFailed
from demo_market.simulator import sources_overrides, write_raw
from flows.ingest import Run, SourceReport, ingest, plan, plan_from
from sources import config as sources_config
from sources.config import SourcesConfigError
from sources.http import HttpClient
from sources.registry import ADAPTERS
from storage.catalog import catalog_versions, current_versions
from storage.lake import Lake
from tests.conftest import shared
from validations.gate import gate_partition

START, END = dt.date(2024, 1, 1), dt.date(2024, 3, 31)
RUN_DATE = dt.date(2024, 3, 28)  # the simulator's last session in [START, END]
NOW = dt.datetime(2024, 3, 29, 1, 0, tzinfo=dt.UTC)  # 21:00 in New York on RUN_DATE
ALVH = shutil.which("alvh") or os.path.join(os.path.dirname(os.sys.executable), "alvh")
Mutation = Callable[[bytes], bytes]
TABLES = ("index_daily", "vx_futures", "option_chain", "breadth_daily", "macro_observations",
          "events")


# -- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three months of simulated provider files (two chain sessions)."""
    out = tmp_path_factory.mktemp("raw")
    write_raw(out, START, END, chain_days=2)
    return out


@pytest.fixture(scope="module")
def published(raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake holding a good version of every source the cases break (read from disk)."""
    lake = Lake(tmp_path_factory.mktemp("published") / "lake")
    run = Run(lake, sources_config.load(overrides=sources_overrides(str(raw))), RUN_DATE, NOW)
    with fast_client() as client:
        for source in ("calendar", "cboe", "cfe", "fred", "breadth", "chains"):
            report = ingest(source, run, client=client)
            assert report.ok and report.rows, report.errors
    return Path(lake.root)


@pytest.fixture
def lake(published: Path, tmp_path: Path) -> Lake:
    """A private copy of the published lake."""
    shutil.copytree(published, tmp_path / "lake")
    return Lake(tmp_path / "lake")


def fast_client(**kwargs: float) -> HttpClient:
    """The real client with millisecond backoff so retries cost nothing."""
    args = {"connect_timeout": 1.0, "read_timeout": 2.0, "retries": 2, "backoff_base": 0.01,
            "backoff_max": 0.02, "retry_after_max": 0.05} | kwargs
    return HttpClient(**args)  # type: ignore[arg-type]


def serve(server: HTTPServer, raw: Path) -> None:
    """Serve every simulator file at its path under the raw folder (after any override)."""
    for path in sorted(raw.rglob("*")):
        if path.is_file():
            server.expect_request(f"/{path.relative_to(raw).as_posix()}").respond_with_data(
                path.read_bytes(), content_type="text/csv")


def run_for(lake: Lake, server: HTTPServer) -> Run:
    """A run whose sources config points every provider at the local server."""
    base = server.url_for("/").rstrip("/")
    return Run(lake, sources_config.load(overrides=sources_overrides(base)), RUN_DATE, NOW)


def lake_bytes(lake: Lake) -> dict[str, bytes]:
    """Every published data file of every table, by path."""
    return {p: Path(p).read_bytes() for t in TABLES for p in lake.partitions(t)}


def quarantined(lake: Lake, source: str) -> list[bytes]:
    """The payloads in the source's quarantine."""
    return [Path(p).read_bytes() for p in lake.list_area("quarantine", source)]


def one_file(run: Run, source: str, file: str) -> list[tuple[str, str]]:
    """The (name, url) pair of the served ``file`` in the source's configured plan."""
    found = [entry for entry in plan(source, run) if entry[1].endswith(f"/{file}")]
    assert found, f"{file} is not in the {source} plan"
    return found


# -- mutations: the ways real files break --------------------------------------------------
def html_page(_: bytes) -> bytes:
    return b"<!DOCTYPE html>\n<html><head><title>Service unavailable</title></head></html>\n"


def empty(_: bytes) -> bytes:
    return b""


def cut_in(field: int) -> Mutation:
    """The transfer stopped inside ``field`` (0-based) of the middle line."""
    def mutate(payload: bytes) -> bytes:
        lines = payload.splitlines(keepends=True)
        middle = lines[len(lines) // 2]
        keep = b",".join(middle.split(b",")[:field]) + b"," + middle.split(b",")[field][:2]
        return b"".join(lines[: len(lines) // 2]) + keep.lstrip(b",")
    return mutate


def replace_first(old: bytes, new: bytes) -> Mutation:
    def mutate(payload: bytes) -> bytes:
        assert old in payload, old
        return payload.replace(old, new, 1)
    return mutate


def drop_column(index: int) -> Mutation:
    def mutate(payload: bytes) -> bytes:
        rows = [line.split(b",") for line in payload.splitlines()]
        return b"\n".join(b",".join(r[:index] + r[index + 1:]) for r in rows) + b"\n"
    return mutate


def set_cell(line: int, column: int, value: bytes) -> Mutation:
    """Line ``line`` (0 = header) with ``column`` set to ``value``."""
    def mutate(payload: bytes) -> bytes:
        lines = payload.splitlines()
        cells = lines[line].split(b",")
        cells[column] = value
        lines[line] = b",".join(cells)
        return b"\n".join(lines) + b"\n"
    return mutate


def repeat_line(line: int, column: int, value: bytes) -> Mutation:
    """Line ``line`` appended again with ``column`` changed: one date, two values."""
    def mutate(payload: bytes) -> bytes:
        cells = payload.splitlines()[line].split(b",")
        cells[column] = value
        return payload.rstrip(b"\n") + b"\n" + b",".join(cells) + b"\n"
    return mutate


def append(row: bytes) -> Mutation:
    def mutate(payload: bytes) -> bytes:
        return payload.rstrip(b"\n") + b"\n" + row + b"\n"
    return mutate


VIX, VX, DFF, BREADTH = ("VIX_History.csv", "VX_2024-05-22.csv", "DFF.csv", "breadth.csv")
CHAIN = "UnderlyingOptionsEODCalcs_2024-03-28.csv"
# (source, file, mutation, words the error must contain)
CASES = {
    "html_with_200": ("cboe", VIX, html_page, ["HTML page"]),
    "html_chain": ("chains", CHAIN, html_page, ["HTML page"]),
    "empty_body": ("fred", DFF, empty, ["empty body"]),
    "truncated_cboe": ("cboe", VIX, cut_in(3), ["truncated"]),
    "truncated_cfe": ("cfe", VX, cut_in(6), ["truncated"]),
    "truncated_chain": ("chains", CHAIN, cut_in(8), ["truncated"]),
    "truncated_fred": ("fred", DFF, cut_in(0), ["truncated"]),
    "renamed_column": ("cfe", VX, replace_first(b"Settle", b"Settlement"), ["'Settle'"]),
    "renamed_breadth": ("breadth", BREADTH, replace_first(b"advancers", b"adv"), ["'adv'"]),
    "missing_column": ("cboe", VIX, drop_column(4), ["header"]),
    "missing_chain_column": ("chains", CHAIN, replace_first(b"bid_1545", b"bid"),
                             ["missing column", "bid_1545"]),
    "non_numeric": ("cboe", VIX, set_cell(3, 4, b"n/a"), ["not a number", "n/a"]),
    "non_numeric_fred": ("fred", DFF, set_cell(3, 1, b"x"), ["not a number", "line 4"]),
    "non_numeric_cfe": ("cfe", VX, set_cell(3, 6, b"abc"), ["bad value 'abc'"]),
    "same_date_twice": ("cboe", VIX, repeat_line(2, 4, b"99.5"), ["twice"]),
    "same_date_twice_cfe": ("cfe", VX, repeat_line(2, 6, b"99.5"), ["different rows"]),
    "same_date_twice_fred": ("fred", DFF, repeat_line(2, 1, b"9.99"), ["twice"]),
    "same_date_twice_breadth": ("breadth", BREADTH, repeat_line(2, 1, b"1234"), ["twice"]),
    "zero_price": ("cboe", VIX, set_cell(3, 4, b"0"), ["zero or negative price"]),
    "negative_price": ("cboe", VIX, set_cell(3, 2, b"-18.5"), ["zero or negative price"]),
    "negative_settle": ("cfe", VX, set_cell(3, 6, b"-1"), ["negative Settle"]),
    "negative_count": ("breadth", BREADTH, set_cell(3, 2, b"-5"), ["negative count"]),
    "future_date": ("cboe", VIX, append(b"04/02/2024,19.0,20.0,18.0,19.5"),
                    ["dated after today 2024-03-28, e.g. 2024-04-02"]),
    "future_date_fred": ("fred", DFF, append(b"2024-04-02,4.1"),
                         ["dated after today 2024-03-28, e.g. 2024-04-02"]),
}


# -- bad payloads ----------------------------------------------------------------------------
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_payload_is_named_quarantined_and_publishes_nothing(
    case: str, raw: Path, lake: Lake, httpserver: HTTPServer
) -> None:
    source, name, mutate, words = CASES[case]
    path = next(raw.rglob(name))
    bad = mutate(path.read_bytes())
    httpserver.expect_request(f"/{path.relative_to(raw).as_posix()}").respond_with_data(
        bad, status=200, content_type="text/html" if b"<html" in bad else "text/csv")
    serve(httpserver, raw)
    run, before = run_for(lake, httpserver), lake_bytes(lake)

    files = one_file(run, source, name)
    with fast_client() as client:
        broken = ingest(source, run, client=client, files=files)
        other = ingest("calendar", run, client=client)

    assert not broken.ok and broken.rows == 0 and len(broken.errors) == 1, broken.errors
    error = broken.errors[0]
    for word in [f"source {source!r}", f"file {files[0][0]!r}", *words]:
        assert word in error, (word, error)
    assert quarantined(lake, source) == [bad]
    assert lake_bytes(lake) == before
    assert other.ok and other.rows > 0, other.errors


def test_a_bad_file_does_not_stop_the_other_files_of_its_source(
    raw: Path, lake: Lake, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/cboe/VIX_History.csv").respond_with_data(html_page(b""))
    serve(httpserver, raw)
    run, before = run_for(lake, httpserver), lake_bytes(lake)
    with fast_client() as client:
        report = ingest("cboe", run, client=client)
    assert report.files == 8 and len(report.errors) == 1 and "VIX_History.csv" in report.errors[0]
    assert report.rows == lake.scan("index_daily").filter(pl.col("symbol") != "VIX").collect(
    ).height
    # The seven good files re-sent the same rows: every published file is byte-identical,
    # VIX's included (its rows stay as they were).
    assert lake_bytes(lake) == before


# -- transport failures ----------------------------------------------------------------------
def test_404_for_one_vx_contract_among_many(raw: Path, lake: Lake, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/cfe/VX_2024-06-18.csv").respond_with_data("Not Found", 404)
    serve(httpserver, raw)
    run, before = run_for(lake, httpserver), lake_bytes(lake)
    with fast_client() as client:
        report = ingest("cfe", run, client=client)
        other = ingest("calendar", run, client=client)
    assert [name for name, _ in plan("cfe", run)][:3] == [
        "VX_2024-04-17.csv", "VX_2024-05-22.csv", "VX_2024-06-18.csv"]
    assert len(report.errors) == 1 and report.files == 8 and report.rows > 0
    assert "'cfe'" in report.errors[0] and "VX_2024-06-18.csv" in report.errors[0]
    assert "404" in report.errors[0] and not report.unavailable
    assert lake.list_area("quarantine", "cfe") == []  # nothing was received
    published = lake.scan("vx_futures").collect()
    assert set(published["expiry"].unique()) >= {dt.date(2024, 6, 18), dt.date(2024, 5, 22)}
    assert lake_bytes(lake) == before  # the others re-sent what the lake held; M24 kept
    assert httpserver.get_matching_requests_count(
        httpserver.create_matcher("/cfe/VX_2024-06-18.csv")) == 1  # a 404 is not retried
    assert other.ok


def test_server_that_never_answers_times_out(raw: Path, lake: Lake, httpserver: HTTPServer) -> None:
    def hang(_: Request) -> Response:
        time.sleep(1.0)
        return Response("too late")

    httpserver.expect_request("/fred/DFF.csv").respond_with_handler(hang)
    serve(httpserver, raw)
    run, before = run_for(lake, httpserver), lake_bytes(lake)
    started = time.monotonic()
    with fast_client(read_timeout=0.3, retries=0) as client:
        report = ingest("fred", run, client=client, files=one_file(run, "fred", "DFF.csv"))
    with fast_client() as client:  # the single-threaded server first finishes the hang
        other = ingest("calendar", run, client=client)
    assert time.monotonic() - started < 5
    assert report.unavailable and len(report.errors) == 1
    error = report.errors[0]
    assert "'fred'" in error and "DFF.csv" in error and "Timeout" in error, error
    assert lake.list_area("quarantine", "fred") == []
    assert lake_bytes(lake) == before
    assert other.ok and other.rows > 0


def test_429_then_success(raw: Path, lake: Lake, httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/cboe/SKEW_History.csv").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "0"})
    serve(httpserver, raw)
    run = run_for(lake, httpserver)
    with fast_client() as client:
        report = ingest("cboe", run, client=client)
    assert report.ok and report.files == 8 and report.rows > 0, report.errors
    assert httpserver.get_matching_requests_count(
        httpserver.create_matcher("/cboe/SKEW_History.csv")) == 2
    assert lake.list_area("quarantine", "cboe") == []


# -- names with path characters ---------------------------------------------------------
@pytest.mark.parametrize(("section", "key", "value"), [
    ("cboe", "symbols", ["VIX", "../../etc/passwd"]),
    ("fred", "series", ["DFF", "DFF/../../x"]),
])
def test_path_characters_in_a_user_config_fail_before_any_fetch(
    section: str, key: str, value: list[str], tmp_path: Path, httpserver: HTTPServer
) -> None:
    config = tmp_path / "sources.toml"
    config.write_text(f'[{section}]\n{key} = {value!r}\n'
                      .replace("'", '"'))
    with pytest.raises(SourcesConfigError) as err:
        sources_config.load(config)  # what `alvh ingest --sources FILE` does first
    message = str(err.value)
    assert str(config) in message and value[1] in message and "unsafe name" in message
    assert httpserver.log == []
    assert not any(tmp_path.rglob("*.parquet"))


def test_series_header_with_path_characters_is_quarantined(
    raw: Path, lake: Lake, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/fred/DFF.csv").respond_with_data(
        b"observation_date,../../DFF\n2024-01-02,4.33\n")
    serve(httpserver, raw)
    run, before = run_for(lake, httpserver), lake_bytes(lake)
    with fast_client() as client:
        report = ingest("fred", run, client=client, files=one_file(run, "fred", "DFF.csv"))
    assert len(report.errors) == 1 and "'fred'" in report.errors[0]
    assert "DFF.csv" in report.errors[0] and "series id" in report.errors[0]
    assert len(lake.list_area("quarantine", "fred")) == 1
    assert lake_bytes(lake) == before


# -- the gate's inputs from the sources config -----------------------------------------------
def test_index_bounds_from_the_config_reach_the_gate(lake: Lake) -> None:
    config = sources_config.load()
    rules = ADAPTERS["cboe"].rules(config)
    assert rules is not None and rules.series_bounds["SKEW"] == (90.0, 200.0)
    frame = lake.scan("index_daily").filter(pl.col("symbol") == "SKEW").collect()
    before = lake_bytes(lake)
    with pytest.raises(DataValidationFailed, match="close_within_symbol_bounds"):
        gate_partition(lake, "index_daily", None, frame.with_columns(close=pl.lit(50.0)),
                       at=NOW, rules=rules)
    assert lake_bytes(lake) == before


# -- the CLI ------------------------------------------------------------------------------
def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ALVH, "--home", str(home), *args], capture_output=True, text=True,
                          timeout=120, env=os.environ | {"COLUMNS": "200"})


def test_cli_ingest_from_a_folder_of_good_files(raw: Path, tmp_path: Path) -> None:
    res = cli("ingest", "cboe", "--from", str(raw / "cboe"), home=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "cboe: 8 file(s), 488 row(s) -> index_daily" in res.stdout


def test_cli_ingest_from_bad_files_prints_one_line_per_problem(raw: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "VIX_History.csv").write_bytes(cut_in(3)((raw / "cboe/VIX_History.csv").read_bytes()))
    (folder / "SKEW_History.csv").write_bytes(html_page(b""))
    res = cli("ingest", "cboe", "--from", str(folder), home=tmp_path / "home")
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 2, lines
    assert "SKEW_History.csv" in lines[0] and "HTML page" in lines[0]
    assert "VIX_History.csv" in lines[1] and "truncated" in lines[1]


def test_cli_unknown_source_exits_2(tmp_path: Path) -> None:
    res = cli("ingest", "nope", home=tmp_path)
    assert res.returncode == 2 and "unknown source 'nope'" in res.stderr
    assert "Traceback" not in res.stderr


def test_report_line_counts_files_and_errors() -> None:
    report = SourceReport("cfe", "vx_futures", files=8, rows=10, errors=["x"])
    assert report.line() == "cfe: 8 file(s), 10 row(s) -> vx_futures [1 error(s)]"


def test_future_rows_of_a_source_without_a_parser_clock_are_refused(
    raw: Path, lake: Lake, httpserver: HTTPServer
) -> None:
    # breadth's parser reads no clock: the ingest layer refuses the file, naming it.
    httpserver.expect_request("/breadth/breadth.csv").respond_with_data(
        append(b"2024-04-02,1500,1400,100,50,20")((raw / "breadth/breadth.csv").read_bytes()))
    serve(httpserver, raw)
    run, before = run_for(lake, httpserver), lake_bytes(lake)
    with fast_client() as client:
        report = ingest("breadth", run, client=client)
    assert len(report.errors) == 1 and "'breadth'" in report.errors[0]
    assert "file 'breadth.csv'" in report.errors[0]
    assert "dated after today 2024-03-28" in report.errors[0] and "2024-04-02" in report.errors[0]
    assert report.rows == 0 and lake.list_area("quarantine", "breadth")
    assert lake_bytes(lake) == before


# -- --from discovery ---------------------------------------------------------------------
def test_from_folder_takes_only_the_source_s_own_files(tmp_path: Path) -> None:
    files = {
        "DFF.csv": "observation_date,DFF\n2024-01-02,5.33\n",
        "DGS2_1994_2026_lowercase.csv": "date,dgs2\n2024-01-02,4.33\n",
        "CPIAUCSL_to2023.csv": '"Date","CPIAUCSL"\n2023-01-01,300.1\n',
        "heliar_fx_DXY.csv": "date,DXY\n2024-01-02,102.1\n",
        "rates_wide.csv": "date,DFF,SOFR\n2024-01-02,5.33,5.31\n",
        "ofr_fsi.csv": "date,OFR_FSI,CREDIT\n2024-01-02,-1.2,0.3\n",
        "NYSE_ADV_advancing_issues.csv": "time,open,high,low,close\n2024-01-02,1,1,1,1\n",
        "MMTH_pct_above_200dma.csv": "time,open,high,low,close\n2024-01-02,50,50,50,50\n",
        "S5TH_sp500.csv": "date,price,open\n2024-01-02,50,50\n",
        "breadth.csv": "date,advancers,decliners\n2024-01-02,1500,1400\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    fred_files = [name for name, _ in plan_from("fred", tmp_path)]
    assert fred_files == ["CPIAUCSL_to2023.csv", "DFF.csv", "DGS2_1994_2026_lowercase.csv"]
    assert [name for name, _ in plan_from("breadth", tmp_path)] == [
        "NYSE_ADV_advancing_issues.csv", "breadth.csv"]
    # A file named explicitly is always taken (and then judged by the parser).
    assert plan_from("fred", tmp_path / "ofr_fsi.csv") == [
        ("ofr_fsi.csv", str(tmp_path / "ofr_fsi.csv"))]


def test_from_the_real_folders_skips_wide_and_non_nyse_files() -> None:
    fred_files = [name for name, _ in plan_from("fred", shared("fred"))]
    assert not any(n.startswith(("heliar_", "ofr_")) for n in fred_files)
    assert {"DFF_1994_2026_lowercase.csv", "CPIAUCSL_to2023.csv", "NFCI.csv"} <= set(fred_files)
    assert len(fred_files) == 41  # 19 top-level fredgraph files + 22 derived_from_heliar
    breadth_files = [name for name, _ in plan_from("breadth", shared("breadth"))]
    assert breadth_files == [f"NYSE_{c}.csv" for c in (
        "ADV_advancing_issues", "DECL_declining_issues", "MAHN_new_highs", "MALN_new_lows",
        "UCHG_unchanged_issues")]


def test_cli_ingest_publishes_the_catalog_when_the_home_has_none_or_new_tables(
        raw: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert cli("ingest", "breadth", "--from", str(raw / "breadth"), home=home).returncode == 0
    res = cli("sql", "SELECT count(*) AS n FROM breadth_daily", "--format", "csv", home=home)
    assert res.returncode == 0, res.stderr
    assert int(res.stdout.split()[-1]) > 0
    catalog = home / "alvh.duckdb"
    first = catalog.stat().st_ino
    # A catalog that pins the current versions is left alone ...
    from flows.ingest import publish_catalog_if_stale
    assert publish_catalog_if_stale(Lake(home)) is None and catalog.stat().st_ino == first
    # ... a table moved to a new version: published again, pinning it.
    assert cli("ingest", "cboe", "--from", str(raw / "cboe"), home=home).returncode == 0
    assert catalog.stat().st_ino != first
    pinned = catalog_versions(Lake(home))
    assert pinned is not None
    assert all(pinned[name] == v for name, v in current_versions(Lake(home)).items())
    res = cli("sql", "SELECT count(*) AS n FROM index_daily", "--format", "csv", home=home)
    assert int(res.stdout.split()[-1]) == 488
    res = cli("sql", "SELECT count(*) AS n FROM feature_catalog", "--format", "csv", home=home)
    assert res.returncode == 0 and int(res.stdout.split()[-1]) > 0


# -- row-level quarantine on the real files ---------------------------------------------------
def dropped_rows(lake: Lake) -> pl.DataFrame:
    """Every row quarantined by a row-level check, with its reason."""
    files = [p for p in lake.list_area("quarantine", "validation")
             if p.endswith(".dropped.parquet")]
    return pl.concat([pl.read_parquet(p) for p in files], how="diagonal")


def real_run(lake: Lake, **dates: dt.date) -> Run:
    now = dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC)
    return Run(lake, sources_config.load(), now.date(), now, **dates)


@pytest.mark.realdata
def test_cli_breadth_1999_is_published_without_its_one_bad_print(tmp_path: Path) -> None:
    home = tmp_path / "home"
    res = cli("ingest", "breadth", "--from", str(shared("breadth")), home=home)
    assert res.returncode == 3, res.stderr  # published, with rows dropped to quarantine
    assert "1 row(s) dropped to quarantine [ok]" in res.stdout
    (line,) = [x for x in res.stderr.splitlines() if x.startswith("breadth: source")]
    assert "breadth_daily.year-1999: 1 row(s) dropped (issues_total_plausible: 1) " \
           "[1999-05-25] -> " in line and line.endswith(".dropped.parquet")
    lake = Lake(home)
    year = lake.scan("breadth_daily").filter(pl.col("date").dt.year() == 1999).collect()
    assert year.height >= 240 and dt.date(1999, 5, 25) not in year["date"].to_list()
    bad = dropped_rows(lake)
    assert bad.select("quarantine_reason", "date", "advancers", "decliners", "unchanged").rows() \
        == [("issues_total_plausible", dt.date(1999, 5, 25), 108, 19, 551)]


@pytest.mark.realdata
def test_vx_2008_is_published_without_its_two_junk_settlements(lake: Lake) -> None:
    files = [f for f in plan_from("cfe", shared("vx_futures", "cfe_2008_2015"))
             if f[0].endswith(("08_VX.csv", "09_VX.csv"))]
    fresh = Lake(Path(lake.root).parent / "fresh")
    run = real_run(fresh, start=dt.date(2008, 1, 1), end=dt.date(2008, 12, 31))
    with fast_client() as client:
        report = ingest("cfe", run, client=client, files=files)
    assert report.ok and report.dropped_rows == 2, report.errors
    assert "2 row(s) dropped to quarantine [ok]" in report.line()
    year = fresh.scan("vx_futures").collect()
    assert year.height >= 1500 and year.height == report.rows
    junk = pl.col("trade_date") == dt.date(2008, 4, 21)
    assert year.filter(junk & (pl.col("settle") < 5)).is_empty()
    bad = dropped_rows(fresh)
    assert bad.select("quarantine_reason", "trade_date", "symbol", "settle").sort("symbol").rows() \
        == [("settle_in_5_150", dt.date(2008, 4, 21), "VX/F09", 1.0),
            ("settle_in_5_150", dt.date(2008, 4, 21), "VX/G09", 1.0)]
    gx = [p for p in fresh.list_area("quarantine", "validation") if p.endswith(".dropped.gx.json")]
    assert len(gx) == 1 and "settle_in_5_150" in Path(gx[0]).read_text()


@pytest.mark.realdata
def test_vix6m_row_with_high_below_low_is_dropped_the_rest_published(lake: Lake) -> None:
    fresh = Lake(Path(lake.root).parent / "fresh")
    with fast_client() as client:
        report = ingest("cboe", real_run(fresh), client=client,
                        files=plan_from("cboe", shared("cboe", "VIX6M_History.csv")))
    assert report.ok and report.dropped_rows == 1
    (line,) = report.dropped
    assert "index_daily.year-2019: 1 row(s) dropped (high_ge_low: 1) [VIX6M 2019-07-05]" in line
    published = fresh.scan("index_daily").collect()
    assert published.height == report.rows > 4000
    assert dt.date(2019, 7, 5) not in published["date"].to_list()
    assert dropped_rows(fresh).select("high", "low").rows() == [(15.87, 16.5)]


@pytest.mark.realdata
def test_the_share_of_rows_a_partition_may_lose_comes_from_the_config(lake: Lake) -> None:
    fresh = Lake(Path(lake.root).parent / "fresh")
    run = real_run(fresh)
    run.config = sources_config.load(overrides={"quarantine": {"max_row_share": 0.0}})
    with fast_client() as client:
        report = ingest("cboe", run, client=client,
                        files=plan_from("cboe", shared("cboe", "VIX6M_History.csv")))
    (error,) = report.errors
    assert "index_daily.year-2019 not published" in error and "high_ge_low" in error
    assert "more than the 0.00% policy allows" in error and report.dropped_rows == 0
    years = fresh.scan("index_daily").select(pl.col("date").dt.year().unique()).collect()
    assert 2019 not in years.to_series().to_list() and 2020 in years.to_series().to_list()


def test_validators_survive_a_restart_and_identical_payloads_are_kept_once(
    raw: Path, lake: Lake, httpserver: HTTPServer
) -> None:
    vix = next(raw.rglob("VIX_History.csv"))
    url_path = f"/{vix.relative_to(raw).as_posix()}"

    def answer(request):  # a server that honours If-None-Match, as CBOE's CDN does
        from werkzeug import Response
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(vix.read_bytes(), headers={"ETag": '"v1"'})

    httpserver.expect_request(url_path).respond_with_handler(answer)
    run = run_for(lake, httpserver)
    names = one_file(run, "cboe", "VIX_History.csv")
    before = len(lake.list_area("raw", "cboe"))
    with fast_client() as client:  # the first run: 200 with an ETag, archived
        first = ingest("cboe", run, client=client, files=names)
    with fast_client() as client:  # a new process: the ETag comes from raw/ meta
        second = ingest("cboe", run, client=client, files=names)
    assert first.ok and second.ok and second.not_modified == 1
    assert second.rows == first.rows  # re-published from the archived copy
    sent = [req.headers.get("If-None-Match") for req, _ in httpserver.log
            if req.path == url_path]
    assert sent == [None, '"v1"']
    kept = [p for p in lake.list_area("raw", "cboe") if p.endswith("_VIX_History.csv")]
    assert len(kept) == 1 and len(lake.list_area("raw", "cboe")) == before


def test_identical_refetch_is_recorded_but_not_archived_again(lake: Lake) -> None:
    at = dt.datetime(2024, 3, 29, 1, 0, tzinfo=dt.UTC)
    meta = {"url": "https://x/VIX.csv", "status": 200}
    first = lake.save_raw("cboe", "VIX.csv", b"a,b\n1,2\n", meta | {"fetched_at": at})
    again = lake.save_raw("cboe", "VIX.csv", b"a,b\n1,2\n",
                          meta | {"fetched_at": at + dt.timedelta(days=1)})
    other = lake.save_raw("cboe", "VIX.csv", b"a,b\n1,3\n",
                          meta | {"fetched_at": at + dt.timedelta(days=2)})
    assert again == first and other != first
    kept = [p for p in lake.list_area("raw", "cboe") if "VIX.csv" in p]
    assert sorted(kept) == sorted([first, other])
    latest = lake.latest_raw("cboe", ["https://x/VIX.csv"])["https://x/VIX.csv"]
    assert latest["payload"] == other
    metas = sorted(Path(lake.root, "raw", "cboe").rglob("*VIX.csv.meta.json"))
    assert len(metas) == 3  # every fetch is recorded


@pytest.mark.realdata
def test_a_bad_row_the_provider_sends_again_is_dropped_but_no_news(tmp_path: Path) -> None:
    """CBOE re-sends VIX6M's 2019-07-05 row every night: quarantined once, then known."""
    lake = Lake(tmp_path / "lake")
    history = shared("cboe", "VIX6M_History.csv")
    reports = []
    for _ in range(2):
        with fast_client() as client:
            reports.append(ingest("cboe", real_run(lake), client=client,
                                  files=plan_from("cboe", history)))
    first, again = reports
    assert first.dropped_rows == 1 and len(first.dropped) == 1 and not first.known_bad
    assert again.ok and again.dropped == [] and again.dropped_rows == 0  # no exit 3
    (known,) = again.known_bad
    assert "1 known bad row(s) dropped again (high_ge_low: 1) [VIX6M 2019-07-05] " \
           "first quarantined at" in known
    assert dropped_rows(lake).height == 1  # not quarantined a second time
    assert dt.date(2019, 7, 5) not in lake.scan("index_daily").collect()["date"].to_list()
    # A new bad row in the same partition is news again, the known one stays known.
    changed = tmp_path / "VIX6M_History.csv"
    changed.write_text(history.read_text().replace(
        "07/08/2019,16.280000,16.510000,16.250000", "07/08/2019,16.280000,16.010000,16.250000"))
    with fast_client() as client:
        third = ingest("cboe", real_run(lake), client=client, files=plan_from("cboe", changed))
    (news,) = third.dropped
    assert third.dropped_rows == 1 and "[VIX6M 2019-07-08]" in news and len(third.known_bad) == 1
    assert dropped_rows(lake).height == 2
