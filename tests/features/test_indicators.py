import numpy as np
import polars as pl
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from features.indicators import macd, macd_lookback, rsi, rsi_lookback, segments
from tests.conftest import shared
from tests.features.feature_inputs import cboe_history

TOL = 1e-9


def ours(x: np.ndarray) -> dict[str, np.ndarray]:
    frame = pl.DataFrame({"x": x}, schema={"x": pl.Float64}).select(
        rsi(pl.col("x")).alias("rsi"), macd(pl.col("x")).alias("m")).unnest("m")
    return {c: frame[c].to_numpy().astype(float) for c in frame.columns}


def theirs(x: np.ndarray) -> dict[str, np.ndarray]:
    m, s, h = talib.MACD(x, 12, 26, 9)
    return {"rsi": talib.RSI(x, 14), "macd": m, "signal": s, "hist": h}


def assert_same(got: np.ndarray, want: np.ndarray) -> None:
    assert np.array_equal(np.isnan(got), np.isnan(want)), "valid bars differ from TA-Lib"
    valid = ~np.isnan(want)
    if valid.any():
        assert np.max(np.abs(got[valid] - want[valid])) <= TOL


def assert_talib_equal(x: np.ndarray) -> None:
    got, want = ours(x), theirs(x)
    for name in want:
        assert_same(got[name], want[name])


def assert_talib_on_observations(x: np.ndarray) -> None:
    """Null rule: equal to TA-Lib on the non-null observations, null on null rows."""
    got = ours(x)
    keep = ~np.isnan(x)
    want = theirs(x[keep]) if keep.any() else {k: np.array([]) for k in got}
    for name in got:
        assert np.isnan(got[name][~keep]).all()
        assert_same(got[name][keep], want[name])


@pytest.mark.parametrize("symbol", ["SPX", "VIX", "VVIX"])
def test_equal_to_talib_on_real_closes(symbol):
    frame = cboe_history(shared("cboe", f"{symbol}_History.csv"), symbol)
    assert_talib_equal(frame["close"].to_numpy())


def test_lookbacks_match_talib():
    x = np.linspace(1, 2, 60)
    assert np.argmax(~np.isnan(talib.MACD(x)[0])) == macd_lookback(26, 9) == 33
    assert np.argmax(~np.isnan(ours(x)["macd"])) == 33
    assert np.argmax(~np.isnan(ours(x)["rsi"])) == rsi_lookback(14)


prices = st.floats(min_value=1.0, max_value=1e4, allow_nan=False)


@st.composite
def series(draw) -> np.ndarray:
    """Random walks with flat runs, leading NaN runs and very short lengths."""
    n = draw(st.integers(0, 160))
    steps = draw(st.lists(st.floats(-5, 5), min_size=n, max_size=n))
    x = draw(prices) + np.cumsum(np.array(steps, dtype=float))
    x = np.abs(x) + 1.0
    for _ in range(draw(st.integers(0, 3))):
        if n:
            a = draw(st.integers(0, n - 1))
            x[a:a + draw(st.integers(1, 40))] = x[a]
    lead = draw(st.integers(0, 20))
    return np.concatenate([np.full(lead, np.nan), x])


@settings(max_examples=100, deadline=None)
@given(series())
def test_equal_to_talib_on_generated_series(x):
    assert_talib_equal(x)


@settings(max_examples=100, deadline=None)
@given(series(), st.lists(st.tuples(st.integers(0, 400), st.integers(1, 30)), max_size=8))
def test_gaps_skip_nulls_and_match_talib_on_observations(x, holes):
    x = x.copy()
    for at, length in holes:  # NaN runs anywhere, single days to whole months
        if len(x):
            x[at % len(x):at % len(x) + length] = np.nan
    assert_talib_on_observations(x)


def test_flat_series_gives_rsi_zero_like_talib():
    assert_talib_equal(np.full(60, 7.5))
    assert ours(np.full(60, 7.5))["rsi"][14] == 0.0


def test_plain_ewm_mean_is_not_enough():
    x = cboe_history(shared("cboe", "VIX_History.csv"), "VIX")["close"].to_numpy()[:400]
    d = pl.Series(x).diff()
    up = d.clip(lower_bound=0).ewm_mean(alpha=1 / 14, adjust=False)
    down = (-d).clip(lower_bound=0).ewm_mean(alpha=1 / 14, adjust=False)
    naive = (100 * up / (up + down)).to_numpy()
    assert np.nanmax(np.abs(naive[14:] - talib.RSI(x)[14:])) > 1.0


