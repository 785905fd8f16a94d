"""The daily report: day D on one HTML page that works offline.

plotly.js is not inlined (4.97 MB a day): every report beside it references one shared
copy, ``assets/plotly-<version>.min.js``, written once next to the reports.

Sections: the recommendation card, the VX term structure against a week and a month ago,
VIX with regime bands and lit ladder layers, VVIX with its MACD, SPX with RSI, the A/D line
against SPX with divergences, the Second Engine components and data freshness per table.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
from plotly import __version__ as PLOTLY_VERSION
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from core.clock import utc_now
from flows.feature_row import last_session
from flows.pipeline import INPUT_TABLES
from flows.recommend import recommend_day, stored_recommendation
from hedge import render, rules
from hedge.document import Recommendation
from hedge.policy import Policy, load_policy
from hedge.rules import REGIME
from storage import schemas
from storage.lake import Lake

HISTORY_DAYS = 365
REPORT_EQUITY = 1_000_000.0  # only when no stored recommendation exists and one is recomputed
FRESHNESS_TABLES = (*INPUT_TABLES, "option_chain", "features_daily", "recommendations")
REGIME_FILL = {"calm": "#2e7d32", "normal": "#f9a825", "elevated": "#ef6c00",
               "extreme": "#c62828"}
LAYER_COLOUR = {"L1": "#1565c0", "L2": "#6a1b9a", "L3": "#c62828"}
CM_COLUMNS = ("vx_cm30", "vx_cm110", "vx_cm220")
CURVE_COLOUR = {"today": "#c62828", "1 week ago": "#1565c0", "1 month ago": "#9e9e9e"}
STALE_DAYS = 4  # calendar days: a long weekend is not stale
PLOT_CONFIG = {"displaylogo": False, "responsive": True}
_LAYOUT: dict[str, Any] = dict(template="plotly_white", margin=dict(l=60, r=30, t=90, b=40),
                               legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0),
                               hovermode="x unified")


# -- data --------------------------------------------------------------------------------
def history(lake: Lake, day: dt.date, days: int = HISTORY_DAYS) -> pl.DataFrame:
    """features_daily over the ``days`` calendar days up to ``day``, oldest first."""
    first = day - dt.timedelta(days=days)
    return (lake.scan("features_daily", since=first)
            .filter(pl.col("date").is_between(first, day))
            .sort("date").collect())


def day_recommendation(lake: Lake, day: dt.date, policy: Policy) -> tuple[Recommendation, str]:
    """The recommendation to show and where it came from (stored, or recomputed now)."""
    rec = stored_recommendation(lake, day, policy)
    if rec is not None:
        return rec, "stored by the nightly run"
    rec = recommend_day(lake, day, policy=policy, equity=REPORT_EQUITY, now=utc_now(),
                        store=False)
    return rec, f"recomputed for the report (not stored; equity ${REPORT_EQUITY:,.0f})"


def lit_layers_by_day(hist: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """(date, layer) for every ladder layer the rules light on each day of ``hist``."""
    # The rules are per-row Python by design (they explain themselves); a year is ~252 rows.
    pairs = [(row["date"], layer) for row in hist.iter_rows(named=True)
             for layer in rules.lit_layers(
                 rules.evaluate_signals(rules.features_row(row), policy), policy)[0]]
    return pl.DataFrame(pairs, schema={"date": pl.Date(), "layer": pl.String()}, orient="row")


def session_on_or_before(hist: pl.DataFrame, day: dt.date) -> dt.date | None:
    """The latest day of ``hist`` on or before ``day``."""
    return hist.filter(pl.col("date") <= day)["date"].max()  # type: ignore[return-value]


def vx_curves(lake: Lake, days: dict[str, dt.date]) -> pl.DataFrame:
    """VX settles by days to expiry on each of ``days`` (label, trade_date, dte, settle)."""
    labels = pl.DataFrame({"label": list(days), "trade_date": list(days.values())},
                          schema={"label": pl.String(), "trade_date": pl.Date()})
    return (lake.scan("vx_futures")
            .filter(pl.col("trade_date").is_in(list(days.values())),
                    pl.col("expiry") > pl.col("trade_date"), pl.col("settle").is_not_null())
            .select("trade_date", "expiry", "settle").collect()
            .join(labels, on="trade_date")
            .with_columns(dte=(pl.col("expiry") - pl.col("trade_date")).dt.total_days())
            .sort("trade_date", "dte"))


def freshness(lake: Lake, day: dt.date) -> pl.DataFrame:
    """Per table: rows, last date, its age in days at ``day`` and the last stamp."""
    frames = []
    for name in FRESHNESS_TABLES:
        t = schemas.get(name)
        stamp = next((c for c in ("ingested_at", "computed_at") if c in t.columns), None)
        frames.append(lake.scan(name).select(
            pl.lit(name).alias("table"), pl.len().alias("rows"),
            pl.col(t.date_col).max().alias("last_date"),
            (pl.col(stamp).max() if stamp else pl.lit(None, schemas.UTC_TS)).alias("last_stamp"),
        ).collect())
    return pl.concat(frames).with_columns(
        age_days=(pl.lit(day) - pl.col("last_date")).dt.total_days())


# -- charts ------------------------------------------------------------------------------
def _dates(frame: pl.DataFrame) -> list[dt.date]:
    return frame["date"].to_list()


def _line(frame: pl.DataFrame, col: str, name: str, **kw: Any) -> go.Scatter:
    return go.Scatter(x=_dates(frame), y=frame[col].to_list(), name=name, mode="lines", **kw)


def _flag_markers(frame: pl.DataFrame, flag: str, y: str, name: str, colour: str,
                  symbol: str = "x") -> go.Scatter:
    """Markers at ``y`` on the days ``flag`` is true."""
    on = frame.filter(pl.col(flag).fill_null(False))
    return go.Scatter(x=_dates(on), y=on[y].to_list(), name=name, mode="markers",
                      marker=dict(color=colour, size=9, symbol=symbol))


def term_structure_figure(lake: Lake, day: dt.date, hist: pl.DataFrame) -> go.Figure:
    """VX settles by days to expiry today, one week and one month ago, VIX spot at 0 days."""
    days = {label: d for label, d in (
        ("today", day), ("1 week ago", session_on_or_before(hist, day - dt.timedelta(days=7))),
        ("1 month ago", session_on_or_before(hist, day - dt.timedelta(days=30))))
        if d is not None}
    curves = vx_curves(lake, days)
    spot = hist.filter(pl.col("date").is_in(list(days.values()))).select("date", "vix_close",
                                                                         *CM_COLUMNS)
    fig = go.Figure()
    for label, d in days.items():
        x, y, text = curve_points(curves.filter(pl.col("label") == label),
                                  spot.filter(pl.col("date") == d))
        fig.add_trace(go.Scatter(x=x, y=y, text=text, name=f"{label} ({d})",
                                 mode="lines+markers", line=dict(color=CURVE_COLOUR[label]),
                                 hovertemplate="%{text}: %{y:.2f}<extra>" + str(d) + "</extra>"))
    fig.update_layout(**_LAYOUT | {"hovermode": "closest"}, height=380,
                      title="VX term structure (settles by days to expiry; 0 = VIX spot)",
                      xaxis_title="calendar days to expiry", yaxis_title="VIX points")
    return fig


def curve_points(curve: pl.DataFrame, spot: pl.DataFrame
                 ) -> tuple[list[int], list[float | None], list[str]]:
    """Days, prices and labels of one curve: VIX spot, then settles (or vx_cm*)."""
    x: list[int] = []
    y: list[float | None] = []
    text: list[str] = []
    if spot.height:
        x, y, text = [0], [spot["vix_close"][0]], ["VIX"]
    if curve.height:
        x += curve["dte"].to_list()
        y += curve["settle"].to_list()
        text += [f"VX {e}" for e in curve["expiry"].to_list()]
    elif spot.height:  # no settles stored that day: the constant maturities
        for col in CM_COLUMNS:
            x.append(int(col.removeprefix("vx_cm")))
            y.append(spot[col][0])
            text.append(col)
    return x, y, text


def regime_bands(fig: go.Figure, top: float) -> None:
    """Shade the four VIX regimes (the feature thresholds) behind the first subplot."""
    r = REGIME
    for name, lo, hi in (("calm", 0.0, r.calm_below), ("normal", r.calm_below, r.normal_below),
                         ("elevated", r.normal_below, r.extreme_from),
                         ("extreme", r.extreme_from, top)):
        fig.add_hrect(y0=lo, y1=hi, fillcolor=REGIME_FILL[name], opacity=0.12, line_width=0,
                      layer="below", row=1, col=1, annotation_text=name,
                      annotation_position="top left", annotation_font_size=10)


def vix_figure(hist: pl.DataFrame, lit: pl.DataFrame, policy: Policy) -> go.Figure:
    """VIX over the year on its regime bands, with the days each ladder layer was lit."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.8, 0.2],
                        vertical_spacing=0.04)
    peak = hist.select(pl.col("vix_close").max()).item() or 0.0
    top = 1.1 * max(float(peak), REGIME.extreme_from)
    fig.add_trace(_line(hist, "vix_close", "VIX", line=dict(color="#212121")), row=1, col=1)
    fig.add_trace(_line(hist, "vix_sma_200", "VIX 200-day average",
                        line=dict(color="#757575", dash="dot")), row=1, col=1)
    for level, (layer, colour) in enumerate(LAYER_COLOUR.items(), start=1):
        on = lit.filter(pl.col("layer") == layer)
        fig.add_trace(go.Scatter(x=_dates(on), y=[level] * on.height, mode="markers",
                                 name=f"{layer} lit", hovertemplate=f"{layer} lit<extra></extra>",
                                 marker=dict(color=colour, size=7, symbol="square")),
                      row=2, col=1)
    # Shapes go on after the traces: plotly skips subplots that are still empty.
    regime_bands(fig, top)
    fig.update_yaxes(range=[0, top], title_text="VIX", row=1, col=1)
    fig.update_yaxes(range=[0.5, len(LAYER_COLOUR) + 0.5], tickvals=[1, 2, 3],
                     ticktext=list(LAYER_COLOUR), title_text="lit", row=2, col=1)
    fig.update_layout(**_LAYOUT, height=520,
                      title="VIX, regime bands and the days each hedge layer was lit")
    return fig


