"""The daily report of day D: its sections, and where the page and plotly.js are written."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

from plotly.offline import get_plotlyjs

from core.clock import utc_now
from flows.feature_row import last_session
from flows.report.charts import (
    breadth_figure,
    second_engine_figure,
    spx_figure,
    term_structure_figure,
    vix_figure,
    vvix_figure,
)
from flows.report.page import PLOTLY_BUNDLE, card_html, chart_html, freshness_html, page_html
from flows.report.queries import (
    curve_days,
    day_recommendation,
    freshness,
    history,
    lit_layers_by_day,
    stored_signals,
    vx_curves,
)
from hedge.policy import Policy, load_policy
from storage.lake import Lake


def report_sections(lake: Lake, day: dt.date, policy: Policy) -> list[str]:
    """The card, the charts and the freshness table of ``day``, as HTML."""
    hist = history(lake, day)
    rec, origin = day_recommendation(lake, day, policy)
    days = curve_days(hist, day)
    lit = lit_layers_by_day(hist, policy, stored_signals(lake, hist, policy))
    return [
        card_html(rec, origin),
        chart_html("term-structure", term_structure_figure(days, vx_curves(lake, days), hist)),
        chart_html("vix-regime", vix_figure(hist, lit, policy)),
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
    text = page_html(day, report_sections(lake, day, policy or load_policy()), utc_now())
    data = text.encode("utf-8")
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
