"""``alvh export`` on the simulated lake: formats, --since, stdout and clear errors."""

import datetime as dt
import io
import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from flows.cli import app
from storage import schemas
from tests.flows.demo_lake import DAY, demo_lake
from tests.flows.test_cli import run

SINCE = DAY - dt.timedelta(days=14)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_lake(tmp_path_factory)


def export(demo, *args):
    """Run ``alvh --home <demo> export ...`` in process; returns the click Result."""
    return CliRunner().invoke(app, ["--home", demo.root, "export", *args])


def expected(demo, table):
    t = schemas.get(table)
    return demo.scan(table).filter(pl.col(t.date_col) >= SINCE).sort(list(t.keys)).collect()


def test_parquet_round_trips_the_table(demo, tmp_path):
    out = tmp_path / "f.parquet"
    res = export(demo, "--table", "features_daily", "--since", str(SINCE), "--out", str(out))
    assert res.exit_code == 0, res.output
    got = pl.read_parquet(out)
    assert_frame_equal(got, expected(demo, "features_daily"))
    assert got["date"].min() >= SINCE and got["date"].max() == DAY
    assert f"features_daily: {got.height} row(s)" in res.stdout


def test_default_out_is_table_dot_format_in_the_working_folder(demo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = export(demo, "--table", "breadth_daily", "--format", "csv")
    assert res.exit_code == 0, res.output
    got = pl.read_csv(tmp_path / "breadth_daily.csv", try_parse_dates=True)
    assert got.height == demo.scan("breadth_daily").collect().height


def test_csv_to_stdout_has_iso_dates_and_timestamps(demo):
    res = export(demo, "--table", "vx_futures", "--since", str(SINCE), "--format", "csv",
                 "--out", "-")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith("trade_date,expiry,symbol")
    first = dict(zip(lines[0].split(","), lines[1].split(","), strict=True))
    assert dt.date.fromisoformat(first["trade_date"]) >= SINCE
    assert dt.datetime.fromisoformat(first["ingested_at"]).tzinfo is not None
    got = pl.read_csv(io.StringIO(res.stdout), try_parse_dates=True)
    assert got.height == demo.scan("vx_futures").filter(pl.col("trade_date") >= SINCE
                                                         ).collect().height


def test_json_is_records_with_iso_dates(demo, tmp_path):
    out = tmp_path / "legs.json"
    res = export(demo, "--table", "recommendation_legs", "--format", "json", "--out", str(out))
    assert res.exit_code == 0, res.output
    records = json.loads(out.read_text())
    assert isinstance(records, list) and records
    assert {r["date"] for r in records} == {DAY.isoformat()}
    assert {"leg", "strike", "contracts", "expiry"} <= set(records[0])


def test_since_after_the_last_day_exports_no_rows(demo):
    res = export(demo, "--table", "index_daily", "--since", "2030-01-01", "--format", "json",
                 "--out", "-")
    assert res.exit_code == 0 and json.loads(res.stdout) == []


@pytest.mark.parametrize(("args", "message"), [
    (["--table", "nope"], "unknown table 'nope'"),
    (["--table", "../etc"], "unknown table"),
    (["--table", "events", "--format", "xml"], "unknown format 'xml'"),
    (["--table", "events", "--since", "2026-02-30"], "expected a date as YYYY-MM-DD"),
    (["--table", "events", "--out", "-"], "parquet cannot go to stdout"),
])
def test_errors_are_one_line_and_exit_2(demo, args, message):
    res = export(demo, *args)
    assert res.exit_code == 2
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert res.stdout == ""


def test_as_a_user_runs_it(demo, tmp_path):
    res = run("export", "--table", "nope", home=demo.root)
    assert res.returncode == 2 and "unknown table" in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
