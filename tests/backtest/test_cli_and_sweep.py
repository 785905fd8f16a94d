"""``alvh backtest`` as a user runs it, and a sweep fanned out on a real local Dask cluster."""

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from backtest.run import backtest
from backtest.sweep import read_grid, variants
from hedge.policy import PolicyError, load_policy
from tests.conftest import NOW

ALVH = shutil.which("alvh") or os.path.join(os.path.dirname(os.sys.executable), "alvh")
D = dt.date


def alvh(*args, home):
    return subprocess.run([ALVH, "--home", str(home), *args], capture_output=True, text=True,
                          env=os.environ | {"COLUMNS": "200"}, timeout=600)


@pytest.mark.realdata
def test_cli_json_and_report(real_lake):
    res = alvh("backtest", "--start", "2018-01-01", "--end", "2018-03-31", "--format", "json",
               "--report", home=real_lake.root)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout[res.stdout.index("{"):])
    crash = [c for c in doc["claims"] if c["date"] == "2018-02-05"]
    assert {c["strategy"] for c in crash} == {"alvh_stress", "alvh_vega", "static", "vxth"}
    assert {s["scope"] for s in doc["summary"]} == {"all", "listed"}
    assert {v["strategy"] for v in doc["verdict"]} == {"alvh_stress", "alvh_vega", "static",
                                                       "vxth"}
    report = Path(real_lake.root, "reports",
                  f"backtest_{doc['run_id'].replace(':', '_')}.html")
    page = report.read_text()
    assert "Claims" in page and "plotly" in page and "2018-02-05" in page
    res = alvh("sql", "SELECT count(DISTINCT strategy) FROM v_backtest_daily", "--format",
               "json", home=real_lake.root)
    assert json.loads(res.stdout)[0] == {"count(DISTINCT strategy)": 5}


def test_cli_rejects_bad_dates(tmp_path):
    res = alvh("backtest", "--start", "2018-13-01", "--end", "2018-03-31", home=tmp_path)
    assert res.returncode == 2 and "--start" in res.stderr


def test_grid_variants(tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text('[grid]\n"ladder.coverage_quiet" = [0.2, 0.4]\n'
                    '"ladder.layers.L2.weight" = [2.0, 4.0, 6.0]\n')
    got = variants(load_policy(), read_grid(grid))
    assert len(got) == 6 and len({p.version for p in got}) == 6
    assert [p.ladder.layers[1].weight for p in got[:3]] == [2.0, 4.0, 6.0]
    grid.write_text('[grid]\n"ladder.no_such_key" = [1]\n')
    with pytest.raises(PolicyError, match="no_such_key"):
        variants(load_policy(), read_grid(grid))


@pytest.mark.realdata
@pytest.mark.integration
def test_sweep_on_two_dask_workers_equals_sequential_runs(prefect_api, real_lake, tmp_path):
    from flows.run_backtest import backtest_flow

    grid = tmp_path / "grid.toml"
    grid.write_text('[grid]\n"backtest.vix_half_spread_pct" = [0.02, 0.05, 0.08]\n')
    start, end = D(2018, 1, 29), D(2018, 2, 16)
    ids = backtest_flow(start=start, end=end, sweep=str(grid), home=real_lake.root, workers=2)
    chosen = variants(load_policy(), read_grid(grid))
    assert ids == [f"{p.version}:{start}:{end}" for p in chosen]  # in the grid's order
    stored = real_lake.scan("backtest_daily").filter(pl.col("run_id").is_in(ids)).collect()
    for policy in chosen:
        alone = backtest(real_lake, start, end, policy, NOW).daily
        mine = stored.filter(pl.col("policy_version") == policy.version)
        assert_frame_equal(mine.drop("computed_at").sort("strategy", "date"),
                           alone.drop("computed_at").sort("strategy", "date"))


def test_the_backtest_deployment_loads_its_flow_with_its_parameters():
    import yaml
    from prefect.flows import load_flow_from_entrypoint

    root = Path(__file__).resolve().parents[2]
    doc = yaml.safe_load((root / "prefect.yaml").read_text())
    dep = next(d for d in doc["deployments"] if d["name"] == "backtest")
    flow = load_flow_from_entrypoint(str(root / dep["entrypoint"]))
    assert flow.name == "backtest"
    params = flow.validate_parameters(dep["parameters"])
    assert params["start"] == D(2006, 1, 3) and params["workers"] == 2


def test_shares_deal_every_variant_once_round_robin():
    from flows.run_backtest import shares

    assert shares(list(range(7)), 2) == [[0, 2, 4, 6], [1, 3, 5]]
    assert shares(list(range(3)), 8) == [[0], [1], [2]]
    assert shares(list(range(3)), 0) == [[0, 1, 2]]
