"""TA-Lib-exact RSI and MACD as polars expressions.

Null rule: NaN counts as null, and nulls are skipped. The indicator at a non-null row equals
TA-Lib run on the sequence of non-null observations up to that row; a null input row gives a
null output and does not restart the recursion. (TA-Lib itself turns an interior NaN into
zeros or NaN for the rest of the series, which is no use for a daily feature.) Leading nulls
are skipped exactly as TA-Lib's wrapper skips leading NaNs. Every expression works inside
``.over(group)`` for panels.

The seeds follow TA-Lib: Wilder's averages start from the simple mean of the first ``n``
changes; each MACD EMA starts from a simple mean, the fast one over the ``fast`` values that
end where the slow one's first value sits (TA-Lib's alignment), the signal from the mean of
the first ``signal`` MACD values. The first valid bar is ``n`` (RSI) and
``slow + signal - 2`` (MACD) non-null observations after the first.

Intermediate values live in struct fields (``struct.with_fields``) so that each is computed
once: a plain expression tree would recompute shared sub-expressions at every use.
"""

from __future__ import annotations

import polars as pl

# TA-Lib's TA_IS_ZERO: a total move below this prints RSI 0 (flat series).
_TALIB_EPSILON = 1e-8
_f = pl.field


def observation_number(x: pl.Expr) -> pl.Expr:
    """1-based count of non-null observations up to each row (0 before the first)."""
    return x.is_not_null().cast(pl.Int32).cum_sum()


def _observations(expr: pl.Expr) -> pl.Expr:
    """A struct of the cleaned input ``x`` and its observation number ``k``."""
    x = expr.cast(pl.Float64).fill_nan(None)
    return pl.struct(x.alias("x")).struct.with_fields(observation_number(_f("x")).alias("k"))


def _seeded_average(values: pl.Expr, seed_at: int, first: int, alpha: float) -> pl.Expr:
    """Average seeded at observation ``seed_at`` by the mean since ``first``, then recursive."""
    k = _f("k")
    seed = values.filter((k >= first) & (k <= seed_at)).sum() / (seed_at - first + 1)
    series = pl.when(k == seed_at).then(seed).when(k > seed_at).then(values)
    return series.ewm_mean(alpha=alpha, adjust=False, ignore_nulls=True)


def _valid_from(value: pl.Expr, first_valid: int) -> pl.Expr:
    return pl.when(_f("x").is_not_null() & (_f("k") >= first_valid)).then(value)


def rsi(expr: pl.Expr, n: int = 14) -> pl.Expr:
    """Wilder's RSI(n) exactly as TA-Lib computes it (first value at the n-th change)."""
    change = _f("x") - _f("x").forward_fill().shift(1)
    steps = _observations(expr).struct.with_fields(
        change.clip(lower_bound=0.0).alias("up"), (-change).clip(lower_bound=0.0).alias("down"))
    avgs = steps.struct.with_fields(
        _seeded_average(_f("up"), n + 1, 2, 1.0 / n).alias("gain"),
        _seeded_average(_f("down"), n + 1, 2, 1.0 / n).alias("loss"))
    total = _f("gain") + _f("loss")
    value = pl.when(total.abs() < _TALIB_EPSILON).then(0.0).otherwise(100.0 * _f("gain") / total)
    return avgs.struct.with_fields(_valid_from(value, n + 1).alias("rsi")).struct.field("rsi")


def macd(expr: pl.Expr, fast: int = 12, slow: int = 26, signal: int = 9) -> pl.Expr:
    """TA-Lib MACD(fast, slow, signal) as a struct of ``macd``, ``signal``, ``hist``.

    Keep the struct in a column and read its fields from there: each ``struct.field`` of a
    fresh ``macd(...)`` expression would compute it again.
    """
    first_valid = slow + signal - 1
    emas = _observations(expr).struct.with_fields(
        _seeded_average(_f("x"), slow, slow - fast + 1, 2.0 / (fast + 1)).alias("fast"),
        _seeded_average(_f("x"), slow, 1, 2.0 / (slow + 1)).alias("slow"))
    lines = emas.struct.with_fields(_valid_from(_f("fast") - _f("slow"), slow).alias("line"))
    sig = lines.struct.with_fields(
        _seeded_average(_f("line"), first_valid, slow, 2.0 / (signal + 1)).alias("sig"))
    out = sig.struct.with_fields(_valid_from(_f("line"), first_valid).alias("macd"),
                                 _valid_from(_f("sig"), first_valid).alias("signal"))
    return out.struct.eval(_f("macd"), _f("signal"), hist=_f("macd") - _f("signal"))


def rsi_lookback(n: int = 14) -> int:
    """Bars before RSI's first value (TA-Lib's lookback)."""
    return n


def macd_lookback(slow: int = 26, signal: int = 9) -> int:
    """Bars before MACD's first value (TA-Lib's lookback: 33 for 26/9)."""
    return slow + signal - 2