def vvix_figure(hist: pl.DataFrame) -> go.Figure:
    """VVIX with its MACD(12,26,9) below; cross-ups and hooks marked."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4],
                        vertical_spacing=0.05)
    fig.add_trace(_line(hist, "vvix_close", "VVIX", line=dict(color="#212121")), row=1, col=1)
    fig.add_trace(_flag_markers(hist, "vvix_macd_cross_up", "vvix_close", "MACD cross up",
                                "#6a1b9a", "triangle-up"), row=1, col=1)
    fig.add_trace(_flag_markers(hist, "vvix_macd_hook", "vvix_close", "MACD hook",
                                "#ef6c00", "circle-open"), row=1, col=1)
    fig.add_trace(go.Bar(x=_dates(hist), y=hist["vvix_macd_hist"].to_list(), name="histogram",
                         marker_color="#90a4ae"), row=2, col=1)
    fig.add_trace(_line(hist, "vvix_macd", "MACD", line=dict(color="#1565c0")), row=2, col=1)
    fig.add_trace(_line(hist, "vvix_macd_signal", "signal", line=dict(color="#ef6c00")),
                  row=2, col=1)
    fig.update_yaxes(title_text="VVIX", row=1, col=1)
    fig.update_yaxes(title_text="MACD", row=2, col=1)
    fig.update_layout(**_LAYOUT, height=460, title="VVIX and its MACD")
    return fig


def spx_figure(hist: pl.DataFrame, policy: Policy) -> go.Figure:
    """SPX with its RSI(14) and the policy's oversold and overbought lines."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35],
                        vertical_spacing=0.05)
    fig.add_trace(_line(hist, "spx_close", "SPX", line=dict(color="#212121")), row=1, col=1)
    fig.add_trace(_line(hist, "spx_rsi_14", "RSI(14)", line=dict(color="#1565c0")), row=2, col=1)
    for level in (policy.signals.rsi_oversold, policy.signals.rsi_overbought):
        fig.add_hline(y=level, line=dict(color="#c62828", dash="dash", width=1), row=2, col=1)
    fig.update_yaxes(title_text="SPX", row=1, col=1)
    fig.update_yaxes(title_text="RSI", range=[0, 100], row=2, col=1)
    fig.update_layout(**_LAYOUT, height=440, title="SPX and RSI(14)")
    return fig


