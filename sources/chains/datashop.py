"""CBOE DataShop "Option EOD Summary with Calcs" files: read into rows, and written.

Quotes and greeks are the 15:45 ET ones (``*_1545``).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from sources.chains.rows import NUMBER_TYPES, error, finish, require, to_numbers

# DataShop "Option EOD Summary with Calcs" quotes and calcs are taken at 15:45 ET.
DATASHOP_SNAPSHOT = dt.time(15, 45)
DATASHOP_COLUMNS = (
    "underlying_symbol", "quote_date", "root", "expiration", "strike", "option_type", "open",
    "high", "low", "close", "trade_volume", "bid_size_1545", "bid_1545", "ask_size_1545",
    "ask_1545", "underlying_bid_1545", "underlying_ask_1545", "implied_underlying_price_1545",
    "active_underlying_price_1545", "implied_volatility_1545", "delta_1545", "gamma_1545",
    "theta_1545", "vega_1545", "rho_1545", "bid_size_eod", "bid_eod", "ask_size_eod", "ask_eod",
    "underlying_bid_eod", "underlying_ask_eod", "vwap", "open_interest", "delivery_code",
)

DATASHOP_FIELDS = {"quote_date": "quote_date", "root": "root", "expiration": "expiration",
                   "strike": "strike", "option_type": "right", "close": "last",
                   "trade_volume": "volume", "open_interest": "open_interest",
                   "bid_1545": "bid", "ask_1545": "ask", "implied_volatility_1545": "iv",
                   "delta_1545": "delta", "gamma_1545": "gamma", "vega_1545": "vega",
                   "active_underlying_price_1545": "underlying",
                   "underlying_bid_1545": "underlying_bid", "underlying_ask_1545": "underlying_ask"}


def _datashop_underlying() -> pl.Expr:
    """The 15:45 underlying price: DataShop's active price, else the bid/ask mid, else null."""
    mid = (pl.col("underlying_bid") + pl.col("underlying_ask")) / 2
    return (pl.when(pl.col("underlying") > 0).then(pl.col("underlying"))
            .when(mid > 0).then(mid).otherwise(None).alias("underlying"))


def parse_datashop(payload: bytes, name: str) -> pl.DataFrame:
    """Parse a CBOE DataShop "Option EOD Summary with Calcs" file into option_chain rows.

    Quotes and greeks are the 15:45 ET ones (``*_1545``), so ``snapshot_at`` is 15:45 New York
    time on ``quote_date``; ``last`` is the session's close and ``volume`` its trade volume.

    Args:
        payload: the CSV bytes (DataShop's 34-column layout, header first).
        name: the file name, for error messages.

    Returns:
        One row per option.

    Raises:
        SourceDataError: missing columns, unreadable dates, non-numeric or negative values.
    """
    try:
        raw = pl.read_csv(payload, infer_schema=False)
    except pl.exceptions.PolarsError as e:
        raise error(name, f"unreadable CSV ({e})") from e
    require(DATASHOP_FIELDS, raw.columns, name)
    _check_last_line_complete(payload, raw.width, name)
    frame = raw.select(pl.col(k).alias(v) for k, v in DATASHOP_FIELDS.items())
    frame = to_numbers(frame, name, {c: NUMBER_TYPES[c] for c in (
        "strike", "last", "bid", "ask", "iv", "delta", "gamma", "vega", "underlying", "volume",
        "open_interest")} | {"underlying_bid": pl.Float64(), "underlying_ask": pl.Float64()})
    frame = frame.with_columns(
        _datashop_underlying(),
        pl.col("quote_date", "expiration").str.strip_chars().str.to_date("%Y-%m-%d", strict=False),
        pl.col("right").str.strip_chars().str.to_uppercase().str.slice(0, 1),
        pl.col("root").str.strip_chars(),
    )
    bad = frame.filter(pl.col("quote_date").is_null() | pl.col("expiration").is_null()
                       | ~pl.col("right").is_in(["C", "P"]))
    if bad.height:
        raise error(name, f"unreadable quote_date/expiration/option_type in {bad.height} row(s)")
    stamp = pl.col("quote_date").cast(pl.Datetime("us")) + pl.duration(
        hours=DATASHOP_SNAPSHOT.hour, minutes=DATASHOP_SNAPSHOT.minute)
    return finish(frame.with_columns(
        stamp.dt.replace_time_zone("America/New_York").dt.convert_time_zone("UTC")
        .alias("snapshot_at")), name)


