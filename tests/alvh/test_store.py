"""The SDK on the demo lake: PIT rows equal the catalog's own macro, names are checked."""

import datetime as dt
import json
import os
import shutil
import subprocess
import sys

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import alvh
from flows.pipeline import publish
from flows.views import catalog_extras
from storage.catalog import connect_readonly, publish_catalog
from storage.lake import Lake
from tests.flows.demo_lake import DAY, START


def catalog(lake: Lake) -> duckdb.DuckDBPyConnection:
    return connect_readonly(lake)  # the views' file paths are relative to the lake home


@pytest.mark.parametrize("as_of", [DAY, DAY + dt.timedelta(days=2), dt.date(2026, 1, 19),
                                   dt.date(2025, 12, 31), "2026-03-15"])
def test_features_as_of_is_the_row_features_asof_gives(demo_lake, as_of):
    got = alvh.open(demo_lake.root).features(as_of=as_of)
    with catalog(demo_lake) as con:
        want = con.sql("SELECT * FROM features_asof(?)", params=[as_of]).pl()
    assert got.height == 1
    assert_frame_equal(got, want)
    assert got["date"].item() <= dt.date.fromisoformat(str(as_of))


@pytest.mark.parametrize("as_of", [DAY, dt.date(2025, 12, 31), None])
def test_feature_row_is_the_row_features_gives(demo_lake, as_of):
    """The light one-row read (what `alvh features` prints) equals the frame's row."""
    store = alvh.open(demo_lake.root)
    assert store.feature_row(as_of) == store.features(as_of=as_of).row(0, named=True)
    assert store.feature_row(START - dt.timedelta(days=1)) is None


def test_features_before_the_first_day_is_empty(demo_lake):
    assert alvh.open(demo_lake.root).features(as_of=START - dt.timedelta(days=1)).height == 0


def test_features_without_arguments_is_the_latest_row(demo_lake):
    latest = alvh.open(demo_lake.root).features()
    assert latest["date"].to_list() == [DAY]


def test_a_range_of_named_features(demo_lake):
    store = alvh.open(demo_lake.root)
    got = store.features(start="2026-05-01", end=dt.date(2026, 5, 29),
                         names=["vix_close", "vix_regime"])
    with catalog(demo_lake) as con:
        want = con.sql("SELECT date, vix_close, vix_regime FROM v_features WHERE date "
                           "BETWEEN '2026-05-01' AND '2026-05-29' ORDER BY date").pl()
    assert got.columns == ["date", "vix_close", "vix_regime"]
    assert_frame_equal(got, want)
    assert got.height == 20  # the NYSE sessions of May 2026 up to the 29th (Memorial Day off)


def test_nulls_stay_null(demo_lake):
    store = alvh.open(demo_lake.root)
    everything = store.features(start=START)
    nullable = [c for c in everything.columns if everything[c].null_count()]
    assert nullable, "the demo lake has unknown values (warm-up windows)"
    col = nullable[0]
    day = everything.filter(pl.col(col).is_null())["date"][0]
    assert store.features(as_of=day)[col].item() is None


def test_bad_input_is_refused(demo_lake):
    store = alvh.open(demo_lake.root)
    with pytest.raises(alvh.UnknownName, match="no_such_feature"):
        store.features(names=["vix_close", "no_such_feature"])
    with pytest.raises(alvh.UnknownName):
        store.features(names=['vix_close" FROM v_features; --'])
    with pytest.raises(ValueError, match="bad as_of"):
        store.features(as_of="2026-13-01")
    with pytest.raises(ValueError, match="after end"):
        store.features(start="2026-06-01", end="2026-05-01")
    with pytest.raises(ValueError, match="not both"):
        store.features(as_of=DAY, start=DAY)


def test_signals_of_a_day(demo_lake):
    got = alvh.open(demo_lake.root).signals("2026-06-13")  # a Saturday: Friday's flags
    with catalog(demo_lake) as con:
        want = con.sql("SELECT * FROM v_signals_history WHERE date = ? "
                           "ORDER BY family, signal", params=[DAY]).pl()
    assert got.height > 0 and set(got["date"]) == {DAY}
    assert_frame_equal(got, want)


def test_recommendation_is_the_stored_document(demo_lake):
    store = alvh.open(demo_lake.root)
    doc = store.recommendation(DAY)
    with catalog(demo_lake) as con:
        stored = con.sql("SELECT document FROM recommendations WHERE date = ?",
                         params=[DAY]).fetchall()[0][0]
    assert doc == json.loads(stored) == store.recommendation()
    assert doc["date"] == DAY.isoformat()
    with pytest.raises(alvh.NotFound):
        store.recommendation("2026-06-11")


def test_backtest_summary_is_not_found_until_a_backtest_ran(demo_lake):
    with pytest.raises(alvh.NotFound, match="no backtest summary"):
        alvh.open(demo_lake.root).backtest_summary()


def test_a_lake_without_a_catalog(tmp_path):
    with pytest.raises(alvh.CatalogMissing, match="alvh publish"):
        alvh.open(tmp_path).features()


def test_the_store_follows_a_publish(demo_lake, tmp_path):
    lake = Lake(tmp_path / "lake")
    shutil.copytree(demo_lake.root, lake.root)
    store = alvh.open(lake.root)
    before = store.features()
    inode = os.stat(store.catalog).st_ino
    summary = "CREATE OR REPLACE VIEW v_backtest_summary AS SELECT 3 AS trades"
    extra, tables = catalog_extras()
    publish_catalog(lake, extra_sql=[*extra, summary], tables=tables)
    assert os.stat(store.catalog).st_ino != inode
    # The same store now reads the new file (DuckDB's per-path instance cache would not).
    assert store.backtest_summary()["trades"].to_list() == [3]
    assert_frame_equal(store.features(), before)
    publish(lake)
    with pytest.raises(alvh.NotFound):
        store.backtest_summary()


def test_import_stays_light():
    code = ("import sys, alvh; heavy = [m for m in sys.modules if m.split('.')[0] in "
            "('prefect', 'great_expectations', 'plotly', 'fastapi', 'polars', 'pyarrow')]; "
            "print(heavy)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert res.stdout.strip() == "[]", res.stdout + res.stderr