def breadth_figure(hist: pl.DataFrame) -> go.Figure:
    """The A/D line against SPX, divergence days marked on the A/D line."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(_line(hist, "ad_line", "A/D line", line=dict(color="#1565c0")),
                  secondary_y=False)
    fig.add_trace(_flag_markers(hist, "ad_divergence", "ad_line", "divergence", "#c62828"),
                  secondary_y=False)
    fig.add_trace(_line(hist, "spx_close", "SPX", line=dict(color="#212121", width=1)),
                  secondary_y=True)
    fig.update_yaxes(title_text="A/D line (issues)", secondary_y=False)
    fig.update_yaxes(title_text="SPX", secondary_y=True, showgrid=False)
    fig.update_layout(**_LAYOUT, height=400,
                      title="A/D line vs SPX (x: SPX near its high, breadth lagging)")
    return fig


SECOND_ENGINE = (("funding_spread", "SOFR - IORB (bp)"),
                 ("nfci_leverage", "NFCI leverage"),
                 ("hy_oas", "HY OAS (%)"),
                 ("dollar_change_20d", "Dollar 20d change (%)"),
                 ("second_engine_score", "Score (0-4)"))


def second_engine_figure(hist: pl.DataFrame) -> go.Figure:
    """The Second Engine's inputs, one panel each, and its score."""
    fig = make_subplots(rows=len(SECOND_ENGINE), cols=1, shared_xaxes=True,
                        vertical_spacing=0.03, subplot_titles=[t for _, t in SECOND_ENGINE])
    for i, (col, label) in enumerate(SECOND_ENGINE, start=1):
        if col == "second_engine_score":
            trace: go.Scatter | go.Bar = go.Bar(x=_dates(hist), y=hist[col].to_list(),
                                                name=label, marker_color="#c62828")
        else:
            trace = _line(hist, col, label, line=dict(color="#37474f"))
        fig.add_trace(trace, row=i, col=1)
    fig.update_yaxes(range=[0, 4], row=len(SECOND_ENGINE), col=1)
    fig.update_layout(**_LAYOUT | {"showlegend": False}, height=720,
                      title="Second Engine: funding, leverage, credit, dollar")
    return fig


