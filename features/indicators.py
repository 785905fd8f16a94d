"""TA-Lib-exact RSI and MACD as polars expressions, computed by vectorised numpy kernels.

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
(series x observations), so every seed sits in the same column. Each smoothing is the IIR step
``y[t] = c * y[t-1] + u[t]``: scipy's ``lfilter`` (a C loop) for a few long series; for wide
panels a sweep over days, in chunks transposed tile by tile so they stay in cache, where each
day is one vector operation across all series. Both paths do the same float operations.
Pass ``by=`` for a panel in long format (one call for all series); ``.over(group)`` also works
but calls the kernel once per group. The panel is as wide as the longest series: for very
ragged panels (one long series among many short ones) ``.over`` uses less memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np
import polars as pl
from scipy.signal import lfilter

# Panels at least this wide sweep over days (one vector op per day); narrower ones filter rows.
_SWEEP_FROM = 32
# Days per sweep chunk: a chunk of a 5,000-series panel then stays in the L2/L3 cache.
_CHUNK_DAYS = 64
# Series per tile when transposing a chunk in or out: a 64-day tile (256 kB) fits in L2.
_TILE_SERIES = 512
_TINY = float(np.finfo(np.float64).smallest_subnormal)
_MACD_FIELDS = ("macd", "signal", "hist")


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


def _smooth(u: np.ndarray, coeffs: tuple[float, ...], state: np.ndarray) -> None:
    """In place down the day axis: ``u[t] += c * u[t-1]``, with ``state`` as ``u[-1]``.

    ``u`` is (days, columns); its columns are ``len(coeffs)`` equal blocks, block i using
    ``coeffs[i]`` (so several smoothings of one panel run in one sweep).
    """
    if len(u) == 0:
        return
    if u.shape[1] < _SWEEP_FROM * len(coeffs):
        for block, c, init in zip(np.hsplit(u, len(coeffs)), coeffs,
                                  np.split(state, len(coeffs)), strict=True):
            block[...] = lfilter([1.0], [1.0, -c], block, axis=0, zi=(c * init)[None, :])[0]
        return
    c_vec = np.repeat(np.asarray(coeffs), u.shape[1] // len(coeffs))
    carry = np.multiply(state, c_vec)
    u[0] += carry
    for t in range(1, len(u)):
        np.multiply(u[t - 1], c_vec, out=carry)
        u[t] += carry


def _chunks(panel: np.ndarray, start: int) -> Iterator[tuple[int, int]]:
    """(first column, days) of each sweep chunk of the panel from column ``start`` on."""
    series, width = panel.shape
    size = _CHUNK_DAYS if series >= _SWEEP_FROM else max(width - start, 1)
    for j in range(start, width, size):
        yield j, min(size, width - j)


def _tiles(series: int) -> list[tuple[int, int]]:
    """Series ranges of the transposition tiles."""
    return [(i, min(i + _TILE_SERIES, series)) for i in range(0, series, _TILE_SERIES)]


def _nan_head(shape: tuple[int, int], first: int) -> np.ndarray:
    """An output panel whose columns before ``first`` are NaN (the sweep writes the rest)."""
    out = np.empty(shape)
    out[:, :first] = np.nan
    return out


def _rsi_panel(panel: np.ndarray, n: int) -> np.ndarray:
    """RSI(n) of every row of a left-aligned panel (NaN before the n-th change).

    Smoothed are the gains and the absolute changes (gains + losses) rather than gains and
    losses: the same ratio, one division fewer. Both are kept as n times Wilder's average
    (the ratio does not change), so the seeds are plain sums.
    """
    series, width = panel.shape
    out = _nan_head(panel.shape, min(n, width))
    if width <= n:
        return out
    seed = np.diff(panel[:, :n + 1], axis=1)
    state = np.concatenate([np.maximum(seed, 0.0).sum(axis=1), np.abs(seed).sum(axis=1)])
    out[:, n] = 100.0 * state[:series] / np.maximum(state[series:], _TINY)
    size = next(_chunks(panel, n + 1), (0, 0))[1]
    x, moves = np.empty((size + 1, series)), np.empty((size, 2 * series))
    for j, b in _chunks(panel, n + 1):
        xb = _load_days(panel, j - 1, x[:b + 1])
        gain, total = moves[:b, :series], moves[:b, series:]
        np.subtract(xb[1:], xb[:-1], out=total)
        np.maximum(total, 0.0, out=gain)
        np.abs(total, out=total)
        _smooth(moves[:b], (1.0 - 1.0 / n,) * 2, state)
        state = moves[b - 1].copy()
        # Where the total is 0 so is the gain, and 0 / tiny prints TA-Lib's 0.
        np.maximum(total, _TINY, out=total)
        np.divide(gain, total, out=gain)
        gain *= 100.0
        _store_days(gain, out, j)
    return out


def _load_days(panel: np.ndarray, j: int, out: np.ndarray) -> np.ndarray:
    """Columns j.. of the panel transposed into ``out`` (days x series), tile by tile."""
    for i0, i1 in _tiles(panel.shape[0]):
        np.copyto(out[:, i0:i1], panel[i0:i1, j:j + len(out)].T)
    return out


def _store_days(rows: np.ndarray, out: np.ndarray, j: int) -> None:
    """The reverse of ``_load_days``: ``rows`` (days x series) into columns j.. of ``out``."""
    for i0, i1 in _tiles(out.shape[0]):
        np.copyto(out[i0:i1, j:j + len(rows)], rows[:, i0:i1].T)


def _load_scaled(panel: np.ndarray, j: int, alphas: tuple[float, float], out: np.ndarray,
                 x: np.ndarray) -> np.ndarray:
    """``alpha * x`` of columns j.. for each alpha, side by side in ``out`` (days x series).

    ``x`` is scratch for the transposed columns.
    """
    series = panel.shape[0]
    xb = _load_days(panel, j, x[:len(out)])
    for k, a in enumerate(alphas):
        np.multiply(xb, a, out=out[:, k * series:(k + 1) * series])
    return out


def _macd_seed(panel: np.ndarray, fast: int, slow: int, signal: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EMA states, signal state and MACD line at the first valid column (slow+signal-2)."""
    series = panel.shape[0]
    state = np.concatenate([panel[:, slow - fast:slow].sum(axis=1) / fast,
                            panel[:, :slow].sum(axis=1) / slow])
    # The signal's seed is the mean of the first ``signal`` MACD values.
    head = _load_scaled(panel, slow, (2.0 / (fast + 1), 2.0 / (slow + 1)),
                        np.empty((signal - 1, 2 * series)), np.empty((signal - 1, series)))
    _smooth(head, (1.0 - 2.0 / (fast + 1), 1.0 - 2.0 / (slow + 1)), state)
    emas = np.vstack([state, head])
    lines = emas[:, :series] - emas[:, series:]
    return emas[-1].copy(), lines.sum(axis=0) / signal, lines[-1]


