"""An incremental build on a real lake equals the full rebuild, to the last bit."""

import datetime as dt
import shutil

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.errors import DataValidationFailed
from flows.pipeline import build, incremental_start
from storage.lake import Lake

NOW = dt.datetime(2026, 6, 13, 1, 0, tzinfo=dt.UTC)


def stored(lake: Lake) -> pl.DataFrame:
    return lake.scan("features_daily").drop("computed_at").sort("date").collect()


def test_incremental_build_on_the_lake_equals_the_full_rebuild(demo_lake, tmp_path):
    lake = Lake(shutil.copytree(demo_lake.root, tmp_path / "lake"))
    full = stored(lake)
    last = full["date"].max()
    cut = full["date"].tail(7)[0]  # forget the last 7 sessions, then build them again
    for year in range(cut.year, last.year + 1):
        part = lake.read_partition("features_daily", {"year": year})
        lake.write_partition("features_daily", {"year": year},
                             part.filter(pl.col("date") < cut))
    first_missing = incremental_start(lake, last)
    assert first_missing is not None and first_missing <= cut
    report = build(lake, last, now=NOW)
    assert not report.full and report.rows <= 10
    assert_frame_equal(stored(lake), full)


def test_late_input_makes_the_incremental_build_redo_its_days(demo_lake, tmp_path):
    lake = Lake(shutil.copytree(demo_lake.root, tmp_path / "lake"))
    last = stored(lake)["date"].max()
    built_at = lake.scan("features_daily").select(pl.col("computed_at").max()).collect().item()
    late = built_at + dt.timedelta(hours=1)  # a re-fetched file arriving after the build
    vix = lake.scan("index_daily").filter(pl.col("symbol") == "VIX").sort("date").collect()
    late_day = vix["date"][-4]
    part = {"year": late_day.year}
    hit = (pl.col("symbol") == "VIX") & (pl.col("date") == late_day)
    patched = lake.read_partition("index_daily", part).with_columns(
        close=pl.when(hit).then(pl.col("close") + 1.0).otherwise(pl.col("close")),
        ingested_at=pl.when(hit).then(pl.lit(late)).otherwise(pl.col("ingested_at")))
    lake.write_partition("index_daily", part, patched)
    assert incremental_start(lake, last) == late_day
    build(lake, last, now=NOW)
    incremental = stored(lake)
    build(lake, last, now=NOW, full=True)
    assert_frame_equal(incremental, stored(lake))


def test_a_full_rebuild_that_fails_its_gate_leaves_the_published_table(demo_lake, tmp_path):
    lake = Lake(shutil.copytree(demo_lake.root, tmp_path / "lake"))
    before = {p: open(p, "rb").read() for p in lake.partitions("features_daily")}
    last = stored(lake)["date"].max()
    # A VIX print far outside vix_close's registered range (written past the ingest gate).
    part = {"year": last.year}
    hit = (pl.col("symbol") == "VIX") & (pl.col("date") == last)
    lake.write_partition("index_daily", part, lake.read_partition("index_daily", part)
                         .with_columns(close=pl.when(hit).then(999.0).otherwise(pl.col("close"))))
    with pytest.raises(DataValidationFailed, match=r"features_daily rebuild not published"
                                                   r"(.|\n)*vix_close"):
        build(lake, last, now=NOW, full=True)
    assert {p: open(p, "rb").read() for p in lake.partitions("features_daily")} == before
    kept = lake.list_area("quarantine", "validation")
    assert any("features_daily.rebuild" in p for p in kept)


def test_the_start_follows_the_stored_table(demo_lake, tmp_path):
    lake = Lake(shutil.copytree(demo_lake.root, tmp_path / "lake"))
    table = stored(lake)
    first, last = table["date"].min(), table["date"].max()
    assert incremental_start(lake, last) == last  # up to date: only the end day is redone
    later = last + dt.timedelta(days=30)
    assert incremental_start(lake, later) == last + dt.timedelta(days=1)
    # One partition from another feature set version: the table is rebuilt in full.
    part = {"year": first.year}
    lake.write_partition("features_daily", part, lake.read_partition("features_daily", part)
                         .with_columns(feature_set_version=pl.lit("2020.1.1")))
    assert incremental_start(lake, later) is None