# -- HTML --------------------------------------------------------------------------------
def chart_html(chart_id: str, fig: go.Figure) -> str:
    """One chart in its ``div.chart``; the page head loads plotly.js once."""
    body = pio.to_html(fig, include_plotlyjs=False, full_html=False, config=PLOT_CONFIG,
                       div_id=f"{chart_id}-plot")
    return f'<div class="chart" id="{chart_id}">{body}</div>'


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], cls: str = "",
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
    ladder = (_table(render.ladder_header(), render.ladder_rows(rec)) if rec.ladder.layers
              else "<p>No ladder layer lit.</p>")
    return (f'<section class="card" id="recommendation"><h2>Recommendation for '
            f'{rec.trade_date} <span class="regime {html.escape(rec.regime)}">'
            f'{html.escape(rec.regime)}</span></h2>'
            f"<p class=\"headline\">{html.escape(render.headline(rec))}</p>"
            f"<p class=\"muted\">Lit signals: {html.escape(lit)} &middot; {html.escape(origin)}"
            f"</p><div class=\"cols\"><div><h3>Iron condor</h3>"
            f"{_table(['field', 'value'], render.condor_rows(rec), 'kv')}</div>"
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
    table = _table(["table", "rows", "last date", "age at D (days)",
                    "last ingested / computed"], rows, "freshness", stale)
    return (f'<section id="freshness"><h2>Data freshness</h2>{table}<p class="muted">'
            f"Highlighted: no row within {STALE_DAYS} days of D.</p></section>")


_CSS = """
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
            f"<title>ALVH daily report {day}</title><style>{_CSS}</style>"
            f"<script type=\"text/javascript\" src=\"{PLOTLY_BUNDLE}\"></script></head><body>"
            f"<h1>ALVH daily report {day}</h1><p class=\"muted\">Generated "
            f"{generated:%Y-%m-%d %H:%M} UTC from the lake; charts cover the last "
            f"{HISTORY_DAYS} days.</p>{''.join(sections)}</body></html>")


# -- the report --------------------------------------------------------------------------
def report_sections(lake: Lake, day: dt.date, policy: Policy) -> list[str]:
    """The card, the charts and the freshness table of ``day``, as HTML."""
    hist = history(lake, day)
    rec, origin = day_recommendation(lake, day, policy)
    return [
        card_html(rec, origin),
        chart_html("term-structure", term_structure_figure(lake, day, hist)),
        chart_html("vix-regime", vix_figure(hist, lit_layers_by_day(hist, policy), policy)),
        chart_html("vvix-macd", vvix_figure(hist)),
        chart_html("spx-rsi", spx_figure(hist, policy)),
        chart_html("ad-line", breadth_figure(hist)),
        chart_html("second-engine", second_engine_figure(hist)),
        freshness_html(freshness(lake, day)),
    ]


def report_path(lake: Lake, day: dt.date) -> str:
    """Where the report of ``day`` lives: ``<home>/reports/<D>.html``."""
    return lake.path("reports", f"{day.isoformat()}.html")


def write_report(lake: Lake, day: dt.date, out_path: str | os.PathLike[str] | None = None,
                 *, policy: Policy | None = None) -> str:
    """Write the daily report of ``day`` (or the last built session before it).

    Args:
        lake: the lake to read.
        day: trading day D; the latest features_daily day on or before it is reported.
        out_path: where to write [default: ``<home>/reports/<D>.html``].
        policy: policy for regime bands and lit layers [default: the shipped one].

    Returns:
        The path written.

    Raises:
        PipelineError: no features on or before ``day``.
    """
    day = last_session(lake, day)
    page = page_html(day, report_sections(lake, day, policy or load_policy()), utc_now())
    data = page.encode("utf-8")
    if out_path is None:
        target = report_path(lake, day)
        bundle = lake.path("reports", PLOTLY_BUNDLE)
        if not lake.fs.exists(bundle):
            lake.put_bytes(bundle, get_plotlyjs().encode("utf-8"))
        lake.put_bytes(target, data)
        return target
    bundle_path = Path(out_path).parent / PLOTLY_BUNDLE
    if not bundle_path.exists():
        _write_local(bundle_path, get_plotlyjs().encode("utf-8"))
    return _write_local(Path(out_path), data)


def _write_local(path: Path, data: bytes) -> str:
    """Write ``data`` at ``path`` through a temporary file and one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return str(path)
