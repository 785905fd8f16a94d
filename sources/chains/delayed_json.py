"""CBOE's delayed-quotes chain (``_SPX.json``): read into option_chain rows, and written."""

from __future__ import annotations

import datetime as dt
import io
import json

import polars as pl

from core.clock import NEW_YORK
from sources.chains.occ import occ_symbol_expr
from sources.chains.rows import (
    NUMBER_TYPES,
    decode_symbols,
    error,
    finish,
    one_snapshot,
    require,
    to_numbers,
)
from sources.chains.snapshot import session_for
from storage import schemas

JSON_FIELDS = {"option": "symbol", "bid": "bid", "ask": "ask", "last_trade_price": "last",
               "volume": "volume", "open_interest": "open_interest", "iv": "iv",
               "delta": "delta", "gamma": "gamma", "vega": "vega"}


def _json_instant(value: object, name: str) -> dt.datetime:
    """The snapshot instant of a delayed-quotes ``timestamp`` (naive = New York time)."""
    try:
        stamp = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as e:
        raise error(name, f"unreadable timestamp {value!r}") from e
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=NEW_YORK)).astimezone(dt.UTC)


def _json_document(payload: bytes, name: str) -> pl.DataFrame:
    """The delayed-quotes document as a one-row frame: ``timestamp`` and the ``data`` struct."""
    try:
        doc = pl.read_json(io.BytesIO(payload), infer_schema_length=None)
    except pl.exceptions.PolarsError as e:
        raise error(name, f"truncated or malformed JSON ({e})") from e
    data = doc.schema.get("data")
    fields = {f.name: f.dtype for f in data.fields} if isinstance(data, pl.Struct) else {}
    if not isinstance(fields.get("options"), pl.List):
        raise error(name, "JSON has no data.options list (not a CBOE delayed-quotes file)")
    if "timestamp" not in doc.columns or doc.height != 1:
        raise error(name, "JSON has no timestamp")
    return doc


def _json_options(doc: pl.DataFrame, name: str) -> pl.DataFrame:
    """One row per element of ``data.options``, its fields as columns."""
    options = doc.select(pl.col("data").struct.field("options")).explode("options")
    if options.schema["options"] == pl.Null or options["options"].null_count() == options.height:
        raise error(name, "data.options is empty")
    if not isinstance(options.schema["options"], pl.Struct):
        raise error(name, "data.options holds no option records")
    return options.unnest("options")


def _json_underlying(doc: pl.DataFrame, name: str) -> float | None:
    """The underlying's price in a delayed-quotes document (``current_price``, else ``close``)."""
    fields = {f.name for f in doc.schema["data"].fields}  # type: ignore[attr-defined]
    present = [pl.col("data").struct.field(f) for f in ("current_price", "close") if f in fields]
    if not present:
        return None
    value = doc.select(pl.coalesce(present).alias("price"))["price"]
    number = value.cast(pl.Float64, strict=False)[0]
    if value[0] is not None and number is None:
        raise error(name, f"non-numeric current_price {value[0]!r}")
    return number


def parse_delayed_json(payload: bytes, name: str) -> pl.DataFrame:
    """Parse CBOE's delayed-quotes chain (``_SPX.json``) into option_chain rows.

    Args:
        payload: the JSON bytes: ``{"timestamp", "data": {"current_price", "options": [...]}}``.
        name: the file name, for error messages.

    Returns:
        One row per option, OCC symbols decoded into root, expiration, right and strike.

    Raises:
        SourceDataError: malformed JSON, missing fields, bad symbols or values.
    """
    doc = _json_document(payload, name)
    snapshot = _json_instant(doc["timestamp"][0], name)
    raw = _json_options(doc, name)
    require(JSON_FIELDS, raw.columns, name)
    frame = to_numbers(raw.select(pl.col(k).alias(v) for k, v in JSON_FIELDS.items()), name,
                        {v: NUMBER_TYPES[v] for v in JSON_FIELDS.values() if v != "symbol"})
    frame = decode_symbols(frame, name).with_columns(
        pl.lit(_json_underlying(doc, name), pl.Float64).alias("underlying"),
        pl.lit(session_for(snapshot, name)).alias("quote_date"),
        pl.lit(snapshot).cast(schemas.UTC_TS).alias("snapshot_at"),
    )
    return finish(frame, name)


def render_delayed_json(frame: pl.DataFrame, *, symbol: str = "_SPX") -> bytes:
    """One snapshot's rows as CBOE's delayed-quotes JSON (``_SPX.json``); ``parse`` inverts it.

    ``timestamp`` is written as naive New York time, the reading ``parse`` applies. Optional
    ``theta`` and ``rho`` columns are written when present.
    """
    snapshot, underlying = one_snapshot(frame)
    extra = [c for c in ("theta", "rho") if c in frame.columns]
    options = frame.select(
        occ_symbol_expr().alias("option"), "bid", "ask", "iv", "open_interest", "volume",
        "delta", "gamma", *extra, "vega", pl.col("last").alias("last_trade_price"))
    data = {"symbol": symbol, "security_type": "index", "current_price": underlying,
            "close": underlying}
    stamp = snapshot.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M:%S")
    head = json.dumps({"timestamp": stamp, "data": data})[:-2]  # reopen "data" for options
    return f'{head}, "options": {options.write_json()}}}}}'.encode()


