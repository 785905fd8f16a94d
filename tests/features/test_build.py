import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.build import (
    WINDOWED_TABLES,
    AdSeed,
    ad_line_seed,
    build_features,
    history_start,
)
from features.registry import FEATURE_NAMES, FEATURES, FEATURES_DAILY, feature_catalog
from storage import schemas
from tests.conftest import SHARED_DATA, shared
from tests.features.feature_inputs import NOW, all_inputs

END = dt.date(2026, 8, 21)
D = dt.date


@pytest.fixture(scope="module")
def inputs() -> dict[str, pl.DataFrame]:
    shared("cboe", "SPX_History.csv")
    return all_inputs(SHARED_DATA)


@pytest.fixture(scope="module")
def full(inputs) -> pl.DataFrame:
    return build(inputs, end=END)


def build(frames: dict[str, pl.DataFrame], **kw) -> pl.DataFrame:
    return build_features({k: v.lazy() for k, v in frames.items()}, computed_at=NOW, **kw)


def available_by(frames: dict[str, pl.DataFrame], day: dt.date) -> dict[str, pl.DataFrame]:
    """Only what was public by ``day`` (event schedules are announced in advance)."""
    return {
        "index_daily": frames["index_daily"].filter(pl.col("date") <= day),
        "vx_futures": frames["vx_futures"].filter(pl.col("trade_date") <= day),
        "breadth_daily": frames["breadth_daily"].filter(pl.col("date") <= day),
        "macro_observations": frames["macro_observations"].filter(
            pl.col("available_at") <= day),
        "events": frames["events"],
    }


def test_every_column_of_features_daily_has_a_registry_entry():
    table = schemas.get("features_daily")
    assert table is FEATURES_DAILY
    stamps = {"date", "feature_set_version", "computed_at"}
    assert set(table.columns) - stamps == set(FEATURE_NAMES)
    assert len(FEATURE_NAMES) == len(set(FEATURE_NAMES))
    catalog = feature_catalog()
    assert catalog["name"].to_list() == list(FEATURE_NAMES)
    assert catalog.select(pl.all().is_null().any()).drop("valid_min", "valid_max").row(0) == (
        False,) * (catalog.width - 2)
    assert all(f.description and f.unit and f.inputs for f in FEATURES)


def test_one_row_per_nyse_session_and_values_in_their_valid_range(full):
    assert full["date"].is_unique().all() and full["date"].is_sorted()
    assert D(2024, 7, 4) not in full["date"].to_list()  # Independence Day
    assert D(2012, 10, 29) not in full["date"].to_list()  # Hurricane Sandy closure
    for f in FEATURES:
        col = full[f.name]
        if f.valid_min is not None:
            assert (col.drop_nulls() >= f.valid_min).all(), f.name
        if f.valid_max is not None:
            assert (col.drop_nulls() <= f.valid_max).all(), f.name


def test_known_days(full):
    row = full.filter(pl.col("date") == D(2020, 3, 16)).row(0, named=True)
    assert row["vix_regime"] == "extreme" and row["backwardation"] and row["vx1"] == 72.625
    fomc = full.filter(pl.col("date") == D(2024, 9, 18)).row(0, named=True)
    assert fomc["is_fomc_day"] and fomc["days_to_fomc"] == 0
    assert full.filter(pl.col("date") == D(2024, 9, 17))["days_to_fomc"].item() == 1
    calm = full.filter(pl.col("date") == D(2017, 11, 3)).row(0, named=True)
    assert calm["vix_regime"] == "calm"


@pytest.mark.parametrize("start", [D(1990, 2, 1), D(2013, 6, 3), D(2020, 3, 16), END])
def test_incremental_equals_full(inputs, full, start):
    part = build(inputs, start=start, end=END)
    assert_frame_equal(part, full.filter(pl.col("date") >= start))


@pytest.mark.parametrize("start", [D(1990, 2, 1), D(2013, 6, 3), END])
def test_scans_pruned_to_history_start_give_the_same_rows(inputs, full, start):
    """What ``lake.scan(t, since=history_start(start))`` keeps: whole years from then on."""
    since = history_start(start)
    date_col = {"index_daily": "date", "vx_futures": "trade_date"}
    pruned = {k: v.filter(pl.col(date_col[k]).dt.year() >= since.year)
              if since is not None and k in WINDOWED_TABLES else v
              for k, v in inputs.items()}
    # A window reaching before the data (VIX starts 1990) has nothing to prune.
    assert since is None or since < D(1990, 1, 2) or (
        pruned["index_daily"].height < inputs["index_daily"].height)
    assert_frame_equal(build(pruned, start=start, end=END), full.filter(pl.col("date") >= start))


@pytest.mark.parametrize("start", [D(2013, 6, 3), D(2020, 3, 16), END])
def test_ad_line_continued_from_the_stored_row_reads_only_recent_breadth(inputs, full, start):
    seed = ad_line_seed(full.lazy(), start)
    assert seed is not None and seed.date < history_start(start)
    recent = dict(inputs, breadth_daily=inputs["breadth_daily"].filter(
        pl.col("date").dt.year() >= seed.date.year))
    assert recent["breadth_daily"].height < inputs["breadth_daily"].height
    assert_frame_equal(build(recent, start=start, end=END, ad_seed=seed),
                       full.filter(pl.col("date") >= start))


