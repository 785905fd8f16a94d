"""alvh history, vacuum, migrate and as-of reads, as a user runs them."""

import datetime as dt
import json
import time

from tests.conftest import index_frame
from tests.flows.test_cli import run
from tests.storage.test_delta import write_legacy

D1, D2 = dt.date(2020, 3, 16), dt.date(2020, 3, 17)


def two_versions(lake):
    lake.upsert("index_daily", index_frame("VIX", [D1], [82.69]))
    between = dt.datetime.now(dt.UTC)
    time.sleep(0.05)
    lake.upsert("index_daily", index_frame("VIX", [D1, D2], [1.0, 75.91]))
    return between


def test_history_lists_versions_operations_and_rows(lake):
    two_versions(lake)
    res = run("history", "index_daily", "-f", "json", home=lake.root)
    assert res.returncode == 0, res.stderr
    got = [(h["version"], h["operation"], h["rows"]) for h in json.loads(res.stdout)]
    assert got == [(1, "upsert", 2), (0, "upsert", 1)]


def test_sql_and_export_read_the_lake_as_it_was(lake, tmp_path):
    between = two_versions(lake)
    q = "SELECT close FROM index_daily ORDER BY date"
    res = run("sql", q, "-f", "csv", "--as-of-version", "index_daily=0", home=lake.root)
    assert res.stdout.splitlines() == ["close", "82.69"], res.stderr
    res = run("sql", q, "-f", "csv", "--as-of-time", between.isoformat(), home=lake.root)
    assert res.stdout.splitlines() == ["close", "82.69"], res.stderr
    res = run("export", "--table", "index_daily", "--format", "csv", "--out", "-",
              "--as-of-version", "0", home=lake.root)
    assert res.returncode == 0 and "82.69" in res.stdout and "75.91" not in res.stdout
    res = run("sql", q, "--as-of-version", "nope=1", home=lake.root)
    assert res.returncode == 2 and "TABLE=VERSION" in res.stderr


def test_vacuum_and_migrate(lake):
    write_legacy(lake, "index_daily", {"year": 2020}, index_frame("VIX", [D1], [82.69]))
    res = run("migrate", home=lake.root)
    assert res.returncode == 0 and "index_daily: 1 row(s)" in res.stdout, res.stderr
    assert lake.legacy_files("index_daily") == [] and lake.snapshot("index_daily").version == 0
    res = run("vacuum", "--retain-hours", "0", home=lake.root)
    assert res.returncode == 2 and "at least 1" in res.stderr
    lake.upsert("index_daily", index_frame("VIX", [D1], [1.0]))  # the catalog lags a version
    res = run("vacuum", "--retain-hours", "1", home=lake.root)
    assert res.returncode == 0, res.stderr
    res = run("sql", "SELECT close FROM index_daily", "-f", "csv", home=lake.root)
    assert res.stdout.splitlines() == ["close", "1.0"], res.stderr  # republished, then vacuumed