def _macd_panel(panel: np.ndarray, fast: int, slow: int, signal: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TA-Lib MACD line, signal and histogram of every row of a left-aligned panel."""
    series, width = panel.shape
    first = slow + signal - 2
    line_out, sig_out = (_nan_head(panel.shape, min(first, width)) for _ in range(2))
    if width <= first:
        return line_out, sig_out, line_out.copy()
    state, sig_state, line0 = _macd_seed(panel, fast, slow, signal)
    line_out[:, first], sig_out[:, first] = line0, sig_state
    alphas, a_sig = (2.0 / (fast + 1), 2.0 / (slow + 1)), 2.0 / (signal + 1)
    size = next(_chunks(panel, first + 1), (0, 0))[1]
    emas, line, sig = (np.empty((size, k * series)) for k in (2, 1, 1))
    for j, b in _chunks(panel, first + 1):
        # ``sig`` doubles as scratch for the transposed prices until the signal is computed.
        _smooth(_load_scaled(panel, j, alphas, emas[:b], sig),
                (1.0 - alphas[0], 1.0 - alphas[1]), state)
        state = emas[b - 1].copy()
        np.subtract(emas[:b, :series], emas[:b, series:], out=line[:b])
        np.multiply(line[:b], a_sig, out=sig[:b])
        _smooth(sig[:b], (1.0 - a_sig,), sig_state)
        sig_state = sig[b - 1].copy()
        _store_days(line[:b], line_out, j)
        _store_days(sig[:b], sig_out, j)
    # In place of a third transposed store: one contiguous subtraction (NaN where either is).
    return line_out, sig_out, np.subtract(line_out, sig_out)


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