def test_no_seed_without_a_stored_value_before_the_window(full):
    assert ad_line_seed(full.lazy(), None) is None  # a full rebuild
    assert ad_line_seed(full.lazy(), D(1990, 2, 1)) is None  # window reaches 1990
    assert ad_line_seed(full.lazy().with_columns(pl.lit(None, pl.Float64).alias("ad_line")),
                        END) is None
    assert ad_line_seed(full.lazy().filter(pl.col("date") > D(2025, 1, 1)), END) is None


def test_seeded_ad_line_adds_the_breadth_rows_after_the_seed_day(inputs):
    breadth = pl.DataFrame({"date": [D(2024, 8, 1), D(2024, 8, 2), D(2024, 8, 5)],
                            "advancers": [10, 1, 5], "decliners": [3, 4, 5]})
    frames = dict(inputs, breadth_daily=breadth)
    out = build(frames, start=D(2024, 8, 1), end=D(2024, 8, 5),
                ad_seed=AdSeed(D(2024, 8, 1), 100))
    assert out["ad_line"].to_list() == [None, 97.0, 97.0]


@pytest.mark.parametrize("day", [D(1995, 6, 15), D(2008, 10, 10), D(2018, 2, 5),
                                 D(2020, 3, 16), D(2022, 6, 13), D(2024, 8, 5)])
def test_point_in_time_row_equals_stored_row(inputs, full, day):
    seen = build(available_by(inputs, day), start=day, end=day)
    assert_frame_equal(seen, full.filter(pl.col("date") == day))


def test_missing_breadth_and_events_leave_nulls_and_stale_flags(inputs):
    few = {k: v for k, v in inputs.items() if k not in ("breadth_daily", "events")}
    out = build(few, start=D(2024, 8, 1), end=D(2024, 8, 9))
    assert out["breadth_stale"].all() and out["ad_line"].is_null().all()
    assert out["days_to_fomc"].is_null().all() and not out["is_fomc_day"].any()
    assert out["events_stale"].all() and not out["regime_stale"].any()


def test_seeded_incremental_run_on_a_lake_reads_few_years_and_equals_the_full_build(
        inputs, lake):
    recent = {k: v.filter(pl.col("trade_date" if k == "vx_futures" else "date")
                          >= D(2019, 1, 1)) if k != "macro_observations" else v
              for k, v in inputs.items()}
    for name, frame in recent.items():
        lake.upsert(name, frame)
    whole = build_features({t: lake.scan(t) for t in recent}, end=END, computed_at=NOW)
    lake.upsert("features_daily", whole)
    last = whole["date"].max()
    since = history_start(last)
    stored = lake.scan("features_daily", since=since - dt.timedelta(days=10), until=since)
    assert stored.select(pl.col("date").dt.year().max()).collect().item() == since.year
    seed = ad_line_seed(stored, last)
    assert seed is not None
    scans = {t: lake.scan(t, since=since if t in WINDOWED_TABLES else None) for t in recent}
    scans["breadth_daily"] = lake.scan("breadth_daily", since=seed.date)
    assert_frame_equal(build_features(scans, start=last, end=END, computed_at=NOW,
                                      ad_seed=seed), whole.tail(1))


def test_rows_end_at_the_last_session_with_spx_and_vix_closes(inputs, full):
    idx = inputs["index_daily"]
    last = {s: idx.filter(pl.col("symbol") == s)["date"].max() for s in ("SPX", "VIX")}
    # The real files: SPX to 2026-08-21, VIX to 2026-07-31. Before: rows to END, all null.
    assert last == {"SPX": D(2026, 8, 21), "VIX": D(2026, 7, 31)}
    assert full["date"].max() == D(2026, 7, 31) < END
    assert build(inputs, start=D(2026, 8, 3), end=END).is_empty()


def test_second_engine_score_is_unknown_unless_every_signal_is_known(full):
    row = full.filter(pl.col("date") == D(2010, 1, 4)).row(0, named=True)
    # No SOFR before 2018: funding stress unknown, so the count of lit signals is too.
    assert row["second_engine_score"] is None and row["second_engine_known"] == 3
    assert row["funding_stress"] is None
    known = full.filter(pl.col("second_engine_known") == 4)
    assert known["second_engine_score"].null_count() == 0 and known.height > 900
    assert full.filter(pl.col("second_engine_known") < 4)["second_engine_score"].null_count() \
        == full.filter(pl.col("second_engine_known") < 4).height


def test_event_flags_are_unknown_where_the_real_calendar_has_no_data(inputs, full):
    # The real calendar: FOMC decisions 1978-2026, CPI releases 2025-01-15..2026-12-10, no PPI.
    crash = full.filter(pl.col("date") == D(2020, 3, 16)).row(0, named=True)
    assert crash["is_fomc_day"] is False and crash["days_to_fomc"] is not None
    assert crash["is_cpi_day"] is None and crash["is_ppi_day"] is None
    assert crash["events_stale"]
    assert full["is_ppi_day"].null_count() == full.height
    cpi = full.filter(pl.col("date") >= D(2025, 1, 1)).select("date", "is_cpi_day")
    assert cpi.filter(pl.col("is_cpi_day").is_null())["date"].max() == D(2025, 1, 14)
    listed = inputs["events"].filter((pl.col("kind") == "cpi")
                                     & (pl.col("date") <= full["date"].max()))["date"]
    covered = cpi.filter(pl.col("date") >= D(2025, 1, 15))
    assert covered["is_cpi_day"].null_count() == 0
    assert covered.filter("is_cpi_day")["date"].to_list() == listed.to_list()
