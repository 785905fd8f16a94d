"""Expect or drop: a row-level failure costs its rows, not the partition (real data slices)."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.errors import DataValidationFailed
from storage import schemas
from storage.lake import Lake
from tests.conftest import NOW
from tests.validations import real_frames
from tests.validations.test_gate import put
from validations import gate_partition
from validations.row_quarantine import REASON, DropPolicy

pytestmark = pytest.mark.realdata
DROP = DropPolicy()
YEAR = {"year": 2024}


def quarantined(lake: Lake, suffix: str) -> list[str]:
    return [p for p in lake.list_area("quarantine", "validation") if p.endswith(suffix)]


def published(lake: Lake, table: str) -> pl.DataFrame:
    return lake.scan(table).collect().sort(list(schemas.get(table).keys))


def test_a_failing_row_is_dropped_with_its_reason_and_the_rest_published(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lake, good = Lake(tmp_path / "lake"), real_frames.breadth_daily()
    bad_day = good["date"][3]
    result = gate_partition(lake, "breadth_daily", None, put("advancers", 9000)(good), at=NOW,
                            drop=DROP)
    assert_frame_equal(published(lake, "breadth_daily"),
                       good.filter(pl.col("date") != bad_day))
    (dropped,) = result.dropped
    assert (dropped.rows, dropped.new_rows) == (1, 1)
    assert dropped.reasons == {"issues_total_plausible": 1}
    assert dropped.keys == [bad_day.isoformat()]
    assert "breadth_daily.year-2024: 1 row(s) dropped (issues_total_plausible: 1)" in (
        dropped.describe())
    (parquet,) = quarantined(lake, ".dropped.parquet")
    rows = pl.read_parquet(parquet)
    assert rows[REASON].to_list() == ["issues_total_plausible"]
    assert rows["date"].to_list() == [bad_day] and rows["advancers"].to_list() == [9000]
    (gx,) = quarantined(lake, ".dropped.gx.json")
    (judged,) = json.loads(open(gx).read())
    assert judged["success"] is False and "issues_total_plausible" in json.dumps(judged)
    meta = json.loads(open(f"{parquet}.meta.json").read())
    assert "issues_total_plausible: 1" in meta["reason"]


def test_the_previous_value_of_a_dropped_key_stays_live(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lake, good = Lake(tmp_path / "lake"), real_frames.vx_futures()
    gate_partition(lake, "vx_futures", YEAR, good, at=NOW)
    revised = good.with_columns(volume=pl.col("volume") + 1)
    bad = put("settle", 1.0, row=7)(put("settle", 200.0, row=2)(revised))
    for partition in (YEAR, None):  # a whole partition, then an upsert
        result = gate_partition(lake, "vx_futures", partition, bad, at=NOW, drop=DROP)
        (dropped,) = result.dropped
        assert dropped.rows == 2 and dropped.reasons == {"settle_in_5_150": 2}
        want = pl.concat([good.slice(2, 1), good.slice(7, 1)])
        got = published(lake, "vx_futures")
        keys = ["trade_date", "expiry"]
        assert_frame_equal(got.join(want.select(keys), on=keys, how="semi"), want.sort(keys))
        assert got.height == good.height
        assert got.join(want.select(keys), on=keys, how="anti")["volume"].to_list() == (
            revised.join(want.select(keys), on=keys, how="anti").sort(keys)["volume"].to_list())


def test_high_below_low_is_a_blocking_row_check(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lake, good = Lake(tmp_path / "lake"), real_frames.index_daily()
    bad = put("low", float(good["high"][5]) + 1.0, row=5)(good)
    with pytest.raises(DataValidationFailed, match="high_ge_low"):
        gate_partition(lake, "index_daily", YEAR, bad, at=NOW)
    result = gate_partition(lake, "index_daily", YEAR, bad, at=NOW, drop=DROP)
    assert result.dropped[0].reasons == {"high_ge_low": 1}
    assert published(lake, "index_daily").height == good.height - 1


def test_more_failing_rows_than_the_policy_share_refuse_the_partition(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lake, good = Lake(tmp_path / "lake"), real_frames.breadth_daily()  # 252 rows
    bad = put("advancers", -1, row=9)(put("advancers", -1, row=4)(put("advancers", -1)(good)))
    with pytest.raises(DataValidationFailed, match=r"3 of 252 row\(s\) failed row-level checks, "
                                                   r"more than the 1.00% policy"):
        gate_partition(lake, "breadth_daily", YEAR, bad, at=NOW, drop=DROP)
    assert lake.partitions("breadth_daily") == []
    assert quarantined(lake, ".parquet") and not quarantined(lake, ".dropped.parquet")
    result = gate_partition(lake, "breadth_daily", YEAR, bad, at=NOW,
                            drop=DropPolicy(max_share=0.02))
    assert result.dropped[0].rows == 3
    assert published(lake, "breadth_daily").height == 249


def test_a_structural_failure_still_refuses_the_whole_partition(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lake, good = Lake(tmp_path / "lake"), real_frames.vx_futures()
    gate_partition(lake, "vx_futures", YEAR, good, at=NOW)
    before = published(lake, "vx_futures")
    same_symbol = put("symbol", good["symbol"][0], row=1)(good)  # a check across rows
    for bad in (put("settle", 200.0)(same_symbol), put("settle", 200.0)(good.head(100))):
        with pytest.raises(DataValidationFailed, match="not published"):
            gate_partition(lake, "vx_futures", YEAR, bad, at=NOW, drop=DROP)
    assert_frame_equal(published(lake, "vx_futures"), before)
    assert not quarantined(lake, ".dropped.parquet")


def test_each_partition_of_an_upsert_drops_its_own_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lake, good = Lake(tmp_path / "lake"), real_frames.breadth_daily()
    earlier = good.with_columns(pl.col("date").dt.offset_by("-1y"))
    earlier = earlier.unique("date", keep="first", maintain_order=True).filter(
        pl.col("date").is_in(real_frames_sessions(2023)))
    both = pl.concat([put("decliners", -5, row=1)(earlier), put("unchanged", -1, row=2)(good)])
    result = gate_partition(lake, "breadth_daily", None, both, at=NOW, drop=DROP)
    assert sorted(d.label for d in result.dropped) == ["breadth_daily.year-2023",
                                                       "breadth_daily.year-2024"]
    assert published(lake, "breadth_daily").height == both.height - 2


def real_frames_sessions(year: int) -> list[dt.date]:
    from core.calendar import trading_days

    return trading_days(dt.date(year, 1, 1), dt.date(year, 12, 31)).to_list()


@pytest.mark.parametrize(("table", "structural"), [
    ("index_daily", {"symbol_not_null", "date_not_null", "key_unique", "rows_not_shrinking"}),
    ("vx_futures", {"trade_date_not_null", "expiry_not_null", "key_unique", "rows_not_shrinking",
                    "expiries_strictly_increasing"}),
    ("breadth_daily", {"date_not_null", "key_unique", "rows_not_shrinking"}),
])
def test_only_checks_of_single_rows_may_drop_rows(table: str, structural: set[str]) -> None:
    from validations import build_suite

    suite = build_suite(table, published_rows=0)
    blocking = {c.name: c.row_level for c in suite.checks if c.blocking}
    assert {name for name, row_level in blocking.items() if not row_level} == structural
    gaps = [c for c in suite.checks if c.name.endswith("no_session_gap")]
    assert gaps and not any(c.row_level for c in gaps)


def test_a_published_row_that_fails_today_s_checks_is_dropped_too(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A lake written before high >= low blocked: the bad row is live, and the provider
    # sends it again. Falling back to the published row would publish it once more.
    lake, good = Lake(tmp_path / "lake"), real_frames.index_daily()
    bad = put("low", float(good["high"][5]) + 1.0, row=5)(good)
    lake.write_partition("index_daily", YEAR, bad)
    result = gate_partition(lake, "index_daily", None, bad, at=NOW, drop=DROP)
    (dropped,) = result.dropped
    assert (dropped.rows, dropped.new_rows) == (2, 1)  # the resent row, then the published one
    assert dropped.keys == [f"VIX {good['date'][5]}"] * 2
    assert_frame_equal(published(lake, "index_daily"),
                       good.filter(pl.col("date") != good["date"][5]))
