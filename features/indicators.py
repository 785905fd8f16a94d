"""TA-Lib-exact RSI and MACD as polars expressions, computed by compiled numba kernels.

Null rule: NaN counts as null, and nulls are skipped. The indicator at a non-null row equals
TA-Lib run on the sequence of non-null observations up to that row; a null input row gives a
null output and does not restart the recursion. (TA-Lib itself turns an interior NaN into
zeros or NaN for the rest of the series, which is no use for a daily feature.) Leading nulls
are skipped exactly as TA-Lib's wrapper skips leading NaNs.

The seeds follow TA-Lib: Wilder's averages start from the simple mean of the first ``n``
changes; each MACD EMA starts from a simple mean, the fast one over the ``fast`` values that
end where the slow one's first value sits (TA-Lib's alignment), the signal from the mean of
the first ``signal`` MACD values. The first valid bar is ``n`` (RSI) and
``slow + signal - 2`` (MACD) non-null observations after the first. TA-Lib prints RSI 0 only
when gains and losses are both exactly zero (a flat series), however small they are.

How: the non-null observations of each series are packed left-aligned into a 2-D panel
(series x observations), so every seed sits in the same column. numpy sums the seeds; a
compiled loop (numba) then runs each recursion along each series, reading and writing one
contiguous row at a time (a sweep over days across all series is bound by its transposed
stores).
Pass ``by=`` for a panel in long format (one call for all series); ``.over(group)`` also works
but calls the kernel once per group. The panel is as wide as the longest series: for very
ragged panels (one long series among many short ones) ``.over`` uses less memory.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from itertools import accumulate
from typing import NamedTuple

import numpy as np
import polars as pl

_TINY = float(np.finfo(np.float64).smallest_subnormal)
_MACD_FIELDS = ("macd", "signal", "hist")
# Panels larger than this run the recursion compiled (numba); smaller ones in Python.
COMPILED_FROM_CELLS = 200_000


class _Layout(NamedTuple):
    """Where each row of a flat column sits in the left-aligned panel."""

    rows: int  # length of the flat column
    order: np.ndarray | None  # gathers the column into contiguous groups (None: already are)
    keep: np.ndarray | None  # non-null rows of the (ordered) column (None: all)
    cell: tuple[np.ndarray, np.ndarray] | None  # (series, observation) of each kept row


def _group_order(groups: pl.Series) -> np.ndarray | None:
    """Row order that makes each group contiguous, keeping time order (None: already is)."""
    if groups.is_sorted() or groups.is_sorted(descending=True):
        return None
    frame = groups.rename("g").to_frame().with_row_index("i")
    return frame.sort("g", maintain_order=True)["i"].to_numpy()


def _run_lengths(groups: pl.Series) -> np.ndarray:
    """Lengths of the runs of equal keys (the groups, once contiguous)."""
    if groups.dtype.is_integer() and not groups.has_nulls():
        g = groups.to_numpy()
        if equal := _equal_runs(g):
            return np.full(len(g) // equal, equal)
        edges = np.flatnonzero(g[1:] != g[:-1]) + 1
        return np.diff(np.concatenate([[0], edges, [len(g)]]))
    return groups.rle().struct.field("len").to_numpy().astype(np.int64)


def _equal_runs(g: np.ndarray) -> int:
    """The common run length when sorted keys form runs of one length (0 if not), in O(runs).

    Called only on keys already known to be contiguous: each run of a sorted array is constant
    when its first and last keys are equal, and runs differ from their neighbours.
    """
    length = int(np.argmax(g != g[0])) if len(g) else 0
    if length == 0 or len(g) % length:
        return 0
    rows = g.reshape(-1, length)
    ends = rows[:, 0], rows[:, -1]
    ok = (ends[0] == ends[1]).all() and (ends[0][1:] != ends[1][:-1]).all()
    return length if ok else 0


def _panel(x: np.ndarray, lengths: np.ndarray, order: np.ndarray | None
           ) -> tuple[np.ndarray, _Layout]:
    """Pack the non-null values of each run left-aligned in a 2-D panel (NaN padded)."""
    if len(x) == 0:
        return np.empty((0, 0)), _Layout(0, None, None, None)
    keep = ~np.isnan(x) if np.isnan(np.min(x)) else None
    values = x if keep is None else x[keep]
    count = lengths if keep is None else np.add.reduceat(
        keep, np.cumsum(lengths) - lengths, dtype=np.int64)
    width = int(count.max())
    if (count == width).all():  # equal rows: a reshape, no scatter
        return values.reshape(len(count), width), _Layout(len(x), order, keep, None)
    series = np.repeat(np.arange(len(count)), count)
    col = np.arange(len(values)) - np.repeat(np.cumsum(count) - count, count)
    panel = np.full((len(count), width), np.nan)
    panel[series, col] = values
    return panel, _Layout(len(x), order, keep, (series, col))


def _unpack(panel: np.ndarray, layout: _Layout) -> np.ndarray:
    """The flat column of ``panel`` values in the input's row order (NaN on null rows)."""
    flat = panel[layout.cell] if layout.cell is not None else panel.reshape(-1)
    if layout.keep is not None:
        kept, flat = flat, np.full(layout.rows, np.nan)
        flat[layout.keep] = kept
    if layout.order is not None:
        ordered, flat = flat, np.empty(layout.rows)
        flat[layout.order] = ordered
    return flat


