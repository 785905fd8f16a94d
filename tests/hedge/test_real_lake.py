"""The recommendation on a real lake: features_daily and macro_observations built from
../shared/data and written with the lake's own upsert; `alvh recommend` run as a process."""

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from features.build import build_features
from flows.recommend import recommend_day
from hedge.policy import DEFAULT_POLICY_PATH, load_policy
from storage.lake import Lake
from tests.conftest import SHARED_DATA, shared
from tests.features.feature_inputs import NOW, all_inputs

D = dt.date
ALVH = shutil.which("alvh") or os.path.join(os.path.dirname(sys.executable), "alvh")
EQUITY = 1_000_000.0

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def real_lake(tmp_path_factory) -> Lake:
    """Features 2018-02 .. 2025-03 (the VX data's end and the sessions after it)."""
    shared("cboe", "SPX_History.csv")
    inputs = all_inputs(SHARED_DATA)
    features = build_features({k: v.lazy() for k, v in inputs.items()}, start=D(2018, 2, 1),
                              end=D(2025, 3, 14), computed_at=NOW)
    lake = Lake(tmp_path_factory.mktemp("real") / "lake")
    lake.upsert("features_daily", features)
    lake.upsert("macro_observations", inputs["macro_observations"])
    return lake


def alvh(lake: Lake, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"COLUMNS": "200", "ALVH_HOME": lake.root}
    return subprocess.run([ALVH, *args], capture_output=True, text=True, env=env, timeout=300)


def recommend_json(lake: Lake, day: str, *more: str) -> dict:
    res = alvh(lake, "recommend", "--date", day, "--equity", "1000000", "--format", "json",
               *more)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def table_bytes(lake: Lake) -> dict[str, bytes]:
    root = Path(lake.root) / "tables"
    return {str(p): p.read_bytes() for t in ("recommendations", "recommendation_legs")
            for p in sorted((root / t).rglob("*")) if p.is_file()}


def contracts(doc: dict) -> dict[str, int]:
    return {la["name"]: la["contracts"] for la in doc["ladder"]["layers"]}


def test_2020_03_16_holds_a_ladder_sized_by_stress(real_lake):
    doc = recommend_json(real_lake, "2020-03-16")
    lad = doc["ladder"]
    assert lad["sizing"] == "stress" and lad["status"] == "sized"
    assert contracts(doc)["L1"] > 0 and contracts(doc)["L3"] > 0
    assert 0.35 <= lad["stress_coverage"] <= 1.0
    assert lad["stress_coverage"] == pytest.approx(lad["stress_gain"] / lad["stress_loss"])
    assert lad["target_coverage"] == pytest.approx(0.6)
    cap = load_policy().caps.max_total_risk_pct
    assert doc["condor"]["max_loss"] + lad["debit"] <= cap * EQUITY + 1e-6


@pytest.mark.parametrize("day", ["2018-02-05", "2024-08-05"])
def test_crash_days_hold_a_ladder(real_lake, day):
    doc = recommend_json(real_lake, day)
    assert doc["ladder"]["positions"] and all(n > 0 for n in contracts(doc).values())
    assert doc["condor"]["max_loss"] + doc["ladder"]["debit"] <= 0.015 * EQUITY + 1e-6


def test_2021_11_19_quiet_day(real_lake):
    doc = recommend_json(real_lake, "2021-11-19")
    assert doc["ladder"]["target_coverage"] == pytest.approx(0.40)
    assert "L3" not in contracts(doc)
    assert not next(s for s in doc["signals"] if s["name"] == "vix_extreme")["lit"]


def test_vega_sizing_keeps_its_zero_contract_ladder(real_lake, tmp_path):
    policy = tmp_path / "vega.toml"
    policy.write_text(DEFAULT_POLICY_PATH.read_text().replace('sizing = "stress"',
                                                              'sizing = "vega"'))
    doc = recommend_json(real_lake, "2020-03-16", "--policy", str(policy))
    assert doc["ladder"]["sizing"] == "vega" and set(contracts(doc)) == {"L1", "L2", "L3"}
    assert set(contracts(doc).values()) == {0} and doc["ladder"]["debit"] == 0


def test_recommend_is_read_only_unless_stored(real_lake, tmp_path):
    before = table_bytes(real_lake)
    assert recommend_json(real_lake, "2021-11-19")["date"] == "2021-11-19"
    res = alvh(real_lake, "recommend", "--date", "2021-11-19", "--equity", "50000")
    assert res.returncode == 0, res.stderr
    assert table_bytes(real_lake) == before
    copy = Lake(shutil.copytree(real_lake.root, tmp_path / "lake"))
    recommend_json(copy, "2021-11-19", "--store")
    stored = copy.scan("recommendations").collect()
    assert stored["date"].to_list() == [D(2021, 11, 19)] and stored["equity"][0] == EQUITY


def test_no_vx_settlement_no_guessed_ladder(real_lake):
    # The VX file ends 2025-03-07 (Friday): Monday's curve is one session old (used, flagged),
    # Wednesday's three (unknown: not sized on spot VIX).
    monday = recommend_json(real_lake, "2025-03-10")
    assert monday["ladder"]["status"] == "sized"
    assert "curve_stale_used" in {r["rule"] for r in monday["rules"]}
    wednesday = recommend_json(real_lake, "2025-03-12")
    assert wednesday["ladder"]["status"] == "unknown" and wednesday["ladder"]["layers"] == []
    assert "ladder_unknown" in {r["rule"] for r in wednesday["rules"]}
    assert {"vx_cm30", "ts_slope_12"} <= set(wednesday["unknown_features"])


def test_two_sessions_settled_from_the_lake(real_lake, tmp_path):
    """2024-08-14's condor loses on 08-15's rally: no larger size, its L1 held, not rebought."""
    lake = Lake(shutil.copytree(real_lake.root, tmp_path / "lake"))
    pol = load_policy()
    first = recommend_day(lake, D(2024, 8, 14), policy=pol, equity=EQUITY, now=NOW)
    l1 = next(la for la in first.ladder.layers if la.name == "L1")
    assert first.condor.contracts > 0 and l1.action == "buy" and l1.contracts > 0
    second = recommend_day(lake, D(2024, 8, 15), policy=pol, equity=EQUITY, now=NOW,
                           store=False)
    spx = lake.scan("features_daily").filter(pl.col("date") == D(2024, 8, 15)).collect()
    c = first.condor
    assert second.prior is not None and second.prior.spx_close == spx["spx_close"][0]
    assert second.prior.spx_close > c.short_call and second.prior.lost
    owed = min(second.prior.spx_close - c.short_call, c.long_call - c.short_call)
    assert second.prior.pnl == pytest.approx((c.credit_points - owed) * 100 * c.contracts)
    (cap,) = [x for x in second.caps_bound if x.cap == "no_doubling"]
    assert cap.requested > cap.applied == c.risk_pct
    assert second.condor.risk_pct <= c.risk_pct
    kept = next(la for la in second.ladder.layers if la.name == "L1")
    assert (kept.action, kept.buy_contracts, kept.contracts) == ("held", 0, l1.contracts)
    assert (kept.expiry, kept.strike, kept.bought_on) == (l1.expiry, l1.strike, D(2024, 8, 14))
    # Without its stored legs the previous condor's outcome is unknown, not "no loss".
    shutil.rmtree(Path(lake.root) / "tables" / "recommendation_legs")
    blind = recommend_day(lake, D(2024, 8, 15), policy=pol, equity=EQUITY, now=NOW, store=False)
    assert blind.prior is None and not any(x.cap == "no_doubling" for x in blind.caps_bound)
