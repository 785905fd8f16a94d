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
"""

from __future__ import annotations

import polars as pl

# TA-Lib's TA_IS_ZERO: a total move below this prints RSI 0 (flat series).
_TALIB_EPSILON = 1e-8


def observation_number(x: pl.Expr) -> pl.Expr:
    """1-based count of non-null observations up to each row (0 before the first)."""
    return x.is_not_null().cast(pl.Int64).cum_sum()


def _clean(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Float64).fill_nan(None)


def _seeded_average(values: pl.Expr, k: pl.Expr, seed_at: int, first: int, alpha: float
                    ) -> pl.Expr:
    """Average seeded at observation ``seed_at`` by the mean since ``first``, then recursive."""
    window = (k >= first) & (k <= seed_at)
    seed = values.filter(window).sum() / (seed_at - first + 1)
    series = pl.when(k == seed_at).then(seed).when(k > seed_at).then(values)
    return series.ewm_mean(alpha=alpha, adjust=False, ignore_nulls=True)


def _valid_from(value: pl.Expr, x: pl.Expr, k: pl.Expr, first_valid: int) -> pl.Expr:
    return pl.when(x.is_not_null() & (k >= first_valid)).then(value)


def rsi(expr: pl.Expr, n: int = 14) -> pl.Expr:
    """Wilder's RSI(n) exactly as TA-Lib computes it (first value at the n-th change)."""
    x = _clean(expr)
    k = observation_number(x)
    change = x - x.forward_fill().shift(1)
    gain = _seeded_average(change.clip(lower_bound=0.0), k, n + 1, 2, 1.0 / n)
    loss = _seeded_average((-change).clip(lower_bound=0.0), k, n + 1, 2, 1.0 / n)
    total = gain + loss
    value = pl.when(total.abs() < _TALIB_EPSILON).then(0.0).otherwise(100.0 * gain / total)
    return _valid_from(value, x, k, n + 1)


def _macd_line(x: pl.Expr, k: pl.Expr, fast: int, slow: int) -> pl.Expr:
    fast_ema = _seeded_average(x, k, slow, slow - fast + 1, 2.0 / (fast + 1))
    slow_ema = _seeded_average(x, k, slow, 1, 2.0 / (slow + 1))
    return _valid_from(fast_ema - slow_ema, x, k, slow)


def macd_parts(expr: pl.Expr, fast: int = 12, slow: int = 26, signal: int = 9
               ) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """TA-Lib MACD(fast, slow, signal): (macd, signal, histogram), unnamed."""
    x = _clean(expr)
    k = observation_number(x)
    line = _macd_line(x, k, fast, slow)
    first_valid = slow + signal - 1
    sig = _seeded_average(line, k, first_valid, slow, 2.0 / (signal + 1))
    macd_value = _valid_from(line, x, k, first_valid)
    sig_value = _valid_from(sig, x, k, first_valid)
    return macd_value, sig_value, macd_value - sig_value


def macd(expr: pl.Expr, fast: int = 12, slow: int = 26, signal: int = 9) -> pl.Expr:
    """TA-Lib MACD(fast, slow, signal) as a struct of ``macd``, ``signal``, ``hist``."""
    line, sig, hist = macd_parts(expr, fast, slow, signal)
    return pl.struct(line.alias("macd"), sig.alias("signal"), hist.alias("hist"))


def rsi_lookback(n: int = 14) -> int:
    """Bars before RSI's first value (TA-Lib's lookback)."""
    return n


def macd_lookback(slow: int = 26, signal: int = 9) -> int:
    """Bars before MACD's first value (TA-Lib's lookback: 33 for 26/9)."""
    return slow + signal - 2
