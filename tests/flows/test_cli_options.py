"""Global options, help and argument checks of the CLI, as a user runs it."""

import time

from tests.flows.test_cli import published, run  # noqa: F401  (fixture)


def test_global_home_is_accepted_after_the_command(published):  # noqa: F811
    before = run("sql", "SELECT count(*) AS n FROM index_daily", "-f", "csv", home=published.root)
    after = run("sql", "SELECT count(*) AS n FROM index_daily", "-f", "csv", "--home",
                str(published.root))
    equals = run("sql", "SELECT count(*) AS n FROM index_daily", "-f", "csv",
                 f"--home={published.root}")
    assert after.returncode == 0, after.stderr
    assert before.stdout == after.stdout == equals.stdout == "n\n2\n"


def test_help_shows_every_environment_variable():
    res = run("--help")
    for var in ("ALVH_HOME", "ALVH_SOURCES", "ALVH_POLICY", "FRED_API_KEY", "PREFECT_API_URL"):
        assert var in res.stdout, var


def test_a_reversed_range_is_refused_before_any_work(tmp_path):
    started = time.monotonic()
    res = run("backfill", "--start", "2025-06-13", "--end", "2025-06-01", home=tmp_path)
    assert res.returncode == 2 and "after --end" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 10  # no flow, no Dask cluster started
    assert not (tmp_path / "tables").exists()
    res = run("ingest", "cboe", "--start", "2025-06-13", "--end", "2025-06-01", home=tmp_path)
    assert res.returncode == 2 and "after --end" in res.stderr
