"""prefect.yaml on a real Prefect server and process worker, serving simulated providers.

One server for the module: `prefect deploy --all`, the scheduler's own cron runs of
`nightly`, one run of a short interval schedule claimed and executed by a real process
worker, and the failure alert (automation + webhook block) received over real HTTP.
"""

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

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
NEW_YORK = ZoneInfo("America/New_York")
# prefect.yaml's crons: (New York time, ISO weekdays it fires on)
CRONS = ((dt.time(18, 30), {1, 2, 3, 4, 5}), (dt.time(6, 30), {2, 3, 4, 5, 6}))


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


class Receiver:
    """A local webhook endpoint that keeps every JSON body posted to it."""

    def __init__(self):
        bodies = self.bodies = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, seconds: float) -> list[dict]:
        deadline = time.monotonic() + seconds
        while not self.bodies and time.monotonic() < deadline:
            time.sleep(0.5)
        return self.bodies


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Prefect server whose schedulers loop every few seconds, and the env pointing at it."""
    tmp = tmp_path_factory.mktemp("prefect")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = os.environ | {
        "PREFECT_HOME": str(tmp / "home"), "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
        "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_PREFETCH_SECONDS": "5",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
        "PWD": str(ROOT), "PREFECT_LOGGING_LEVEL": "INFO",
    }
    env.pop("ALVH_HOME", None)
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], cwd=tmp, env=env, stdout=log, stderr=log)
    try:
        wait_healthy(api, proc)
        prefect(env, "work-pool", "create", "alvh", "--type", "process")
        prefect(env, "deploy", "--all")
        yield api, env, tmp / "server.log"
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    """Simulated provider files served over local HTTP; yields their sources overrides."""
    tmp = tmp_path_factory.mktemp("provider")
    simulator.write_raw(tmp / "files", dt.date(2024, 6, 1), DAY, seed=11, chain_days=2)
    with serve_directory(str(tmp / "files")) as base:
        yield simulator.sources_overrides(base)


def write_sources(path: Path, overrides: dict) -> Path:
    path.write_text(sources_toml(overrides))
    return path


def deployment(api: str, name: str) -> dict:
    return requests.get(f"{api}/deployments/name/{name}", timeout=10).json()


def flow_runs(api: str, deployment_id: str, states=("SCHEDULED",)) -> list[dict]:
    body = {"flow_runs": {"deployment_id": {"any_": [deployment_id]},
                          "state": {"type": {"any_": list(states)}}},
            "sort": "EXPECTED_START_TIME_ASC", "limit": 200}
    res = requests.post(f"{api}/flow_runs/filter", json=body, timeout=10)
    res.raise_for_status()
    return res.json()


def next_cron_times(after: dt.datetime, n: int, at: dt.time, weekdays: set[int]
                    ) -> list[dt.datetime]:
    """The next n fire times of a New York cron (a time on some ISO weekdays), in UTC."""
    times = []
    day = after.astimezone(NEW_YORK).date()
    for offset in range(2 * n + 7):
        d = day + dt.timedelta(days=offset)
        when = dt.datetime.combine(d, at, NEW_YORK)
        if d.isoweekday() in weekdays and when > after:
            times.append(when.astimezone(dt.UTC))
    return times[:n]


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def test_deployments_match_prefect_yaml(server):
    api, _, _ = server
    dep = deployment(api, "nightly/nightly")
    limit = dep.get("concurrency_limit") or (
        dep.get("global_concurrency_limit") or {}).get("limit")
    assert limit == 1, "two nightly runs must never overlap"
    crons = sorted(s["schedule"]["cron"] for s in dep["schedules"])
    assert crons == ["30 18 * * 1-5", "30 6 * * 2-6"]
    assert {s["schedule"]["timezone"] for s in dep["schedules"]} == {"America/New_York"}
    assert deployment(api, "backfill/backfill")["parameters"] == {"workers": 2}


def test_scheduler_creates_the_nightly_cron_runs_in_new_york_time(server):
    api, _, log = server
    dep = deployment(api, "nightly/nightly")
    created = utc(dep["created"])
    # The scheduler keeps at least its minimum (3) of upcoming runs per schedule.
    want = sorted(t for at, days in CRONS for t in next_cron_times(created, 3, at, days))
    deadline = time.monotonic() + 120
    runs = []
    while time.monotonic() < deadline and len(runs) < len(want):
        runs = flow_runs(api, dep["id"])
        time.sleep(2)
    assert len(runs) >= len(want), ("the scheduler created too few runs; server log:\n"
                                    + log.read_text()[-3000:])
    got = [utc(r["expected_start_time"]) for r in runs]
    assert got[:len(want)] == want
    assert all(r["auto_scheduled"] for r in runs)
    local = {t.astimezone(NEW_YORK).strftime("%H:%M") for t in got}
    assert local == {"18:30", "06:30"}
    assert "bulk DML" not in log.read_text()


@pytest.fixture(scope="module")
def scheduled_run(server, provider, tmp_path_factory):
    """Run nightly for DAY from a short interval schedule, claimed by a real process worker."""
    api, env, _ = server
    tmp = tmp_path_factory.mktemp("scheduled")
    lake = tmp / "lake"
    dep = deployment(api, "nightly/nightly")
    anchor = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=20)
    schedule = {"schedule": {"interval": 600, "anchor_date": anchor.isoformat(),
                             "timezone": "America/New_York"}, "active": True,
                "parameters": {"run_date": DAY.isoformat(), "home": str(lake),
                               "sources": str(write_sources(tmp / "sources.toml", provider))}}
    res = requests.post(f"{api}/deployments/{dep['id']}/schedules", json=[schedule], timeout=10)
    assert res.status_code < 300, res.text
    worker_log = tmp / "worker.log"
    with open(worker_log, "w") as wl:
        worker = subprocess.Popen([str(BIN / "prefect"), "worker", "start", "--pool", "alvh"],
                                  cwd=ROOT, env=env, stdout=wl, stderr=wl)
        try:
            run = wait_for_run_at(api, dep["id"], anchor, seconds=420)
        finally:
            stop(worker)
    return run, lake, worker_log.read_text()


def wait_for_run_at(api: str, deployment_id: str, at: dt.datetime, seconds: float) -> dict:
    """The deployment's run expected at ``at``, once it reached a final state."""
    deadline = time.monotonic() + seconds
    final = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
    run = None
    while time.monotonic() < deadline:
        runs = flow_runs(api, deployment_id, states=("SCHEDULED", "PENDING", "RUNNING", *final))
        run = next((r for r in runs if utc(r["expected_start_time"]) == at), None)
        if run and run["state"]["type"] in final:
            return run
        time.sleep(2)
    raise AssertionError(f"the interval run did not finish in time: {run}")


