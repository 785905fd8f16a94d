"""The CLI as a user runs it: the installed console script in a subprocess."""

import datetime as dt
import json
import os
import shutil
import subprocess

import pytest

from storage.catalog import publish_catalog
from tests.conftest import index_frame

ALVH = shutil.which("alvh") or os.path.join(os.path.dirname(os.sys.executable), "alvh")


def run(*args, home=None, env=None):
    full_env = os.environ | {"COLUMNS": "200"} | (env or {})
    cmd = [ALVH] + (["--home", str(home)] if home else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=120)


@pytest.fixture
def published(lake):
    lake.upsert("index_daily", index_frame("VIX", [dt.date(2020, 3, 16), dt.date(2020, 3, 17)],
                                           [82.69, 75.91]))
    publish_catalog(lake)
    return lake


def test_help_lists_commands():
    res = run("--help")
    assert res.returncode == 0 and "status" in res.stdout and "sql" in res.stdout


def test_sql_formats(published):
    q = "SELECT date, close FROM index_daily ORDER BY date"
    res = run("sql", q, "--format", "json", home=published.root)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == [{"date": "2020-03-16", "close": 82.69},
                                      {"date": "2020-03-17", "close": 75.91}]
    res = run("sql", q, "--format", "csv", home=published.root)
    assert res.stdout.splitlines() == ["date,close", "2020-03-16,82.69", "2020-03-17,75.91"]
    assert "82.69" in run("sql", q, home=published.root).stdout


def test_home_from_environment(published):
    res = run("sql", "SELECT count(*) AS n FROM index_daily", "-f", "csv",
              env={"ALVH_HOME": published.root})
    assert res.stdout.splitlines() == ["n", "2"]


def test_bad_query_is_one_clear_line_and_exit_2(published):
    res = run("sql", "SELEC nonsense", home=published.root)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert "query failed" in res.stderr


def test_sql_is_read_only(published):
    res = run("sql", "CREATE TABLE x AS SELECT 1", home=published.root)
    assert res.returncode == 2 and "read-only" in res.stderr.lower()


def test_missing_catalog_is_a_clear_error(tmp_path):
    res = run("sql", "SELECT 1", home=tmp_path / "none")
    assert res.returncode == 2 and "no catalog" in res.stderr and "Traceback" not in res.stderr


def test_status_lists_every_table(published):
    res = run("status", home=published.root)
    assert res.returncode == 0, res.stderr
    for name in ("index_daily", "vx_futures", "option_chain", "macro_observations"):
        assert name in res.stdout
    assert "2020-03-17" in res.stdout


@pytest.mark.parametrize("query", [
    "COPY (SELECT 1) TO '{out}/x.parquet'",
    "EXPORT DATABASE '{out}/dump'",
    "ATTACH '{out}/other.duckdb'",
    "INSTALL delta",
    "SELECT 1; COPY index_daily TO '{out}/x.csv'",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{out}/x.csv'",
    "SET threads = 1",
    "CREATE TEMP TABLE t AS SELECT 1",
])
def test_sql_refuses_statements_that_do_not_read(published, query, tmp_path):
    before = sorted(p.name for p in tmp_path.rglob("*"))
    res = run("sql", query.format(out=tmp_path), home=published.root)
    assert res.returncode == 2 and "read-only" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written


def test_sql_runs_statements_that_read(published):
    for query in ("DESCRIBE index_daily", "SHOW TABLES", "EXPLAIN SELECT 1",
                  "WITH a AS (SELECT 2 AS n) SELECT n FROM a", "SUMMARIZE index_daily"):
        res = run("sql", query, "-f", "csv", home=published.root)
        assert res.returncode == 0, (query, res.stderr)


def test_publish_builds_the_full_catalog(published):
    res = run("publish", home=published.root)
    assert res.returncode == 0, res.stderr
    res = run("sql", "SELECT table_name FROM duckdb_tables() UNION ALL SELECT view_name FROM "
              "duckdb_views() WHERE NOT internal UNION ALL SELECT function_name FROM "
              "duckdb_functions() WHERE function_name = 'features_asof'", "-f", "csv",
              home=published.root)
    names = set(res.stdout.split())
    assert {"features_daily", "feature_catalog", "features_asof", "table_status"} <= names
    assert sum(n.startswith("v_") for n in names) >= 5
