"""Commands that only read import neither the orchestrator, the validation framework nor the
charting library: each runs as its own process on a real lake and reports what it loaded."""

import datetime as dt
import os
import subprocess
import sys

import pytest

from features.build import build_features
from flows.pipeline import publish
from storage.lake import Lake
from tests.conftest import NOW, SHARED_DATA, shared
from tests.features.feature_inputs import all_inputs

HEAVY = ("great_expectations", "prefect", "plotly")
RUN = ("import sys; from flows.cli import app\n"
       "try:\n    app(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
       f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules], code, file=sys.stderr)")

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def real_lake(tmp_path_factory) -> Lake:
    shared("cboe", "SPX_History.csv")
    inputs = all_inputs(SHARED_DATA)
    lake = Lake(tmp_path_factory.mktemp("light") / "lake")
    lake.replace("index_daily", inputs["index_daily"])
    lake.replace("features_daily", build_features(
        {k: v.lazy() for k, v in inputs.items()}, start=dt.date(2024, 1, 2),
        end=dt.date(2024, 3, 28), computed_at=NOW))
    publish(lake)
    return lake


@pytest.mark.parametrize("args", [
    ["status"], ["features"], ["features", "--as-of", "2024-03-01", "--format", "json"],
    ["sql", "SELECT count(*) FROM features_daily"], ["policy", "show"],
    ["export", "--table", "features_daily", "--format", "csv", "--out", "-"],
    ["history", "index_daily"],
], ids=lambda a: " ".join(a[:2]))
def test_read_commands_stay_light(real_lake, args):
    env = os.environ | {"ALVH_HOME": real_lake.root, "COLUMNS": "200"}
    res = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True,
                         env=env, timeout=120)
    loaded = res.stderr.strip().splitlines()[-1]
    assert loaded == "LOADED [] 0" or loaded == "LOADED [] None", res.stderr
    assert res.stdout.strip(), res.stderr


def test_one_feature_row_reads_the_catalog_with_duckdb_alone(real_lake):
    """`alvh features` is a catalog read: no frame library, no lake storage libraries."""
    code = RUN.replace(repr(HEAVY), repr(("polars", "pyarrow", "deltalake", "fsspec", "numpy")))
    env = os.environ | {"ALVH_HOME": real_lake.root, "COLUMNS": "200"}
    res = subprocess.run([sys.executable, "-c", code, "features", "--format", "json"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.stderr.strip().splitlines()[-1] in ("LOADED [] 0", "LOADED [] None"), res.stderr
    assert '"vix_regime"' in res.stdout
