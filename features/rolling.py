"""Rolling-window statistics whose value depends only on the window, not on where the run began.

polars' rolling kernels slide running sums, so a window's value carries rounding from every
earlier row: an incremental run (which starts later) then differs from a full rebuild in the
last bits. Here each window is reduced on its own (numpy over a sliding view), so both land on
the same floats. Null (or NaN) anywhere in the window gives null, like polars' default
``min_samples = window``.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view


def _values(s: pl.Series) -> np.ndarray:
    return np.asarray(s.cast(pl.Float64).to_numpy(), dtype=np.float64)


def _padded(stat: np.ndarray, n: int, name: str) -> pl.Series:
    """``stat`` for the full windows, behind ``n - len(stat)`` leading nulls."""
    out = np.full(n, np.nan)
    if len(stat):
        out[n - len(stat):] = stat
    return pl.Series(name, out, nan_to_null=True)


def _centred(x: np.ndarray, window: int) -> np.ndarray:
    """Each full window minus its own mean, one row per window."""
    views = sliding_window_view(x, window)
    return views - views.mean(axis=1, keepdims=True)


def _row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sum of a * b along each row (no temporary product array)."""
    return np.einsum("ij,ij->i", a, b)


def _moments(s: pl.Series, window: int, kind: str) -> pl.Series:
    x, n = _values(s), len(s)
    if n < window:
        return _padded(np.empty(0), n, s.name)
    with np.errstate(invalid="ignore"):
        if kind == "mean":
            return _padded(sliding_window_view(x, window).mean(axis=1), n, s.name)
        dev = _centred(x, window)
        return _padded(np.sqrt(_row_dot(dev, dev) / (window - 1)), n, s.name)


def window_mean(expr: pl.Expr, window: int) -> pl.Expr:
    """Mean of the last ``window`` rows (null until the window is full of values)."""
    return expr.map_batches(lambda s: _moments(s, window, "mean"), return_dtype=pl.Float64)


def window_std(expr: pl.Expr, window: int) -> pl.Expr:
    """Sample standard deviation (ddof 1) of the last ``window`` rows."""
    return expr.map_batches(lambda s: _moments(s, window, "std"), return_dtype=pl.Float64)


def _slope(s: pl.Series, window: int) -> pl.Series:
    """OLS slope of field ``y`` on field ``x`` over each window: cov(x, y) / var(x)."""
    x, y, n = _values(s.struct.field("x")), _values(s.struct.field("y")), len(s)
    if n < window:
        return _padded(np.empty(0), n, "slope")
    dx, dy = _centred(x, window), _centred(y, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _padded(_row_dot(dx, dy) / _row_dot(dx, dx), n, "slope")


def window_slope(y: pl.Expr, x: pl.Expr, window: int) -> pl.Expr:
    """Rolling OLS slope of ``y`` on ``x`` over the last ``window`` rows."""
    return pl.struct(x.alias("x"), y.alias("y")).map_batches(
        lambda s: _slope(s, window), return_dtype=pl.Float64)
