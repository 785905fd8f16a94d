"""Pipeline figures: warm nightly wall time, and a year of SPX chains backfilled on Dask.

Prints:
- warm nightly, in process: a second `nightly` for the same day on a lake that already
  holds the demo history (all sources served over local HTTP, Prefect included);
- warm nightly, CLI: `alvh nightly --date D` as a user runs it against a running Prefect
  server (process start and imports included);
- backfill of one simulated year of SPX chains with 1 and with 2 Dask workers: rows/s and
  the speed-up.
Target: warm nightly <= 15 s on this machine.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.calendar import trading_days
from demo_market import simulator
from flows.demo import sources_toml
from flows.serve import serve_directory
from storage.lake import Lake

END = dt.date(2025, 12, 31)
HISTORY_START = dt.date(2024, 1, 2)


def prefect_server(home: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    """A Prefect server on a free port; returns it and the environment that points at it."""
    import socket

    import requests

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {"PREFECT_HOME": str(home), "PREFECT_API_URL":
                        f"http://127.0.0.1:{port}/api", "PREFECT_SERVER_ANALYTICS_ENABLED":
                        "false", "DO_NOT_TRACK": "1"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "prefect"), "server", "start",
                             "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(240):
        try:
            if requests.get(f"{env['PREFECT_API_URL']}/health", timeout=1).ok:
                return proc, env
        except requests.ConnectionError:
            time.sleep(0.5)
    raise RuntimeError("prefect server did not start")


def bench_nightly(tmp: Path, env: dict[str, str]) -> None:
    from flows.nightly import backfill, nightly

    provider = tmp / "provider"
    simulator.write_raw(provider, HISTORY_START, END, seed=3, chain_days=5)
    lake = Lake(tmp / "lake")
    with serve_directory(str(provider)) as base:
        toml = tmp / "sources.toml"
        toml.write_text(sources_toml(simulator.sources_overrides(base)))
        day = trading_days(HISTORY_START, END)[-1]
        backfill(start=HISTORY_START, end=day - dt.timedelta(days=1), workers=0,
                 sources=["calendar", "cboe", "cfe", "breadth", "fred"],
                 home=lake.root, sources_file=str(toml))
        nightly(run_date=day, home=lake.root, sources=str(toml))  # warms the lake
        t0 = time.perf_counter()
        state = nightly(run_date=day, home=lake.root, sources=str(toml), return_state=True)
        warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        cli = subprocess.run([str(Path(sys.executable).parent / "alvh"), "--home", lake.root,
                              "nightly", "--date", day.isoformat(), "--sources", str(toml)],
                             env=env, capture_output=True, text=True)
        warm_cli = time.perf_counter() - t0
    print(f"warm nightly, in process: {warm:.1f} s ({state.name}); target <= 15 s")
    print(f"warm nightly, CLI against a running Prefect server: {warm_cli:.1f} s "
          f"(exit {cli.returncode})")


def bench_backfill(tmp: Path) -> None:
    from flows.nightly import backfill

    provider = tmp / "chains_year"
    days = trading_days(dt.date(2025, 1, 1), END).to_list()
    t0 = time.perf_counter()
    manifest = simulator.write_raw(provider, dt.date(2024, 12, 1), END, seed=4,
                                   chain_days=len(days))
    print(f"simulated a year of chains: {manifest['rows']['option_chain']:,} rows, "
          f"{len(days)} sessions in {time.perf_counter() - t0:.1f} s")
    rows = manifest["rows"]["option_chain"]
    timings = {}
    with serve_directory(str(provider)) as base:
        toml = tmp / "chains.toml"
        toml.write_text(sources_toml(simulator.sources_overrides(base)))
        for workers in (1, 2):
            lake = Lake(tmp / f"chains_lake_{workers}")
            t0 = time.perf_counter()
            state = backfill(start=days[0], end=days[-1], sources=["chains"], workers=workers,
                             home=lake.root, sources_file=str(toml), return_state=True)
            timings[workers] = time.perf_counter() - t0
            print(f"backfill, a year of SPX chains, {workers} Dask worker(s): "
                  f"{timings[workers]:.1f} s, {rows / timings[workers]:,.0f} rows/s "
                  f"({state.name})")
    print(f"speed-up with 2 workers: {timings[1] / timings[2]:.2f}x")


def main() -> None:
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        server, env = prefect_server(Path(tmp) / "prefect")
        os.environ.update({k: env[k] for k in ("PREFECT_API_URL", "PREFECT_HOME")})
        try:
            bench_nightly(Path(tmp), env)
            bench_backfill(Path(tmp))
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
