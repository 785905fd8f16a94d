"""features_daily, recommendations and recommendation_legs built from real data, through the gate.

The frames come from the project's own code on ../shared/data (features.build on the feature
inputs, hedge.recommend on real feature rows), are published, then broken once per blocking
expectation: each broken frame is rejected naming that expectation and the published
partition stays byte-identical.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from core.errors import DataValidationFailed, SchemaError
from features.build import build_features
from features.registry import FEATURES
from flows.pipeline import recommendation_rules
from hedge.policy import load_policy
from hedge.recommend import recommend
from hedge.tables import legs_frame, recommendation_frame
from storage.lake import Lake
from tests.conftest import SHARED_DATA, shared
from tests.features.feature_inputs import NOW, all_inputs
from tests.validations.test_gate import Breaker, drop_row, duplicate_row, put
from validations import Rules, gate_partition, registered_ranges, validate

pytestmark = pytest.mark.realdata

START, END = dt.date(2024, 3, 1), dt.date(2024, 3, 28)
PART = {"year": 2024}
FEATURE_RULES = Rules(range_rules=registered_ranges(FEATURES))
EQUITY = 10_000_000.0
# The policy cap as a row rule: the condor's worst loss plus the hedge's debit stay within
# max_total_risk_pct of equity (what the integrator passes for recommendations).
REC_RULES = recommendation_rules(load_policy())
SATURDAY = dt.date(2024, 3, 30)


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    """features_daily for March 2024 and the recommendations of its last three sessions."""
    shared("cboe", "SPX_History.csv")
    inputs = {k: v.lazy() for k, v in all_inputs(SHARED_DATA).items()}
    features = build_features(inputs, start=START, end=END, computed_at=NOW)
    recs = [recommend(features.filter(pl.col("date") == d), equity=EQUITY)
            for d in features["date"].tail(3)]
    return {"features_daily": features,
            "recommendations": pl.concat([recommendation_frame(r, NOW) for r in recs]),
            "recommendation_legs": pl.concat([legs_frame(r, NOW) for r in recs])}


RULES = {"features_daily": FEATURE_RULES, "recommendations": REC_RULES}


@pytest.fixture(scope="module")
def published(frames: dict[str, pl.DataFrame], tmp_path_factory: pytest.TempPathFactory
              ) -> dict[str, Lake]:
    """One lake per table holding the good frame, published through the gate."""
    lakes = {}
    for table, good in frames.items():
        lakes[table] = Lake(tmp_path_factory.mktemp(table))
        gate_partition(lakes[table], table, PART, good, at=NOW, rules=RULES.get(table))
    return lakes


def last_date(value: dt.date) -> Breaker:
    """Every row of the last date moved to ``value``."""
    def broken(f: pl.DataFrame) -> pl.DataFrame:
        last = f["date"].max()
        return f.with_columns(pl.when(pl.col("date") == last).then(pl.lit(value))
                              .otherwise(pl.col("date")).alias("date"))
    return broken


def without_a_middle_session(f: pl.DataFrame) -> pl.DataFrame:
    return f.filter(pl.col("date") != f["date"].sort()[5])


def scaled(col: str, factor: float) -> Breaker:
    return lambda f: f.with_columns(pl.col(col) * factor)


BREAKERS: dict[str, dict[str, Breaker]] = {
    "features_daily": {
        "date_not_null": put("date", None), "key_unique": duplicate_row,
        "rows_not_shrinking": drop_row, "date_is_nyse_session": last_date(SATURDAY),
        "date_no_session_gap": without_a_middle_session,
        "spx_rsi_14_in_registered_range": put("spx_rsi_14", 100.5),
        "vix_close_in_registered_range": put("vix_close", -1.0)},
    "recommendations": {
        "date_not_null": put("date", None, row=1),
        "policy_version_not_null": put("policy_version", None, row=1),
        "feature_set_version_not_null": put("feature_set_version", None, row=1),
        "key_unique": duplicate_row, "rows_not_shrinking": drop_row,
        "date_is_nyse_session": last_date(SATURDAY),
        "within_total_risk_cap": scaled("ic_max_loss", 1.5)},
    "recommendation_legs": {
        "date_not_null": put("date", None, row=1),
        "policy_version_not_null": put("policy_version", None, row=1),
        "feature_set_version_not_null": put("feature_set_version", None, row=1),
        "leg_not_null": put("leg", None, row=1), "key_unique": duplicate_row,
        "rows_not_shrinking": drop_row, "date_is_nyse_session": last_date(SATURDAY)},
}
CASES = [(t, c) for t, breakers in BREAKERS.items() for c in breakers]


def partition_bytes(lake: Lake, table: str) -> bytes:
    (path,) = lake.partitions(table)
    with open(path, "rb") as fh:
        return fh.read()


@pytest.mark.parametrize("table", list(BREAKERS))
def test_good_frames_pass(frames: dict[str, pl.DataFrame], table: str) -> None:
    result = validate(table, frames[table], rules=RULES.get(table))
    assert result.success and result.failures == [], result.message()
    assert frames[table].height > 0


@pytest.mark.parametrize(("table", "check"), CASES, ids=[f"{t}-{c}" for t, c in CASES])
def test_broken_once_is_rejected_and_published_survives(
    frames: dict[str, pl.DataFrame], published: dict[str, Lake], table: str, check: str
) -> None:
    lake = published[table]
    before = partition_bytes(lake, table)
    bad = BREAKERS[table][check](frames[table])
    with pytest.raises(DataValidationFailed, match=check):
        gate_partition(lake, table, PART, bad, at=NOW, rules=RULES.get(table))
    assert partition_bytes(lake, table) == before


def test_every_registered_range_names_its_own_feature(frames: dict[str, pl.DataFrame]) -> None:
    # One frame, each ranged feature pushed out of its range on its own row: every range
    # expectation must fail by name (one GX run instead of one per feature).
    good = frames["features_daily"]
    ranges = FEATURE_RULES.range_rules
    assert len(ranges) <= good.height * 3
    bad = good
    for i, (col, (lo, hi)) in enumerate(sorted(ranges.items())):
        outside = hi + 1.0 if hi is not None else lo - 1.0  # type: ignore[operator]
        bad = put(col, outside, row=i % good.height)(bad)
    failed = {f.check for f in validate("features_daily", bad, rules=FEATURE_RULES).failures}
    assert failed == {f"{col}_in_registered_range" for col in ranges}


def test_a_flag_that_is_not_boolean_is_refused_before_any_expectation(
        frames: dict[str, pl.DataFrame], published: dict[str, Lake]) -> None:
    lake = published["features_daily"]
    before = partition_bytes(lake, "features_daily")
    bad = frames["features_daily"].with_columns(pl.col("contango").cast(pl.Int8) * 2)
    with pytest.raises(SchemaError, match="features_daily.*'contango'.*Boolean"):
        gate_partition(lake, "features_daily", PART, bad, at=NOW, rules=FEATURE_RULES)
    assert partition_bytes(lake, "features_daily") == before
