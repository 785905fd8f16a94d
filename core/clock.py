"""The run's clock: one "now" read at the start of a run and passed down, and the trading day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")  # where the trading day is decided
MORNING_CUTOFF = dt.time(12, 0)  # a run before noon ET (the catch-up) is for the last session


def utc_now() -> dt.datetime:
    """The current time, aware, in UTC: read once per run, then passed down."""
    return dt.datetime.now(dt.UTC)


def today_new_york(now: dt.datetime | None = None) -> dt.date:
    """The calendar date in New York at ``now`` (default: the current time)."""
    return (now or utc_now()).astimezone(NEW_YORK).date()


def trading_day_at(start: dt.datetime) -> dt.date:
    """Day D of a run started at ``start``.

    The evening run (after noon ET) is for that day; the morning catch-up is for the
    previous calendar day's session.
    """
    local = start.astimezone(NEW_YORK)
    day = local.date()
    return day if local.time() >= MORNING_CUTOFF else day - dt.timedelta(days=1)
