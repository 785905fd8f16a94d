"""SPX option chains: CBOE delayed-quotes JSON, CBOE quotedata CSV exports, DataShop EOD.

Every layout parses to the ``option_chain`` table's columns minus ``ingested_at``: one row per
option, ``quote_date`` being the NYSE session the quotes belong to and ``snapshot_at`` the
snapshot's own instant in UTC (null when the file does not say).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable

import polars as pl

from core.calendar import xnys
from core.clock import NEW_YORK
from core.errors import SourceDataError
from sources.config import SourcesConfig
from sources.config import render as render_template
from sources.http import decode_text
from storage import schemas

SOURCE = "chains"
COLUMNS = {c: t for c, t in schemas.get("option_chain").columns.items() if c != "ingested_at"}
NUMBER_TYPES = {c: t for c, t in COLUMNS.items() if t in (pl.Float64(), pl.Int64())}
PRICE_COLUMNS = ("bid", "ask", "last", "strike", "underlying")
# OCC/OSI symbol: root (up to 6, may carry a digit after adjustments), yymmdd, C/P, strike x1000.
OCC_PATTERN = r"^([A-Z0-9]{1,6}?)(\d{6})([CP])(\d{8})$"
# DataShop "Option EOD Summary with Calcs" quotes and calcs are taken at 15:45 ET.
DATASHOP_SNAPSHOT = dt.time(15, 45)


def _error(name: str, problem: str) -> SourceDataError:
    """A SourceDataError naming this source, the file and the problem."""
    return SourceDataError(f"source {SOURCE!r}, file {name!r}: {problem}")


# ---------------------------------------------------------------- OCC symbols


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


# ---------------------------------------------------------------- sessions


def session_of(snapshot_at: dt.datetime) -> dt.date:
    """The NYSE session whose quotes a snapshot taken at ``snapshot_at`` shows.

    During or after a session: that session. Before the open, or on a weekend or holiday:
    the previous session (the chain still shows its closing quotes).

    Args:
        snapshot_at: a timezone-aware instant inside the calendar (core.calendar FIRST..LAST).

    Returns:
        The session date.

    Raises:
        ValueError: the instant is outside the calendar's range.
    """
    import pandas as pd

    cal = xnys()
    day = pd.Timestamp(snapshot_at.astimezone(NEW_YORK).date())
    if not cal.first_session < day <= cal.last_session:
        raise ValueError(f"{snapshot_at} is outside the NYSE calendar "
                         f"({cal.first_session.date()}..{cal.last_session.date()})")
    if cal.is_session(day) and pd.Timestamp(snapshot_at) >= cal.session_open(day):
        return day.date()
    prior = cal.previous_session(day) if cal.is_session(day) else cal.date_to_session(
        day, direction="previous")
    return prior.date()


# ---------------------------------------------------------------- locale date lines
# Browsers write the date line in the reader's language: dateparser reads it in any of its
# 200-odd locales. The zone stays ours: browsers print abbreviations dateparser does not
# know (HNE, MEZ) and offsets in several spellings (GMT-5, UTC\u22125, GMT-05:00).

# Zone abbreviations browsers print; EST/EDT are what CBOE's US pages show.
ZONE_OFFSETS = {"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8,
                "PDT": -7, "GMT": 0, "UTC": 0, "BST": 1, "CET": 1, "CEST": 2, "MEZ": 1,
                "MESZ": 2, "EET": 2, "EEST": 3, "HNE": -5, "HAE": -4, "WET": 0, "WEST": 1}

# A time of day: 8:02, 20h02, 8.02 (not the 11.12 of 11.12.2024), with an optional am/pm.
_TIME = re.compile(r"(\d{1,2})[:h.](\d{2})(?![.\d])(?::(\d{2}))?\s*(?:([ap])\.?\s*m\.?)?"
                   r"(?!\w)", re.I)
_OFFSET = re.compile(r"\b(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.I)
_ZONE = re.compile(r"\b([A-Z]{3,4})\b")
_ISO_DATE = re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b")
_DOTTED_DATE = re.compile(r"\b\d{1,2}\.\d{1,2}\.\d{2,4}\b")


def _zone_of(text: str) -> dt.tzinfo | None:
    """The time zone a date line names (``GMT-5``, ``UTC+01:00``, ``EST``), else None."""
    if m := _OFFSET.search(text):
        sign = -1 if m.group(1) == "-" else 1
        return dt.timezone(sign * dt.timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0)))
    for abbr in _ZONE.findall(text):
        if abbr in ZONE_OFFSETS:
            return dt.timezone(dt.timedelta(hours=ZONE_OFFSETS[abbr]))
    return None


def _without_zone(text: str) -> str:
    """``text`` without its zone, which ``_zone_of`` reads (dateparser would misread some)."""
    text = _OFFSET.sub(" ", text)
    return _ZONE.sub(lambda m: " " if m.group(1) in ZONE_OFFSETS else m.group(0), text)


def _clock_normalised(text: str) -> str:
    """``text`` with its time as ``H:MM[:SS] AM/PM``, or 24-hour when the hour says so.

    ``20:02 p. m.`` (a 24-hour time with the locale's marker), ``8.02`` and ``20h02``
    are not forms dateparser reads.
    """
    m = _TIME.search(text)
    if not m:
        raise ValueError("no time of day")
    hour, minute, second = int(m.group(1)), m.group(2), m.group(3) or "00"
    marker = f" {m.group(4).upper()}M" if m.group(4) and 1 <= hour <= 12 else ""
    return f"{text[: m.start()]} {hour}:{minute}:{second}{marker} {text[m.end():]}"


def _date_order(text: str) -> str:
    """How a numeric date reads: month first on US 12-hour pages, else day first."""
    if _ISO_DATE.search(text):
        return "YMD"
    twelve_hour = re.search(r"\d\s*[ap]\.?\s*m\b", text, re.I)
    return "MDY" if twelve_hour and not _DOTTED_DATE.search(text) else "DMY"


def snapshot_time(line: str) -> dt.datetime:
    """The UTC instant a quotedata ``Date: ...`` line states, in any browser locale.

    Args:
        line: the metadata line, e.g. ``Date: February 7, 2023 at 5:34 PM EST``,
            ``Date: 11 de noviembre de 2024, 8:02 GMT-5`` or ``Date: 2024年11月11日 8:02``.

    Returns:
        The instant in UTC. A line without a zone is read as New York time (CBOE's own).

    Raises:
        ValueError: the line holds no complete date (day, month, year) or no time of day.
    """
    import dateparser  # ~0.15 s: only when a quotedata export is read

    text = line.strip().strip('"').replace("\u2212", "-").replace("\u00a0", " ")
    text = re.sub(r"^\s*(date|fecha|datum|data)\s*:\s*", "", text, flags=re.I)
    zone = _zone_of(text)
    text = _clock_normalised(_without_zone(text))
    # Absolute dates only: "mañana" or "hace 2 horas" would read the clock.
    local = dateparser.parse(text, settings={
        "PARSERS": ["absolute-time"], "STRICT_PARSING": True, "DATE_ORDER": _date_order(line),
        "PREFER_LOCALE_DATE_ORDER": False, "RETURN_AS_TIMEZONE_AWARE": False})
    if local is None:
        raise ValueError("no recognisable date")
    return local.replace(tzinfo=zone or NEW_YORK).astimezone(dt.UTC)


# ---------------------------------------------------------------- shared frame helpers


def _to_numbers(frame: pl.DataFrame, name: str, dtypes: dict[str, pl.DataType]) -> pl.DataFrame:
    """``frame`` with columns cast to ``dtypes``, or a SourceDataError naming a bad value.

    Text cells may carry spaces and thousands separators; an empty cell is a null, any other
    cell that is not a number is an error.
    """
    nested = [c for c in dtypes if not (frame.schema[c].is_numeric()
                                        or frame.schema[c] in (pl.String, pl.Null))]
    if nested:
        raise _error(name, f"column {nested[0]!r} holds {frame.schema[nested[0]]}, not numbers")
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
            raise _error(name, f"non-numeric value {frame[c][row]!r} in column {c!r}")
    return frame.with_columns(e.alias(c) for c, e in numbers.items())


def _check_prices(frame: pl.DataFrame, name: str) -> pl.DataFrame:
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
            raise _error(name, f"{kind} {col} {value} in {count} row(s)")
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


def _finish(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """The parsed rows in the table's column order and dtypes, checked and sorted by key."""
    if frame.is_empty():
        raise _error(name, "no option rows")
    out = _check_prices(frame.select(pl.col(c).cast(t) for c, t in COLUMNS.items()), name)
    out = not_computed_as_null(out)
    keys = list(schemas.get("option_chain").keys)
    repeated = out.select(pl.struct(keys).is_duplicated().arg_true())
    if repeated.height:
        first = out.row(repeated.item(0, 0), named=True)
        raise _error(name, f"{repeated.height} rows repeat a contract, e.g. "
                           f"{first['root']} {first['expiration']} {first['strike']} "
                           f"{first['right']}")
    return out.sort(keys)


def _require(columns: Iterable[str], present: Iterable[str], name: str) -> None:
    """Raise a SourceDataError naming the first required column that is missing."""
    missing = [c for c in columns if c not in set(present)]
    if missing:
        raise _error(name, f"missing column(s) {missing}")


# ---------------------------------------------------------------- CBOE delayed-quotes JSON

JSON_FIELDS = {"option": "symbol", "bid": "bid", "ask": "ask", "last_trade_price": "last",
               "volume": "volume", "open_interest": "open_interest", "iv": "iv",
               "delta": "delta", "gamma": "gamma", "vega": "vega"}


def _json_instant(value: object, name: str) -> dt.datetime:
    """The snapshot instant of a delayed-quotes ``timestamp`` (naive = New York time)."""
    try:
        stamp = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as e:
        raise _error(name, f"unreadable timestamp {value!r}") from e
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=NEW_YORK)).astimezone(dt.UTC)


