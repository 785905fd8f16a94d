"""Error bands of a run's summary figures: a stationary block bootstrap of its sessions.

Politis and Romano's stationary bootstrap: a resampled history is built from blocks of
consecutive sessions of geometric length (mean ``BLOCK`` sessions, about a quarter), so the
clustering of volatility and of crash days survives the resampling (a crash and the sessions
around it move together, as one event). Each figure of v_backtest_summary is recomputed on
every resample (the same definitions, on the sizing equity with no compounding); the band is
its 5th-95th percentile, widened to hold the run's own value. The seed is fixed: a run's
bands are reproducible.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

Array = npt.NDArray[np.float64]
BLOCK = 63  # sessions: the mean block length, about a quarter
DRAWS = 500
SEED = 20261208
FIGURES = ("cagr", "volatility", "max_drawdown", "hedge_cost_per_year", "ladder_pnl_per_year")
SCOPES = {"all": "pnl", "listed": "pnl_listed"}


def stationary_indices(n: int, draws: int, block: int, rng: np.random.Generator
                       ) -> npt.NDArray[np.int64]:
    """``draws`` x ``n`` session indices: random starts, runs of geometric length, wrapping."""
    starts = rng.integers(0, n, size=(draws, n))
    new_block = rng.random((draws, n)) < 1.0 / block
    new_block[:, 0] = True
    pos = np.arange(n)
    # Each index follows the one before, but where a block starts: the latest start's index.
    first = np.maximum.accumulate(np.where(new_block, pos, 0), axis=1)
    return (np.take_along_axis(starts, first, axis=1) + pos - first) % n


def figures(pnl: Array, premium: Array, ladder: Array, equity0: float, years: float
            ) -> dict[str, Array]:
    """The summary figures of each row of resampled daily P&L (rows x sessions)."""
    equity = equity0 + np.cumsum(pnl, axis=1)
    before = np.concatenate([np.full((pnl.shape[0], 1), equity0), equity[:, :-1]], axis=1)
    peak = np.maximum.accumulate(np.maximum(equity, equity0), axis=1)
    return {
        "cagr": (np.maximum(equity[:, -1], 1e-9) / equity0) ** (1.0 / years) - 1.0,
        "volatility": np.std(pnl / before, axis=1, ddof=1) * np.sqrt(252.0),
        "max_drawdown": np.min(equity / peak - 1.0, axis=1),
        "hedge_cost_per_year": premium.sum(axis=1) / years,
        "ladder_pnl_per_year": ladder.sum(axis=1) / years,
    }


def _strategy_bands(days: pl.DataFrame, column: str, equity0: float, years: float,
                    index: npt.NDArray[np.int64]) -> dict[str, tuple[float, float]]:
    """Figure -> (5th, 95th percentile) of one strategy and scope (untestable days add 0)."""
    pnl = days[column].fill_null(0.0).to_numpy()
    premium = days["ladder_premium"].fill_null(0.0).to_numpy()
    ladder = days["ladder_pnl"].fill_null(0.0).to_numpy()
    boot = figures(pnl[index], premium[index], ladder[index], equity0, years)
    return {f: tuple(float(x) for x in np.percentile(boot[f], [5.0, 95.0]))  # type: ignore[misc]
            for f in FIGURES}


def bootstrap_bands(daily: pl.DataFrame, summary: pl.DataFrame, equity0: float, *,
                    draws: int = DRAWS, block: int = BLOCK, seed: int = SEED) -> pl.DataFrame:
    """5-95% bands of every strategy's summary figures, both scopes.

    Args:
        daily: v_backtest_daily rows of one run (benchmarks scaled), any order.
        summary: v_backtest_summary rows of the run: each band is widened to hold its value.
        equity0: The run's sizing equity.
        draws: Resampled histories.
        block: Mean block length in sessions.
        seed: The generator's seed (fixed: reproducible bands).

    Returns:
        run_id, strategy, scope, figure, value, lo, hi.
    """
    values = {(r["strategy"], r["scope"]): r for r in summary.iter_rows(named=True)}
    rows = []
    daily = daily.sort("strategy", "date")
    for (strategy,), days in daily.group_by("strategy", maintain_order=True):
        n = days.height
        first, last = days["date"][0], days["date"][-1]  # sorted by date
        years = max((last - first).days / 365.25, 1 / 365.25)
        index = stationary_indices(n, draws, block, np.random.default_rng(seed))
        for scope, column in SCOPES.items():
            own = values[(strategy, scope)]
            for f, (lo, hi) in _strategy_bands(days, column, equity0, years, index).items():
                v = own[f]
                rows.append({"run_id": days["run_id"][0], "strategy": strategy,
                             "scope": scope, "figure": f, "value": v,
                             "lo": lo if v is None else min(lo, v),
                             "hi": hi if v is None else max(hi, v)})
    return pl.DataFrame(rows, schema={"run_id": pl.String, "strategy": pl.String,
                                      "scope": pl.String, "figure": pl.String,
                                      "value": pl.Float64, "lo": pl.Float64,
                                      "hi": pl.Float64})
