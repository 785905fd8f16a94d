"""Lake-shaped input frames for the feature tests and bench, read from ../shared/data.

Every table comes from the project's own parsers (sources/), stamped ``ingested_at = NOW`` and
conformed to its lake schema, as the ingest layer stores it: no second CSV reader, VX expiry
rule or publication lag to drift from the real ones. FRED ``available_at`` follows the
packaged publication rules (``fred.default_rules()``), as ``flows.ingest`` applies them.

One small reader stays: VIX1D exists in the shared data only as a column of the wide CBOE
panel (no ``VIX1D_History.csv``), and no parser reads that panel. Its column is written out
in CBOE's value-only layout (``DATE,VIX1D``, values as the panel has them) and read by
``cboe.parse`` like any other history file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from sources import breadth, calendar, cboe, cfe, fred
from storage import schemas
from tests.conftest import NOW

UTC_TS = pl.Datetime("us", "UTC")
INDEX_SYMBOLS = ("SPX", "VIX", "VIX3M", "VIX9D", "VVIX")
VIX1D_PANEL = ("cboe", "cboe_volatility_panel_heliar.csv")
VX_FILE = ("vx_futures", "cfe_vx_all_monthly_contracts_2013_2025.csv")
# Every CFE-layout VX file: per-contract files 2006-2015, then the combined 2013-2025 file.
VX_HISTORY = ("cfe_2008_2015/*.csv", "CFE_VX_K2007.csv", "CFE_VX_K2008.csv", VX_FILE[1])
BREADTH_FILES = ("NYSE_ADV_advancing_issues.csv", "NYSE_DECL_declining_issues.csv",
                 "NYSE_UCHG_unchanged_issues.csv")
# The Second Engine's FRED series, one file each under fred/ (the series id is in the header).
MACRO_FILES = ("derived_from_heliar/SOFR.csv", "derived_from_heliar/IORB.csv",
               "derived_from_heliar/DFF.csv", "derived_from_heliar/DGS2.csv",
               "derived_from_heliar/NFCILEVERAGE.csv", "BAMLH0A0HYM2_long_1996_2026.csv",
               "derived_from_heliar/DTWEXBGS.csv")
CALENDAR_FILES = ("fomc_dates_1978_2023.csv", "macro_events_fomc_cpi_nfp_2024_2026.csv")
EVENT_KINDS = ("fomc", "cpi")


def _parsed(parse: Callable[[bytes, str], pl.DataFrame], path: Path) -> pl.DataFrame:
    """A real file read by the project's own parser."""
    return parse(path.read_bytes(), path.name)


def _stored(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Parser output as the lake stores it: ``ingested_at`` added, schema conformed."""
    stamped = frame.with_columns(pl.lit(NOW, dtype=UTC_TS).alias("ingested_at"))
    return schemas.get(table).conform(stamped)


def cboe_history(path: Path, symbol: str) -> pl.DataFrame:
    """A CBOE *_History.csv as index_daily rows (value-only files get null O/H/L)."""
    frame = _parsed(cboe.parse, path)
    got = frame["symbol"].unique().to_list()
    if got != [symbol]:
        raise ValueError(f"{path.name} holds {got}, not {symbol}")
    return _stored(frame, "index_daily")


def vix1d_history(panel: Path) -> pl.DataFrame:
    """VIX1D from the wide CBOE panel, read by ``cboe.parse`` as a value-only history file."""
    # Strings in, strings out: the parser sees the panel's values verbatim.
    column = pl.read_csv(panel, columns=["date", "VIX1D"], infer_schema=False)
    payload = column.drop_nulls("VIX1D").rename({"date": "DATE"}).write_csv().encode()
    return _stored(cboe.parse(payload, "VIX1D_History.csv"), "index_daily")


def index_daily(data: Path) -> pl.DataFrame:
    """SPX, VIX, VIX3M, VIX9D, VVIX and VIX1D as one index_daily frame."""
    parts = [cboe_history(data / "cboe" / f"{s}_History.csv", s) for s in INDEX_SYMBOLS]
    parts.append(vix1d_history(data.joinpath(*VIX1D_PANEL)))
    return pl.concat(parts)


def vx_futures(data: Path) -> pl.DataFrame:
    """The 2013-2025 CFE file as vx_futures rows (expiry by the CFE rule, 0 settles null)."""
    frame = _parsed(cfe.parse, data.joinpath(*VX_FILE))
    return _stored(frame.sort("trade_date", "expiry"), "vx_futures")


def vx_history(data: Path) -> pl.DataFrame:
    """Every CFE VX file as vx_futures rows (a later file's row wins for a contract and day)."""
    paths = [p for pattern in VX_HISTORY for p in sorted((data / "vx_futures").glob(pattern))]
    frame = pl.concat([_parsed(cfe.parse, p) for p in paths])
    frame = frame.unique(["trade_date", "expiry"], keep="last", maintain_order=True)
    return _stored(frame.sort("trade_date", "expiry"), "vx_futures")


def breadth_daily(data: Path) -> pl.DataFrame:
    """NYSE advancing/declining/unchanged issues as breadth_daily rows (no highs/lows)."""
    parts = [_parsed(breadth.parse, data / "breadth" / f) for f in BREADTH_FILES]
    return _stored(breadth.combine(parts), "breadth_daily")


def macro_observations(data: Path) -> pl.DataFrame:
    """The Second Engine's FRED series, available by their packaged publication rules."""
    parts = [_parsed(fred.parse, data / "fred" / f) for f in MACRO_FILES]
    return _stored(pl.concat(parts), "macro_observations")


def events(data: Path) -> pl.DataFrame:
    """FOMC decision days 1978-2026 and CPI release days 2025-2026 as events rows."""
    parts = [_parsed(calendar.parse, data / "calendar" / f) for f in CALENDAR_FILES]
    frame = pl.concat(parts).filter(pl.col("kind").is_in(EVENT_KINDS))
    return _stored(frame.unique().sort("date", "kind"), "events")


READERS: dict[str, Callable[[Path], pl.DataFrame]] = {
    "index_daily": index_daily, "vx_futures": vx_futures, "breadth_daily": breadth_daily,
    "macro_observations": macro_observations, "events": events,
}


def all_inputs(data: Path) -> dict[str, pl.DataFrame]:
    """Every input table of build_features, from the shared data folder."""
    return {name: read(data) for name, read in READERS.items()}
