"""What the backtest reads from the lake, and what was known after each close.

``load_market`` reads every input of a run once; ``Market.known(D)`` hands the walk only the
data of day D (its features row, its closes and settlements, the rate published by D, its
chain; ``Known.priced`` adds the pricing calibrations fitted on quotes known by D), so a
decision for D cannot see a later day by construction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from core.calendar import trading_days
from core.expiry import monthly_expiries, nearest_expiries, nearest_expiry
from hedge.calibration import Calibrations, Pricing
from hedge.context import VixQuotes
from hedge.ladder import vix_call_quotes
from hedge.policy import Policy
from hedge.rates import RATE_SERIES, RateQuote
from storage.lake import Lake


@dataclass(frozen=True)
class Expiries:
    """The VX/VIX expiry rule of core.expiry, from tables computed once per run.

    The rule is known in advance; asking core.expiry day by day cost ~3 ms a session.
    """

    nearest: Mapping[tuple[dt.date, int], dt.date] = field(default_factory=dict)
    monthly: tuple[dt.date, ...] = ()

    def __call__(self, on: dt.date, target_dte: int) -> dt.date:
        """The monthly expiry on or after ``on`` nearest ``target_dte`` days out."""
        hit = self.nearest.get((on, target_dte))
        return hit if hit is not None else nearest_expiry(on, target_dte)

    def front_two(self, on: dt.date) -> tuple[dt.date, dt.date]:
        """The two nearest monthly expiries on or after ``on``."""
        later = [e for e in self.monthly if e >= on][:2]
        if len(later) < 2:
            later = monthly_expiries(on, 3).filter(monthly_expiries(on, 3) >= on).to_list()
        return later[0], later[1]


def run_expiries(sessions: list[dt.date], dtes: tuple[int, ...]) -> Expiries:
    """The expiry tables of a run's sessions for the given targets (days to expiry)."""
    if not sessions:
        return Expiries()
    days = pl.Series("date", sessions, dtype=pl.Date)
    nearest = {(d, n): e for n in dtes
               for d, e in zip(sessions, nearest_expiries(days, n).to_list(), strict=True)}
    months = (sessions[-1].year - sessions[0].year) * 12 + 14
    return Expiries(nearest, tuple(monthly_expiries(sessions[0], months).to_list()))


@dataclass(frozen=True)
class Known:
    """Everything public after the close of one day, and nothing else."""

    date: dt.date
    row: Mapping[str, Any] | None
    spx_close: float | None
    settles: Mapping[dt.date, float]
    rate: RateQuote | None
    chain: pl.DataFrame | None
    expiries: Expiries = Expiries()
    calibrations: Calibrations = Calibrations({})
    pricing: Pricing | None = None  # set by the walk: the calibration in force, at its band
    vix_quotes: VixQuotes = field(default_factory=dict)  # set by the walk: D's VIX calls

    def priced(self, policy: Policy, band: str = "central") -> Known:
        """The day priced: the calibration in force (at ``band``) and D's VIX call quotes.

        Without a stored calibration the policy's parameters price it.
        """
        return replace(self, pricing=self.calibrations.pricing(self.date, policy).at_band(band),
                       vix_quotes=vix_call_quotes(self.chain, self.date))

    def settle(self, expiry: dt.date) -> float | None:
        """The VX settlement of the contract expiring on ``expiry``, this day."""
        return self.settles.get(expiry)


@dataclass(frozen=True)
class Market:
    """A run's inputs, indexed by day."""

    sessions: list[dt.date]
    rows: dict[dt.date, dict[str, Any]]
    spx: dict[dt.date, float]
    settles: dict[dt.date, dict[dt.date, float]]
    rates: dict[dt.date, RateQuote]
    chain_days: frozenset[dt.date]
    lake: Lake | None = field(default=None, compare=False)
    expiries: Expiries = Expiries()
    calibrations: Calibrations = Calibrations({})

    def known(self, day: dt.date) -> Known:
        """What was known after the close of ``day``."""
        return Known(date=day, row=self.rows.get(day), spx_close=self.spx.get(day),
                     settles=self.settles.get(day, {}), rate=self.rates.get(day),
                     chain=self.chain(day), expiries=self.expiries,
                     calibrations=self.calibrations)

    def chain(self, day: dt.date) -> pl.DataFrame | None:
        """``day``'s option chain (every root), read only on the days one is stored."""
        if day not in self.chain_days or self.lake is None:
            return None
        return self.lake.scan("option_chain").filter(pl.col("quote_date") == day).collect()


