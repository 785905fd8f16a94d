"""Lakes built from ../shared/data the way the pipeline stores them: the project's parsers
(tests/features/feature_inputs.py), features_daily from features.build, both written with
the lake's own writer. ``truncated_at`` keeps only what was published by that day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from features.build import build_features
from sources import cfe, fred
from storage import schemas
from storage.lake import Lake
from tests.conftest import NOW, SHARED_DATA
from tests.features.feature_inputs import all_inputs

# When each input row became public: market rows on their date, FRED rows when released.
PUBLISHED = {"index_daily": "date", "vx_futures": "trade_date", "breadth_daily": "date",
             "macro_observations": "available_at"}


def truncated(inputs: dict[str, pl.DataFrame], last: dt.date) -> dict[str, pl.DataFrame]:
    """The inputs as they stood after the close of ``last`` (the event calendar is known
    ahead and stays whole)."""
    return {name: frame.filter(pl.col(PUBLISHED[name]) <= last) if name in PUBLISHED
            else frame for name, frame in inputs.items()}


def write_lake(root: Path, inputs: dict[str, pl.DataFrame], first: dt.date,
               last: dt.date) -> Lake:
    """A lake holding ``inputs`` and the features of [first, last] built from them."""
    lake = Lake(root)
    for name, frame in inputs.items():
        lake.replace(name, frame)
    features = build_features({k: v.lazy() for k, v in inputs.items()}, start=first,
                              end=last, computed_at=NOW)
    lake.replace("features_daily", features)
    return lake


def shared_inputs() -> dict[str, pl.DataFrame]:
    """Every input table from ../shared/data, with DTB3 (the backtest's rate) among FRED's."""
    inputs = all_inputs(SHARED_DATA)
    path = SHARED_DATA / "fred" / "DTB3.csv"
    dtb3 = fred.parse(path.read_bytes(), path.name).with_columns(
        pl.lit(NOW, dtype=pl.Datetime("us", "UTC")).alias("ingested_at"))
    macro = pl.concat([inputs["macro_observations"],
                       schemas.get("macro_observations").conform(dtb3)])
    return inputs | {"macro_observations": macro}


VX_HISTORY = ("vx_futures", "cfe_2008_2015")
VX_2006 = ("CFE_VX_K2007.csv", "CFE_VX_K2008.csv")


def vx_history() -> pl.DataFrame:
    """VX settlements from CFE's per-contract files (2006-2015), as stored."""
    folder = SHARED_DATA.joinpath(*VX_HISTORY)
    paths = [*sorted(folder.glob("*.csv")), *(SHARED_DATA / "vx_futures" / f for f in VX_2006)]
    frame = pl.concat([cfe.parse(p.read_bytes(), p.name) for p in paths], how="vertical_relaxed")
    frame = frame.unique(["trade_date", "expiry"], keep="first").with_columns(
        pl.lit(NOW, dtype=pl.Datetime("us", "UTC")).alias("ingested_at"))
    return schemas.get("vx_futures").conform(frame)


def history_inputs() -> dict[str, pl.DataFrame]:
    """shared_inputs with the VX curve from 2006: the combined 2013-2025 file, and the
    per-contract files for the rows it lacks or leaves without a settlement (early 2013)."""
    inputs = shared_inputs()
    both = pl.concat([inputs["vx_futures"].with_columns(pl.lit(0).alias("rank")),
                      vx_history().with_columns(pl.lit(1).alias("rank"))])
    vx = (both.sort("trade_date", "expiry", pl.col("settle").is_null(), "rank")
          .unique(["trade_date", "expiry"], keep="first", maintain_order=True).drop("rank"))
    return inputs | {"vx_futures": vx}
