"""The backtest on one offline HTML page, in the daily report's look (plotly.js inlined).

Equity curves, drawdowns, the ladder's P&L around each crash, the summary and the claims.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import plotly.graph_objects as go
import polars as pl
from plotly.offline import get_plotlyjs

from flows.report.charts import LAYOUT
from flows.report.page import CSS, chart_html, html_table

CRASH_WINDOW = 10  # sessions either side of a crash day in its chart
COLOUR = {"no_hedge": "#757575", "alvh_stress": "#c62828", "alvh_vega": "#ef6c00",
          "static": "#1565c0", "vxth": "#6a1b9a"}


def _lines(daily: pl.DataFrame, col: str, title: str, fmt: str) -> go.Figure:
    """One line per strategy of ``col`` over the run."""
    fig = go.Figure()
    for (name,), part in daily.sort("date").group_by("strategy", maintain_order=True):
        fig.add_trace(go.Scatter(x=part["date"].to_list(), y=part[col].to_list(), name=name,
                                 line=dict(color=COLOUR.get(str(name)), width=1.5)))
    fig.update_layout(**LAYOUT, title=title, height=380, yaxis_tickformat=fmt)
    return fig


def crash_figure(daily: pl.DataFrame, day: dt.date) -> go.Figure:
    """Cumulative ladder P&L per hedged strategy in the sessions around ``day``."""
    dates = daily["date"].unique().sort()
    i = dates.search_sorted(day)
    window = dates.slice(max(0, i - CRASH_WINDOW), 2 * CRASH_WINDOW + 1)
    part = daily.filter(pl.col("date").is_in(window.implode()) & (pl.col("strategy")
                                                                   != "no_hedge"))
    part = part.sort("date").with_columns(
        pl.col("ladder_pnl").fill_null(0).cum_sum().over("strategy").alias("cum_ladder"))
    fig = _lines(part, "cum_ladder", f"Ladder P&L around {day} ($, cumulative)", ",.0f")
    fig.add_vline(x=day, line_dash="dot", line_color="#c62828")
    return fig


def _fmt(v: Any) -> Any:
    """Numbers rounded for the tables."""
    return round(v, 4) if isinstance(v, float) else v


def table_html(frame: pl.DataFrame) -> str:
    """A frame as the report's table."""
    return html_table(frame.columns, [[_fmt(v) for v in r] for r in frame.iter_rows()])


def page(run: pl.DataFrame, daily: pl.DataFrame, summary: pl.DataFrame, claims: pl.DataFrame,
         verdict: pl.DataFrame, generated: dt.datetime) -> str:
    """The whole page."""
    r = run.row(0, named=True)
    title = f"ALVH backtest {r['start']} .. {r['end']} (policy {r['policy_version']})"
    crashes = claims["date"].unique().sort().to_list() if claims.height else []
    untestable = daily.filter(~pl.col("testable")).select("date", "strategy",
                                                          "untestable_reason")
    sections = [
        f'<section class="card"><h2>The claims against the data</h2>{table_html(verdict)}'
        "</section>",
        f'<section class="card"><h2>Summary</h2>{table_html(summary)}</section>',
        f'<section class="card"><h2>Claims: every crash day</h2>{table_html(claims) if claims.height else "<p>No crash day in the run.</p>"}</section>',  # noqa: E501
        chart_html("equity", _lines(daily, "equity", "Equity ($)", ",.0f")),
        chart_html("drawdown", _lines(daily, "drawdown", "Drawdown", ".1%")),
        *(chart_html(f"crash-{d}", crash_figure(daily, d)) for d in crashes),
        f'<section class="card"><h2>Untestable days ({untestable["date"].n_unique()})</h2>'
        f"{table_html(untestable.head(500))}</section>",
    ]
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style>"
            f"<script type=\"text/javascript\">{get_plotlyjs()}</script></head><body>"
            f"<h1>{html.escape(title)}</h1><p class=\"muted\">Generated "
            f"{generated:%Y-%m-%d %H:%M} UTC; static and VXTH scaled x{r['static_scale']:.3g} / "
            f"x{r['vxth_scale']:.3g} to the ALVH stress ladder's cost.</p>"
            f"{''.join(sections)}</body></html>")