def _latest_by_day(obs: pl.DataFrame, grid: pl.DataFrame) -> pl.DataFrame:
    """Per day, the latest observation (date, value) of one series published by that day."""
    latest = obs.sort("available_at", "date").with_columns(
        pl.col("date").cum_max().alias("newest")).filter(pl.col("date") == pl.col("newest"))
    latest = latest.unique("available_at", keep="last").sort("available_at")
    return grid.join_asof(latest, left_on="day", right_on="available_at",
                          strategy="backward").drop_nulls("value")


def daily_rates(macro: pl.LazyFrame, days: pl.Series, max_age_days: int,
                series: tuple[str, ...] = RATE_SERIES) -> dict[dt.date, RateQuote]:
    """Per session, the quote ``hedge.rates.risk_free_rate`` gives, for all days at once.

    Per series, the latest observation published by the day (an as-of join on
    ``available_at``); then, per day, the first series whose observation is fresh.
    """
    obs = macro.filter(pl.col("series_id").is_in(series) & pl.col("value").is_not_null()
                       ).select("series_id", "date", "value", "available_at").collect()
    grid = pl.DataFrame({"day": days}).sort("day")
    seen: dict[str, dict[dt.date, tuple[dt.date, float]]] = {}
    for sid in series:
        hit = _latest_by_day(obs.filter(pl.col("series_id") == sid), grid)
        seen[sid] = {d: (o, v) for d, o, v in hit.select("day", "date", "value").iter_rows()}
    out: dict[dt.date, RateQuote] = {}
    for day in grid["day"].to_list():
        for i, sid in enumerate(series):
            got = seen[sid].get(day)
            if got is not None and (day - got[0]).days <= max_age_days:
                # Divided in Python as risk_free_rate does: the very same float.
                out[day] = RateQuote(sid, float(got[1]) / 100.0, got[0], series[:i])
                break
    return out


def _rows(lake: Lake, start: dt.date, end: dt.date) -> dict[dt.date, dict[str, Any]]:
    """features_daily rows of [start, end] by date."""
    frame = lake.scan("features_daily", since=start, until=end).filter(
        pl.col("date").is_between(start, end)).collect()
    return {r["date"]: r for r in frame.iter_rows(named=True)}


def _spx(lake: Lake, start: dt.date, end: dt.date) -> dict[dt.date, float]:
    """SPX closes of [start, end]."""
    frame = lake.scan("index_daily", since=start, until=end).filter(
        (pl.col("symbol") == "SPX") & pl.col("date").is_between(start, end)
        & pl.col("close").is_not_null()).select("date", "close").collect()
    return dict(zip(frame["date"], frame["close"], strict=True))


def _settles(lake: Lake, start: dt.date, end: dt.date) -> dict[dt.date, dict[dt.date, float]]:
    """VX settlements of [start, end]: trade date -> contract expiry -> settle."""
    frame = lake.scan("vx_futures", since=start, until=end).filter(
        pl.col("trade_date").is_between(start, end) & pl.col("settle").is_not_null()
        & (pl.col("settle") > 0)).select("trade_date", "expiry", "settle").collect()
    out: dict[dt.date, dict[dt.date, float]] = {}
    for day, expiry, settle in frame.iter_rows():
        out.setdefault(day, {})[expiry] = settle
    return out


def _chain_days(lake: Lake, start: dt.date, end: dt.date) -> frozenset[dt.date]:
    """Days in [start, end] with a stored chain (SPX or VIX)."""
    days = lake.scan("option_chain").filter(pl.col("quote_date").is_between(start, end)
                                            ).select(pl.col("quote_date").unique()).collect()
    return frozenset(days["quote_date"].to_list())


def load_market(lake: Lake, start: dt.date, end: dt.date, *, dtes: tuple[int, ...],
                max_rate_age: int) -> Market:
    """Every input of a run over the NYSE sessions of [start, end], read once.

    Args:
        lake: The lake.
        start: First day.
        end: Last day.
        dtes: The ladder's target days to expiry, whose nearest expiries are tabulated.
        max_rate_age: Calendar days a rate observation stays fresh (policy pricing).

    Returns:
        The run's market.
    """
    sessions = trading_days(start, end)
    days = sessions.to_list()
    return Market(sessions=days, rows=_rows(lake, start, end),
                  spx=_spx(lake, start, end), settles=_settles(lake, start, end),
                  rates=daily_rates(lake.scan("macro_observations"), sessions, max_rate_age),
                  chain_days=_chain_days(lake, start, end), lake=lake,
                  expiries=run_expiries(days, dtes), calibrations=Calibrations.in_lake(lake))
