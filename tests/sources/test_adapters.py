"""The contract every source adapter keeps: its writer's files parse back to the same rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.clock import NEW_YORK
from flows.ingest import Run
from sources import config as sources_config
from sources.registry import ADAPTERS, SOURCE_NAMES, adapter
from storage import schemas
from storage.lake import Lake

D = dt.date


def _rows(table: str, data: dict[str, list[object]]) -> pl.DataFrame:
    """``data`` typed as ``table``'s columns minus ``ingested_at``."""
    types = {c: t for c, t in schemas.get(table).columns.items() if c != "ingested_at"}
    return pl.DataFrame(data, schema=types)


def _chain() -> pl.DataFrame:
    at = dt.datetime(2025, 1, 10, 15, 45, tzinfo=NEW_YORK).astimezone(dt.UTC)  # DataShop's time
    rows = [("SPXW", D(2025, 1, 17), 5000.0, "C", 830.1, 835.5, 832.0, 3, 900, 0.42, 0.99,
             0.0001, 0.12),
            ("SPXW", D(2025, 1, 17), 5000.0, "P", 0.05, 0.1, 0.05, 7, 1500, 0.38, -0.0012,
             0.0001, 0.02),
            ("SPX", D(2025, 3, 21), 6002.5, "C", 25.1, 25.6, 24.9, 12, 25_000, 0.155, 0.31,
             0.0012, 11.2)]
    frame = pl.DataFrame(rows, orient="row", schema=[
        "root", "expiration", "strike", "right", "bid", "ask", "last", "volume",
        "open_interest", "iv", "delta", "gamma", "vega"])
    frame = frame.with_columns(quote_date=D(2025, 1, 10), underlying=5827.04,
                               snapshot_at=pl.lit(at, schemas.UTC_TS))
    return frame.select([c for c in schemas.get("option_chain").columns if c != "ingested_at"])


ROWS = {
    "index_daily": lambda: _rows("index_daily", {
        "symbol": ["SPX", "SPX", "SKEW", "SKEW"],
        "date": [D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 2), D(2024, 1, 3)],
        "open": [4745.2, 4725.07, None, None], "high": [4754.33, 4729.29, None, None],
        "low": [4722.67, 4699.71, None, None], "close": [4742.83, 4704.81, 145.12, 143.5]}),
    "vx_futures": lambda: _rows("vx_futures", {
        "trade_date": [D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 2)],
        "expiry": [D(2024, 1, 17), D(2024, 1, 17), D(2024, 9, 18)],
        "symbol": ["VX/F24", "VX/F24", "VX/U24"],
        "open": [13.9, 14.1, None], "high": [14.35, 14.6, None], "low": [13.8, 14.0, None],
        "close": [14.2, 14.45, None], "settle": [14.175, 14.425, 19.05],
        "change": [0.325, 0.25, 0.0], "volume": [81_250, 90_112, 0],
        "open_interest": [112_000, 110_500, 450], "no_trade": [False, False, True]}),
    "option_chain": _chain,
    "breadth_daily": lambda: _rows("breadth_daily", {
        "date": [D(2024, 1, 2), D(2024, 1, 3)], "advancers": [1850, 700],
        "decliners": [1050, 2210], "unchanged": [95, 88], "new_highs": [120, 40],
        "new_lows": [12, 0]}),
    "macro_observations": lambda: _rows("macro_observations", {
        # DTB3 is known a business day later; CPI, without a release calendar, 50 days later.
        "series_id": ["DTB3", "DTB3", "CPIAUCSL"],
        "date": [D(2024, 1, 2), D(2024, 1, 5), D(2023, 12, 1)],
        "value": [5.24, 5.2, 308.742],
        "realtime_start": [D(2024, 1, 3), D(2024, 1, 8), D(2024, 1, 20)],
        "available_at": [D(2024, 1, 3), D(2024, 1, 8), D(2024, 1, 20)]}),
    "events": lambda: _rows("events", {
        "date": [D(2024, 1, 11), D(2024, 1, 12), D(2024, 1, 31), D(2024, 2, 2)],
        "kind": ["cpi", "ppi", "fomc", "nfp"]}),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    lake = Lake(tmp_path_factory.mktemp("adapters") / "lake")
    return Run(lake, sources_config.load(), D(2025, 1, 10),
               dt.datetime(2025, 1, 11, 1, 0, tzinfo=dt.UTC))


def test_every_source_table_has_one_adapter_and_every_adapter_a_declared_table() -> None:
    tables = [a.table for a in ADAPTERS.values()]
    assert sorted(tables) == sorted(t.name for t in schemas.SOURCE_TABLES)
    assert all(schemas.get(t).name == t for t in tables)
    assert set(ROWS) == set(tables)  # this test covers every adapter


@pytest.mark.parametrize("source", SOURCE_NAMES)
def test_writer_files_parse_back_to_the_rows(source: str, run: Run, tmp_path: Path) -> None:
    declared = adapter(source)
    rows = ROWS[declared.table]()
    paths = declared.write(rows, tmp_path / source)
    assert paths and all(p.parent == tmp_path / source for p in paths)
    assert all(declared.wanted(p) for p in paths)  # `--from` finds what the writer wrote
    parsed = declared.combine([declared.parse(p.read_bytes(), p.name, run) for p in paths])
    keys = list(schemas.get(declared.table).keys)
    assert_frame_equal(parsed.sort(keys), rows.sort(keys))
