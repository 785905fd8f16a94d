"""Which of the three chain layouts a payload is, and its parser."""

from __future__ import annotations

import polars as pl

from sources.chains.datashop import parse_datashop
from sources.chains.delayed_json import parse_delayed_json
from sources.chains.quotedata import parse_quotedata
from sources.chains.rows import error


def layout_of(payload: bytes, name: str) -> str:
    """Which chain layout ``payload`` is: ``json``, ``quotedata`` or ``datashop``.

    Raises:
        SourceDataError: the payload is empty, an HTML page, or none of the three layouts.
    """
    head = payload[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise error(name, "empty payload")
    lowered = head[:512].lower()
    if lowered.startswith(b"<") or b"<html" in lowered or b"<!doctype" in lowered:
        raise error(name, "got an HTML page instead of chain data")
    if head.startswith((b"{", b"[")):
        return "json"
    first = head.split(b"\n", 1)[0].lower()
    if b"underlying_symbol" in first and b"quote_date" in first:
        return "datashop"
    if b"expiration date" in head.lower():
        return "quotedata"
    raise error(name, "unknown chain layout (not delayed-quotes JSON, quotedata CSV or "
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