def test_an_interval_scheduled_run_is_executed_by_the_worker(scheduled_run):
    run, lake, log = scheduled_run
    assert run["state"]["type"] == "COMPLETED", f"flow run ended {run['state']}:\n{log[-4000:]}"
    assert run["auto_scheduled"] and run["work_pool_name"] == "alvh"
    assert run["infrastructure_pid"], "a process worker starts every run in its own process"
    assert run["name"] == f"nightly-{DAY}"
    with duckdb.connect(str(lake / "alvh.duckdb"), read_only=True) as con:
        con.execute("SET GLOBAL file_search_path = ?", [str(lake)])  # the views' paths are relative
        feats = con.execute("SELECT vix_regime, spx_close FROM features_daily WHERE date = ?",
                            [DAY]).fetchall()
        recs = con.execute("SELECT count(*) FROM recommendations WHERE date = ?",
                           [DAY]).fetchone()[0]
    assert len(feats) == 1 and feats[0][1] > 0
    assert recs == 1


def test_a_failed_nightly_sends_the_alert(server, provider, scheduled_run, tmp_path):
    api, env, _ = server
    _, lake, _ = scheduled_run
    receiver = Receiver()
    res = subprocess.run([str(BIN / "alvh"), "alerts", "install", "--url", receiver.url],
                         env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    # FRED now answers with an HTML error page: the source fails, the others go on.
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body>Service temporarily unavailable</body></html>")
    toml = write_sources(tmp_path / "broken.toml", provider | {"fred": {"url": str(broken)}})
    res = subprocess.run([str(BIN / "alvh"), "nightly", "--date", DAY.isoformat(), "--home",
                          str(lake), "--sources", str(toml)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 1, res.stdout + res.stderr
    bodies = receiver.wait(90)
    assert len(bodies) == 1, bodies
    text = bodies[0]["text"]
    assert f"nightly-{DAY}" in text and "Failed" in text
    assert f"{DAY}: 1 source(s) failed (fred)" in text
    # A completed run sends nothing.
    assert subprocess.run([str(BIN / "alvh"), "nightly", "--date", DAY.isoformat(), "--home",
                           str(lake), "--sources", str(write_sources(tmp_path / "ok.toml",
                                                                     provider))], env=env,
                          capture_output=True, timeout=300).returncode == 0
    time.sleep(10)
    assert len(receiver.bodies) == 1
