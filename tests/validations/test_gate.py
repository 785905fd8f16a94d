"""Each blocking expectation rejects real data broken once, and the published version survives."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.errors import DataValidationFailed
from storage import schemas
from storage.lake import Lake
from tests.conftest import NOW
from tests.validations import real_frames
from validations import (
    Rules,
    build_docs,
    gate_partition,
    registered_ranges,
    summary_rows,
    validate,
    validate_lake,
)

pytestmark = pytest.mark.realdata

RULES = {"macro_observations": Rules(series_bounds={"DFF": (-1.0, 25.0)}),
         "index_daily": Rules(series_bounds={"VIX": (9.0, 100.0), "SKEW": (90.0, 200.0)})}
PARTITIONS: dict[str, dict[str, object]] = {
    "index_daily": {"year": 2024},
    "vx_futures": {"year": 2024},
    "option_chain": {"quote_date": dt.date(2024, 3, 15)},
    "breadth_daily": {"year": 2024},
    "macro_observations": {"series_id": "DFF"},
    "events": {"kind": "fomc"},
}
Breaker = Callable[[pl.DataFrame], pl.DataFrame]


def put(col: str, value: object, row: int = 3) -> Breaker:
    """Set ``col`` to ``value`` on one row."""
    def broken(f: pl.DataFrame) -> pl.DataFrame:
        hit = pl.int_range(pl.len()) == row
        return f.with_columns(pl.when(hit).then(pl.lit(value, dtype=f.schema[col]))
                              .otherwise(pl.col(col)).alias(col))
    return broken


def duplicate_row(f: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([f, f.head(1)])


def drop_row(f: pl.DataFrame) -> pl.DataFrame:
    return f.head(f.height - 1)


def same_symbol_twice(f: pl.DataFrame) -> pl.DataFrame:
    # rows 0 and 1 share the first trade date (sorted by trade_date, expiry)
    return put("symbol", f["symbol"][0], row=1)(f)


def common(keys: tuple[str, ...]) -> dict[str, Breaker]:
    out: dict[str, Breaker] = {f"{k}_not_null": put(k, None) for k in keys}
    return out | {"key_unique": duplicate_row, "rows_not_shrinking": drop_row}


BREAKERS: dict[str, dict[str, Breaker]] = {
    "index_daily": common(("symbol", "date")) | {
        "open_positive": put("open", 0.0), "high_positive": put("high", -1.0),
        "low_positive": put("low", 0.0), "close_positive": put("close", -13.0),
        "vix_family_close_in_5_150": put("close", 151.0),
        "close_within_symbol_bounds": put("close", 8.0)},
    "vx_futures": common(("trade_date", "expiry")) | {
        "settle_in_5_150": put("settle", 200.0),
        "expiry_on_or_after_trade_date": put("expiry", dt.date(2023, 12, 29), row=0),
        "expiries_strictly_increasing": same_symbol_twice,
        "volume_non_negative": put("volume", -1),
        "open_interest_non_negative": put("open_interest", -5)},
    "option_chain": common(("quote_date", "root", "expiration", "strike", "right")) | {
        "quote_date_is_nyse_session": lambda f: f.with_columns(
            quote_date=pl.lit(dt.date(2024, 3, 29))),
        "right_is_c_or_p": put("right", "X"), "strike_positive": put("strike", 0.0),
        "bid_non_negative": put("bid", -1.0), "ask_non_negative": put("ask", -0.05, row=5),
        "bid_le_ask": put("bid", 99.0), "iv_non_negative": put("iv", -0.2),
        "expiration_on_or_after_quote_date": put("expiration", dt.date(2024, 3, 14)),
        "delta_in_-1_1": put("delta", 1.5)},
    "breadth_daily": common(("date",)) | {
        **{f"{c}_non_negative": put(c, -1)
           for c in ("advancers", "decliners", "unchanged", "new_highs", "new_lows")},
        "issues_total_plausible": put("advancers", 9000),
        "date_is_nyse_session": put("date", dt.date(2024, 1, 6))},
    "macro_observations": common(("series_id", "date", "realtime_start")) | {
        "available_at_on_or_after_date": put("available_at", dt.date(2023, 12, 1)),
        "realtime_start_on_or_after_date": put("realtime_start", dt.date(2023, 12, 1)),
        "value_within_series_bounds": put("value", 99.0)},
    "events": common(("date", "kind")),
}
CASES = [(t, name) for t, breakers in BREAKERS.items() for name in breakers]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Lake, pl.DataFrame]]:
    """A lake per table holding the good real slice, published through the gate."""
    out = {}
    for table, part in PARTITIONS.items():
        lake = Lake(tmp_path_factory.mktemp(table))
        good = getattr(real_frames, table)()
        gate_partition(lake, table, part, good, at=NOW, rules=RULES.get(table))
        out[table] = (lake, good)
    return out


def partition_bytes(lake: Lake, table: str) -> bytes:
    (path,) = lake.partitions(table)
    with open(path, "rb") as fh:
        return fh.read()


@pytest.mark.parametrize(("table", "check"), CASES, ids=[f"{t}-{c}" for t, c in CASES])
def test_broken_once_is_rejected_and_published_survives(
        published: dict[str, tuple[Lake, pl.DataFrame]], table: str, check: str) -> None:
    lake, good = published[table]
    before, quarantined = partition_bytes(lake, table), set(lake.list_area("quarantine"))
    bad = BREAKERS[table][check](good)
    with pytest.raises(DataValidationFailed, match=check) as err:
        gate_partition(lake, table, PARTITIONS[table], bad, at=NOW, rules=RULES.get(table))
    assert partition_bytes(lake, table) == before
    new = sorted(set(lake.list_area("quarantine")) - quarantined)
    assert [p.rsplit(".", 2)[-2:] for p in new] == [["gx", "json"], ["parquet"]] or len(new) == 2
    (parquet,) = [p for p in new if p.endswith(".parquet")]
    assert_frame_equal(pl.read_parquet(parquet), schemas.get(table).conform(bad))
    assert "e.g. [" in str(err.value)


@pytest.mark.parametrize("table", list(PARTITIONS))
def test_good_real_data_passes(table: str) -> None:
    result = validate(table, getattr(real_frames, table)(), rules=RULES.get(table))
    assert result.success, result.message()
    assert result.failures == []


def test_soft_failures_publish_with_warnings(
        published: dict[str, tuple[Lake, pl.DataFrame]]) -> None:
    # CBOE publishes VIX on NYSE holidays (2024-01-15 MLK day): a warning, not a block.
    lake, good = published["index_daily"]
    result = validate("index_daily", good, published_rows=good.height)
    assert result.success
    (warning,) = result.warnings
    assert warning.check == "date_is_nyse_session"
    assert "2024-01-15" in warning.samples
    chain = put("iv", 6.2, row=0)(real_frames.option_chain())  # CBOE prints such IVs
    (soft,) = validate("option_chain", chain).warnings
    assert (soft.check, soft.samples) == ("iv_in_0_5", [6.2])
    assert lake.read_partition("index_daily", PARTITIONS["index_daily"]) is not None


def test_upsert_merges_validates_and_rejects(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lake, good = Lake(tmp_path / "lake"), real_frames.breadth_daily()
    gate_partition(lake, "breadth_daily", None, good.head(100), at=NOW)
    gate_partition(lake, "breadth_daily", None, good.slice(90), at=NOW)
    assert_frame_equal(lake.scan("breadth_daily").collect().sort("date"), good)
    with pytest.raises(DataValidationFailed, match="advancers_non_negative"):
        gate_partition(lake, "breadth_daily", None, put("advancers", -3, row=0)(good.tail(5)),
                       at=NOW)
    assert_frame_equal(lake.scan("breadth_daily").collect().sort("date"), good)


def test_gap_inside_a_series_is_named(published: dict[str, tuple[Lake, pl.DataFrame]]) -> None:
    _, good = published["breadth_daily"]
    result = validate("breadth_daily", good.filter(pl.col("date") != dt.date(2024, 3, 5)))
    assert result.success  # soft for breadth
    (gap,) = [w for w in result.warnings if w.check == "date_no_session_gap"]
    assert gap.samples == ["2024-03-06: 1 missing session(s) before"]


def test_validate_lake_summary_and_data_docs(
        published: dict[str, tuple[Lake, pl.DataFrame]], tmp_path) -> None:  # type: ignore[no-untyped-def]
    lake, _ = published["vx_futures"]
    docs = tmp_path / "reports" / "validation"
    (result,) = validate_lake(lake, docs_dir=docs)
    assert result.table == "vx_futures" and result.success
    rows = summary_rows([result])
    assert {r["check"] for r in rows} >= {"settle_in_5_150", "expiries_strictly_increasing"}
    assert {r["severity"] for r in rows} == {"blocking", "soft"}
    page = (docs / "index.html").read_text()
    assert 'id="vx_futures"' in page and "settle_in_5_150" in page
    assert list((docs / "results" / "vx_futures").glob("*.json"))


def test_data_docs_merge_runs_and_need_no_network(
        published: dict[str, tuple[Lake, pl.DataFrame]], tmp_path) -> None:  # type: ignore[no-untyped-def]
    import re

    build_docs(tmp_path / "flushed")  # what earlier tests validated without a docs folder
    docs = tmp_path / "docs"
    tables = ["vx_futures", "index_daily"]
    for table in tables:  # two partial runs, one table each (as Dask workers do)
        lake, _ = published[table]
        validate_lake(lake, [table], docs_dir=docs)
    lake, _ = published["vx_futures"]
    validate_lake(lake, ["vx_futures"])  # kept in memory until build_docs
    build_docs(docs)
    page = (docs / "index.html").read_text()
    for table in tables:
        assert f'id="{table}"' in page
    assert "2 earlier" not in page and "1 earlier" in page  # vx_futures validated twice
    assert not re.search(r"<script|<link|https?://", page)


def test_validate_lake_takes_snapshot_tables_one_partition_at_a_time(
        published: dict[str, tuple[Lake, pl.DataFrame]]) -> None:
    lake, good = published["option_chain"]
    later = good.with_columns(quote_date=pl.lit(dt.date(2024, 3, 18)))
    lake.write_partition("option_chain", {"quote_date": dt.date(2024, 3, 18)}, later)
    try:
        results = validate_lake(lake, ["option_chain"])
    finally:
        lake.fs.rm(lake.partition_dir("option_chain", {"quote_date": dt.date(2024, 3, 18)}),
                   recursive=True)
    assert [(r.scope, r.rows, r.success) for r in results] == [
        ("quote_date=2024-03-15", 6, True), ("quote_date=2024-03-18", 6, True)]
    assert {row["scope"] for row in summary_rows(results)} == {r.scope for r in results}


def test_rejection_message_names_expectation_column_and_samples(
        published: dict[str, tuple[Lake, pl.DataFrame]]) -> None:
    lake, good = published["vx_futures"]
    bad = put("settle", 200.0, row=0)(put("settle", 1.5, row=7)(good))
    with pytest.raises(DataValidationFailed) as err:
        gate_partition(lake, "vx_futures", PARTITIONS["vx_futures"], bad, at=NOW)
    text = str(err.value)
    assert "vx_futures.year-2024 not published" in text
    assert "settle_in_5_150 (expect_column_values_to_be_between on settle): 2 row(s)" in text
    assert "[200.0, 1.5]" in text
    shrunk = r"rows_not_shrinking .*e\.g\. \['50 \(min 543\)'\]"
    with pytest.raises(DataValidationFailed, match=shrunk):
        gate_partition(lake, "vx_futures", PARTITIONS["vx_futures"], good.head(50), at=NOW)


@pytest.fixture
def registered():  # type: ignore[no-untyped-def]
    """Register tables for the test and restore whatever was registered before."""
    saved: dict[str, schemas.Table | None] = {}

    def register(t: schemas.Table) -> None:
        schemas.all_tables()  # the declared tables loaded, so the test's one replaces its own
        saved.setdefault(t.name, schemas._TABLES.get(t.name))
        schemas._TABLES[t.name] = t

    yield register
    for name, old in saved.items():
        if old is None:
            schemas._TABLES.pop(name, None)
        else:
            schemas._TABLES[name] = old


def test_features_daily_uses_registered_ranges(registered) -> None:  # type: ignore[no-untyped-def]
    registered(schemas.Table("features_daily", {
        "date": pl.Date(), "rsi_14": pl.Float64(), "vix_above_20": pl.Boolean(),
        "computed_at": schemas.UTC_TS}, keys=("date",), date_col="date"))
    dates = real_frames.index_daily()["date"].head(12)  # includes 2024-01-15 (a holiday)
    good = pl.DataFrame({"date": dates, "rsi_14": 50.0, "vix_above_20": False,
                         "computed_at": NOW}).filter(pl.col("date") != dt.date(2024, 1, 15))
    good = good.with_columns(pl.col("computed_at").cast(schemas.UTC_TS))
    rules = Rules(range_rules={"rsi_14": (0.0, 100.0)})
    assert validate("features_daily", good, rules=rules).success
    failed = validate("features_daily", put("rsi_14", 100.5)(good), rules=rules)
    assert [f.check for f in failed.failures] == ["rsi_14_in_registered_range"]
    holes = validate("features_daily", good.filter(pl.col("date") != dates[5]), rules=rules)
    assert [f.check for f in holes.failures] == ["date_no_session_gap"]


def test_recommendations_generic_suite_with_policy_rules(registered) -> None:  # type: ignore[no-untyped-def]
    registered(schemas.Table("recommendations", {
        "date": pl.Date(), "policy_version": pl.String(), "regime": pl.String(),
        "layers": pl.Int64(), "hedge_notional_pct": pl.Float64(), "computed_at": schemas.UTC_TS},
        keys=("date", "policy_version"), date_col="date"))
    rec = pl.DataFrame({
        "date": [dt.date(2024, 3, 13), dt.date(2024, 3, 14), dt.date(2024, 3, 15)],
        "policy_version": "v1", "regime": ["calm", "stress", "calm"], "layers": [1, 3, 1],
        "hedge_notional_pct": [0.5, 2.0, 0.5], "computed_at": NOW,
    }).with_columns(pl.col("computed_at").cast(schemas.UTC_TS))
    rules = Rules(range_rules={"hedge_notional_pct": (0.0, 3.0)},
                  row_rules={"layers_match_regime": (pl.col("regime") == "stress")
                             | (pl.col("layers") <= 1)})
    assert validate("recommendations", rec, rules=rules).success
    bad = validate("recommendations", put("layers", 3, row=0)(rec), rules=rules)
    assert [(f.check, f.samples) for f in bad.failures] == [
        ("layers_match_regime", ["2024-03-13 v1"])]
    capped = validate("recommendations", put("hedge_notional_pct", 4.0, row=1)(rec), rules=rules)
    assert [f.check for f in capped.failures] == ["hedge_notional_pct_in_registered_range"]


def test_suites_load_for_the_registered_feature_and_hedge_tables() -> None:
    registry = pytest.importorskip("features.registry")
    pytest.importorskip("hedge.tables")
    rules = Rules(range_rules=registered_ranges(registry.FEATURES))
    assert rules.range_rules, "the feature registry declares no valid range"
    for table in ("features_daily", "recommendations", "recommendation_legs"):
        result = validate(table, schemas.get(table).empty(), published_rows=0, rules=rules)
        assert result.success, result.message()
        assert {"key_unique", "date_is_nyse_session"} <= {e["check"] for e in result.evaluated}


def test_one_bad_partition_does_not_hold_back_the_others(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sources import cboe
    from tests.conftest import shared

    lake = Lake(tmp_path / "lake")
    vix = cboe.parse(shared("cboe", "VIX_History.csv").read_bytes(), "VIX_History.csv")
    two_years = vix.filter(pl.col("date").dt.year().is_in([2022, 2023])).with_columns(
        ingested_at=pl.lit(NOW).cast(schemas.UTC_TS))
    bad_day = two_years.filter(pl.col("date").dt.year() == 2022)["date"][5]
    broken = two_years.with_columns(
        close=pl.when(pl.col("date") == bad_day).then(-1.0).otherwise(pl.col("close")))
    with pytest.raises(DataValidationFailed, match=r"1 of 2 partition\(s\) not published"
                       ) as failed:
        gate_partition(lake, "index_daily", None, broken, at=NOW)
    got = lake.scan("index_daily").collect()
    assert got["date"].dt.year().unique().to_list() == [2023]
    assert failed.value.published_rows == got.height > 0  # what the ingest report counts
    assert [p for p in lake.list_area("quarantine", "validation") if "2022" in p]
