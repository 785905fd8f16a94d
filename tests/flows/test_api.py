"""`alvh serve` as a user runs it: the console script serving the demo lake over HTTP."""

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import polars as pl
import pytest
import requests

from core.clock import today_new_york
from flows.pipeline import publish
from flows.views import catalog_extras
from storage.catalog import connect_readonly, publish_catalog
from storage.lake import Lake
from tests.conftest import free_port
from tests.flows.demo_lake import DAY, START

ALVH = shutil.which("alvh") or os.path.join(os.path.dirname(sys.executable), "alvh")


def start_server(lake: Lake):
    port = free_port()
    proc = subprocess.Popen([ALVH, "serve", "--port", str(port), "--home", lake.root],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code < 600:
                return proc, base
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError("alvh serve did not start")


@pytest.fixture(scope="module")
def lake(demo_lake, tmp_path_factory):
    """A copy of the demo lake this module may republish."""
    copy = Lake(tmp_path_factory.mktemp("api") / "lake")
    shutil.copytree(demo_lake.root, copy.root)
    return copy


@pytest.fixture(scope="module")
def api(lake):
    proc, base = start_server(lake)
    yield base
    proc.terminate()
    proc.wait(timeout=20)


def sql_json(lake: Lake, query: str, params=()) -> list[dict]:
    """The rows of a query on the catalog, as the API's JSON would carry them."""
    with connect_readonly(lake) as con:
        return json.loads(con.sql(query, params=list(params) or None).pl().write_json())


def test_features_latest(api, lake):
    res = requests.get(f"{api}/v1/features/latest", timeout=10)
    assert res.status_code == 200 and res.headers["content-type"] == "application/json"
    row = res.json()
    assert row["date"] == DAY.isoformat()
    assert row == sql_json(lake, "SELECT * FROM v_features ORDER BY date DESC LIMIT 1")[0]


@pytest.mark.parametrize("as_of", ["2026-06-12", "2026-06-14", "2026-01-19", "2025-12-25"])
def test_features_as_of_is_features_asof(api, lake, as_of):
    row = requests.get(f"{api}/v1/features", params={"as_of": as_of}, timeout=10).json()
    assert row == sql_json(lake, "SELECT * FROM features_asof(?)", [as_of])[0]
    assert row["date"] <= as_of


def test_unknown_values_are_null(api, lake):
    rows = sql_json(lake, "SELECT * FROM v_features ORDER BY date")
    day, col = next((r["date"], c) for r in rows for c, v in r.items() if v is None)
    row = requests.get(f"{api}/v1/features", params={"as_of": day}, timeout=10).json()
    assert col in row and row[col] is None


def test_feature_history(api, lake):
    res = requests.get(f"{api}/v1/features/vix_close",
                       params={"start": "2026-06-01", "end": "2026-06-12"}, timeout=10)
    assert res.status_code == 200
    want = sql_json(lake, "SELECT date, vix_close AS value FROM v_features WHERE date "
                          "BETWEEN '2026-06-01' AND '2026-06-12' ORDER BY date")
    assert res.json() == want and len(want) == 10
    whole = requests.get(f"{api}/v1/features/vix_close", timeout=10).json()
    assert whole[0]["date"] == START.isoformat() and whole[-1]["date"] == DAY.isoformat()


def test_signals(api, lake):
    got = requests.get(f"{api}/v1/signals", params={"date": "2026-06-13"}, timeout=10).json()
    want = sql_json(lake, "SELECT * FROM v_signals_history WHERE date = ? "
                          "ORDER BY family, signal", [DAY])
    assert got == want and got
    assert requests.get(f"{api}/v1/signals", timeout=10).json() == want


def test_recommendation(api, lake):
    stored = sql_json(lake, "SELECT document FROM recommendations WHERE date = ?", [DAY])
    doc = json.loads(stored[0]["document"])
    assert requests.get(f"{api}/v1/recommendation/latest", timeout=10).json() == doc
    assert requests.get(f"{api}/v1/recommendation/{DAY}", timeout=10).json() == doc
    res = requests.get(f"{api}/v1/recommendation/2026-06-11", timeout=10)
    assert res.status_code == 404 and "2026-06-11" in res.json()["detail"]


def test_backtest_summary_is_404_until_a_backtest_ran(api):
    res = requests.get(f"{api}/v1/backtest/summary", timeout=10)
    assert res.status_code == 404 and "no backtest summary" in res.json()["detail"]


def test_healthz_gives_the_age_of_every_table(api, lake):
    health = requests.get(f"{api}/healthz", timeout=10).json()
    names = [r["table_name"] for r in sql_json(lake, "SELECT table_name FROM table_status")]
    assert sorted(t["table"] for t in health["tables"]) == sorted(names)
    features = next(t for t in health["tables"] if t["table"] == "features_daily")
    assert features["last_date"] == DAY.isoformat() and features["age_seconds"] > 0
    assert features["days_behind"] == (today_new_york() - DAY).days
    assert health["status"] == "ok" and health["catalog_age_seconds"] >= 0


@pytest.mark.parametrize("path, params, status, says", [
    ("/v1/features", {"as_of": "2026-02-30"}, 422, "as_of"),
    ("/v1/features", {"as_of": "yesterday"}, 422, "as_of"),
    ("/v1/features", {}, 422, "as_of"),
    ("/v1/features", {"as_of": "2020-01-01"}, 404, "2020-01-01"),
    ("/v1/features/no_such_feature", {}, 404, "no_such_feature"),
    ("/v1/features/date", {}, 404, "not a feature"),
    ("/v1/features/vix_close", {"start": "2026-06-12", "end": "2026-06-01"}, 400, "after end"),
    ("/v1/features/vix_close", {"start": "06/01/2026"}, 422, "start"),
    ("/v1/signals", {"date": "2026-6-1x"}, 422, "date"),
    ("/v1/recommendation/not-a-date", {}, 422, "date"),
])
def test_bad_input_is_a_clear_4xx(api, path, params, status, says):
    res = requests.get(f"{api}{path}", params=params, timeout=10)
    assert res.status_code == status, res.text
    assert says in res.text


def test_openapi_documents_every_endpoint(api):
    paths = set(requests.get(f"{api}/openapi.json", timeout=10).json()["paths"])
    assert paths == {"/healthz", "/v1/features/latest", "/v1/features", "/v1/features/{name}",
                     "/v1/signals", "/v1/recommendation/latest", "/v1/recommendation/{date}",
                     "/v1/backtest/summary"}
    assert requests.get(f"{api}/docs", timeout=10).status_code == 200


def test_readers_never_fail_during_publishes(api, lake):
    failures, done = [], threading.Event()

    def read():
        with requests.Session() as s:
            while not done.is_set():
                for path in ("/v1/features/latest", "/v1/features?as_of=2026-03-02",
                             "/v1/signals", "/healthz"):
                    res = s.get(f"{api}{path}", timeout=30)
                    if res.status_code != 200:
                        failures.append((path, res.status_code, res.text))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for r in readers:
        r.start()
    try:
        for _ in range(8):
            publish(lake)
    finally:
        done.set()
        for r in readers:
            r.join()
    assert failures == []


def test_the_backtest_summary_once_the_view_exists(api, lake):
    summary = ("CREATE OR REPLACE VIEW v_backtest_summary AS SELECT 12 AS trades, "
               "NULL::DOUBLE AS sharpe")
    extra, tables = catalog_extras()
    publish_catalog(lake, extra_sql=[*extra, summary], tables=tables)
    res = requests.get(f"{api}/v1/backtest/summary", timeout=10)
    assert res.status_code == 200 and res.json() == [{"trades": 12, "sharpe": None}]
    assert pl.DataFrame(res.json()).height == 1


def test_before_the_first_publish_every_endpoint_says_so(tmp_path):
    proc, base = start_server(Lake(tmp_path / "empty"))
    try:
        for path in ("/v1/features/latest", "/v1/signals", "/healthz"):
            res = requests.get(f"{base}{path}", timeout=10)
            assert res.status_code == 503 and "alvh publish" in res.json()["detail"], path
    finally:
        proc.terminate()
        proc.wait(timeout=20)
