"""The daily report on a simulated year: one offline HTML page with every section."""

import datetime as dt
import os
import re
import shutil

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.errors import PipelineError
from flows.recommend import stored_recommendation
from flows.report import PLOTLY_BUNDLE, write_report
from flows.report.charts import curve_points
from flows.report.queries import history, lit_layers_by_day, stored_signals
from hedge.policy import Policy, load_policy
from storage.lake import Lake
from tests.flows.demo_lake import DAY, demo_lake
from tests.flows.test_cli import run

CHARTS = ("term-structure", "vix-regime", "vvix-macd", "spx-rsi", "ad-line", "second-engine")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_lake(tmp_path_factory)


@pytest.fixture(scope="module")
def page(demo):
    path = write_report(demo, DAY)
    with open(path, encoding="utf-8") as fh:
        return path, fh.read()


def test_report_lands_under_home_reports(demo, page):
    path, _ = page
    assert path == demo.path("reports", f"{DAY}.html")


def test_every_section_is_in_the_page(page):
    _, text = page
    for chart in CHARTS:
        assert f'<div class="chart" id="{chart}">' in text
    assert 'id="recommendation"' in text and 'id="freshness"' in text
    assert f"Recommendation for {DAY + dt.timedelta(days=3)}" in text  # Friday -> Monday
    assert "stored by the nightly run" in text


def test_page_loads_one_shared_local_plotly(page):
    path, text = page
    # One local plotly.js beside the reports, referenced by every page; no network.
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', text)
    assert scripts == [PLOTLY_BUNDLE] and len(text) < 1_000_000
    bundle = os.path.join(os.path.dirname(path), PLOTLY_BUNDLE)
    assert "plotly.js v" in open(bundle).read(2000) and os.path.getsize(bundle) > 3_000_000
    assert not re.search(r"""<link[^>]+href=["']https?:""", text)


def test_freshness_lists_every_input_table(page):
    _, text = page
    section = text[text.index('id="freshness"'):]
    for table in ("index_daily", "vx_futures", "breadth_daily", "macro_observations", "events",
                  "option_chain", "features_daily", "recommendations"):
        assert f"<td>{table}</td>" in section


def test_a_day_without_a_stored_recommendation_is_recomputed(demo, tmp_path):
    day = DAY - dt.timedelta(days=1)
    assert stored_recommendation(demo, day, load_policy()) is None
    path = write_report(demo, day, tmp_path / "out" / "r.html")
    text = (tmp_path / "out" / "r.html").read_text(encoding="utf-8")
    assert path.endswith("r.html") and "recomputed for the report" in text
    assert not demo.fs.exists(demo.path("reports", f"{day}.html"))
    assert stored_recommendation(demo, day, load_policy()) is None  # nothing stored


def test_a_weekend_day_reports_the_session_before(demo, tmp_path):
    path = write_report(demo, DAY + dt.timedelta(days=1), tmp_path / "sat.html")
    assert f"ALVH daily report {DAY}" in open(path, encoding="utf-8").read()


def test_lit_layers_follow_the_rules_row_by_row(demo):
    hist = history(demo, DAY)
    lit = lit_layers_by_day(hist, load_policy(), {})
    assert lit.schema == pl.Schema({"date": pl.Date(), "layer": pl.String()})
    assert set(lit["layer"]) <= {"L1", "L2", "L3"} and lit.height > 0
    # DAY's lit layers are the stored recommendation's layer triggers (no prior-day holds).
    stored = stored_recommendation(demo, DAY, load_policy())
    assert set(lit.filter(pl.col("date") == DAY)["layer"]) == {
        la.name for la in stored.ladder.layers}


def test_stored_signals_give_the_layers_the_rules_give(demo):
    # The nightly run stored DAY's recommendation: the report reads its signals instead of
    # judging the row again, and lights the same layers.
    hist, policy = history(demo, DAY), load_policy()
    stored = stored_signals(demo, hist, policy)
    assert list(stored) == [DAY]
    assert stored[DAY] == stored_recommendation(demo, DAY, policy).signals
    assert_frame_equal(lit_layers_by_day(hist, policy, stored),
                       lit_layers_by_day(hist, policy, {}))


def test_stored_signals_judged_on_other_inputs_are_not_used(demo):
    hist, policy = history(demo, DAY), load_policy()
    # Features recomputed after the recommendation was stored, or another policy's.
    later = hist.with_columns(pl.col("computed_at") + dt.timedelta(seconds=1))
    assert stored_signals(demo, later, policy) == {}
    signals = policy.signals.model_dump() | {"rsi_oversold": policy.signals.rsi_oversold - 1}
    other = Policy.model_validate(policy.model_dump() | {"signals": signals})
    assert other.version != policy.version
    assert stored_signals(demo, hist, other) == {}


def test_curve_points_fall_back_to_constant_maturities():
    spot = pl.DataFrame({"vix_close": [15.0], "vx_cm30": [16.0], "vx_cm110": [17.0],
                         "vx_cm220": [18.0]})
    empty = pl.DataFrame(schema={"dte": pl.Int64, "settle": pl.Float64, "expiry": pl.Date})
    assert curve_points(empty, spot) == ([0, 30, 110, 220], [15.0, 16.0, 17.0, 18.0],
                                         ["VIX", "vx_cm30", "vx_cm110", "vx_cm220"])


def test_no_features_is_a_clear_error(lake):
    with pytest.raises(PipelineError, match="no features"):
        write_report(lake, DAY)


def test_cli_report_writes_the_file_and_errors_are_one_line(demo, tmp_path):
    res = run("report", "--date", str(DAY), home=demo.root)
    assert res.returncode == 0, res.stderr
    assert f"reports/{DAY}.html" in res.stdout.replace("\n", "")
    res = run("report", home=tmp_path / "empty")
    assert res.returncode == 1 and "no features" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_missing_tables_still_give_a_report(demo, tmp_path):
    # No VX settles, breadth or stored recommendation: the curve falls back to the constant
    # maturities, the recommendation is recomputed and freshness shows the empty tables.
    skip = {"vx_futures", "breadth_daily", "recommendations", "recommendation_legs"}
    shutil.copytree(demo.path("tables"), tmp_path / "lake" / "tables",
                    ignore=lambda folder, names: [n for n in names if n in skip])
    path = write_report(Lake(tmp_path / "lake"), DAY)
    text = open(path, encoding="utf-8").read()
    assert all(f'id="{chart}"' in text for chart in CHARTS)
    curve = text[text.index('id="term-structure"'):text.index('id="vix-regime"')]
    assert "recomputed for the report" in text and "vx_cm110" in curve
    assert "<td>vx_futures</td><td>0</td><td></td><td>empty</td>" in text
