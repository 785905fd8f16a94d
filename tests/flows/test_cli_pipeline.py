"""The pipeline commands of the CLI on a lake the demo built."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from storage.lake import Lake

ALVH = shutil.which("alvh") or os.path.join(os.path.dirname(sys.executable), "alvh")
LAST = "2026-06-12"  # tests/flows/demo_lake.DAY, a Friday


def run(lake, *args):
    env = os.environ | {"COLUMNS": "200", "ALVH_HOME": lake.root}
    return subprocess.run([ALVH, *args], capture_output=True, text=True, env=env, timeout=300)


def test_features_json_keys_are_feature_names(demo_lake):
    from features.registry import FEATURE_NAMES

    res = run(demo_lake, "features", "--format", "json")
    assert res.returncode == 0, res.stderr
    row = json.loads(res.stdout)
    assert row["date"] == LAST and set(FEATURE_NAMES) <= set(row)


def test_features_as_of_a_weekend_shows_the_session_before(demo_lake):
    res = run(demo_lake, "features", "--as-of", "2026-06-14", "-f", "json")
    assert json.loads(res.stdout)["date"] == LAST
    table = run(demo_lake, "features")
    assert "vix_regime" in table.stdout and "term_structure" in table.stdout


def test_recommend_json_is_the_documented_document(demo_lake):
    res = run(demo_lake, "recommend", "--date", LAST, "--equity", "250000", "-f", "json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["schema_version"] == "1" and doc["equity"] == 250000 and doc["date"] == LAST
    md = run(demo_lake, "recommend", "-f", "markdown").stdout
    assert "## Iron condor" in md


def test_recommend_is_deterministic(demo_lake):
    a = run(demo_lake, "recommend", "-f", "json").stdout
    b = run(demo_lake, "recommend", "-f", "json").stdout
    assert a == b


def test_policy_show_and_a_bad_policy(demo_lake, tmp_path):
    assert "policy_version" in run(demo_lake, "policy", "show").stdout
    bad = tmp_path / "p.toml"
    bad.write_text("[condor]\nwing_widht = 25\n")
    res = run(demo_lake, "policy", "show", "--policy", str(bad))
    assert res.returncode == 2 and "wing_widht" in res.stderr and "Traceback" not in res.stderr


def test_build_incremental_is_a_no_op_when_nothing_changed(demo_lake, tmp_path):
    lake = Lake(shutil.copytree(demo_lake.root, tmp_path / "lake"))  # the shared lake stays
    res = run(lake, "build", "--date", LAST)
    assert res.returncode == 0, res.stderr
    assert "(incremental)" in res.stdout and "1 row(s)" in res.stdout


def test_validate_passes_on_the_demo_lake_and_builds_data_docs(demo_lake):
    res = run(demo_lake, "validate", "index_daily")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "index_daily" in res.stdout
    assert os.path.exists(os.path.join(demo_lake.root, "reports", "validation", "index.html"))


@pytest.mark.parametrize("args", [["ingest", "nope"], ["sql", "SELEC"]])
def test_bad_arguments_exit_2(demo_lake, args):
    res = run(demo_lake, *args)
    assert res.returncode == 2 and "Traceback" not in res.stderr


def test_sql_feature_catalog_and_features_asof(demo_lake):
    res = run(demo_lake, "sql", "SELECT count(*) AS n FROM feature_catalog", "-f", "csv")
    assert int(res.stdout.splitlines()[1]) > 50
    res = run(demo_lake, "sql", "SELECT date FROM features_asof('2026-06-14')", "-f", "csv")
    assert res.stdout.splitlines()[1] == LAST


def test_no_feature_rows_past_the_last_spx_and_vix_closes(demo_lake, tmp_path):
    """A run date after the inputs end: the table, status and recommend stop at the inputs."""
    import datetime as dt

    import polars as pl

    from core.calendar import trading_days
    from features.registry import FEATURE_NAMES

    lake = Lake(shutil.copytree(demo_lake.root, tmp_path / "lake"))
    stored = lake.scan("features_daily").sort("date").collect()
    last, later = dt.date.fromisoformat(LAST), dt.date.fromisoformat(LAST) + dt.timedelta(days=14)
    # What earlier builds left: rows to the run date with every feature unknown.
    after = trading_days(last + dt.timedelta(days=1), later)
    phantom = pl.concat([stored.tail(1)] * len(after)).with_columns(
        date=after, **{n: None for n in FEATURE_NAMES})
    lake.upsert("features_daily", phantom)
    picked = json.loads(run(lake, "recommend", "-f", "json").stdout)["date"]
    assert picked == str(after[-1])  # the last row, all unknown: what the fix removes
    res = run(lake, "build", "--full", "--date", str(later))
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"{stored.height} row(s) {stored['date'][0]}..{LAST} (full rebuild)" in res.stdout
    res = run(lake, "build", "--date", str(later))
    assert "0 row(s)" in res.stdout, res.stdout + res.stderr
    assert lake.scan("features_daily").select(pl.col("date").max()).collect().item() == last
    status = run(lake, "status")
    assert f"SPX and VIX closes is {LAST} (" in status.stdout, status.stdout
    row = next(line for line in status.stdout.splitlines() if "features_daily" in line)
    assert LAST in row and "sessions behind" in row
    rec = json.loads(run(lake, "recommend", "-f", "json").stdout)
    assert rec["date"] == LAST
