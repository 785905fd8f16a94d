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


def test_sigterm_stops_a_backfill_and_its_workers(tmp_path):
    import os
    import signal
    import socket
    import subprocess

    import psutil

    from tests.flows.test_cli import ALVH

    with socket.socket() as silent:  # accepts connections, never answers: reads time out
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        toml = tmp_path / "sources.toml"
        toml.write_text(f'[cboe]\nurl = "http://127.0.0.1:{silent.getsockname()[1]}'
                        '/{symbol}_History.csv"\n')
        proc = subprocess.Popen(
            [ALVH, "--home", str(tmp_path / "lake"), "backfill", "--start", "2024-01-02",
             "--end", "2024-03-01", "--source", "cboe", "--sources", str(toml)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=os.environ | {"PREFECT_HOME": str(tmp_path / "prefect")})
        deadline = time.monotonic() + 120
        workers = []
        while time.monotonic() < deadline and len(workers) < 2:  # the Dask workers are up
            workers = [c for c in psutil.Process(proc.pid).children(recursive=True)
                       if "spawn_main" in " ".join(c.cmdline())]
            time.sleep(0.5)
        assert len(workers) >= 2 and proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert "SIGTERM received" in stderr
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == []


def test_piped_backfill_output_is_quiet(tmp_path):
    import datetime as dt
    import os
    import subprocess

    from demo_market import simulator
    from flows.demo import sources_toml
    from tests.flows.test_cli import ALVH

    simulator.write_raw(tmp_path / "p", dt.date(2025, 1, 2), dt.date(2025, 2, 28), seed=3,
                        chain_days=2)
    toml = tmp_path / "s.toml"
    toml.write_text(sources_toml(simulator.sources_overrides(str(tmp_path / "p"))))
    res = subprocess.run(
        [ALVH, "--home", str(tmp_path / "lake"), "backfill", "--start", "2025-01-02", "--end",
         "2025-02-28", "--source", "cboe", "--source", "cfe", "--workers", "2", "--sources",
         str(toml)], capture_output=True, text=True, timeout=300,
        env=os.environ | {"PREFECT_HOME": str(tmp_path / "prefect")})
    assert res.returncode == 0, res.stdout + res.stderr
    lines = [ln for ln in (res.stdout + res.stderr).splitlines() if ln.strip()]
    # The final state and where the lake is: no Dask, GX or Prefect chatter.
    assert lines[0].startswith("Completed:") and lines[1].startswith("lake:"), lines
    chatter = ("distributed", "great_expectations", "| INFO", "DeprecationWarning")
    assert not [ln for ln in lines if any(c in ln for c in chatter)], lines