def _check_last_line_complete(payload: bytes, width: int, name: str) -> None:
    """Raise when the last line has fewer fields than the header: the file was cut short.

    The CSV reader pads a short last row with nulls, which would read as missing quotes.
    """
    last = payload.rstrip(b"\r\n").rsplit(b"\n", 1)[-1]
    if last.count(b",") + 1 < width:
        shown = last[:60].decode("utf-8", "replace")
        raise error(name, f"truncated: the last line has fewer fields than the header "
                           f"({shown!r})")




def render_datashop(frame: pl.DataFrame) -> bytes:
    """One session's rows in DataShop's 34-column layout; ``parse`` reads them back.

    Optional ``theta`` and ``rho`` columns are written when present; sizes, OHLC and the
    underlying's bid/ask are plausible stand-ins (the parser reads none of them).
    """
    q = {"bid_size": (pl.col("open_interest") % 97 + 1), "ask_size": (pl.col("volume") % 89 + 1)}
    traded = pl.col("volume") > 0
    thousandths = (pl.col("strike") * 1000).round().cast(pl.Int64)
    greek = {c: pl.col(c) if c in frame.columns else pl.lit(None, pl.Float64)
             for c in ("theta", "rho")}
    cols = {
        "underlying_symbol": pl.lit("^SPX"), "quote_date": pl.col("quote_date"),
        "root": pl.col("root"), "expiration": pl.col("expiration"),
        "strike": pl.format("{}.{}", thousandths // 1000,
                            (thousandths % 1000).cast(pl.String).str.zfill(3)),
        "option_type": pl.col("right"),
        "open": pl.when(traded).then(pl.col("last")).otherwise(0.0),
        "high": pl.when(traded).then(pl.col("last") + 0.05).otherwise(0.0),
        "low": pl.when(traded).then((pl.col("last") - 0.05).clip(0.05)).otherwise(0.0),
        "close": pl.col("last"), "trade_volume": pl.col("volume"),
        "bid_size_1545": q["bid_size"], "bid_1545": pl.col("bid"),
        "ask_size_1545": q["ask_size"], "ask_1545": pl.col("ask"),
        "underlying_bid_1545": pl.col("underlying") - 0.25,
        "underlying_ask_1545": pl.col("underlying") + 0.25,
        "implied_underlying_price_1545": pl.col("underlying"),
        "active_underlying_price_1545": pl.col("underlying"),
        "implied_volatility_1545": pl.col("iv"), "delta_1545": pl.col("delta"),
        "gamma_1545": pl.col("gamma"), "theta_1545": greek["theta"],
        "vega_1545": pl.col("vega"), "rho_1545": greek["rho"],
        "bid_size_eod": q["bid_size"], "bid_eod": pl.col("bid"),
        "ask_size_eod": q["ask_size"], "ask_eod": pl.col("ask"),
        "underlying_bid_eod": pl.col("underlying") - 0.25,
        "underlying_ask_eod": pl.col("underlying") + 0.25,
        "vwap": pl.col("last"), "open_interest": pl.col("open_interest"),
        "delivery_code": pl.lit(None, pl.String),
    }
    body = frame.select(cols[c].alias(c) for c in DATASHOP_COLUMNS)
    return body.write_csv(line_terminator="\n", float_precision=4).encode()
