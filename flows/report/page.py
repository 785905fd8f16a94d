"""The daily report's HTML: the recommendation card, the charts, freshness, the page."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
from plotly import __version__ as PLOTLY_VERSION

from flows.report.queries import HISTORY_DAYS
from hedge import render
from hedge.document import Recommendation

STALE_DAYS = 4  # calendar days: a long weekend is not stale
PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def chart_html(chart_id: str, fig: go.Figure) -> str:
    """One chart in its ``div.chart``; the page head loads plotly.js once."""
    body = pio.to_html(fig, include_plotlyjs=False, full_html=False, config=PLOT_CONFIG,
                       div_id=f"{chart_id}-plot")
    return f'<div class="chart" id="{chart_id}">{body}</div>'


def html_table(header: Sequence[str], rows: Sequence[Sequence[object]], cls: str = "",
               row_classes: Sequence[str] = ()) -> str:
    """An HTML table of escaped cells (optionally a class per row)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    classes = list(row_classes) or [""] * len(rows)
    body = "".join(f'<tr class="{c}">' + "".join(
        f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
        for row, c in zip(rows, classes, strict=True))
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def card_html(rec: Recommendation, origin: str) -> str:
    """The recommendation card: headline, condor, ladder, coverage, caps and reasons."""
    lit = ", ".join(rec.lit_signals) or "none"
    reasons = "".join(f"<li>{html.escape(x)}</li>" for x in render.reason_lines(rec))
    ladder = (html_table(render.ladder_header(), render.ladder_rows(rec)) if rec.ladder.layers
              else "<p>No ladder layer lit.</p>")
    return (f'<section class="card" id="recommendation"><h2>Recommendation for '
            f'{rec.trade_date} <span class="regime {html.escape(rec.regime)}">'
            f'{html.escape(rec.regime)}</span></h2>'
            f"<p class=\"headline\">{html.escape(render.headline(rec))}</p>"
            f"<p class=\"muted\">Lit signals: {html.escape(lit)} &middot; {html.escape(origin)}"
            f"</p><div class=\"cols\"><div><h3>Iron condor</h3>"
            f"{html_table(['field', 'value'], render.condor_rows(rec), 'kv')}</div>"
            f"<div><h3>VIX call ladder</h3>{ladder}"
            f"<p>{html.escape(render.coverage_line(rec))}</p></div></div>"
            f"<h3>Caps and reasons</h3><ul>{reasons}</ul></section>")


def _age(days: int | None) -> str:
    if days is None:
        return "empty"
    return "ahead (calendar)" if days < 0 else str(days)


def freshness_html(fresh: pl.DataFrame) -> str:
    """Data freshness per table; tables older than STALE_DAYS at D highlighted."""
    rows = [(r["table"], r["rows"], r["last_date"], _age(r["age_days"]),
             r["last_stamp"].strftime("%Y-%m-%d %H:%M UTC") if r["last_stamp"] else None)
            for r in fresh.iter_rows(named=True)]
    stale = ["stale" if r["age_days"] is None or r["age_days"] > STALE_DAYS else ""
             for r in fresh.iter_rows(named=True)]
    table = html_table(["table", "rows", "last date", "age at D (days)",
                    "last ingested / computed"], rows, "freshness", stale)
    return (f'<section id="freshness"><h2>Data freshness</h2>{table}<p class="muted">'
            f"Highlighted: no row within {STALE_DAYS} days of D.</p></section>")


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;
max-width:1200px;padding:16px;color:#212121;background:#fafafa}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:.3em 0}h3{font-size:1em}
.card,.chart,#freshness{background:#fff;border:1px solid #e0e0e0;border-radius:6px;
padding:12px;margin:12px 0}
.cols{display:flex;flex-wrap:wrap;gap:24px}.cols>div{flex:1 1 420px}
table{border-collapse:collapse;font-size:.85em}td,th{border-bottom:1px solid #eee;
padding:3px 8px;text-align:left}.muted{color:#757575}.headline{font-weight:600}
.regime{padding:2px 8px;border-radius:4px;color:#fff;font-size:.8em}
.calm{background:#2e7d32}.normal{background:#f9a825}.elevated{background:#ef6c00}
.extreme{background:#c62828}.unknown{background:#757575}tr.stale td{background:#ffebee}
"""


PLOTLY_BUNDLE = f"assets/plotly-{PLOTLY_VERSION}.min.js"  # relative to the report's folder


def page_html(day: dt.date, sections: Sequence[str], generated: dt.datetime) -> str:
    """The whole page: the shared local plotly.js in the head, then the sections."""
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>ALVH daily report {day}</title><style>{CSS}</style>"
            f"<script type=\"text/javascript\" src=\"{PLOTLY_BUNDLE}\"></script></head><body>"
            f"<h1>ALVH daily report {day}</h1><p class=\"muted\">Generated "
            f"{generated:%Y-%m-%d %H:%M} UTC from the lake; charts cover the last "
            f"{HISTORY_DAYS} days.</p>{''.join(sections)}</body></html>")
