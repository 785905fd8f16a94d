"""The daily report's plotly figures, from frames the queries read (no lake access here)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from hedge.policy import Policy
from hedge.rules import REGIME

REGIME_FILL = {"calm": "#2e7d32", "normal": "#f9a825", "elevated": "#ef6c00",
               "extreme": "#c62828"}
LAYER_COLOUR = {"L1": "#1565c0", "L2": "#6a1b9a", "L3": "#c62828"}
CM_COLUMNS = ("vx_cm30", "vx_cm110", "vx_cm220")
CURVE_COLOUR = {"today": "#c62828", "1 week ago": "#1565c0", "1 month ago": "#9e9e9e"}
LAYOUT: dict[str, Any] = dict(template="plotly_white", margin=dict(l=60, r=30, t=90, b=40),
                              legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0),
                              hovermode="x unified")


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


def term_structure_figure(days: dict[str, dt.date], curves: pl.DataFrame,
                          hist: pl.DataFrame) -> go.Figure:
    """VX settles (``curves``) by days to expiry on each of ``days``, VIX spot at 0 days."""
    spot = hist.filter(pl.col("date").is_in(list(days.values()))).select("date", "vix_close",
                                                                         *CM_COLUMNS)
    fig = go.Figure()
    for label, d in days.items():
        x, y, text = curve_points(curves.filter(pl.col("label") == label),
                                  spot.filter(pl.col("date") == d))
        fig.add_trace(go.Scatter(x=x, y=y, text=text, name=f"{label} ({d})",
                                 mode="lines+markers", line=dict(color=CURVE_COLOUR[label]),
                                 hovertemplate="%{text}: %{y:.2f}<extra>" + str(d) + "</extra>"))
    fig.update_layout(**LAYOUT | {"hovermode": "closest"}, height=380,
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
    fig.update_layout(**LAYOUT, height=520,
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
    fig.update_layout(**LAYOUT, height=460, title="VVIX and its MACD")
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
    fig.update_layout(**LAYOUT, height=440, title="SPX and RSI(14)")
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
    fig.update_layout(**LAYOUT, height=400,
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
    fig.update_layout(**LAYOUT | {"showlegend": False}, height=720,
                      title="Second Engine: funding, leverage, credit, dollar")
    return fig
