"""SPX option chains: CBOE delayed-quotes JSON, CBOE quotedata CSV exports, DataShop EOD.

Every layout parses to the ``option_chain`` table's columns minus ``ingested_at``: one row per
option, ``quote_date`` being the NYSE session the quotes belong to and ``snapshot_at`` the
snapshot's own instant in UTC (null when the file does not say).

One module per job: ``occ`` (option symbols), ``snapshot`` (date lines in any locale, the
session of an instant), ``rows`` (what the layouts share), one module per layout, ``layout``
(which one a payload is) and ``adapter`` (what to fetch, the files the demo market writes).
"""

from sources.chains.adapter import ADAPTER, plan, urls, write
from sources.chains.datashop import parse_datashop, render_datashop
from sources.chains.delayed_json import parse_delayed_json, render_delayed_json
from sources.chains.layout import PARSERS, layout_of, parse
from sources.chains.occ import decode_occ, occ_fields, occ_symbol, occ_symbol_expr
from sources.chains.quotedata import QUOTEDATA_HEADER, SIDE_FIELDS, parse_quotedata
from sources.chains.rows import COLUMNS, SOURCE, not_computed_as_null
from sources.chains.snapshot import ZONE_OFFSETS, session_of, snapshot_time

__all__ = [
    "ADAPTER", "COLUMNS", "PARSERS", "QUOTEDATA_HEADER", "SIDE_FIELDS", "SOURCE", "ZONE_OFFSETS",
    "decode_occ", "layout_of", "not_computed_as_null", "occ_fields", "occ_symbol",
    "occ_symbol_expr", "parse", "parse_datashop", "parse_delayed_json", "parse_quotedata",
    "plan", "render_datashop", "render_delayed_json", "session_of", "snapshot_time", "urls",
    "write",
]
