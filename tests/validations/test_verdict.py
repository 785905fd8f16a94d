"""The polars verdict (validations/verdict.py) and GX's agree, check by check, on every
fixture of the gate's tests: the real frames whole, broken once per blocking check, and
with the soft failures and NaN values real files carry."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from core.calendar import nyse_sessions
from features.build import build_features
from features.registry import FEATURES
from storage import schemas
from tests.conftest import ROOT, SHARED_DATA, shared
from tests.features.feature_inputs import all_inputs
from tests.validations import real_frames
from tests.validations.test_gate import BREAKERS, RULES, Breaker, put
from validations import Rules, registered_ranges
from validations.gx import run_suite
from validations.suites.base import PUBLISHED_ROWS
from validations.validation import _suite, validate
from validations.verdict import passes

pytestmark = pytest.mark.realdata

SOFT: dict[str, dict[str, Breaker]] = {
    "index_daily": {"high_ge_open": put("open", 1e6), "low_nan": put("low", float("nan"))},
    "option_chain": {"iv_in_0_5": put("iv", 6.2, row=0), "bid_nan": put("bid", float("nan"))},
    "events": {"kind_is_lowercase_word": put("kind", "FOMC Day")},
    "vx_futures": {"settle_null": put("settle", None)},
}
CASES = [(t, "good") for t in BREAKERS] + [
    (t, name) for cases in (BREAKERS, SOFT) for t, breakers in cases.items()
    for name in breakers]


def both_verdicts(table: str, frame: pl.DataFrame, rules: Rules,
                  published: int) -> tuple[dict[str, bool], dict[str, bool]]:
    frame = schemas.get(table).conform(frame)
    suite = _suite(table, rules, True)
    params = {PUBLISHED_ROWS: published}
    judged = passes([c.expectation for c in suite.checks], suite.prepare(frame), params)
    assert judged is not None
    gx = run_suite(table, frame, suite, params, None, rules, 0.0)
    return (dict(zip([c.name for c in suite.checks], judged, strict=True)),
            {e["check"]: e["success"] for e in gx.evaluated})


@pytest.mark.parametrize(("table", "case"), CASES, ids=[f"{t}-{c}" for t, c in CASES])
def test_polars_and_gx_agree(table: str, case: str) -> None:
    good = getattr(real_frames, table)()
    breaker = {**BREAKERS.get(table, {}), **SOFT.get(table, {})}.get(case)
    frame = breaker(good) if breaker else good
    polars_verdict, gx_verdict = both_verdicts(table, frame, RULES.get(table, Rules()),
                                               good.height)
    assert polars_verdict == gx_verdict
    if case != "good" and case in BREAKERS.get(table, {}):
        assert not polars_verdict[case]  # the fixture does break what it names


def test_features_daily_with_registered_ranges_agree() -> None:
    shared("cboe", "SPX_History.csv")
    inputs = all_inputs(SHARED_DATA)
    good = build_features({k: v.lazy() for k, v in inputs.items()}, start=dt.date(2020, 1, 2),
                          end=dt.date(2020, 6, 30), computed_at=real_frames.NOW)
    rules = Rules(range_rules=registered_ranges(FEATURES))
    bounded = next(f for f in FEATURES if f.valid_max is not None and f.dtype == pl.Float64())
    bad = put(bounded.name, bounded.valid_max + 1.0)(good)
    for frame in (good, bad):
        polars_verdict, gx_verdict = both_verdicts("features_daily", frame, rules, good.height)
        assert polars_verdict == gx_verdict
    assert not all(both_verdicts("features_daily", bad, rules, good.height)[0].values())


def test_a_passing_frame_skips_gx_and_reports_what_gx_would() -> None:
    # Without the holidays CBOE prints VIX on (a soft failure), every check passes.
    frame = real_frames.index_daily().filter(pl.col("date").is_in(nyse_sessions().implode()))
    fast = validate("index_daily", frame, rules=RULES["index_daily"])
    suite = _suite("index_daily", RULES["index_daily"], False)
    slow = run_suite("index_daily", frame, suite, {}, None, RULES["index_daily"], 0.0)
    assert fast.result_json.get("judged_by") and "meta" in slow.result_json
    assert fast.success and slow.success and fast.warnings == slow.warnings == []
    assert sorted(fast.evaluated, key=str) == sorted(slow.evaluated, key=str)


PUBLISH_PASSING = """
import sys
import polars as pl
from core.calendar import nyse_sessions
from storage.lake import Lake
from tests.conftest import NOW
from tests.validations import real_frames
from tests.validations.test_gate import RULES
from validations import gate_table
frame = real_frames.index_daily().filter(pl.col("date").is_in(nyse_sessions().implode()))
gate_table(Lake(sys.argv[1]), "index_daily", frame, at=NOW, rules=RULES["index_daily"])
print("great_expectations" in sys.modules)
"""


def test_publishing_a_passing_frame_never_imports_great_expectations(tmp_path: Path) -> None:
    # Importing GX costs seconds: the gate, its adapter and the audit must only load it when
    # a check fails. A process of its own, as sys.modules is shared by the whole test run.
    done = subprocess.run([sys.executable, "-c", PUBLISH_PASSING, str(tmp_path / "lake")],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "False"