def test_rsi_works_per_group():
    rng = np.random.default_rng(3)
    a, b = 100 + rng.normal(size=80).cumsum(), 50 + rng.normal(size=50).cumsum()
    frame = pl.DataFrame({"g": ["a"] * 80 + ["b"] * 50, "x": np.r_[a, b]})
    got = frame.select(rsi(pl.col("x")).over("g").alias("r"))["r"].to_numpy().astype(float)
    assert_same(got[:80], talib.RSI(a))
    assert_same(got[80:], talib.RSI(b))


def test_polars_nulls_behave_like_nan():
    x = 100 + np.random.default_rng(5).normal(size=120).cumsum()
    x[[3, 40, 41, 42, 90]] = np.nan
    with_nan = pl.DataFrame({"x": x})
    with_null = with_nan.select(pl.col("x").fill_nan(None))
    assert with_null["x"].null_count() == 5
    exprs = [rsi(pl.col("x")).alias("r"), macd(pl.col("x")).alias("m")]
    assert with_nan.select(exprs).equals(with_null.select(exprs))


def test_tiny_moves_are_not_flat_like_talib():
    """TA-Lib prints 0 only when gains and losses are exactly zero, not merely small."""
    for scale in (1e-9, 1e-14, 1e-300):
        assert_talib_equal(scale * (5.0 + np.tile([0.0, 1.0], 30)))


def by_group(xs: list[np.ndarray], *, shuffle: bool = False) -> pl.DataFrame:
    """RSI and MACD of a long-format panel computed in one call with ``by=``."""
    frame = pl.DataFrame({"g": np.repeat(np.arange(len(xs)), [len(x) for x in xs]),
                          "t": np.concatenate([np.arange(len(x)) for x in xs]),
                          "x": np.concatenate(xs) if xs else np.array([])},
                         schema={"g": pl.Int64, "t": pl.Int64, "x": pl.Float64})
    if shuffle:  # rows of the groups interleaved (time order kept within each group)
        frame = frame.sort("t", "g")
    out = frame.with_columns(rsi(pl.col("x"), by="g").alias("rsi"),
                             macd(pl.col("x"), by="g").alias("m")).unnest("m")
    return out.sort("g", "t")


def assert_panel_matches_talib(xs: list[np.ndarray], **kw) -> None:
    out = by_group(xs, **kw)
    starts = np.cumsum([0] + [len(x) for x in xs])
    for x, a, b in zip(xs, starts[:-1], starts[1:], strict=True):
        keep = ~np.isnan(x)
        want = theirs(x[keep]) if keep.any() else {k: np.array([]) for k in
                                                   ("rsi", "macd", "signal", "hist")}
        for name, values in want.items():
            got = out[name].to_numpy()[a:b].astype(float)
            assert np.isnan(got[~keep]).all()
            assert_same(got[keep], values)


@settings(max_examples=40, deadline=None)
@given(st.lists(series(), min_size=1, max_size=6),
       st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 30)), max_size=40))
def test_wide_panel_by_group_matches_talib_per_series(drawn, holes):
    """40 series take the day-sweep path: ragged, gapped, flat and short ones side by side."""
    xs = [drawn[k % len(drawn)] * (1.0 + k / 8.0) for k in range(40)]
    for at, length in holes:
        x = xs[at % len(xs)]
        if len(x):
            x[at % len(x):at % len(x) + length] = np.nan
    assert_panel_matches_talib(xs)


def test_equal_length_panel_and_interleaved_rows_match_talib():
    rng = np.random.default_rng(11)
    xs = list(100 + rng.normal(size=(64, 300)).cumsum(axis=1))
    assert_panel_matches_talib(xs)
    assert_panel_matches_talib(xs[:50], shuffle=True)


def test_by_equals_over():
    rng = np.random.default_rng(12)
    frame = pl.DataFrame({"g": np.repeat(["a", "b", "c"], 90),
                          "x": 50 + rng.normal(size=270).cumsum()})
    exprs = lambda **kw: [rsi(pl.col("x"), **kw).alias("r"), macd(pl.col("x"), **kw).alias("m")]  # noqa: E731
    over = frame.select(e.over("g") for e in exprs())
    assert_frame_equal(frame.select(exprs(by="g")), over)


