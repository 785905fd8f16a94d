"""prefect.yaml on a real Prefect server and process worker, serving simulated providers."""

import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import requests

from demo_market import simulator
from flows.demo import sources_toml
from flows.serve import serve_directory
from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent
DAY = dt.date(2025, 6, 13)


def prefect(env, *args, timeout=180):
    res = subprocess.run([str(BIN / "prefect"), "--no-prompt", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"prefect {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}"
    return res.stdout


def wait_healthy(api: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "prefect server exited"
        try:
            if requests.get(f"{api}/health", timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise AssertionError("prefect server did not become healthy")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_nightly_deployment_runs_on_a_real_server_and_worker(tmp_path):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = os.environ | {
        "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
        "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_PREFETCH_SECONDS": "5",
        "PWD": str(ROOT), "PREFECT_LOGGING_LEVEL": "INFO",
    }
    env.pop("ALVH_HOME", None)
    provider = tmp_path / "provider"
    simulator.write_raw(provider, dt.date(2024, 6, 1), DAY, seed=11, chain_days=2)
    lake = tmp_path / "lake"
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                               "--port", str(port)], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        with serve_directory(str(provider)) as base:
            toml = tmp_path / "sources.toml"
            toml.write_text(sources_toml(simulator.sources_overrides(base)))
            wait_healthy(api, server)
            prefect(env, "work-pool", "create", "alvh", "--type", "process")
            prefect(env, "deploy", "--all")
            dep = requests.get(f"{api}/deployments/name/nightly/nightly", timeout=10).json()
            limit = dep.get("concurrency_limit") or (
                dep.get("global_concurrency_limit") or {}).get("limit")
            assert limit == 1, "two nightly runs must never overlap"
            crons = sorted(s["schedule"]["cron"] for s in dep["schedules"])
            assert crons == ["30 18 * * 1-5", "30 6 * * 2-6"]
            assert {s["schedule"]["timezone"] for s in dep["schedules"]} == {"America/New_York"}
            worker_log = open(tmp_path / "worker.log", "w")
            worker = subprocess.Popen([str(BIN / "prefect"), "worker", "start", "--pool", "alvh"],
                                      cwd=ROOT, env=env, stdout=worker_log, stderr=worker_log)
            out = prefect(env, "deployment", "run", "nightly/nightly",
                          "--param", f"run_date={DAY.isoformat()}", "--param", f"home={lake}",
                          "--param", f"sources={toml}")
            run_id = re.search(r"UUID:\s*([0-9a-f-]{36})", out).group(1)
            state = wait_for_final_state(api, run_id, seconds=300)
            log = (tmp_path / "worker.log").read_text()
            assert state == "COMPLETED", f"flow run ended {state}:\n{log[-4000:]}"
    finally:
        if worker:
            stop(worker)
        stop(server)
    with duckdb.connect(str(lake / "alvh.duckdb"), read_only=True) as con:
        con.execute("SET GLOBAL file_search_path = ?", [str(lake)])  # the views' paths are relative
        feats = con.execute("SELECT vix_regime, spx_close FROM features_daily WHERE date = ?",
                            [DAY]).fetchall()
        recs = con.execute("SELECT count(*) FROM recommendations WHERE date = ?",
                           [DAY]).fetchone()[0]
    assert len(feats) == 1 and feats[0][1] > 0
    assert recs == 1


def wait_for_final_state(api: str, run_id: str, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = requests.get(f"{api}/flow_runs/{run_id}", timeout=5).json()["state"]["type"]
        if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return state
        time.sleep(1)
    raise AssertionError("flow run did not finish in time")
