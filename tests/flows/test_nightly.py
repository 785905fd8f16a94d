"""The Prefect flows on a temporary Prefect API: nightly, its failure semantics, backfill."""

import datetime as dt
import shutil

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from demo_market import simulator
from flows.demo import sources_toml
from flows.nightly import backfill, backfill_units, nightly, trading_day
from flows.report import PLOTLY_BUNDLE
from flows.serve import serve_directory
from storage import schemas
from storage.lake import Lake

DAY = dt.date(2025, 6, 13)  # a Friday
START = dt.date(2025, 2, 3)
CHAIN_DAYS = 10  # chain files for 2025-06-02..2025-06-13


@pytest.fixture(scope="module")
def harness(prefect_api):
    return None


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    folder = tmp_path_factory.mktemp("provider")
    simulator.write_raw(folder, START, DAY, seed=5, chain_days=CHAIN_DAYS)
    return folder


def served_toml(folder, base, tmp_path):
    toml = tmp_path / "sources.toml"
    toml.write_text(sources_toml(simulator.sources_overrides(base)))
    return str(toml)


@pytest.mark.parametrize("day", [dt.date(2025, 6, 14), dt.date(2025, 12, 25)])
def test_weekend_or_holiday_ends_cleanly_and_writes_nothing(harness, tmp_path, day):
    state = nightly(run_date=day, home=str(tmp_path / "lake"), return_state=True)
    assert state.is_completed() and "not a NYSE trading day" in state.message
    assert not (tmp_path / "lake").exists()


def test_trading_day_from_the_schedule_in_new_york():
    assert trading_day(DAY) == DAY


def test_a_failed_source_does_not_stop_the_others(harness, provider, tmp_path):
    broken = tmp_path / "provider"
    shutil.copytree(provider, broken)
    (broken / "fred" / "DGS2.csv").write_text("<!DOCTYPE html><html>maintenance</html>")
    lake = Lake(tmp_path / "lake")
    with serve_directory(str(broken)) as base:
        state = nightly(run_date=DAY, home=lake.root, sources=served_toml(broken, base, tmp_path),
                        return_state=True)
    assert state.is_failed() and "fred" in state.message
    assert lake.scan("index_daily").filter(pl.col("date") == DAY).collect().height == 8
    feats = lake.scan("features_daily").filter(pl.col("date") == DAY).collect()
    assert feats.height == 1 and feats["rate_diff"][0] is None  # DGS2 stale -> null
    assert lake.scan("recommendations").filter(pl.col("date") == DAY).collect().height == 1
    assert [p for p in lake.list_area("quarantine", "fred") if "DGS2" in p]
    assert (tmp_path / "lake" / "alvh.duckdb").exists()


def test_nightly_completes_and_leaves_artifacts(harness, provider, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    lake = Lake(tmp_path / "lake")
    with serve_directory(str(provider)) as base:
        state = nightly(run_date=DAY, home=lake.root, sources=served_toml(provider, base, tmp_path),
                        return_state=True)
    assert state.is_completed(), state.message
    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["alvh-recommendation", "alvh-lit-signals"])))
    kinds = {a.key: a for a in arts if a.flow_run_id == state.state_details.flow_run_id}
    assert set(kinds) == {"alvh-recommendation", "alvh-lit-signals"}
    assert "Iron condor" in kinds["alvh-recommendation"].data
    assert f"Report: [{DAY}.html]" in kinds["alvh-recommendation"].data
    reports = tmp_path / "lake" / "reports"
    assert (reports / f"{DAY}.html").stat().st_size > 10_000
    assert (reports / PLOTLY_BUNDLE).stat().st_size > 3_000_000  # one shared plotly.js
    docs = (tmp_path / "lake" / "reports" / "validation" / "index.html").read_text()
    for table in ("index_daily", "vx_futures", "features_daily", "recommendations"):
        assert table in docs  # one Data Docs build covers every gate of the run


def test_backfill_units_never_share_a_partition():
    units = backfill_units(["chains", "cfe", "cboe"], dt.date(2024, 12, 15), dt.date(2025, 2, 3))
    assert units == [
        ("chains", dt.date(2024, 12, 15), dt.date(2024, 12, 31)),
        ("chains", dt.date(2025, 1, 1), dt.date(2025, 1, 31)),
        ("chains", dt.date(2025, 2, 1), dt.date(2025, 2, 3)),
        ("cfe", dt.date(2024, 12, 15), dt.date(2024, 12, 31)),
        ("cfe", dt.date(2025, 1, 1), dt.date(2025, 2, 3)),
        ("cboe", dt.date(2024, 12, 15), dt.date(2025, 2, 3)),
    ]


@pytest.mark.integration
def test_backfill_on_dask_equals_a_sequential_run(harness, provider, tmp_path):
    lakes = {}
    with serve_directory(str(provider)) as base:
        toml = served_toml(provider, base, tmp_path)
        for workers in (0, 2):
            lake = Lake(tmp_path / f"lake{workers}")
            state = backfill(start=dt.date(2025, 6, 2), end=DAY, workers=workers,
                             home=lake.root, sources_file=toml, return_state=True)
            assert state.is_completed(), state.message
            lakes[workers] = lake
    for t in schemas.all_tables():
        stamps = [c for c in ("ingested_at", "computed_at") if c in t.columns]
        a, b = (lakes[w].scan(t.name).drop(stamps).sort(list(t.keys)).collect() for w in (0, 2))
        assert_frame_equal(a, b)
    assert lakes[2].scan("option_chain").collect().height > 0


def test_a_run_is_named_after_its_trading_day_even_without_run_date(harness):
    from prefect import flow
    from prefect.runtime import flow_run

    from flows.nightly import nightly_run_name

    @flow(flow_run_name=nightly_run_name)
    def probe(run_date: dt.date | None = None) -> str:
        return flow_run.name

    assert probe(run_date=dt.date(2025, 6, 13)) == "nightly-2025-06-13"
    assert probe() == f"nightly-{trading_day(None)}"  # a scheduled run: D from the clock


def test_without_the_days_vix_close_there_is_no_feature_row_and_no_recommendation(
        harness, provider, tmp_path):
    """CBOE has not published D yet: nothing is made up for D, and the run says so."""
    late = tmp_path / "provider"
    shutil.copytree(provider, late)
    vix = late / "cboe" / "VIX_History.csv"
    lines = vix.read_text().splitlines(keepends=True)
    assert lines[-1].startswith(DAY.strftime("%m/%d/%Y"))
    vix.write_text("".join(lines[:-1]))
    lake = Lake(tmp_path / "lake")
    with serve_directory(str(late)) as base:
        state = nightly(run_date=DAY, home=lake.root, sources=served_toml(late, base, tmp_path),
                        return_state=True)
    assert state.is_failed() and "no SPX and VIX closes" in state.message, state.message
    assert lake.scan("features_daily").select(pl.col("date").max()).collect().item() == \
        dt.date(2025, 6, 12)
    assert lake.scan("recommendations").collect().height == 0
    assert (tmp_path / "lake" / "alvh.duckdb").exists()
