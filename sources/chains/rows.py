"""What every chain layout shares: columns, errors, number cleaning, final checks and shape."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from core.errors import SourceDataError
from sources.chains.occ import occ_fields
from storage import schemas

SOURCE = "chains"
COLUMNS = {c: t for c, t in schemas.get("option_chain").columns.items() if c != "ingested_at"}
NUMBER_TYPES = {c: t for c, t in COLUMNS.items() if t in (pl.Float64(), pl.Int64())}
PRICE_COLUMNS = ("bid", "ask", "last", "strike", "underlying")


def error(name: str, problem: str) -> SourceDataError:
    """A SourceDataError naming this source, the file and the problem."""
    return SourceDataError(f"source {SOURCE!r}, file {name!r}: {problem}")


def to_numbers(frame: pl.DataFrame, name: str, dtypes: dict[str, pl.DataType]) -> pl.DataFrame:
    """``frame`` with columns cast to ``dtypes``, or a SourceDataError naming a bad value.

    Text cells may carry spaces and thousands separators; an empty cell is a null, any other
    cell that is not a number is an error.
    """
    nested = [c for c in dtypes if not (frame.schema[c].is_numeric()
                                        or frame.schema[c] in (pl.String, pl.Null))]
    if nested:
        raise error(name, f"column {nested[0]!r} holds {frame.schema[nested[0]]}, not numbers")
    text = [c for c in dtypes if frame.schema[c] == pl.String]
    cleaned = {c: pl.col(c).str.strip_chars().str.replace_all(",", "", literal=True)
               for c in text}
    numbers = {c: cleaned.get(c, pl.col(c)).cast(pl.Float64, strict=False).cast(t, strict=False)
               for c, t in dtypes.items()}
    # One pass finds, per column, the first cell that is present but does not convert.
    first_bad = frame.select(
        (numbers[c].is_null() & cleaned[c].is_not_null() & (cleaned[c] != "")).arg_true()
        .first().alias(c) for c in text) if text else pl.DataFrame()
    for c in first_bad.columns:
        if (row := first_bad[c][0]) is not None:
            raise error(name, f"non-numeric value {frame[c][row]!r} in column {c!r}")
    return frame.with_columns(e.alias(c) for c, e in numbers.items())


def check_prices(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """``frame`` unchanged, or a SourceDataError if a price is negative or a strike not positive.

    ``bid > ask`` is left to the validations: it is a crossed quote, not a broken file.
    """
    positive = ("strike", "underlying")
    broken = {c: pl.col(c) <= 0 if c in positive else pl.col(c) < 0 for c in PRICE_COLUMNS}
    counts = frame.select(e.sum().alias(c) for c, e in broken.items()).row(0, named=True)
    for col, count in counts.items():
        if count:
            value = frame.filter(broken[col])[col][0]
            kind = "non-positive" if col in positive else "negative"
            raise error(name, f"{kind} {col} {value} in {count} row(s)")
    return frame


def not_computed_as_null(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with CBOE's zero placeholders null: an ask of 0, an IV of 0 and its greeks.

    What the real files show (../shared/data/options, 197,646 quotedata rows): CBOE writes
    IV 0 on 12,932 rows where its model produced no IV: quoted or not, expiring that day or
    deep in the money, where an implied vol cannot be backed out. On those rows the greeks
    are placeholders too: deep in-the-money calls show delta 0 (e.g. SPX 2022-06-10 800 C,
    spot 3900), so a greek of exactly 0 beside an IV of 0 is null as well (a delta of +-1
    there is CBOE's intrinsic delta and kept). No option is offered for nothing: an ask of 0
    is "no offer" (1,848 rows, 5 with a positive bid that otherwise read as crossed quotes).
    A bid of 0 is a real quote and kept. Consumers then fall back to a model IV.
    """
    no_iv = pl.col("iv") == 0
    return frame.with_columns(
        pl.when(pl.col("ask") == 0).then(None).otherwise(pl.col("ask")).alias("ask"),
        *(pl.when(no_iv & (pl.col(c) == 0)).then(None).otherwise(pl.col(c)).alias(c)
          for c in ("delta", "gamma", "vega")),
        pl.when(no_iv).then(None).otherwise(pl.col("iv")).alias("iv"),
    )


def finish(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """The parsed rows in the table's column order and dtypes, checked and sorted by key."""
    if frame.is_empty():
        raise error(name, "no option rows")
    out = check_prices(frame.select(pl.col(c).cast(t) for c, t in COLUMNS.items()), name)
    out = not_computed_as_null(out)
    keys = list(schemas.get("option_chain").keys)
    repeated = out.select(pl.struct(keys).is_duplicated().arg_true())
    if repeated.height:
        first = out.row(repeated.item(0, 0), named=True)
        raise error(name, f"{repeated.height} rows repeat a contract, e.g. "
                           f"{first['root']} {first['expiration']} {first['strike']} "
                           f"{first['right']}")
    return out.sort(keys)


def require(columns: Iterable[str], present: Iterable[str], name: str) -> None:
    """Raise a SourceDataError naming the first required column that is missing."""
    missing = [c for c in columns if c not in set(present)]
    if missing:
        raise error(name, f"missing column(s) {missing}")



def decode_symbols(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """``frame`` plus its OCC symbol's root, expiration, right and strike, or an error."""
    out = frame.with_columns(occ_fields(pl.col("symbol")))
    bad = out.filter(pl.col("root").is_null() | pl.col("expiration").is_null())
    if bad.height:
        raise error(name, f"malformed option symbol {bad['symbol'][0]!r}")
    return out


def one_snapshot(frame: pl.DataFrame) -> tuple[dt.datetime, float]:
    """The single snapshot instant and underlying price a chain file is written for."""
    snapshots = frame["snapshot_at"].unique().drop_nulls()
    if snapshots.len() != 1:
        raise ValueError(f"a chain file holds one snapshot, got {snapshots.to_list()}")
    return snapshots[0], float(frame["underlying"].drop_nulls()[0])
