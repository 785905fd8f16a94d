"""The features_daily row of a day: the read the `features` command and the recommendation share.

Light on purpose: it imports neither the hedge engine nor the validation gate.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from core.errors import PipelineError
from storage.lake import Lake


def last_session(lake: Lake, on_or_before: dt.date) -> dt.date:
    """The latest features_daily date on or before ``on_or_before``."""
    day = (lake.scan("features_daily").filter(pl.col("date") <= on_or_before)
           .select(pl.col("date").max()).collect().item())
    if day is None:
        raise PipelineError(f"no features on or before {on_or_before}: run `alvh build` first")
    return day


def features_row(lake: Lake, day: dt.date) -> pl.DataFrame:
    """The one features_daily row of ``day``."""
    row = lake.scan("features_daily").filter(pl.col("date") == day).collect()
    if row.height != 1:
        raise PipelineError(f"features_daily has {row.height} row(s) for {day}")
    return row