def _json_document(payload: bytes, name: str) -> pl.DataFrame:
    """The delayed-quotes document as a one-row frame: ``timestamp`` and the ``data`` struct."""
    try:
        doc = pl.read_json(io.BytesIO(payload), infer_schema_length=None)
    except pl.exceptions.PolarsError as e:
        raise _error(name, f"truncated or malformed JSON ({e})") from e
    data = doc.schema.get("data")
    fields = {f.name: f.dtype for f in data.fields} if isinstance(data, pl.Struct) else {}
    if not isinstance(fields.get("options"), pl.List):
        raise _error(name, "JSON has no data.options list (not a CBOE delayed-quotes file)")
    if "timestamp" not in doc.columns or doc.height != 1:
        raise _error(name, "JSON has no timestamp")
    return doc


def _json_options(doc: pl.DataFrame, name: str) -> pl.DataFrame:
    """One row per element of ``data.options``, its fields as columns."""
    options = doc.select(pl.col("data").struct.field("options")).explode("options")
    if options.schema["options"] == pl.Null or options["options"].null_count() == options.height:
        raise _error(name, "data.options is empty")
    if not isinstance(options.schema["options"], pl.Struct):
        raise _error(name, "data.options holds no option records")
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
        raise _error(name, f"non-numeric current_price {value[0]!r}")
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
    _require(JSON_FIELDS, raw.columns, name)
    frame = _to_numbers(raw.select(pl.col(k).alias(v) for k, v in JSON_FIELDS.items()), name,
                        {v: NUMBER_TYPES[v] for v in JSON_FIELDS.values() if v != "symbol"})
    frame = _decode_symbols(frame, name).with_columns(
        pl.lit(_json_underlying(doc, name), pl.Float64).alias("underlying"),
        pl.lit(_session_for(snapshot, name)).alias("quote_date"),
        pl.lit(snapshot).cast(schemas.UTC_TS).alias("snapshot_at"),
    )
    return _finish(frame, name)


