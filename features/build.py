"""Build features_daily: one row per NYSE trading day from the lake's input tables.

Inputs are the lake tables as LazyFrames: ``index_daily``, ``vx_futures``, ``breadth_daily``,
``macro_observations`` and ``events`` (breadth and events may be absent: their features are
then null and flagged stale). Nothing is read after ``end``: market rows dated after it and
macro rows published after it are ignored, so a build for day D sees only what was public by D.

Each feature is one row in its family's module (``features.feature.Feature``); the build
computes the rows of ``MARKET`` on the market base and those of ``SECOND_ENGINE`` on the macro
grid, in the order of what they read (``features.graph``).

Incremental runs (``start`` given) read only ``history_bars(config)`` sessions before
``start`` and return the same rows as a full build for [start, end]:
- windowed features need at most ``registry.window_lookback(config)`` bars, derived from
  their computations (the Second Engine, windowed only, is computed from
  ``macro_bars(config)`` sessions before ``start``);
- recursive ones (RSI, MACD) get ``indicators.warmup_bars`` more: the seed's weight after
  1,000 bars, (13/14)**1000 ~ 1e-32, is far below double precision, so the recursion lands
  on the very same floats (empirically identical after ~600 bars; tests check equality);
- the A/D line is a running total: summed over the breadth table from its first row, or,
  given ``ad_seed`` (``ad_line_seed``: the stored value of the session before the window),
  continued from that value over the breadth rows after it (integers: the same sums).
Callers may therefore prune the scans of ``WINDOWED_TABLES`` to ``history_start(start)``, and
breadth_daily to ``ad_seed.date`` when seeded (``Lake.scan(t, since=...)`` skips older year
partitions): same rows, fewer files read.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, NamedTuple

import polars as pl

from core.calendar import FIRST, trading_days
from features import breadth, closes, events, graph, macro, regime, term_structure
from features.config import FeatureConfig
from features.registry import (
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    FEATURES_DAILY,
    lookbacks,
    window_lookback,
)

# Inputs an incremental run reads only from ``history_start`` on. Not breadth_daily: the A/D
# line sums it from its first row unless the run is given an ``AdSeed``.
WINDOWED_TABLES = ("index_daily", "vx_futures")
# The inputs are small (~10k rows at most) and the plans wide: the in-memory engine runs them
# in about half the time of the streaming default, whose fixed cost per pipeline dominates.
ENGINE: Literal["in-memory"] = "in-memory"
# The rows computed on the market base (index closes, VX curve, breadth, events), steps
# included, and those computed on the Second Engine's grid of macro series.
MARKET = (*closes.FEATURES, *regime.FEATURES, *regime.STEPS, *term_structure.FEATURES,
          *term_structure.STEPS, *breadth.FEATURES, *events.FEATURES)
SECOND_ENGINE = macro.FEATURES
_EMPTY_BREADTH = {"date": pl.Date(), "advancers": pl.Int64(), "decliners": pl.Int64()}
_EMPTY_EVENTS = {"date": pl.Date(), "kind": pl.String()}


# The columns the build reads from each input table.
_COLUMNS = {
    "index_daily": ("date", "symbol", "close"),
    "vx_futures": ("trade_date", "expiry", "settle"),
    "breadth_daily": ("date", "advancers", "decliners"),
    "macro_observations": ("series_id", "date", "value", "available_at"),
    "events": ("date", "kind"),
}


def _read(inputs: dict[str, pl.LazyFrame]) -> dict[str, pl.LazyFrame]:
    """Every input read once, side by side (lake scans open their files in parallel)."""
    names = [n for n in _COLUMNS if n in inputs]
    frames = pl.collect_all([inputs[n].select(_COLUMNS[n]) for n in names], engine=ENGINE)
    return {n: f.lazy() for n, f in zip(names, frames, strict=True)}


def _index_rows(index_daily: pl.LazyFrame) -> pl.DataFrame:
    """(date, symbol, close) of index_daily: the table read once for its first day and closes."""
    return index_daily.select("date", "symbol", "close").collect(engine=ENGINE)


class AdSeed(NamedTuple):
    """The A/D line through ``date`` (breadth rows up to and including it), from a stored row."""

    date: dt.date
    value: int


def _optional(inputs: dict[str, pl.LazyFrame], name: str, schema: dict) -> pl.LazyFrame:
    return inputs.get(name, pl.LazyFrame(schema=schema))


def _breadth(inputs: dict[str, pl.LazyFrame], first: dt.date, end: dt.date,
             seed: AdSeed | None) -> pl.LazyFrame:
    """Breadth rows from ``first`` with the A/D line summed from the table's first row.

    With a seed, only the rows after ``seed.date`` are summed, on top of ``seed.value``.
    """
    rows = _optional(inputs, "breadth_daily", _EMPTY_BREADTH).filter(pl.col("date") <= end)
    if seed is not None:
        rows = rows.filter(pl.col("date") > seed.date)
    rows = (rows.select("date", "advancers", "decliners").unique("date", keep="last")
            .sort("date"))
    return rows.with_columns(breadth.ad_line_sum(seed.value if seed else None)).filter(
        pl.col("date") >= first)


def market_base(inputs: dict[str, pl.LazyFrame], index_rows: pl.DataFrame, days: pl.LazyFrame,
                first: dt.date, end: dt.date, cfg: FeatureConfig, seed: AdSeed | None = None
                ) -> pl.LazyFrame:
    """Index closes, the VX curve summary, breadth and events on the grid [first, end]."""
    vx = inputs["vx_futures"].filter(pl.col("trade_date").is_between(first, end))
    ts = term_structure.term_structure_inputs(vx, cfg.term_structure)
    index = closes.index_closes(index_rows, days, first, end)
    base = index.join(ts, on="date", how="left").join(
        _breadth(inputs, first, end, seed), on="date", how="left")
    # Joins do not keep row order; rolling windows and shifts below need date order.
    return events.with_calendars(base, _optional(inputs, "events", _EMPTY_EVENTS)).sort("date")


def market_features(base: pl.DataFrame, cfg: FeatureConfig) -> pl.DataFrame:
    """The ``MARKET`` rows, computed eagerly on the collected base.

    Eager on purpose: the lazy optimiser's cost on these deep expressions exceeds the work
    itself for an incremental window of ~1,300 rows.
    """
    return graph.compute(base, MARKET, cfg)


def _macro_rows(inputs: dict[str, pl.LazyFrame], first: dt.date, end: dt.date,
                cfg: FeatureConfig) -> pl.LazyFrame:
    """Macro rows published by ``end`` and recent enough to matter on or after ``first``."""
    # Older rows are beyond every maximum age, except as the base of NFCI's 4-week change.
    weeks = dt.timedelta(weeks=cfg.macro.nfci_change_weeks + 1)
    oldest = first - dt.timedelta(days=max(cfg.macro.max_age_days.values())) - weeks
    return inputs["macro_observations"].filter(
        pl.col("available_at").is_between(oldest, end) & (pl.col("date") >= oldest))


def macro_features(inputs: dict[str, pl.LazyFrame], days: pl.LazyFrame, first: dt.date,
                   end: dt.date, cfg: FeatureConfig) -> pl.LazyFrame:
    """The Second Engine on the grid, from macro rows published by ``end``."""
    obs = _macro_rows(inputs, first, end, cfg)
    seen = macro.visible_series(days, obs, cfg.macro).sort("date")
    return graph.compute(seen, SECOND_ENGINE, cfg)


def _first_day(index_rows: pl.DataFrame) -> dt.date:
    if index_rows.is_empty():
        raise ValueError("index_daily is empty: nothing to build features from")
    return index_rows["date"].min()  # type: ignore[return-value]


def last_input_day(index_rows: pl.DataFrame, end: dt.date) -> dt.date | None:
    """The last day on or before ``end`` with both an SPX and a VIX close (None: no such day).

    features_daily ends there: a later row would be all unknown, and a reader taking the
    latest row (``alvh recommend``) would take it for the last real day.
    """
    closes = index_rows.filter(pl.col("symbol").is_in(["SPX", "VIX"]) & (pl.col("date") <= end)
                               & pl.col("close").is_not_null())
    both = closes.group_by("date").agg(pl.col("symbol").n_unique()).filter(
        pl.col("symbol") == 2)
    return both["date"].max()  # type: ignore[return-value]


def _bars_back(before: pl.Series, bars: int, oldest: dt.date) -> dt.date:
    """The session ``bars`` (> 0) sessions before the first kept day (``oldest`` if fewer)."""
    return before[-bars] if len(before) >= bars else oldest


def _grid(all_days: pl.Series, first: dt.date) -> pl.LazyFrame:
    """The sessions from ``first`` on, as a one-column frame."""
    return all_days.filter(all_days >= first).to_frame().lazy()


def macro_bars(cfg: FeatureConfig) -> int:
    """Sessions the Second Engine reads before its first day: its longest window in rows.

    That is one more than the longest lookback (the z-score's window: 252 rows, 251 bars).
    """
    bars = lookbacks(cfg)
    return 1 + max(bars[f.name] for f in SECOND_ENGINE)


def history_bars(cfg: FeatureConfig) -> int:
    """Sessions an incremental run reads before its first day (lookbacks, then warm-up)."""
    return window_lookback(cfg) + cfg.indicators.warmup_bars


def history_start(start: dt.date | None, config: FeatureConfig | None = None
                  ) -> dt.date | None:
    """The first session an incremental run from ``start`` reads (None: it reads everything).

    Scans of ``WINDOWED_TABLES`` may skip what is older, e.g.
    ``lake.scan(t, since=history_start(start, cfg))``; the output is the same.
    """
    if start is None:
        return None
    before = trading_days(FIRST, start)
    before = before.filter(before < start)
    bars = history_bars(config or FeatureConfig())
    return before[-bars] if len(before) >= bars else None


def _window_before(start: dt.date, config: FeatureConfig | None) -> dt.date | None:
    """The session before an incremental run's window (None: it reaches the calendar's start)."""
    before = trading_days(FIRST, start)
    before = before.filter(before < start)
    bars = history_bars(config or FeatureConfig()) + 1
    return before[-bars] if len(before) >= bars else None


def ad_line_seed(stored: pl.LazyFrame, start: dt.date | None,
                 config: FeatureConfig | None = None) -> AdSeed | None:
    """The stored A/D line of the session before the window of an incremental run from ``start``.

    Pass it as ``build_features(..., ad_seed=...)``: breadth_daily then only needs its rows
    after ``seed.date`` (e.g. ``lake.scan("breadth_daily", since=seed.date)``).

    Args:
        stored: features_daily rows of an earlier build of this feature set; only the
            session before ``history_start(start)`` is read (a scan may keep just the years
            of the ten days before it).
        start: the incremental run's first day (None: a full rebuild, which has no seed).
        config: the run's config (its lookbacks set the window).

    Returns:
        The seed, or None when that session has no stored (non-null, integral) value.
    """
    day = _window_before(start, config) if start is not None else None
    if day is None:
        return None
    found = stored.filter(pl.col("date") == day).select("ad_line").collect(engine=ENGINE)
    value = found["ad_line"][0] if found.height == 1 else None
    if value is None or not float(value).is_integer():
        return None
    return AdSeed(day, int(value))


def _features_daily(market: pl.LazyFrame, second_engine: pl.LazyFrame,
                    computed_at: dt.datetime) -> pl.DataFrame:
    """Both frames' features side by side in the registry's column order, stamped."""
    out = market.join(second_engine, on="date", how="left").sort("date").select(
        "date", *FEATURE_NAMES, pl.lit(FEATURE_SET_VERSION).alias("feature_set_version"),
        pl.lit(computed_at).cast(FEATURES_DAILY.columns["computed_at"]).alias("computed_at"),
    ).collect(engine=ENGINE)
    return FEATURES_DAILY.conform(out)


def build_features(inputs: dict[str, pl.LazyFrame], *, start: dt.date | None = None,
                   end: dt.date, config: FeatureConfig | None = None,
                   computed_at: dt.datetime, ad_seed: AdSeed | None = None) -> pl.DataFrame:
    """features_daily rows for every NYSE session in [start, end] (all history if no start).

    Args:
        inputs: lake tables by name (index_daily, vx_futures, macro_observations; optional
            breadth_daily, events), as LazyFrames.
        start: first day to return; None for a full rebuild.
        end: last day (the run date); nothing published after it is read. Rows end at
            the last session on or before it with both SPX and VIX closes.
        config: thresholds and windows; defaults when None.
        computed_at: the stamp written in ``computed_at``.
        ad_seed: the A/D line through a day before the window (``ad_line_seed``); breadth
            rows up to that day are then ignored. None: summed from breadth's first row.

    Returns:
        A frame conforming to the ``features_daily`` table.
    """
    cfg = config or FeatureConfig()
    inputs = _read(inputs)
    index_rows = _index_rows(inputs["index_daily"])
    first_day, last = _first_day(index_rows), last_input_day(index_rows, end)
    if last is None or (start is not None and start > last):
        return FEATURES_DAILY.empty()
    end = last
    all_days = trading_days(first_day, end)
    keep_from = start or all_days[0]
    before = all_days.filter(all_days < keep_from)
    first = _bars_back(before, history_bars(cfg), all_days[0])
    # The Second Engine is windowed only (no recursion): it needs no warm-up bars.
    macro_first = _bars_back(before, macro_bars(cfg), all_days[0])
    # The market base and the Second Engine are independent: collect them side by side.
    base, second_engine = pl.collect_all(
        [market_base(inputs, index_rows, _grid(all_days, first), first, end, cfg, ad_seed),
         macro_features(inputs, _grid(all_days, macro_first), macro_first, end, cfg)],
        engine=ENGINE)
    market = market_features(base, cfg).lazy().filter(pl.col("date") >= keep_from)
    return _features_daily(market, second_engine.lazy(), computed_at)
