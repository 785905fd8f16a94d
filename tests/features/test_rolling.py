import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from features.rolling import window_mean, window_slope, window_std


def stats(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(window_mean(pl.col("x"), 20).alias("mean"),
                        window_std(pl.col("x"), 5).alias("std"),
                        window_slope(pl.col("y"), pl.col("x"), 12).alias("slope"))


def walk(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = 100 + rng.normal(size=n).cumsum()
    return pl.DataFrame({"x": x, "y": 0.7 * x + rng.normal(size=n)})


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 200), st.integers(0, 10**6))
def test_a_window_does_not_depend_on_where_the_run_began(skip, seed):
    """What makes an incremental run equal a full rebuild (polars' rolling_* do depend)."""
    frame = walk(400, seed)
    full, part = stats(frame).slice(skip + 20), stats(frame.slice(skip)).slice(20)
    assert full.equals(part)


def test_same_values_and_nulls_as_polars_rolling():
    frame = walk(300, 1).with_columns(
        pl.when(pl.int_range(pl.len()).is_in([50, 51, 200])).then(None)
        .otherwise(pl.col("x")).alias("x"))
    want = frame.select(pl.col("x").rolling_mean(20).alias("mean"),
                        pl.col("x").rolling_std(5).alias("std"),
                        (pl.rolling_cov(pl.col("x"), pl.col("y"), window_size=12)
                         / pl.col("x").rolling_var(12)).alias("slope"))
    got = stats(frame)
    for c in got.columns:
        assert (got[c].is_null() == want[c].is_null()).all()
        assert ((got[c] - want[c]).abs() / want[c].abs()).max() < 1e-9


def test_shorter_than_the_window_is_all_null():
    assert stats(walk(3, 2)).null_count().row(0) == (3, 3, 3)
