"""OCC/OSI option symbols: decoded into root, expiration, right and strike, and built back."""

from __future__ import annotations

import datetime as dt

import polars as pl

# OCC/OSI symbol: root (up to 6, may carry a digit after adjustments), yymmdd, C/P, strike x1000.
OCC_PATTERN = r"^([A-Z0-9]{1,6}?)(\d{6})([CP])(\d{8})$"


def occ_symbol(root: str, expiration: dt.date, right: str, strike: float) -> str:
    """The OCC/OSI option symbol (``SPXW250117P05000000``) of one contract."""
    return f"{root}{expiration:%y%m%d}{right}{round(strike * 1000):08d}"


def occ_fields(symbol: pl.Expr) -> list[pl.Expr]:
    """Expressions decoding an OCC symbol column into root, expiration, right and strike."""
    parts = symbol.str.replace_all(" ", "", literal=True).str.extract_groups(OCC_PATTERN)
    return [
        parts.struct.field("1").alias("root"),
        # OCC years are two digits; read them as 20yy (chrono's %y would put 69-99 in 19xx).
        ("20" + parts.struct.field("2")).str.to_date("%Y%m%d", strict=False).alias("expiration"),
        parts.struct.field("3").alias("right"),
        (parts.struct.field("4").cast(pl.Int64, strict=False) / 1000).alias("strike"),
    ]


def decode_occ(symbols: pl.Series) -> pl.DataFrame:
    """Root, expiration, right and strike of each OCC symbol (nulls where it is malformed)."""
    return pl.DataFrame({"symbol": symbols}).select(occ_fields(pl.col("symbol")))




def occ_symbol_expr() -> pl.Expr:
    """An expression building each row's OCC symbol from root, expiration, right and strike."""
    thousandths = (pl.col("strike") * 1000).round().cast(pl.Int64).cast(pl.String).str.zfill(8)
    return pl.concat_str(pl.col("root"), pl.col("expiration").dt.strftime("%y%m%d"),
                         pl.col("right"), thousandths)