def _decode_symbols(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """``frame`` plus its OCC symbol's root, expiration, right and strike, or an error."""
    out = frame.with_columns(occ_fields(pl.col("symbol")))
    bad = out.filter(pl.col("root").is_null() | pl.col("expiration").is_null())
    if bad.height:
        raise _error(name, f"malformed option symbol {bad['symbol'][0]!r}")
    return out


# ---------------------------------------------------------------- CBOE quotedata CSV

SIDE_FIELDS = ("symbol", "last", "net", "bid", "ask", "volume", "iv", "delta", "gamma",
               "open_interest")
QUOTEDATA_HEADER = ("Expiration Date", "Calls", "Last Sale", "Net", "Bid", "Ask", "Volume", "IV",
                    "Delta", "Gamma", "Open Interest", "Strike", "Puts", "Last Sale", "Net",
                    "Bid", "Ask", "Volume", "IV", "Delta", "Gamma", "Open Interest")
QUOTEDATA_NAMES = ["expiration_text", *(f"c_{f}" for f in SIDE_FIELDS), "strike_text",
                   *(f"p_{f}" for f in SIDE_FIELDS)]
# Expiration cells: CBOE's "Fri Mar 13 2026", and forms reformatted exports use.
EXPIRATION_FORMATS = ("%a %b %d %Y", "%d-%m-%y", "%Y-%m-%d", "%m/%d/%Y", "%d-%m-%Y")
# "Bid: 4420.5" style cells that follow the date on the metadata line.
_LABEL = re.compile(r"^[^\W\d_][^:,]*:\s")
_NAME_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


def _split_quotedata(text: str, name: str) -> tuple[list[str], str]:
    """The metadata lines before the header, and the body from the header on."""
    head = text[:8192].splitlines(keepends=True)[:10]
    for i, line in enumerate(head):
        if line.lstrip('"').startswith("Expiration Date"):
            start = sum(len(h) for h in head[:i])
            return [m.strip() for m in head[:i] if m.strip(" ,\r\n")], text[start:]
    raise _error(name, "no 'Expiration Date,Calls,...' header in the first 10 lines")


def _check_header(body: str, name: str) -> None:
    """Raise a SourceDataError naming the first header cell that differs from CBOE's layout."""
    header = next(csv.reader([body.split("\n", 1)[0]]))
    header = [h.strip() for h in header]
    while header and header[-1] == "":
        header.pop()
    for i, expected in enumerate(QUOTEDATA_HEADER):
        got = header[i] if i < len(header) else None
        if got != expected:
            raise _error(name, f"header column {i + 1} is {got!r}, expected {expected!r}")


def _meta_values(meta: list[str], name: str
                 ) -> tuple[float | None, dt.datetime | None, str | None]:
    """The underlying's last price, the snapshot instant and the date line's text."""
    underlying, snapshot, date_line = None, None, None
    for line in meta:
        cells = [c.strip() for c in next(csv.reader([line])) if c.strip()]
        for cell in cells:
            if m := re.match(r"(?i)(last|último|ultimo|dernier|letzter)\s*:\s*(.+)$", cell):
                underlying = _meta_number(m.group(2), name)
        if cells and re.match(r"(?i)^(date|fecha|datum|data)\s*:", cells[0]):
            date_line = _date_text(cells)
            snapshot = _snapshot_of(date_line, name)
    return underlying, snapshot, date_line


def _date_text(cells: list[str]) -> str:
    """The date line's own text: an unquoted one spills its commas into the next cells."""
    parts = [cells[0]]
    for cell in cells[1:]:
        if _LABEL.match(cell):
            break
        parts.append(cell)
    return ", ".join(parts)


def _snapshot_of(text: str, name: str) -> dt.datetime:
    """The snapshot instant of a date line, or a SourceDataError quoting the line."""
    try:
        return snapshot_time(text)
    except ValueError as e:
        raise _error(name, f"unrecognised date line {text!r} ({e})") from e


def _session_for(snapshot: dt.datetime, name: str) -> dt.date:
    """The session of a snapshot, or a SourceDataError when it is outside the calendar."""
    try:
        return session_of(snapshot)
    except ValueError as e:
        raise _error(name, f"snapshot time: {e}") from e


def _meta_number(text: str, name: str) -> float:
    """A number from a metadata cell such as ``Last: 4,500.53``."""
    try:
        return float(text.replace(",", "").strip())
    except ValueError as e:
        raise _error(name, f"non-numeric metadata value {text!r}") from e


def _quote_date_from_name(name: str) -> dt.date:
    """The session date a reformatted export (no metadata) carries in its file name."""
    m = _NAME_DATE.search(name)
    if not m:
        raise _error(name, "no metadata date line and no YYYY-MM-DD date in the file name")
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as e:
        raise _error(name, f"bad date in file name ({e})") from e


def _quotedata_types() -> dict[str, pl.DataType]:
    """The dtype each quotedata column parses to when every cell is a plain number."""
    side = {f: NUMBER_TYPES.get(f, pl.Float64()) for f in SIDE_FIELDS} | {"symbol": pl.String()}
    return {"expiration_text": pl.String(), **{f"c_{f}": t for f, t in side.items()},
            "strike_text": pl.Float64(), **{f"p_{f}": t for f, t in side.items()}}


def _read_csv_body(body: str, typed: bool) -> pl.DataFrame:
    """The quotedata rows under unique call/put names: typed, or every cell as text."""
    if typed:
        return pl.read_csv(io.StringIO(body), has_header=False, skip_rows=1,
                           schema=_quotedata_types())
    raw = pl.read_csv(io.StringIO(body), has_header=False, skip_rows=1, infer_schema=False,
                      truncate_ragged_lines=True)
    if raw.width < len(QUOTEDATA_NAMES):
        raise ValueError(f"rows have {raw.width} fields, expected {len(QUOTEDATA_NAMES)}")
    return raw.select(raw.columns[: len(QUOTEDATA_NAMES)]).rename(
        dict(zip(raw.columns, QUOTEDATA_NAMES, strict=False)))


def _read_quotedata_body(body: str, name: str) -> pl.DataFrame:
    """The quotedata rows, numbers parsed by the CSV reader when it can."""
    try:
        raw = _read_csv_body(body, typed=True)
    except pl.exceptions.PolarsError:
        # Some cell is not a plain number (thousands separator, text, ragged row): read all as
        # text so _to_numbers can clean it or name the bad value.
        try:
            raw = _read_csv_body(body, typed=False)
        except (pl.exceptions.PolarsError, ValueError) as e:
            raise _error(name, f"unreadable CSV body ({e})") from e
    short = raw.filter(pl.col("p_open_interest").is_null() | pl.col("p_symbol").is_null())
    if short.height:
        raise _error(name, f"truncated: {short.height} row(s) end early, e.g. "
                           f"{short['c_symbol'][0]!r}")
    return raw


def _expiration_expr() -> pl.Expr:
    """The expiration date from the quotedata ``Expiration Date`` cell, in any known form."""
    text = pl.col("expiration_text").str.strip_chars()
    return pl.coalesce(text.str.to_date(f, strict=False) for f in EXPIRATION_FORMATS)


def _sides(raw: pl.DataFrame) -> pl.DataFrame:
    """Calls (left block) and puts (right block) stacked into one row per option."""
    shared = [pl.col("expiration_text"), pl.col("strike_text")]
    return pl.concat([
        raw.select(*shared, *(pl.col(f"{s}_{f}").alias(f) for f in SIDE_FIELDS))
        for s in ("c", "p")
    ])


def _check_symbols(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """``frame`` once the written expiration and strike agree with the OCC-decoded ones."""
    wrong_strike = frame.filter((pl.col("strike_text") - pl.col("strike")).abs() > 1e-6)
    if wrong_strike.height:
        raise _error(name, f"strike {wrong_strike['strike_text'][0]} disagrees with the option "
                           f"symbol {wrong_strike['symbol'][0]!r}")
    written = frame.select(_expiration_expr().alias("written"), "expiration_text", "expiration")
    bad = written.filter(pl.col("written").is_null())
    if bad.height:
        raise _error(name, f"unreadable expiration {bad['expiration_text'][0]!r}")
    clash = written.filter(pl.col("written") != pl.col("expiration"))
    if clash.height:
        raise _error(name, f"expiration {clash['expiration_text'][0]!r} disagrees with the "
                           f"option symbol ({clash['expiration'][0]})")
    return frame


def _check_quote_date(quote_date: dt.date, rows: pl.DataFrame, date_line: str | None,
                      name: str) -> None:
    """Refuse a quote date after every expiration the chain's option symbols name.

    Options are quoted until they expire, so a later date was misread (a day/month swap, a
    wrong year) or belongs to another file.
    """
    nearest = rows["expiration"].min()
    if isinstance(nearest, dt.date) and quote_date > nearest:
        origin = f"the date line {date_line!r}" if date_line else "the file name"
        raise _error(name, f"quote date {quote_date} (from {origin}) is after the nearest "
                           f"expiration the option symbols name ({nearest})")


def parse_quotedata(payload: bytes, name: str) -> pl.DataFrame:
    """Parse a CBOE quotedata CSV export (``spx_quotedata.csv``) into option_chain rows.

    Handles the three metadata lines (the ``Date:`` line in any browser locale, checked
    against the chain: on or before the nearest expiration of the option symbols),
    the duplicated call/put column names, ``Fri Mar 13 2026`` expirations and reformatted
    exports without metadata (quote date then taken from the file name; no snapshot time,
    no underlying).

    Args:
        payload: the CSV bytes.
        name: the file name, for errors and for reformatted exports' date.

    Returns:
        One row per option (calls and puts), OCC symbols decoded into root and right.

    Raises:
        SourceDataError: bad header, truncated rows, non-numeric or negative values, an
            unrecognised date line or one after the chain's nearest expiration, or
            expirations that disagree with the symbols.
    """
    meta, body = _split_quotedata(decode_text(payload, source=SOURCE, name=name), name)
    _check_header(body, name)
    underlying, snapshot, date_line = _meta_values(meta, name)
    quote_date = _session_for(snapshot, name) if snapshot else _quote_date_from_name(name)
    rows = _sides(_read_quotedata_body(body, name))
    rows = _to_numbers(rows, name, {c: NUMBER_TYPES[c] for c in (
        "last", "bid", "ask", "iv", "delta", "gamma", "volume", "open_interest")} | {
        "strike_text": pl.Float64()})
    rows = _check_symbols(_decode_symbols(rows, name), name)
    _check_quote_date(quote_date, rows, date_line, name)
    return _finish(rows.with_columns(
        pl.col("strike_text").alias("strike"),
        pl.lit(None, pl.Float64).alias("vega"),
        pl.lit(underlying, pl.Float64).alias("underlying"),
        pl.lit(quote_date).alias("quote_date"),
        pl.lit(snapshot, schemas.UTC_TS).alias("snapshot_at"),
    ), name)


# ---------------------------------------------------------------- DataShop EOD with calcs

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
        raise _error(name, f"unreadable CSV ({e})") from e
    _require(DATASHOP_FIELDS, raw.columns, name)
    _check_last_line_complete(payload, raw.width, name)
    frame = raw.select(pl.col(k).alias(v) for k, v in DATASHOP_FIELDS.items())
    frame = _to_numbers(frame, name, {c: NUMBER_TYPES[c] for c in (
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
        raise _error(name, f"unreadable quote_date/expiration/option_type in {bad.height} row(s)")
    stamp = pl.col("quote_date").cast(pl.Datetime("us")) + pl.duration(
        hours=DATASHOP_SNAPSHOT.hour, minutes=DATASHOP_SNAPSHOT.minute)
    return _finish(frame.with_columns(
        stamp.dt.replace_time_zone("America/New_York").dt.convert_time_zone("UTC")
        .alias("snapshot_at")), name)


def _check_last_line_complete(payload: bytes, width: int, name: str) -> None:
    """Raise when the last line has fewer fields than the header: the file was cut short.

    The CSV reader pads a short last row with nulls, which would read as missing quotes.
    """
    last = payload.rstrip(b"\r\n").rsplit(b"\n", 1)[-1]
    if last.count(b",") + 1 < width:
        shown = last[:60].decode("utf-8", "replace")
        raise _error(name, f"truncated: the last line has fewer fields than the header "
                           f"({shown!r})")


# ---------------------------------------------------------------- dispatch


def layout_of(payload: bytes, name: str) -> str:
    """Which chain layout ``payload`` is: ``json``, ``quotedata`` or ``datashop``.

    Raises:
        SourceDataError: the payload is empty, an HTML page, or none of the three layouts.
    """
    head = payload[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise _error(name, "empty payload")
    lowered = head[:512].lower()
    if lowered.startswith(b"<") or b"<html" in lowered or b"<!doctype" in lowered:
        raise _error(name, "got an HTML page instead of chain data")
    if head.startswith((b"{", b"[")):
        return "json"
    first = head.split(b"\n", 1)[0].lower()
    if b"underlying_symbol" in first and b"quote_date" in first:
        return "datashop"
    if b"expiration date" in head.lower():
        return "quotedata"
    raise _error(name, "unknown chain layout (not delayed-quotes JSON, quotedata CSV or "
                       "DataShop EOD CSV)")


PARSERS = {"json": parse_delayed_json, "quotedata": parse_quotedata, "datashop": parse_datashop}


def parse(payload: bytes, name: str) -> pl.DataFrame:
    """Parse any supported SPX chain file into option_chain rows (without ``ingested_at``).

    Args:
        payload: the raw bytes of a delayed-quotes JSON, quotedata CSV or DataShop EOD CSV.
        name: the file name, for error messages (and a reformatted export's date).

    Returns:
        A frame with the option_chain columns except ``ingested_at``, sorted by key.

    Raises:
        SourceDataError: the payload is unusable; the message names source, file and problem.
    """
    return PARSERS[layout_of(payload, name)](payload, name)


# ---------------------------------------------------------------- locations


def urls(config: SourcesConfig, dates: Iterable[dt.date] = ()) -> list[tuple[str, str]]:
    """The ``(file name, location)`` of the live snapshot and of each date's history file.

    Args:
        config: the sources config; ``chains.snapshot_url`` and ``chains.history_url``
            (a template with ``{date}``, filled ISO) may each be unset.
        dates: the session dates whose historical chain files are wanted.

    Returns:
        ``("_SPX.json", snapshot_url)`` when configured, then one entry per date named
        ``spx_chain_<date>.<ext>`` (the template's extension, ``csv`` by default), so a
        reformatted export without metadata still finds its date in the name.
    """
    out = [("_SPX.json", config.chains.snapshot_url)] if config.chains.snapshot_url else []
    template = config.chains.history_url
    if template:
        ext = template.rsplit(".", 1)[-1].lower() if "." in template.rsplit("/", 1)[-1] else ""
        ext = ext if ext in ("csv", "json") else "csv"
        out += [(f"spx_chain_{d.isoformat()}.{ext}", render_template(template, date=d))
                for d in dates]
    return out


# ---------------------------------------------------------------- writers (inverse of parse)


def occ_symbol_expr() -> pl.Expr:
    """An expression building each row's OCC symbol from root, expiration, right and strike."""
    thousandths = (pl.col("strike") * 1000).round().cast(pl.Int64).cast(pl.String).str.zfill(8)
    return pl.concat_str(pl.col("root"), pl.col("expiration").dt.strftime("%y%m%d"),
                         pl.col("right"), thousandths)


def _one_snapshot(frame: pl.DataFrame) -> tuple[dt.datetime, float]:
    """The single snapshot instant and underlying price a chain file is written for."""
    snapshots = frame["snapshot_at"].unique().drop_nulls()
    if snapshots.len() != 1:
        raise ValueError(f"a chain file holds one snapshot, got {snapshots.to_list()}")
    return snapshots[0], float(frame["underlying"].drop_nulls()[0])


def render_delayed_json(frame: pl.DataFrame, *, symbol: str = "_SPX") -> bytes:
    """One snapshot's rows as CBOE's delayed-quotes JSON (``_SPX.json``); ``parse`` inverts it.

    ``timestamp`` is written as naive New York time, the reading ``parse`` applies. Optional
    ``theta`` and ``rho`` columns are written when present.
    """
    snapshot, underlying = _one_snapshot(frame)
    extra = [c for c in ("theta", "rho") if c in frame.columns]
    options = frame.select(
        occ_symbol_expr().alias("option"), "bid", "ask", "iv", "open_interest", "volume",
        "delta", "gamma", *extra, "vega", pl.col("last").alias("last_trade_price"))
    data = {"symbol": symbol, "security_type": "index", "current_price": underlying,
            "close": underlying}
    stamp = snapshot.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M:%S")
    head = json.dumps({"timestamp": stamp, "data": data})[:-2]  # reopen "data" for options
    return f'{head}, "options": {options.write_json()}}}}}'.encode()


def _date_line(snapshot: dt.datetime) -> str:
    """The English quotedata date line: ``"Date: January 7, 2024 at 10:52 AM EST"``."""
    local = snapshot.astimezone(NEW_YORK)
    clock = f"{local.hour % 12 or 12}:{local:%M} {'PM' if local.hour >= 12 else 'AM'}"
    return f'"Date: {local:%B} {local.day}, {local.year} at {clock} {local.tzname()}"'


def render_quotedata(frame: pl.DataFrame, *, title: str = "S&P 500 INDEX") -> bytes:
    """One snapshot's rows as a CBOE quotedata CSV export (English locale); ``parse`` inverts it.

    Calls on the left, puts on the right, one line per root, expiration and strike that has
    both sides; the ``Net`` columns are written as 0.
    """
    snapshot, underlying = _one_snapshot(frame)
    side = [occ_symbol_expr().alias("symbol"), pl.col("last"), pl.lit(0.0).alias("net"),
            *(pl.col(c) for c in SIDE_FIELDS[3:])]
    keys = ["root", "expiration", "strike"]
    calls = frame.filter(pl.col("right") == "C").select(*keys, *side)
    puts = frame.filter(pl.col("right") == "P").select(*keys, *side)
    rows = calls.join(puts, on=keys, suffix="_p").sort("expiration", "strike", "root").select(
        pl.col("expiration").dt.strftime("%a %b %d %Y"), *SIDE_FIELDS,
        pl.col("strike").round(2).cast(pl.String).alias("strike_text"),
        *(f"{f}_p" for f in SIDE_FIELDS))
    meta = (f"\n{title},Last: {underlying},Change: 0\n"
            f"{_date_line(snapshot)},Bid: {underlying},Ask: {underlying},Size: 1*1,Volume: 0\n")
    body = rows.write_csv(include_header=False)
    return (meta + ",".join(QUOTEDATA_HEADER) + "\n" + body).encode()