def _recur_rows(x: np.ndarray, c: float, y0: np.ndarray, out: np.ndarray) -> None:
    """``out[i, t] = x[i, t] + c * out[i, t - 1]``, from ``out[i, -1] = y0[i]``.

    The one sequential step of Wilder's averages and of EMAs; everything else is numpy.
    Run as written for small panels (a nightly build's few series), compiled by numba for
    large ones (``_recur``).
    """
    for i in range(x.shape[0]):
        y = y0[i]
        for t in range(x.shape[1]):
            y = x[i, t] + c * y
            out[i, t] = y


@lru_cache(maxsize=1)
def _compiled_recur_rows() -> Callable[..., None]:
    # Imported only for large panels: numba's import and first call cost a short build
    # more time and memory (~0.35 s, ~130 MiB) than the recursion it speeds up.
    from numba import njit

    return njit(cache=True, nogil=True)(_recur_rows)  # type: ignore[no-any-return]


def _recur(x: np.ndarray, c: float, y0: np.ndarray) -> np.ndarray:
    """The recursion of ``_recur_rows`` on a panel; the same floats either way it runs."""
    if x.size > COMPILED_FROM_CELLS:
        # numpy asks the kernel for huge pages on large arrays and numba does not: with
        # numba's allocator the page faults on large outputs cost more than the kernel.
        out = np.empty(x.shape)
        _compiled_recur_rows()(np.ascontiguousarray(x), c, y0, out)
        return out
    step = lambda y, v: v + c * y  # noqa: E731 (one multiply-add per call)
    return np.array([list(accumulate(row, step, initial=y))[1:]
                     for row, y in zip(x.tolist(), y0.tolist(), strict=True)],
                    dtype=np.float64).reshape(x.shape)


def _rsi_panel(panel: np.ndarray, n: int) -> np.ndarray:
    """RSI(n) of every row of a left-aligned panel (NaN before the n-th change).

    Smoothed are the gains and the absolute changes (gains + losses) rather than gains and
    losses: the same ratio, one division fewer. Both are kept as n times Wilder's average
    (the ratio does not change), so the seeds are plain sums.
    """
    if panel.shape[1] <= n:
        return np.full(panel.shape, np.nan)
    move = np.diff(panel, axis=1)
    size = np.abs(move)
    c = 1.0 - 1.0 / n
    # The seed sums stay in numpy: its pairwise summation is the reference rounding.
    gain0, total0 = np.maximum(move[:, :n], 0.0).sum(axis=1), size[:, :n].sum(axis=1)
    # max(move, 0) as 0.5 * (move + |move|): exact in floats.
    gain = _recur(0.5 * (move[:, n:] + size[:, n:]), c, gain0)
    total = _recur(size[:, n:], c, total0)
    out = np.full(panel.shape, np.nan)
    out[:, n] = 100.0 * gain0 / np.maximum(total0, _TINY)
    # Where the total is 0 so is the gain, and 0 / tiny prints TA-Lib's 0.
    out[:, n + 1:] = gain / np.maximum(total, _TINY) * 100.0
    return out