def restarted(x: np.ndarray, max_gap: int) -> dict[str, np.ndarray]:
    """RSI and MACD restarted after holes of more than ``max_gap`` rows (``segments``)."""
    col = pl.col("x")
    frame = pl.DataFrame({"x": x}, schema={"x": pl.Float64}).select(
        rsi(col, by=segments(col, max_gap)).alias("rsi"),
        macd(col, by=segments(col, max_gap)).alias("m")).unnest("m")
    return {c: frame[c].to_numpy().astype(float) for c in frame.columns}


def pieces(x: np.ndarray, max_gap: int) -> list[np.ndarray]:
    """Row indices of each piece: split where a NaN run longer than ``max_gap`` ends."""
    obs = np.flatnonzero(~np.isnan(x))
    if not len(obs):
        return []
    cuts = np.flatnonzero(np.diff(obs) - 1 > max_gap) + 1
    return np.split(obs, cuts)


@settings(max_examples=100, deadline=None)
@given(series(), st.lists(st.tuples(st.integers(0, 400), st.integers(1, 30)), max_size=8),
       st.integers(0, 10))
def test_a_hole_longer_than_the_policy_restarts_the_indicators(x, holes, max_gap):
    """Each piece between long holes equals TA-Lib on that piece's observations alone."""
    x = x.copy()
    for at, length in holes:
        if len(x):
            x[at % len(x):at % len(x) + length] = np.nan
    got = restarted(x, max_gap)
    for name in got:
        assert np.isnan(got[name][np.isnan(x)]).all()
    for rows in pieces(x, max_gap):
        want = theirs(x[rows])
        for name in got:
            assert_same(got[name][rows], want[name])


def test_holes_up_to_the_policy_are_bridged_longer_ones_restart():
    x = 100 + np.random.default_rng(8).normal(size=200).cumsum()
    short, long_ = x.copy(), x.copy()
    short[60:65] = np.nan  # 5 sessions: bridged, the same as skipping them
    long_[60:66] = np.nan  # 6 sessions: restarted
    assert_same(restarted(short, 5)["rsi"], ours(short)["rsi"])
    assert np.isnan(restarted(long_, 5)["rsi"][66:66 + 14]).all()
    assert_same(restarted(long_, 5)["rsi"][66:], talib.RSI(x[66:]))
    assert_same(restarted(x, 5)["macd"], talib.MACD(x)[0])  # no hole: plain TA-Lib


@settings(max_examples=30, deadline=None)
@given(rows=st.integers(1, 4), width=st.integers(0, 50), c=st.floats(0.5, 0.99),
       seed=st.integers(0, 2**32 - 1))
def test_compiled_and_python_recursions_give_the_same_floats(rows, width, c, seed):
    """Large panels run the recursion compiled, small ones in Python: bit for bit equal."""
    from features.indicators import _compiled_recur_rows, _recur

    rng = np.random.default_rng(seed)
    x, y0 = rng.normal(size=(rows, width)) * 100, rng.normal(size=rows)
    compiled = np.empty(x.shape)
    _compiled_recur_rows()(x, c, y0, compiled)
    assert np.array_equal(_recur(x, c, y0), compiled)


def test_a_large_panel_runs_compiled_and_matches_talib():
    from features.indicators import COMPILED_FROM_CELLS

    series, days = 4, COMPILED_FROM_CELLS // 4 + 100
    panel = 100.0 + np.cumsum(np.random.default_rng(7).normal(size=(series, days)), axis=1)
    frame = pl.DataFrame({"id": np.repeat(np.arange(series), days), "x": panel.ravel()})
    got = frame.select(rsi(pl.col("x"), by="id"), macd(pl.col("x"), by="id").alias("m"))
    for i in range(series):
        rows = slice(i * days, (i + 1) * days)
        assert_same(got["x"].to_numpy()[rows].astype(float), talib.RSI(panel[i], 14))
        assert_same(got["m"].struct.field("macd").to_numpy()[rows].astype(float),
                    talib.MACD(panel[i], 12, 26, 9)[0])
