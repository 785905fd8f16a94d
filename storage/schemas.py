"""Declared schemas of the lake's tables: columns, keys and partitioning."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import polars as pl

from core.errors import SchemaError

UTC_TS = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Table:
    """A lake table: its typed columns, unique key, date column and partition keys.

    A partition key is either a column of the table or ``year`` (the year of ``date_col``).
    """

    name: str
    columns: dict[str, pl.DataType]
    keys: tuple[str, ...]
    date_col: str
    partition_by: tuple[str, ...] = ("year",)
    descriptions: dict[str, str] = field(default_factory=dict)

    @property
    def schema(self) -> pl.Schema:
        """The polars schema, in declared column order."""
        return pl.Schema(self.columns)

    def empty(self) -> pl.DataFrame:
        """An empty frame of this table's schema."""
        return pl.DataFrame(schema=self.schema)

    def conform(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Return ``frame`` in declared column order, or raise SchemaError naming the column."""
        if frame.schema == self.schema:
            return frame  # already conforming: one comparison instead of a cast per column
        for col, dtype in self.columns.items():
            if col not in frame.columns:
                raise SchemaError(f"table {self.name}: missing column {col!r}")
            got = frame.schema[col]
            # An all-null column has dtype Null; it is still a valid column of any type.
            if got == pl.Null:
                continue
            if got != dtype:
                raise SchemaError(
                    f"table {self.name}: column {col!r} has dtype {got}, expected {dtype}"
                )
        extra = [c for c in frame.columns if c not in self.columns]
        if extra:
            raise SchemaError(f"table {self.name}: unexpected column(s) {extra}")
        return frame.select(pl.col(c).cast(t) for c, t in self.columns.items())

    def partition_exprs(self) -> list[pl.Expr]:
        """Expressions that compute each partition key from a row."""
        return [
            pl.col(self.date_col).dt.year().alias("year") if k == "year" else pl.col(k)
            for k in self.partition_by
        ]


# Every lake table is declared here, in one place. Source tables are defined below; the
# tables computed by the layers above storage are named by module (each defines ``TABLES``)
# and loaded on the first lookup of one of them, so storage imports no upper layer at load
# time and reading a source table loads none of them.
DERIVED_TABLE_MODULES = ("features.registry", "hedge.tables", "hedge.calibration",
                         "backtest.tables")
_TABLES: dict[str, Table] = {}


def _load_derived() -> None:
    """Add the tables of ``DERIVED_TABLE_MODULES`` (once; later calls find them loaded)."""
    for module in DERIVED_TABLE_MODULES:
        for table in importlib.import_module(module).TABLES:
            _TABLES.setdefault(table.name, table)


def get(name: str) -> Table:
    """The declared table called ``name``."""
    if name not in _TABLES:
        _load_derived()
    try:
        return _TABLES[name]
    except KeyError:
        raise SchemaError(f"unknown table {name!r}; known: {sorted(_TABLES)}") from None


def all_tables() -> list[Table]:
    """Every declared table, by name."""
    _load_derived()
    return [_TABLES[k] for k in sorted(_TABLES)]


F64, I64, STR, DATE, BOOL = pl.Float64(), pl.Int64(), pl.String(), pl.Date(), pl.Boolean()

INDEX_DAILY = Table(
    "index_daily",
    {"symbol": STR, "date": DATE, "open": F64, "high": F64, "low": F64, "close": F64,
     "ingested_at": UTC_TS},
    keys=("symbol", "date"), date_col="date", partition_by=("year",),
)

VX_FUTURES = Table(
    "vx_futures",
    {"trade_date": DATE, "expiry": DATE, "symbol": STR, "open": F64, "high": F64, "low": F64,
     "close": F64, "settle": F64, "change": F64, "volume": I64, "open_interest": I64,
     "no_trade": BOOL, "ingested_at": UTC_TS},
    keys=("trade_date", "expiry"), date_col="trade_date",
)

OPTION_CHAIN = Table(
    "option_chain",
    {"quote_date": DATE, "root": STR, "expiration": DATE, "strike": F64, "right": STR,
     "bid": F64, "ask": F64, "last": F64, "volume": I64, "open_interest": I64, "iv": F64,
     "delta": F64, "gamma": F64, "vega": F64, "underlying": F64, "snapshot_at": UTC_TS,
     "ingested_at": UTC_TS},
    keys=("quote_date", "root", "expiration", "strike", "right"), date_col="quote_date",
    partition_by=("quote_date",),
)

BREADTH_DAILY = Table(
    "breadth_daily",
    {"date": DATE, "advancers": I64, "decliners": I64, "unchanged": I64, "new_highs": I64,
     "new_lows": I64, "ingested_at": UTC_TS},
    keys=("date",), date_col="date",
)

MACRO_OBSERVATIONS = Table(
    "macro_observations",
    {"series_id": STR, "date": DATE, "value": F64, "realtime_start": DATE,
     "available_at": DATE, "ingested_at": UTC_TS},
    keys=("series_id", "date", "realtime_start"), date_col="date",
    partition_by=("series_id",),
)

EVENTS = Table(
    "events",
    {"date": DATE, "kind": STR, "ingested_at": UTC_TS},
    keys=("date", "kind"), date_col="date", partition_by=("kind",),
)

SOURCE_TABLES = (INDEX_DAILY, VX_FUTURES, OPTION_CHAIN, BREADTH_DAILY, MACRO_OBSERVATIONS,
                 EVENTS)
_TABLES.update({t.name: t for t in SOURCE_TABLES})