def _macd_panel(panel: np.ndarray, fast: int, slow: int, signal: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TA-Lib MACD line, signal and histogram of every row of a left-aligned panel.

    Both EMAs start at column slow - 1 from their seeds; the signal's seed is the mean of
    the first ``signal`` MACD values, added in order.
    """
    first = slow + signal - 2
    if panel.shape[1] <= first:
        return tuple(np.full(panel.shape, np.nan) for _ in range(3))  # type: ignore[return-value]
    a_fast, a_slow, a_sig = 2.0 / (fast + 1), 2.0 / (slow + 1), 2.0 / (signal + 1)
    # The EMA seeds stay in numpy: its pairwise summation is the reference rounding.
    f0 = panel[:, slow - fast:slow].sum(axis=1) / fast
    s0 = panel[:, :slow].sum(axis=1) / slow
    later = panel[:, slow:]
    line = np.full(panel.shape, np.nan)
    line[:, slow - 1] = f0 - s0
    line[:, slow:] = _recur(a_fast * later, 1.0 - a_fast, f0) - _recur(
        a_slow * later, 1.0 - a_slow, s0)
    sig = np.full(panel.shape, np.nan)
    sig[:, first] = np.cumsum(line[:, slow - 1:first + 1], axis=1)[:, -1] / signal
    sig[:, first + 1:] = _recur(a_sig * line[:, first + 1:], 1.0 - a_sig, sig[:, first])
    line[:, :first] = np.nan
    return line, sig, line - sig


def _kernel_input(s: pl.Series, grouped: bool) -> tuple[np.ndarray, _Layout]:
    """The panel and layout of a column (a struct of ``x`` and ``g`` when grouped)."""
    x, groups = (s.struct.field("x"), s.struct.field("g")) if grouped else (s, None)
    order = None
    if groups is not None:
        order = _group_order(groups)
        if order is not None:
            x, groups = x.gather(order), groups.gather(order)
    lengths = _run_lengths(groups) if groups is not None and len(groups) else np.array([len(x)])
    values = np.asarray(x.cast(pl.Float64).to_numpy(), dtype=np.float64)
    return _panel(values, lengths, order)


def _as_series(name: str, panel: np.ndarray, layout: _Layout) -> pl.Series:
    return pl.Series(name, _unpack(panel, layout), nan_to_null=True)


def _mapped(expr: pl.Expr, by: str | pl.Expr | None,
            fn: Callable[[pl.Series, bool], pl.Series], dtype: pl.DataType) -> pl.Expr:
    """``fn`` over the whole column (and the group keys when ``by`` is given)."""
    if by is None:
        return expr.map_batches(lambda s: fn(s, False), return_dtype=dtype)
    key = pl.col(by) if isinstance(by, str) else by
    out = pl.struct(expr.alias("x"), key.alias("g")).map_batches(
        lambda s: fn(s, True), return_dtype=dtype)
    name = expr.meta.output_name(raise_if_undetermined=False)
    return out.alias(name) if name else out


def rsi(expr: pl.Expr, n: int = 14, *, by: str | pl.Expr | None = None) -> pl.Expr:
    """Wilder's RSI(n) exactly as TA-Lib computes it (first value at the n-th change).

    ``by`` names the series of a long-format panel: each group is its own series.
    """
    def run(s: pl.Series, grouped: bool) -> pl.Series:
        panel, layout = _kernel_input(s, grouped)
        with np.errstate(invalid="ignore"):
            return _as_series("rsi", _rsi_panel(panel, n), layout)
    return _mapped(expr, by, run, pl.Float64())


def macd(expr: pl.Expr, fast: int = 12, slow: int = 26, signal: int = 9, *,
         by: str | pl.Expr | None = None) -> pl.Expr:
    """TA-Lib MACD(fast, slow, signal) as a struct of ``macd``, ``signal``, ``hist``.

    Keep the struct in a column and read its fields from there: each ``struct.field`` of a
    fresh ``macd(...)`` expression would compute it again. ``by`` as for ``rsi``.
    """
    dtype = pl.Struct({f: pl.Float64 for f in _MACD_FIELDS})

    def run(s: pl.Series, grouped: bool) -> pl.Series:
        panel, layout = _kernel_input(s, grouped)
        with np.errstate(invalid="ignore"):
            parts = _macd_panel(panel, fast, slow, signal)
        return pl.DataFrame([_as_series(f, p, layout) for f, p in zip(
            _MACD_FIELDS, parts, strict=True)]).to_struct("macd")
    return _mapped(expr, by, run, dtype)


def rsi_lookback(n: int = 14) -> int:
    """Bars before RSI's first value (TA-Lib's lookback)."""
    return n


def macd_lookback(slow: int = 26, signal: int = 9) -> int:
    """Bars before MACD's first value (TA-Lib's lookback: 33 for 26/9)."""
    return slow + signal - 2


def segments(expr: pl.Expr, max_gap: int) -> pl.Expr:
    """Series id for ``by=``: a new series starts after a hole of more than ``max_gap`` rows.

    A hole is a run of null (or NaN) rows. Across a shorter one the recursion goes on (the
    null rule); across a longer one the change would be many sessions' move read as one
    day's, so the indicator restarts from its seed and re-warms.
    """
    known = expr.fill_nan(None).is_not_null()
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    before = pl.when(known).then(row).forward_fill().shift(1)
    restart = known & (row - before - 1 > max_gap)
    return restart.fill_null(False).cast(pl.Int64).cum_sum()
